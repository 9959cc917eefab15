"""``keyarch.fuse(model)``: the inference fast path, outputs unchanged.

In evaluation a batch norm is a fixed affine map per channel, so one that follows a
convolution folds into the convolution's weights and bias:
``w' = w * gamma / sqrt(var + eps)``, ``b' = (b - mean) * gamma / sqrt(var + eps) + beta``.
The model is traced with ``torch.fx`` (every keyarch model traces: the contract tests say
so) and PyTorch's ``torch.fx.experimental.optimization.fuse`` folds each convolution -
batch norm pair. The result also runs in channels-last memory format by default (measured
faster for convolutions on CPUs) and, with ``compile=True``, is handed to ``torch.compile``
with inductor's freezing on: the weights become constants of the compiled graph, so
inductor prepacks them for oneDNN and fuses convolutions with what follows them (what that
gains, model by model, against torchvision and timm compiled the same way:
``docs/bench/results/against-*.csv``, from ``keyarch bench --against``). A frozen graph
does not see later changes to the weights: fuse again after training.

The fused model is for inference only: it keeps the model's input check, name and class
count, not its training behaviour (dropout, auxiliary classifiers, batch statistics).
"""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn
from torch.fx.experimental.optimization import fuse as fold_batch_norms

from keyarch.errors import BadType
from keyarch.models.base import ImageClassifier


class FusedModel(nn.Module):
    """A fused copy of a classifier: ``graph`` is the traced, folded network."""

    def __init__(self, graph: nn.Module, source: nn.Module, channels_last: bool) -> None:
        super().__init__()
        self.graph = graph
        self.channels_last = channels_last
        # what the input check and users read off a keyarch model
        for name in ("model_name", "in_chans", "num_classes", "min_input_size",
                     "fixed_input_size", "card", "pretrained_cfg"):  # fmt: skip
            if hasattr(source, name):
                setattr(self, name, getattr(source, name))
        self.checked = isinstance(source, ImageClassifier)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.checked:
            ImageClassifier.check_input(self, x)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.graph(x)


def fuse(model: nn.Module, *, channels_last: bool = True, compile: bool = False) -> nn.Module:
    """A copy of ``model`` for inference with every batch norm that follows a convolution
    folded into it (``model`` itself is left as it is), in channels-last memory format
    unless ``channels_last=False``, compiled with ``torch.compile`` (inductor, freezing
    the weights) when ``compile``; a compiled copy compiles once per input shape. Every
    fused model runs the same ``forward``, so one process compiles at most
    ``torch._dynamo.config.cache_size_limit`` (model, shape) pairs before dynamo runs the
    rest eagerly: ``torch._dynamo.reset()`` between models frees the count."""
    if not isinstance(model, nn.Module):
        raise BadType(f"fuse takes a torch.nn.Module, got {type(model).__name__}")
    copied = copy.deepcopy(model).eval()
    graph = fold_batch_norms(copied, inplace=True)
    fused = FusedModel(graph, model, channels_last).eval()
    if channels_last:
        fused = fused.to(memory_format=torch.channels_last)
    return compile_frozen(fused) if compile else fused


def compile_frozen(model: nn.Module, *, channels_last: bool = False) -> nn.Module:
    """``model`` compiled as ``fuse(compile=True)`` compiles: ``torch.compile`` (inductor,
    static shapes) with freezing on, each shape's output checked against ``model``'s; with
    ``channels_last`` the input is made channels-last first (as a fused model does). The
    same treatment for any network: ``keyarch bench --against --compiled`` compiles the
    reference with it."""
    if channels_last:
        model = _ChannelsLastInput(model).to(memory_format=torch.channels_last)
    compiled = torch.compile(model, dynamic=False)
    # freezing prepacks convolution weights for oneDNN, which has no float64 kernels:
    # a float64 model is compiled without it
    if any(p.dtype == torch.float64 for p in model.parameters()):
        return compiled
    return _Frozen(compiled, model)


class _ChannelsLastInput(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.contiguous(memory_format=torch.channels_last))


class _Frozen(nn.Module):
    """A compiled model called with inductor's ``freezing`` on, checked against the eager
    fused model at the first call of each input shape.

    Freezing must be on while dynamo traces (it decides then that the weights are
    constants, not graph inputs), which happens at the first call of each shape:
    ``torch.compile(options={"freezing": True})`` turns it on only later, in inductor, and
    nothing is frozen (measured: ResNet-50 at batch 1, 0.98x the eager model that way,
    1.36x frozen). The check is there because freezing has been seen to change outputs:
    Inception-ResNet-v2 frozen whole (PyTorch 2.14, CPU, float32) gave logits 10-36 % of
    their scale away from the eager model's, while each of its stages frozen alone, and the
    whole model compiled without freezing, agreed to 1e-6. A shape whose frozen output
    differs by more than ``tolerance`` of the output's scale runs eagerly from then on, with
    a warning; ``differences`` keeps what was measured per shape."""

    def __init__(self, compiled: nn.Module, eager: nn.Module, tolerance: float = 1e-2) -> None:
        super().__init__()
        self.compiled = compiled
        self.eager = eager  # the same weights, fused, not compiled
        self.tolerance = tolerance
        self.differences: dict[tuple, float] = {}  # (shape, dtype) -> |frozen - eager| / scale
        self.eager_shapes: set[tuple] = set()  # shapes whose frozen graph was refused

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from torch._inductor import config

        key = (tuple(x.shape), x.dtype)
        if key in self.eager_shapes:
            return self.eager(x)
        with config.patch(freezing=True):
            out = self.compiled(x)
        if key not in self.differences and isinstance(out, torch.Tensor):
            expected = self.eager(x)
            scale = expected.abs().max().item() or 1.0
            self.differences[key] = (out - expected).abs().max().item() / scale
            if not self.differences[key] <= self.tolerance:
                self.eager_shapes.add(key)
                name = getattr(self.eager, "model_name", "model")
                warnings.warn(
                    f"fuse(compile=True): the frozen compiled {name} "
                    f"differs from the eager one by {self.differences[key]:.1e} of the output "
                    f"scale at input {tuple(x.shape)}; that shape runs eagerly",
                    stacklevel=2,
                )
                return expected
        return out


def count_batch_norms(model: nn.Module) -> int:
    """How many batch norms a model still applies (a fused one: those no convolution
    precedes)."""
    return sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
