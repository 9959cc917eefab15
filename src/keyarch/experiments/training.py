"""Training runs inside an experiment: keyarch's own engine, one run folder each.

An experiment that trains a registered network with a recipe does it through
``keyarch.train.train``, so each of its runs is an ordinary run folder (``runs/NAME`` inside
the report folder: summary.json, metrics.csv, curves, weights) that ``keyarch eval`` reads,
and nothing an experiment measured is lost if it stops half-way. Without a report folder
the runs go to a temporary one.
"""

from __future__ import annotations

import csv
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from keyarch.train.recipes import Recipe


def cifar10_images(data_dir, limit: int | None = None, centring: str = "standardise",
                   ) -> tuple[torch.Tensor, torch.Tensor, str]:  # fmt: skip
    """CIFAR-10 (JPEG) training images, their labels and the dataset's title; a fixed random
    subset of ``limit`` images (the same for every experiment) when given. ``centring``:
    "standardise" (the training set's channel statistics, as ``keyarch train`` does) or
    "mean-image" (pixel values 0-255 less the training set's mean image, as cuda-convnet's
    CIFAR-10 data provider fed its networks)."""
    from keyarch.data.datasets import load_dataset

    if centring not in ("standardise", "mean-image"):
        raise ValueError(f"centring must be 'standardise' or 'mean-image', got {centring!r}")
    dataset = load_dataset("cifar10-jpeg", "train", data_dir, download=False)
    if centring == "mean-image":
        pixels = dataset.images.float()
        mean, std = pixels.mean(0, keepdim=True), torch.ones(())
    else:
        pixels = dataset.images.float() / 255
        mean, std = pixels.mean((0, 2, 3), keepdim=True), pixels.std((0, 2, 3), keepdim=True)
    labels = dataset.labels
    if limit is not None and limit < len(labels):
        chosen = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))[:limit]
        pixels, labels = pixels[chosen], labels[chosen]
    return (pixels - mean) / std, labels, dataset.title


def slug(label: str, seed: int) -> str:
    """A run's folder name: "LeNet-5, full C3" and seed 0 -> "lenet-5-full-c3-seed0"."""
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") + f"-seed{seed}"


@dataclass
class RunResult:
    summary: dict[str, object]  # the run's summary.json
    epochs: list[dict[str, float]]  # metrics.csv, one row per epoch
    folder: Path


def _same_settings(made: dict | None, wanted) -> bool:
    """Whether a finished run's saved settings (a dataclass as JSON) are ``wanted``'s. A
    field added to keyarch since the run was made counts as its default value."""
    from dataclasses import asdict

    from keyarch.train.runs import with_defaults

    expected = json.loads(json.dumps(asdict(wanted)))
    return isinstance(made, dict) and with_defaults(made, type(wanted)) == expected


# What a finished run must share with the one an experiment asks for to be read back: every
# setting that changes its result (threads, paths and progress bars do not).
RESULT_SETTINGS = ("model", "seed", "task", "dataset", "train_limit", "test_limit", "image_size",
                   "allow_embedded", "amp", "compile")  # fmt: skip


def _differences(summary: dict, config) -> list[str]:
    """The settings in which a finished run (its summary.json) differs from ``config``; a
    setting a run saved before keyarch had it counts as its default."""
    from dataclasses import fields

    made = summary.get("arguments", {})
    defaults = {f.name: f.default for f in fields(config)}
    differs = [
        name for name in RESULT_SETTINGS
        if made.get(name, defaults[name]) != json.loads(json.dumps(getattr(config, name)))
    ]  # fmt: skip
    if not _same_settings(summary.get("recipe"), config.recipe):
        differs.append("recipe")
    caption = made.get("caption")
    if (caption is None) != (config.caption is None) or (
        caption is not None and not _same_settings(caption, config.caption)
    ):
        differs.append("caption settings")
    return differs


class Runs:
    """Where an experiment's training runs go: ``OUT/runs``, or a temporary folder."""

    def __init__(self, out: str | Path | None, data_dir: str | Path | None = None) -> None:
        self._scratch = None if out is not None else tempfile.TemporaryDirectory()
        self.root = Path(out if out is not None else self._scratch.name) / "runs"
        self.data_dir = data_dir
        self.read_back: list[str] = []  # runs found finished in the folder, not retrained
        self.threads: list[int] = []  # the compute threads each run used (its summary.json)

    def note(self) -> str:
        """Sentences for the report: the threads the runs used (which the command that
        wrote the report may not show: it may have read them back) and how many were read
        back."""
        text = ""
        if self.threads:
            counts = sorted(set(self.threads))
            text = (" The runs used " + " or ".join(map(str, counts)) + " compute thread"
                    + "s" * (counts != [1]) + " each (their summary.json).")  # fmt: skip
        if self.read_back:
            text += (f" {len(self.read_back)} run(s) were read back from an earlier invocation "
                     "in this folder, not trained again: the wall time above is this "
                     "invocation's, the runs' own are in their summaries.")  # fmt: skip
        return text

    def train(self, run_name: str, model: str, recipe: Recipe, *, dataset: str, seed: int,
              train_limit: int | None = None, test_limit: int | None = None,
              allow_embedded: bool = False, caption=None) -> RunResult:  # fmt: skip
        """Train ``model`` with ``recipe`` into ``runs/run_name``. A run that finished there
        before (the same command, rerun after an interruption) is read back, not trained
        again; an unfinished one is resumed from its checkpoint. One made with other
        settings is refused."""

        from keyarch.errors import BadInput
        from keyarch.train import TrainConfig, train
        from keyarch.train.runs import CHECKPOINT, SUMMARY

        folder = self.root / run_name
        config = TrainConfig(
            model=model,
            dataset=dataset,
            data_dir=None if self.data_dir is None else str(self.data_dir),
            recipe=recipe,
            out=self.root,
            run_name=run_name,
            resume=(folder / CHECKPOINT).is_file(),
            seed=seed,
            threads=torch.get_num_threads(),
            progress=False,
            train_limit=train_limit,
            test_limit=test_limit,
            allow_embedded=allow_embedded,
            task="classification" if caption is None else "captioning",
            caption=caption,
        )
        if (folder / SUMMARY).is_file():
            summary = json.loads((folder / SUMMARY).read_text())
            differs = _differences(summary, config)
            if differs:
                raise BadInput(
                    f"{folder} holds a finished run of other settings ({', '.join(differs)}); "
                    "choose another --out"
                )
            self.read_back.append(run_name)
        else:
            summary = train(config)
        if "threads" in summary:  # (a run made before summaries kept it says nothing)
            self.threads.append(int(summary["threads"]))
        with open(folder / "metrics.csv", newline="") as handle:
            epochs = [
                {k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(handle)
            ]
        return RunResult(summary, epochs, folder)
