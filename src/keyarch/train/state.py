"""What the steps of a run share (``RunState``), how it is saved, and how a run stops early:
the exceptions the engine raises and the figures of one epoch."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from keyarch.errors import RunStopped
from keyarch.train import checkpoint, distributed, runs
from keyarch.train.averaging import WeightAverage
from keyarch.train.config import TrainConfig
from keyarch.train.devices import autocast_for
from keyarch.train.interrupt import StopRequest, resume_hint
from keyarch.train.tasks import Objective, Task


class TrainingDiverged(RunStopped):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class TrainingInterrupted(RunStopped):
    """Ctrl-C (SIGINT): a checkpoint was written; the message says how to resume."""

    exit_status = 130


class CheckpointNotWritten(RunStopped):
    """A checkpoint could not be written (a full disk); the earlier one is intact."""


@dataclass(frozen=True)
class EpochStats:
    """One epoch of training, as the task's metrics and the loop's own figures."""

    metrics: dict[str, float]  # e.g. loss, top1, top5 (averaged over the epoch's examples)
    images: int  # examples over all processes
    seconds: float
    lr: float  # the rate of the epoch's last step

    @property
    def images_per_second(self) -> float:
        return self.images / max(self.seconds, 1e-9)


@dataclass
class RunState:
    """What the steps of a run share."""

    config: TrainConfig
    task: Task
    objective: Objective
    model: torch.nn.Module
    network: torch.nn.Module  # the model as stepped: DDP and compile wrappers
    optimizer: torch.optim.Optimizer
    average: WeightAverage | None  # recipe.ema_decay: the weights' moving average
    context: distributed.Context
    progress: dict  # epoch, batch, step, totals, history: what a checkpoint restores
    directory: Path
    weights_metadata: dict
    settings: dict
    threads: int
    channels_last: bool
    steps_per_epoch: int
    stop: StopRequest
    scaler: torch.amp.GradScaler = field(init=False)  # from the config's amp and the device
    autocast: object = field(init=False)

    def __post_init__(self) -> None:
        device = self.context.device
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.config.amp == "fp16")
        self.autocast = autocast_for(self.config.amp, device)

    @property
    def recipe(self):
        return self.task.recipe

    @property
    def check_every(self) -> int:
        """Steps between the loop's questions to the device (a host synchronisation): every
        step on the CPU, where they cost nothing."""
        on_cpu = self.context.device.type == "cpu" and not self.context.distributed
        return 1 if on_cpu else 50

    @property
    def checkpoint_path(self) -> Path:
        return self.directory / runs.CHECKPOINT

    def save(self) -> None:
        """Write the checkpoint (main process only); a full disk keeps the earlier one."""
        if not self.context.is_main:
            return
        path = self.checkpoint_path
        try:
            checkpoint.save_checkpoint(path, self.model, self.optimizer, self.progress,
                                       self.weights_metadata, self.settings,
                                       self.average)  # fmt: skip
        except OSError as error:
            earlier = (f"the earlier checkpoint {path} is intact" if path.is_file()
                       else "no earlier checkpoint exists")  # fmt: skip
            raise CheckpointNotWritten(
                f"could not write the checkpoint in {self.directory} ({error.strerror or error}); "
                f"{earlier} and no partial file is left. Free space, then resume (--resume)"
            ) from None

    def interrupted(self) -> TrainingInterrupted:
        return TrainingInterrupted(resume_hint(self.checkpoint_path, self.progress,
                                               self.config.command))  # fmt: skip
