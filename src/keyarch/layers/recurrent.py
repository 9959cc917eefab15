"""Recurrent networks from their equations: the vanilla (Elman) RNN and the LSTM.

A recurrent layer applies one learned transformation at every time step, to the input of
that step and to its own previous state, and is trained unrolled in time:

    Elman (1990):   h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)

    Hochreiter and Schmidhuber (1997), with the forget gate of Gers et al. (2000), ``LSTM``:
        i_t = sigmoid(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)      input gate
        f_t = sigmoid(W_if x_t + b_if + W_hf h_{t-1} + b_hf)      forget gate
        g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)         candidate cell
        o_t = sigmoid(W_io x_t + b_io + W_ho h_{t-1} + b_ho)      output gate
        c_t = f_t * c_{t-1} + i_t * g_t                           the cell state
        h_t = o_t * tanh(c_t)

The 1997 cell itself (``LSTM1997``) has no forget gate, c_t = c_{t-1} + i_t * g_t, and squashes
g into [-2, 2] and the cell output into [-1, 1] with stretched logistic sigmoids.

The cell state is updated by a sum, not a product of weight matrices, so that a gradient
can travel back over many steps without vanishing (the forget gate decides how much of the
past is kept; its bias starts at 1, Jozefowicz et al. 2015, so that at first it keeps).

Parameters have PyTorch's names and layouts (``weight_ih_l0``, ``bias_hh_l1_reverse``;
the LSTM's gates stacked i, f, g, o), so that ``nn.RNN``/``nn.LSTM`` state dicts load in
both directions and the two give the same outputs and gradients (tests/test_recurrent.py).
Layers are stacked (``num_layers``, dropout between layers), bidirectional, batch-first or
time-first, and take batches of sequences of different lengths either as ``lengths`` or as
a ``PackedSequence``: past its length a sequence's state stops changing and its outputs
are zero, as ``nn.LSTM`` gives them for a packed batch.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from keyarch.errors import BadInput


def rnn_step(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One Elman step: ``tanh(W_ih x + b_ih + W_hh h + b_hh)``."""
    return torch.tanh(F.linear(x, weight_ih, bias_ih) + F.linear(h, weight_hh, bias_hh))


