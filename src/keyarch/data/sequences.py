"""Sequence datasets that are generated, not downloaded: what the recurrent models train on.

``task-2c`` is Hochreiter and Schmidhuber's (1997) experiment 2c, "very long time lags, no
local regularities" (section 5.2): ``p + 4`` one-hot symbols, distractors ``a_1 .. a_p``
and ``e``, ``b``, ``x``, ``y``. A sequence is ``b``, then ``x`` or ``y`` (the signal), then
``q`` random distractors; at each further step comes the trigger ``e`` with probability 1/10,
else one more distractor; after ``e`` the network names the signal. The minimal time lag is
``q + 1``; chance is 50 %. Here ``p = q = 50``, the paper's first row of Table 3.

A dataset is a fixed set of sequences drawn from a fixed seed (the training set's and the
test set's differ), kept as symbols and made one-hot a batch at a time: 60,000 training
sequences (twice the 30,000 after which the paper's LSTM succeeded; assumed) and the
paper's 10,000 test sequences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from keyarch.data.catalog import SEQUENCE_DATASETS
from keyarch.errors import BadInput

TRIGGER_PROBABILITY = 0.1  # each step after the q distractors: e, else one more distractor
LAG = 50  # q = p = 50 (Table 3's first row)
SIZES = {"train": 60_000, "test": 10_000}  # sequences per split
SEEDS = {"train": 0, "test": 1}


def task_2c_symbols(batch: int, q: int, generator: torch.Generator):
    """``batch`` sequences of task 2c with ``p = q`` distractor symbols as symbol indices:
    (symbols (B, T), distractors past each sequence's end; lengths (B,), the trigger
    included: q + 3 plus a geometric number of further distractors, q + 12 on average (the
    paper's q + 4 + 9 counts the target too); the signal (B,): 0 for x, 1 for y)."""
    if isinstance(q, bool) or not isinstance(q, int) or q < 1:
        raise BadInput(f"task 2c: the lag q must be a whole number of at least 1, got {q!r}")
    p = q
    e, b, x_symbol = p, p + 1, p + 2  # y is p + 3
    signal = torch.randint(2, (batch,), generator=generator)
    # distractors after the first q: a geometric number of them before the trigger
    uniform = torch.rand(batch, generator=generator).clamp_min(1e-12)
    extra = (uniform.log() / math.log(1 - TRIGGER_PROBABILITY)).floor().long()
    lengths = q + 3 + extra  # b, signal, q + extra distractors, e
    steps = int(lengths.max())
    symbols = torch.randint(p, (batch, steps), generator=generator)
    symbols[:, 0] = b
    symbols[:, 1] = x_symbol + signal
    symbols[torch.arange(batch), lengths - 1] = e
    return symbols, lengths, signal


def one_hot(symbols: torch.Tensor, lengths: torch.Tensor, q: int) -> torch.Tensor:
    """(B, T, q + 4) one-hot inputs, zero past each sequence's end."""
    steps = symbols.shape[1]
    x = F.one_hot(symbols, q + 4).float()
    valid = torch.arange(steps, device=symbols.device)[None, :] < lengths[:, None]
    return x * valid.unsqueeze(-1)  # padding: zeros


def task_2c(batch: int, q: int, generator: torch.Generator):
    """``batch`` sequences of task 2c: (x (B, T, q + 4) one-hot, zero past each sequence's
    end; lengths (B,); the signal (B,)). See ``task_2c_symbols``."""
    symbols, lengths, signal = task_2c_symbols(batch, q, generator)
    return one_hot(symbols, lengths, q), lengths, signal


@dataclass
class SequenceSplit:
    """Sequences as symbols (N, T), their lengths and their labels."""

    symbols: torch.Tensor
    lengths: torch.Tensor
    labels: torch.Tensor
    lag: int

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def features(self) -> int:
        return self.lag + 4

    def batch(self, index: torch.Tensor) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]:
        """((one-hot inputs trimmed to the batch's longest, lengths), labels) of ``index``."""
        lengths = self.lengths[index]
        symbols = self.symbols[index, : int(lengths.max())]
        return (one_hot(symbols, lengths, self.lag), lengths), self.labels[index]


def load_sequences(dataset: str, split: str, limit: int | None = None) -> SequenceSplit:
    """One split of a generated sequence dataset; ``limit``: its first N sequences."""
    if dataset not in SEQUENCE_DATASETS:
        raise BadInput(f"--dataset {dataset!r}: the sequence datasets are "
                       f"{', '.join(SEQUENCE_DATASETS)}")  # fmt: skip
    if split not in SIZES:
        raise BadInput(f"{dataset} has no {split!r} split; it has {', '.join(SIZES)}")
    generator = torch.Generator().manual_seed(SEEDS[split])
    symbols, lengths, labels = task_2c_symbols(SIZES[split], LAG, generator)
    if limit and limit < SIZES[split]:  # the first N of the fixed set
        symbols, lengths, labels = symbols[:limit], lengths[:limit], labels[:limit]
        symbols = symbols[:, : int(lengths.max())].clone()
    return SequenceSplit(symbols, lengths, labels, LAG)


PROVENANCE = ("keyarch.data.sequences (generated: Hochreiter and Schmidhuber 1997, "
              "experiment 2c, q = p = 50; training set seed 0, test set seed 1)")  # fmt: skip
