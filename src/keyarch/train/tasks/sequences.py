"""Sequence classification: the task of the recurrent models (``keyarch train lstm``).

The data is a generated sequence dataset (``keyarch.data.sequences``: task 2c of
Hochreiter and Schmidhuber 1997), held in memory as symbols on the training device and made
one-hot a batch at a time; a batch is ``((inputs, lengths), labels)``, the model reads each
sequence up to its length and classifies it from its last state. The objective is
cross-entropy and accuracy (``top1``; with two classes a top-5 says nothing).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from keyarch.data.sequences import PROVENANCE, SEQUENCE_DATASETS, SequenceSplit, load_sequences
from keyarch.errors import BadInput
from keyarch.train.distributed import Context, epoch_batches, sum_across
from keyarch.train.recipes import Recipe, default_recipe
from keyarch.train.tasks.base import Task
from keyarch.train.tasks.classification import ClassificationTask, create_for_recipe

SEQUENCE_TASK = "sequence-classification"  # the cards' task this one trains
EVALUATION_BATCH = 1024


@dataclass
class SequenceData:
    """A generated sequence dataset's splits, with what the engine reads."""

    title: str
    train: SequenceSplit
    test: SequenceSplit
    batch_size: int
    seed: int
    context: Context
    device: torch.device
    provenance: str = PROVENANCE
    classes: tuple[str, ...] = ("x", "y")  # the signal the network names
    embedded: bool = False
    workers: int = 0
    notes: list[str] = field(default_factory=list)

    def steps_per_epoch(self) -> int:
        return len(self.train) // self.batch_size

    def train_batches(self, epoch: int, start: int) -> Iterator[tuple[tuple, torch.Tensor]]:
        """This process's batches of ``epoch`` from batch ``start`` on, on the device."""
        order = epoch_batches(len(self.train), self.batch_size, seed=self.seed, epoch=epoch,
                              context=self.context, shuffle=True, drop_last=True)  # fmt: skip
        for indices in order[start:]:
            yield self.train.batch(torch.tensor(indices, device=self.train.labels.device))

    def test_batches(self) -> Iterator[tuple[tuple, torch.Tensor]]:
        batch = EVALUATION_BATCH - EVALUATION_BATCH % self.context.world_size
        order = epoch_batches(len(self.test), batch, seed=0, epoch=0, context=self.context,
                              shuffle=False, drop_last=False)  # fmt: skip
        for indices in order:
            yield self.test.batch(torch.tensor(indices, device=self.test.labels.device))


@dataclass(frozen=True)
class SequenceObjective(ClassificationTask):
    """Cross-entropy and accuracy of sequences read up to their lengths."""

    metric_names: tuple[str, ...] = ("loss", "top1")

    def forward(self, network, inputs: tuple[torch.Tensor, torch.Tensor], targets):
        x, lengths = inputs
        return network(x, lengths)

    def summarise(self, totals: torch.Tensor) -> dict[str, float]:
        loss, top1, _, count = totals.tolist()
        count = max(count, 1.0)
        return {"loss": loss / count, "top1": top1 / count}

    @torch.no_grad()
    def evaluate(self, network, batches, *, autocast, context: Context,
                 device: torch.device) -> dict[str, float]:  # fmt: skip
        network.eval()
        totals = self.new_totals(device)
        for inputs, targets in batches:
            with autocast():
                logits = self.forward(network, inputs, targets).float()
            loss = F.cross_entropy(logits, targets)
            self.accumulate(totals, logits, targets, loss)
        return self.summarise(sum_across(totals, context))

    def epoch_line(self, row: dict[str, float], epochs: int) -> str:
        return (
            f"epoch {row['epoch']}/{epochs}: train loss {row['train_loss']:.4f} accuracy "
            f"{row['train_top1']:.4f}, test loss {row['test_loss']:.4f} accuracy "
            f"{row['test_top1']:.4f} (chance 0.5), {row['images_per_second']:.0f} sequences/s"
        )

    def final_line(self, summary: dict[str, object]) -> str:
        return f"test accuracy {summary['test_top1']:.4f} (chance 0.5)"


class SequenceClassification(Task):
    """A recurrent model on a generated sequence dataset (``keyarch train lstm``)."""

    name = SEQUENCE_TASK
    card_task = SEQUENCE_TASK
    images = False

    def plan(self) -> tuple[str, Recipe]:
        config, card = self.config, self.card
        dataset = config.dataset or SEQUENCE_DATASETS[0]
        if dataset not in SEQUENCE_DATASETS:
            names = ", ".join(SEQUENCE_DATASETS)
            raise BadInput(f"{card.name} is a {SEQUENCE_TASK} model: it trains on a generated "
                           f"sequence dataset ({names}; --dataset), not {dataset}")  # fmt: skip
        if config.image_size is not None:
            raise BadInput(f"--image-size: {card.name} reads sequences, not images")
        if config.data_dir is not None:
            raise BadInput(f"--data-dir {config.data_dir}: {dataset} is generated and reads "
                           "no files; drop --data-dir")  # fmt: skip
        recipe = config.recipe or default_recipe(card.family, dataset, config.model)
        for name in ("freeze_encoder_epochs", "ema_decay", "renorm_radius"):
            if getattr(recipe, name):
                raise BadInput(f"recipe field {name} does not apply to {card.name}")
        if recipe.tta != "none":
            raise BadInput(f"--tta {recipe.tta}: test-time augmentation is for images")
        return dataset, recipe

    def prepare(self, context: Context, device: torch.device) -> SequenceData:
        splits = {split: load_sequences(self.dataset, split, limit)
                  for split, limit in (("train", self.config.train_limit),
                                       ("test", self.config.test_limit))}  # fmt: skip
        for split in splits.values():
            split.symbols, split.lengths, split.labels = (
                split.symbols.to(device),
                split.lengths.to(device),
                split.labels.to(device),
            )
        self.data = SequenceData(
            title=f"{self.dataset} (q = {splits['train'].lag})", train=splits["train"],
            test=splits["test"], batch_size=self.recipe.batch_size, seed=self.config.seed,
            context=context, device=device,
        )  # fmt: skip
        self.data.notes.append(f"data: {PROVENANCE}")
        return self.data

    def build_model(self) -> torch.nn.Module:
        return create_for_recipe(self.config.model, self.recipe,
                                 num_classes=len(self.data.classes),
                                 input_size=self.data.train.features)  # fmt: skip

    def start(self) -> SequenceObjective:
        self.objective = SequenceObjective(len(self.data.classes), self.recipe.label_smoothing)
        return self.objective

    def evaluate(self, network, *, last: bool, autocast, context: Context,
                 device: torch.device) -> dict[str, float]:  # fmt: skip
        return self.objective.evaluate(network, self.data.test_batches(), autocast=autocast,
                                       context=context, device=device)  # fmt: skip

    def weights_metadata(self, model: torch.nn.Module) -> dict[str, object]:
        return {"model": self.config.model, "task": SEQUENCE_TASK,
                "num_classes": len(self.data.classes), "classes": list(self.data.classes),
                "input_size": self.data.train.features, "dataset": self.data.title}  # fmt: skip
