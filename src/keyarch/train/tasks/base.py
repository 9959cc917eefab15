"""What a task is to the engine.

A **task** is a plug-in (``keyarch.train.tasks.TASKS``): it names its default dataset and
recipe, refuses what it cannot train, prepares its data, builds its model, names its
runs, evaluates, and says what its weights file records. The engine runs the same loop
for every task and never asks which one it runs.

Its **objective** is the part every step uses: the forward pass, the loss, the metrics
summed on the device, the evaluation of a split and the lines a run prints.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import torch
from torch import nn

from keyarch.registry import ModelCard
from keyarch.train.distributed import Context
from keyarch.train.recipes import Recipe


class Objective(Protocol):
    metric_names: tuple[str, ...]  # what ``summarise`` returns, e.g. ("loss", "top1", "top5")
    headline: str  # the evaluation metric a "plateau" schedule follows, e.g. "top1"
    evaluated: str  # the split evaluated after each epoch: its metrics' prefix ("test")

    def forward(self, network, inputs, targets: torch.Tensor): ...

    def loss(self, outputs, targets: torch.Tensor) -> torch.Tensor: ...

    def new_totals(self, device: torch.device) -> torch.Tensor: ...

    def accumulate(self, totals: torch.Tensor, outputs, targets, loss: torch.Tensor) -> None: ...

    def summarise(self, totals: torch.Tensor) -> dict[str, float]: ...

    def finish(self, network, context: Context) -> dict[str, object]: ...

    def epoch_line(self, row: dict[str, float], epochs: int) -> str: ...

    def final_line(self, summary: dict[str, object]) -> str: ...


class RunData(Protocol):
    """What the engine reads of a task's data."""

    title: str  # "MNIST", "synthetic captions 64px"
    provenance: str  # where it came from
    embedded: bool  # the MNIST subset shipped in the package
    workers: int  # loader processes
    notes: list[str]  # lines the run prints before training
    train: object  # sized: len() is the number of training examples
    test: object  # sized: the split evaluated after every epoch

    def steps_per_epoch(self) -> int: ...

    def train_batches(self, epoch: int, start: int) -> Iterator[tuple[object, torch.Tensor]]: ...


class Task:
    """One kind of training run. A subclass sets ``name`` and fills in what it differs in;
    an instance is one run's: made from the run's config and the model's card, it has
    chosen ``dataset`` and ``recipe`` and refused what it cannot train."""

    name = ""
    card_task = "image-classification"  # the cards' task of the models it trains
    images = True  # batches are images (channels-last applies)

    def __init__(self, config, card: ModelCard) -> None:
        self.config, self.card = config, card
        if card.task != self.card_task:
            from keyarch.errors import BadInput
            from keyarch.train.tasks import FOR_MODELS

            raise BadInput(f"{card.name} is a {card.task} model, and the {self.name} task "
                           f"trains {self.card_task} models (keyarch list --task "
                           f"{self.card_task}); train it with task="
                           f"{FOR_MODELS[card.task]!r}")  # fmt: skip
        self.dataset, self.recipe = self.plan()
        self.data: RunData | None = None
        self.objective: Objective | None = None

    def plan(self) -> tuple[str, Recipe]:
        """(dataset, recipe): the config's or this task's defaults; refuses, before any data
        is read, what this task cannot train."""
        raise NotImplementedError

    def input_shape(self) -> tuple[int, ...] | None:
        """The one-example input the config asks for (``--image-size``), checked against
        the network and the memory before any data is read; None: the model's default."""
        return None

    def prepare(self, context: Context, device: torch.device) -> RunData:
        """Read or generate the data (``self.data``)."""
        raise NotImplementedError

    def build_model(self) -> nn.Module:
        raise NotImplementedError

    def run_name(self) -> str:
        """The run folder's name when the config gives none."""
        return f"{self.config.model}-{self.dataset}"

    def settings(self) -> dict[str, object]:
        """What this task adds to a run's settings (a resume must keep them)."""
        return {}

    def start(self) -> Objective:
        """The objective of this run, once the data is prepared (``self.objective``)."""
        raise NotImplementedError

    def evaluate(self, network, *, last: bool, autocast, context: Context,
                 device: torch.device) -> dict[str, float]:  # fmt: skip
        """The evaluated split's metrics after an epoch (``last``: the run's last)."""
        raise NotImplementedError

    def weights_metadata(self, model: nn.Module) -> dict[str, object]:
        """What ``model.safetensors`` records beside the weights, to rebuild the model."""
        raise NotImplementedError

    def before_epoch(self, model: nn.Module, epoch: int, first: bool) -> str | None:
        """Anything the task changes at the start of ``epoch`` (``first``: this
        invocation's first), with a line to print; None: nothing."""
        return None
