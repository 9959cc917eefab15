"""Parameter and operation counts, per model and per layer.

MACs (multiply-accumulates) are counted the way ``../shared/reference`` counts them:
``torch.utils.flop_counter.FlopCounterMode`` over one forward pass of one image, divided
by two. It counts matrix products and convolutions, not pooling, activations or
normalisation. Models can be built on the ``meta`` device, so that counting even VGG-19
allocates nothing and takes milliseconds.

Activations are counted as timm's benchmark counts them (``infer_macts``, with fvcore's
activation count): the elements that convolutions and matrix products write, once per
forward pass of one image.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode


def count_parameters(model: nn.Module, *, trainable_only: bool = True) -> int:
    """Number of parameters (only those with ``requires_grad`` unless told otherwise)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _example_input(model: nn.Module, input_size: tuple[int, int, int]) -> torch.Tensor:
    device = next(model.parameters()).device
    return torch.zeros(1, *input_size, device=device)


def count_macs(model: nn.Module, input_size: tuple[int, int, int]) -> int:
    """Multiply-accumulates of one forward pass of one (C, H, W) image, in eval mode."""
    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(_example_input(model, input_size))
    model.train(was_training)
    return counter.get_total_flops() // 2


_WRITING_OPERATIONS = {
    "convolution",
    "_convolution",
    "mkldnn_convolution",
    "conv2d",
    "mm",
    "addmm",
    "bmm",
    "baddbmm",
    "_scaled_dot_product_flash_attention_for_cpu",
    "_scaled_dot_product_efficient_attention",
    "_scaled_dot_product_flash_attention",
    "_scaled_dot_product_cudnn_attention",
}


class _ActivationCount(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.elements = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func.overloadpacket.__name__ in _WRITING_OPERATIONS:
            first = out[0] if isinstance(out, (tuple, list)) else out
            self.elements += first.numel()
        return out


def count_activations(model: nn.Module, input_size: tuple[int, int, int]) -> int:
    """Elements written by the convolutions and matrix products of one forward pass of one
    (C, H, W) image in eval mode: timm's ``infer_macts`` (in millions there)."""
    was_training = model.training
    model.eval()
    counter = _ActivationCount()
    with torch.no_grad(), counter:
        model(_example_input(model, input_size))
    model.train(was_training)
    return counter.elements


def count_matrix_vector_macs(model: nn.Module, input_size: tuple[int, int, int]) -> int:
    """Multiply-accumulates of one image's forward pass done as matrix-vector products:
    the linear layers that see one row per image (a classifier's fully connected layers,
    squeeze-and-excitation's), whose weights serve a single image at batch 1 and many at
    a larger batch; not a transformer's, which see a row per token."""
    total = 0

    def count(module: nn.Linear, inputs, _output) -> None:
        nonlocal total
        if inputs[0].numel() == module.in_features:  # one row: batch 1, one vector
            total += module.in_features * module.out_features

    was_training = model.training
    model.eval()
    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, nn.Linear)]
    try:
        with torch.no_grad():
            model(_example_input(model, input_size))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    return total


@dataclass(frozen=True)
class LayerRow:
    """One line of a per-layer summary."""

    name: str  # dotted path in the model, e.g. "features.conv1_1.conv"
    depth: int  # nesting level, for indentation
    kind: str  # class name, e.g. "Conv2d"
    output_shape: tuple[int, ...]
    parameters: int  # parameters owned directly or by children
    macs: int


def layer_summary(model: nn.Module, input_size: tuple[int, int, int]) -> list[LayerRow]:
    """Every module in call order with its output shape, parameters and MACs.

    Containers are listed with the totals of their children, as torchinfo does.
    """
    counter = FlopCounterMode(display=False)
    rows: dict[str, dict] = {}
    names = {module: name for name, module in model.named_modules() if name}
    hooks = []

    def before(module: nn.Module, _inputs) -> None:
        rows.setdefault(names[module], {"start": counter.get_total_flops()})

    def after(module: nn.Module, _inputs, output) -> None:
        row = rows[names[module]]
        row["macs"] = (counter.get_total_flops() - row["start"]) // 2
        tensor = output[0] if isinstance(output, (tuple, list)) else output
        row["shape"] = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else ()

    for module in names:
        hooks.append(module.register_forward_pre_hook(before))
        hooks.append(module.register_forward_hook(after))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), counter:
            model(_example_input(model, input_size))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    modules = dict(model.named_modules())
    return [
        LayerRow(
            name=name,
            depth=name.count("."),
            kind=type(modules[name]).__name__,
            output_shape=row.get("shape", ()),
            parameters=count_parameters(modules[name]),
            macs=row.get("macs", 0),
        )
        for name, row in rows.items()
    ]


