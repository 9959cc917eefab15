"""The recurrent networks as registered models: an Elman RNN and an LSTM that read a sequence
and classify it from their last state (the setting of the long-distance experiments: the
adding problem, recall after a lag).

Elman, "Finding Structure in Time", Cognitive Science 14(2), 1990; Hochreiter and
Schmidhuber, "Long Short-Term Memory", Neural Computation 9(8), 1997. The layers are
``keyarch.layers.recurrent`` (written from the equations, checked against ``nn.RNN`` and
``nn.LSTM``); this module adds the head and the cards.

``fused=True``: sequences of one length run through PyTorch's fused kernel with the same
parameters (the same function: tests/test_recurrent.py), several times faster than the
step loop; batches with ``lengths`` always take the loop.

Input: a batch of sequences, batch first, ``(B, T, input_size)``; ``lengths`` (B,) for
sequences of different lengths (the state at each one's last step is read). Output: class
scores ``(B, num_classes)``, or with ``num_classes=0`` the last state (the features).
"""

from __future__ import annotations

import torch
from torch import nn

from keyarch.errors import BadInput, BadType
from keyarch.layers.recurrent import LSTM, LSTM1997, RNN
from keyarch.registry import Paper, check_count, register_model

ELMAN = Paper(
    title="Finding Structure in Time",
    authors="Jeffrey L. Elman",
    year=1990,
    url="https://doi.org/10.1207/s15516709cog1402_1",
    main_ideas=(
        "Time is represented implicitly by its effect on processing: the hidden state at "
        "t-1 is an input at t (context units), one learned transformation applied at every "
        "step.",
        "Trained by back-propagation unrolled in time, the state learns what of the past "
        "the task needs (word boundaries, categories of words).",
    ),
    importance=(
        "The simple recurrent network behind every later sequence model; its gradients "
        "through many steps vanish or explode (Bengio et al. 1994), which the LSTM fixes."
    ),
)
LSTM_PAPER = Paper(
    title="Long Short-Term Memory",
    authors="Sepp Hochreiter, Jürgen Schmidhuber",
    year=1997,
    url="https://doi.org/10.1162/neco.1997.9.8.1735",
    main_ideas=(
        "A memory cell updated by addition (the constant error carousel): error flows back "
        "over hundreds of steps without vanishing.",
        "Multiplicative gates learn when to write to the cell, when to read it and (Gers et "
        "al. 2000) when to forget it.",
    ),
    importance=(
        "Made long-range dependencies learnable; the recurrent workhorse of speech, "
        "translation and captioning (Show and Tell) until attention-only models."
    ),
)
SEQUENCE_LENGTH = 50  # the example input of the cards: 50 steps (assumed)
FEATURES = 2  # the adding problem's two inputs per step (value, marker)


class SequenceClassifier(nn.Module):
    """A recurrent layer (``RNN`` or ``LSTM``) read at each sequence's last step, then a
    linear classifier (on both directions' last states when bidirectional)."""

    def __init__(self, layer: type[nn.Module], *, input_size: int, hidden_size: int,
                 num_layers: int, num_classes: int, bidirectional: bool,
                 fused: bool = False, bias: bool = True) -> None:  # fmt: skip
        super().__init__()
        for what, value in (("input_size", input_size), ("hidden_size", hidden_size),
                            ("num_layers", num_layers)):  # fmt: skip
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise BadInput(f"{what} must be a whole number of at least 1, got {value!r}")
        self.input_size = input_size
        self.recurrent = layer(input_size, hidden_size, num_layers, batch_first=True,
                               bidirectional=bidirectional, fused=fused, bias=bias)  # fmt: skip
        self.num_features = hidden_size * (2 if bidirectional else 1)
        self.num_classes = num_classes
        self.head = nn.Linear(self.num_features, num_classes) if num_classes else nn.Identity()

    def check_input(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor):
            raise BadType(f"expected a tensor (B, T, {self.input_size}), got {type(x).__name__}")
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise BadInput(
                f"expected sequences (batch, time, {self.input_size}), got {tuple(x.shape)}"
            )

    def forward_features(self, x: torch.Tensor, lengths: torch.Tensor | None = None):
        """The last state of the last layer: (B, num_features)."""
        outputs, _ = self.recurrent(x, lengths=lengths)  # B x T x H(x2)
        if lengths is None:
            last = outputs[:, -1]
        else:
            last = outputs[torch.arange(len(x), device=x.device), lengths.to(x.device) - 1]
        if self.recurrent.bidirectional:  # the backward direction ends at step 0
            hidden = self.num_features // 2
            last = torch.cat([last[:, :hidden], outputs[:, 0, hidden:]], dim=1)
        return last

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.forward_features(x, lengths))