def lstm_step(x, state, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One LSTM step: ``(h, c) -> (h', c')`` with the gates stacked i, f, g, o."""
    h, c = state
    gates = F.linear(x, weight_ih, bias_ih) + F.linear(h, weight_hh, bias_hh)
    i, f, g, o = gates.chunk(4, dim=-1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    return h, c


def lstm1997_step(x, state, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One step of the 1997 cell: ``(h, s) -> (h', s')`` with the gates stacked i, g, o
    and no forget gate: the cell state only ever adds (the constant error carousel)."""
    h, s = state
    gates = F.linear(x, weight_ih, bias_ih) + F.linear(h, weight_hh, bias_hh)
    i, g, o = gates.chunk(3, dim=-1)
    s = s + torch.sigmoid(i) * (4 * torch.sigmoid(g) - 2)  # g squashes into [-2, 2]
    h = torch.sigmoid(o) * (2 * torch.sigmoid(s) - 1)  # h squashes into [-1, 1]
    return h, s


class _Cell(nn.Module):
    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise BadInput(
                    f"{type(self).__name__}: {name} must be a positive int, got {value!r}"
                )
        self.input_size, self.hidden_size = input_size, hidden_size
        rows = self.gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size))
        self.weight_hh = nn.Parameter(torch.empty(rows, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(rows)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(rows)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # PyTorch's initialisation: uniform in +-1/sqrt(hidden_size)
        bound = 1 / math.sqrt(self.hidden_size)
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -bound, bound)

    def _zeros(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(*x.shape[:-1], self.hidden_size)


class RNNCell(_Cell):
    """Elman's recurrent cell: one step of ``h_t = tanh(W_ih x_t + W_hh h_{t-1} + b)``."""

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        h = self._zeros(x) if h is None else h
        return rnn_step(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)


class LSTMCell(_Cell):
    """The LSTM cell: input, forget and output gates around a cell state; forget-gate
    bias 1 at initialisation."""

    gates = 4

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.bias_ih is not None:
            with torch.no_grad():  # b_if + b_hf = 1: the gate starts open (keeps the past)
                self.bias_ih[self.hidden_size : 2 * self.hidden_size].fill_(1.0)
                self.bias_hh[self.hidden_size : 2 * self.hidden_size].fill_(0.0)

    def forward(self, x, state: tuple[torch.Tensor, torch.Tensor] | None = None):
        state = (self._zeros(x), self._zeros(x)) if state is None else state
        return lstm_step(x, state, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)


class LSTM1997Cell(_Cell):
    """Hochreiter and Schmidhuber's 1997 cell: input and output gates around a cell state
    that is never forgotten, ``s_t = s_{t-1} + i_t g(net_c)``, ``h_t = o_t h(s_t)``, with
    ``g`` the logistic sigmoid stretched to [-2, 2] and ``h`` to [-1, 1] (the paper's
    appendix A.1); weights uniform in [-0.2, 0.2] (section 5, experiments 1 and 2)."""

    gates = 3

    def reset_parameters(self) -> None:
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -0.2, 0.2)

    def forward(self, x, state: tuple[torch.Tensor, torch.Tensor] | None = None):
        state = (self._zeros(x), self._zeros(x)) if state is None else state
        return lstm1997_step(x, state, self.weight_ih, self.weight_hh, self.bias_ih,
                             self.bias_hh)  # fmt: skip


class _Recurrent(nn.Module):
    """A stack of recurrent layers unrolled over time, in one or both directions."""

    cell_type: type[_Cell] = RNNCell
    kernel_type: type[nn.Module] | None = None  # PyTorch's fused equivalent, if any
    states = 1  # tensors in the recurrent state: h (RNN), h and c (LSTM)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        fused: bool = False,
    ) -> None:
        super().__init__()
        if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1:
            raise BadInput(
                f"{type(self).__name__}: num_layers must be a positive int, got {num_layers!r}"
            )
        if not 0.0 <= dropout < 1.0:
            raise BadInput(f"{type(self).__name__}: dropout must be in [0, 1), got {dropout!r}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.batch_first, self.dropout, self.bidirectional = batch_first, dropout, bidirectional
        self.bias = bias
        if fused and self.kernel_type is None:
            raise BadInput(f"{type(self).__name__}: no fused kernel exists (fused=False)")
        # the fast path: sequences of one length (no ``lengths``, not packed) go through
        # PyTorch's fused kernel with these same parameters (torch.func.functional_call on
        # an nn.RNN / nn.LSTM of the same shape): the same function, tested equal
        self.fused = fused
        directions = 2 if bidirectional else 1
        for layer in range(num_layers):
            size = input_size if layer == 0 else hidden_size * directions
            for suffix in ("", "_reverse")[:directions]:
                cell = self.cell_type(size, hidden_size, bias)
                # PyTorch's names, so that nn.RNN / nn.LSTM state dicts load as they are
                for name, parameter in cell.named_parameters():
                    self.register_parameter(f"{name}_l{layer}{suffix}", parameter)

    def _weights(self, layer: int, suffix: str) -> list[torch.Tensor | None]:
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        return [getattr(self, f"{n}_l{layer}{suffix}", None) for n in names]

    def _step(self, x, state, weights):
        raise NotImplementedError

    def forward(self, x, state=None, lengths: torch.Tensor | None = None):
        """``x``: (T, B, input_size), or (B, T, input_size) when ``batch_first``, or a
        ``PackedSequence``. Returns the outputs of the last layer (both directions
        concatenated) and the final state(s) of every layer, shape (layers * directions,
        B, hidden_size), as ``nn.RNN`` / ``nn.LSTM`` return them."""
        packed = x if isinstance(x, PackedSequence) else None
        if packed is not None:
            x, lengths = pad_packed_sequence(packed, batch_first=True)
        elif not self.batch_first:
            x = x.transpose(0, 1)
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise BadInput(
                f"{type(self).__name__}: expected input (batch, time, {self.input_size}) "
                f"or (time, batch, {self.input_size}), got {tuple(x.shape)}"
            )
        batch, steps = x.shape[:2]
        if self.fused and lengths is None and packed is None:
            return self._fused(x, state)
        mask = None
        if lengths is not None:
            lengths = torch.as_tensor(lengths, device=x.device)
            mask = torch.arange(steps, device=x.device)[None, :] < lengths[:, None]  # (B, T)
        directions = 2 if self.bidirectional else 1
        initial = self._initial(state, batch, x)
        finals = []
        for layer in range(self.num_layers):
            outputs = []
            for d, suffix in enumerate(("", "_reverse")[:directions]):
                index = layer * directions + d
                start = tuple(s[index] for s in initial)
                out, last = self._run(x, start, self._weights(layer, suffix), mask, d == 1)
                outputs.append(out)
                finals.append(last)
            x = torch.cat(outputs, dim=-1) if directions == 2 else outputs[0]
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        final = tuple(torch.stack([f[k] for f in finals]) for k in range(self.states))
        final = final[0] if self.states == 1 else final
        if packed is not None:
            return _repack(x, lengths, packed), final
        return (x if self.batch_first else x.transpose(0, 1)), final

    def _fused(self, x: torch.Tensor, state):
        """The kernel path: ``x`` batch-first; returns as ``forward`` does."""
        from torch.func import functional_call

        kernel = self.__dict__.get("_kernel")
        if kernel is None:  # an empty shell: functional_call lends it our parameters
            with torch.device("meta"):
                kernel = self.kernel_type(self.input_size, self.hidden_size, self.num_layers,
                                          bias=self.bias, batch_first=True, dropout=self.dropout,
                                          bidirectional=self.bidirectional)  # fmt: skip
            self.__dict__["_kernel"] = kernel  # not a submodule: no parameters of its own
        kernel.train(self.training)
        initial = self._initial(state, x.shape[0], x)
        initial = initial[0] if self.states == 1 else initial
        out, final = functional_call(kernel, dict(self.named_parameters()), (x, initial))
        return (out if self.batch_first else out.transpose(0, 1)), final

    def _initial(self, state, batch: int, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        rows = self.num_layers * (2 if self.bidirectional else 1)
        if state is None:
            zeros = x.new_zeros(rows, batch, self.hidden_size)
            return (zeros,) * self.states
        state = (state,) if isinstance(state, torch.Tensor) else tuple(state)
        for s in state:
            if s.shape != (rows, batch, self.hidden_size):
                raise BadInput(
                    f"{type(self).__name__}: the initial state must have shape "
                    f"({rows}, {batch}, {self.hidden_size}), got {tuple(s.shape)}"
                )
        return state

    def _run(self, x, start, weights, mask, reverse: bool):
        """One direction of one layer over all steps; a masked step keeps the state and
        outputs zeros (so the reverse direction starts at each sequence's own end)."""
        state = start
        outputs = [None] * x.shape[1]
        order = range(x.shape[1] - 1, -1, -1) if reverse else range(x.shape[1])
        for t in order:
            new = self._step(x[:, t], state, weights)
            new = (new,) if self.states == 1 else new
            if mask is not None:
                keep = mask[:, t, None]
                new = tuple(torch.where(keep, n, s) for n, s in zip(new, state, strict=True))
                outputs[t] = torch.where(keep, new[0], torch.zeros_like(new[0]))
            else:
                outputs[t] = new[0]
            state = new
        return torch.stack(outputs, dim=1), state


def _repack(x: torch.Tensor, lengths: torch.Tensor, like: PackedSequence) -> PackedSequence:
    """Padded outputs (B, T, D) as a PackedSequence laid out as the input ``like`` was."""
    order = like.sorted_indices
    if order is not None:
        x, lengths = x.index_select(0, order), lengths.index_select(0, order.to(lengths.device))
    data = pack_padded_sequence(x, lengths.cpu(), batch_first=True).data
    return PackedSequence(data, like.batch_sizes, like.sorted_indices, like.unsorted_indices)


class RNN(_Recurrent):
    """Elman's recurrent network, stacked and optionally bidirectional (``nn.RNN``'s
    parameters and outputs, tanh)."""

    cell_type = RNNCell
    kernel_type = nn.RNN

    def _step(self, x, state, weights):
        return rnn_step(x, state[0], *weights)


class LSTM(_Recurrent):
    """The LSTM, stacked and optionally bidirectional (``nn.LSTM``'s parameters and
    outputs); forget-gate bias 1 at initialisation."""

    cell_type = LSTMCell
    kernel_type = nn.LSTM
    states = 2

    def _step(self, x, state, weights):
        return lstm_step(x, state, *weights)

    @torch.no_grad()
    def set_forget_bias(self, value: float) -> None:
        """Every layer's forget-gate bias (b_if + b_hf) set to ``value``: 1 by default
        (Jozefowicz et al. 2015); larger values keep the cell's past longer at the start,
        closer to the 1997 cell, which had no forget gate at all."""
        if not self.bias:
            raise BadInput("LSTM: set_forget_bias needs biases (bias=True)")
        h = self.hidden_size
        for name, parameter in self.named_parameters():
            if name.startswith("bias_ih"):
                parameter[h : 2 * h].fill_(value)
            elif name.startswith("bias_hh"):
                parameter[h : 2 * h].fill_(0.0)


class LSTM1997(_Recurrent):
    """The LSTM as Hochreiter and Schmidhuber published it in 1997: input and output gates,
    no forget gate (``LSTM1997Cell``), stacked and optionally bidirectional, returning
    ``(outputs, (h, s))`` as ``LSTM`` does. Full back-propagation through time (the paper
    truncated the gradient outside the cells); no fused kernel (PyTorch has none)."""

    cell_type = LSTM1997Cell
    states = 2

    def _step(self, x, state, weights):
        return lstm1997_step(x, state, *weights)