def _short_name(name: str) -> str:
    """The last part of a dotted name, with its parent when it is only an index ('convs.0')."""
    parts = name.split(".")
    return ".".join(parts[-2:]) if parts[-1].isdigit() and len(parts) > 1 else parts[-1]


def format_summary(model: nn.Module, input_size: tuple[int, int, int]) -> str:
    """A torchinfo-style table: layer, output shape, parameters, MACs, and the totals."""
    rows = layer_summary(model, input_size)
    header = ("Layer (type)", "Output shape", "Param #", "MACs")
    lines = [
        (
            "  " * row.depth + f"{_short_name(row.name)} ({row.kind})",
            "[" + ", ".join(str(d) for d in row.output_shape) + "]",
            f"{row.parameters:,}" if row.parameters else "--",
            f"{row.macs:,}" if row.macs else "--",
        )
        for row in rows
    ]
    widths = [max(len(str(c)) for c in column) for column in zip(header, *lines, strict=True)]
    rule = "=" * (sum(widths) + 3 * (len(widths) - 1))

    def fmt(cells: tuple[str, ...]) -> str:
        first, *rest = cells
        return "   ".join(
            [first.ljust(widths[0])] + [c.rjust(w) for c, w in zip(rest, widths[1:], strict=True)]
        )

    total_params = count_parameters(model)
    all_params = count_parameters(model, trainable_only=False)
    buffers = sum(b.numel() for b in model.buffers() if b.is_floating_point())
    macs = count_macs(model, input_size)
    scaled = f"{macs / 1e9:.3f} G" if macs >= 1e8 else f"{macs / 1e6:.3f} M"
    footer = [
        f"Input size: (1, {', '.join(str(d) for d in input_size)})",
        f"Trainable parameters: {total_params:,}",
        f"Non-trainable parameters: {all_params - total_params:,}"
        + (f" (plus {buffers:,} fixed values in buffers)" if buffers else ""),
        f"MACs: {macs:,} ({scaled})",
    ]
    return "\n".join([rule, fmt(header), rule, *(fmt(line) for line in lines), rule, *footer, rule])


_NORMS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)


def _weighted(module: nn.Module | None) -> bool:
    """A layer with weights of its own: a convolution, a fully connected layer, LeNet-5's
    trainable subsampling, its output layer of fixed RBF centres; not a normalisation."""
    if module is None or isinstance(module, _NORMS):
        return False
    return any(True for _ in module.parameters(recurse=False)) or any(
        True for _ in module.buffers(recurse=False)
    )


def count_depth(model: nn.Module) -> int:
    """Depth as the papers count it: layers with weights (convolutional, fully connected,
    LeNet-5's subsampling) along the longest path from the input to the output, as fx
    traces it (LeNet-5: 7, VGG-16: 16, GoogLeNet: 22, ResNet-50: 50; the two layers of a
    squeeze-and-excitation block count on SE networks' longest path; a layer called from
    inside a traced leaf module is not seen)."""

    class LayersAsLeaves(torch.fx.Tracer):  # LeNet-5's S2 and C3 stay one node each
        def is_leaf_module(self, module: nn.Module, qualified_name: str) -> bool:
            return _weighted(module) or super().is_leaf_module(module, qualified_name)

    graph = LayersAsLeaves().trace(model)
    modules = dict(model.named_modules())
    depth: dict[torch.fx.Node, int] = {}
    for node in graph.nodes:  # in topological order
        before = max((depth[n] for n in node.all_input_nodes), default=0)
        depth[node] = before + (node.op == "call_module" and _weighted(modules.get(node.target)))
    return max(depth.values(), default=0)