def _register(paper: Paper, family: str, description: str, deviations: tuple[str, ...]):
    return register_model(
        family=family,
        paper=paper,
        input_size=(SEQUENCE_LENGTH, FEATURES),
        description=description,
        deviations=deviations,
        task="sequence-classification",
    )


@_register(ELMAN, "RNN", "Elman's simple recurrent network, tanh, read at the last step, "
           "with a linear classifier",
           ("tanh units (Elman's were logistic), as nn.RNN and the textbooks have them.",
            "Trained by back-propagation through the whole sequence; Elman copied the hidden "
            "units into the context units and back-propagated through one step only."))  # fmt: skip
def rnn(*, num_classes: int = 2, input_size: int = FEATURES, hidden_size: int = 128,
        num_layers: int = 1, bidirectional: bool = False,
        fused: bool = False) -> SequenceClassifier:  # fmt: skip
    num_classes = check_count(num_classes, "num_classes", "rnn")
    return SequenceClassifier(RNN, input_size=input_size, hidden_size=hidden_size,
                              num_layers=num_layers, bidirectional=bidirectional,
                              num_classes=num_classes, fused=fused)  # fmt: skip


@_register(LSTM_PAPER, "LSTM", "LSTM (input, forget and output gates; forget-gate bias 1), "
           "read at the last step, with a linear classifier",
           ("The forget gate of Gers, Schmidhuber and Cummins (2000), biased to 1 at the "
            "start (Jozefowicz et al. 2015); the 1997 cell has input and output gates only.",
            "No peephole connections; gates laid out as nn.LSTM's (i, f, g, o).",
            "Full back-propagation through time; the 1997 paper truncates the gradient "
            "outside the cells."))  # fmt: skip
def lstm(*, num_classes: int = 2, input_size: int = FEATURES, hidden_size: int = 128,
         num_layers: int = 1, bidirectional: bool = False, forget_bias: float = 1.0,
         forget_gate: bool = True, bias: bool = True,
         fused: bool = False) -> SequenceClassifier:  # fmt: skip
    """``forget_gate=False``: the 1997 cell (``keyarch.layers.recurrent.LSTM1997``: input
    and output gates only, weights uniform in [-0.2, 0.2]); ``bias=False``: no bias weights
    in the recurrent layer (the 1997 paper's experiment 2c; the classifier keeps its bias)."""
    num_classes = check_count(num_classes, "num_classes", "lstm")
    if not isinstance(forget_gate, bool) or not isinstance(bias, bool):
        raise BadType(f"lstm: forget_gate and bias must be True or False, got "
                      f"{forget_gate!r} and {bias!r}")  # fmt: skip
    if not forget_gate and forget_bias != 1.0:
        raise BadInput("lstm: forget_bias needs the forget gate (forget_gate=True)")
    model = SequenceClassifier(LSTM if forget_gate else LSTM1997, input_size=input_size,
                               hidden_size=hidden_size, num_layers=num_layers,
                               bidirectional=bidirectional, num_classes=num_classes,
                               fused=fused, bias=bias)  # fmt: skip
    if forget_bias != 1.0:
        model.recurrent.set_forget_bias(float(forget_bias))
    return model
