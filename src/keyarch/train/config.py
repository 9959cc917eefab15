"""What a training run is asked to do: ``TrainConfig``, checked when it is made."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from keyarch.errors import BadInput
from keyarch.train.recipes import Recipe


@dataclass
class TrainConfig:
    model: str
    dataset: str | None = None  # default: the task's (mnist for one-channel models, ...)
    data_dir: str | None = None
    recipe: Recipe | None = None  # default: keyarch.train.recipes.default_recipe
    out: Path = Path("runs")
    run_name: str | None = None  # default: the task's ("<model>-<dataset>", ...)
    overwrite: bool = False  # replace a run of the same name instead of choosing NAME-2
    seed: int = 0
    amp: str = "none"  # "bf16" (CPU or GPU) or "fp16" (GPU)
    # None: on for images on the CPU (measured faster for convolutions here: 1.1-1.3x for
    # LeNet-5 and ResNet-20) and on GPUs with mixed precision; off otherwise
    channels_last: bool | None = None
    compile: bool = False
    deterministic: bool = False
    threads: int | None = None  # compute threads (default: this process's cores)
    workers: int | None = None  # loader processes (default: 0 in memory, half the cores)
    checkpoint_every: int = 0  # steps between checkpoints (0: only after each epoch)
    resume: bool = False
    train_limit: int | None = None  # a fixed random subset of N training examples
    test_limit: int | None = None
    download: bool = True
    allow_embedded: bool = False  # fall back to the MNIST subset shipped in the package
    image_size: int | None = None  # network input size (default: from model and data)
    progress: bool = True
    device: str = "auto"
    command: list[str] | None = None  # the command line, for the resume hint
    log: list[str] = field(default_factory=list)  # what the run said, for callers
    # what is trained (keyarch.train.tasks.TASKS): "classification", "captioning" (``model``
    # is the image encoder of a Show and Tell captioner) or "sequence-classification"
    task: str = "classification"
    caption: object | None = None  # captioning's CaptionSettings (sizes and options)

    def __post_init__(self) -> None:
        from keyarch.train.tasks import TASKS

        for name in ("threads", "train_limit", "test_limit", "image_size"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise BadInput(f"{name} must be a whole number of at least 1, got {value!r}")
        for name in ("workers", "checkpoint_every", "seed"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise BadInput(f"{name} must be a whole number of at least 0, got {value!r}")
        if self.amp not in ("none", "bf16", "fp16"):
            raise BadInput(f"amp must be none, bf16 or fp16, got {self.amp!r}")
        if self.resume and self.overwrite:
            raise BadInput("--resume continues a run and --overwrite replaces it: choose one")
        if self.task not in TASKS:
            raise BadInput(f"task must be one of {', '.join(TASKS)}, got {self.task!r}")
        if self.caption is not None and self.task != "captioning":
            raise BadInput("caption settings go with task='captioning'")
