"""Block diagrams of models, drawn the way papers and textbooks draw them.

``architecture_diagram`` walks a model's top-level children (and into plain
``Sequential`` / ``ModuleDict`` / ``ModuleList`` containers such as ResNet's ``conv2_x``
or Xception's ``middle_flow``), records every module's input and output shape with
forward hooks on one image (on the ``meta`` device this costs nothing), and builds a list
of boxes: activations, normalisation and dropout are folded into the box before them,
and consecutive blocks of one kind that keep the shape are collapsed into one box with
their count ("Bottleneck x 3", "XceptionBlock x 8"; in a stage whose blocks are all of
one class the first block may change the shape: "first block /2"). Names are the
module names, which in keyarch are the papers' names (``conv2_x``, ``inception4a``,
``C3``, ``denseblock2``, ``reduction_cell_0``). Grouped convolutions that are not
depthwise (AlexNet's two GPUs) are drawn as side-by-side towers, with crossing arrows
where a layer reads both towers (conv3 and fc6 in the paper's Figure 2). Every box
carries its parameters and multiply-accumulates (counted in the same forward pass; the
boxes add up to the model), and a block that adds its input back (residual) or
concatenates it (dense) is drawn with that connection as an edge around it.

``keyarch.analysis.draw`` renders it with matplotlib (no graphviz) to SVG or PNG.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import torch
from torch import nn

from keyarch.errors import BadInput

_CONTAINERS = (nn.Sequential, nn.ModuleDict, nn.ModuleList)
# Layers folded into the box before them, as papers write them.
_NOTE_NAMES = {
    "BatchNorm2d": "BN", "BatchNorm1d": "BN", "LayerNorm": "LN", "LocalResponseNorm": "LRN",
    "ReLU": "ReLU", "ReLU6": "ReLU6", "SiLU": "SiLU", "GELU": "GELU", "Hardswish": "h-swish",
    "Sigmoid": "sigmoid", "Tanh": "tanh", "ScaledTanh": "scaled tanh", "Softmax": "softmax",
    "Flatten": "flatten",
}  # fmt: skip
_SKIP_NAMES = ("shortcut", "downsample", "skip", "identity")  # not the main path of a block
COLOURS = {
    "input": "#e8e8e8", "conv": "#d4e6f7", "pool": "#fbe3c2", "block": "#d5ecd0",
    "reduction": "#f6d6d2", "head": "#e4dbf3", "other": "#f2f2f2",
}  # fmt: skip


@dataclass
class Box:
    """One box of the diagram: one layer or block, or several identical ones (``count``)."""

    names: tuple[str, ...]  # dotted module paths, in call order
    label: str  # the paper's name: "conv1", "conv2_x", "inception3a", "block4 - block11"
    term: str  # what it is: "conv 7x7, 64, /2", "Bottleneck", "InceptionModule"
    kind: str  # input, conv, pool, block, reduction, head or other (sets the colour)
    in_shape: tuple[int, ...]  # without the batch dimension
    out_shape: tuple[int, ...]
    count: int = 1
    parameters: int = 0
    notes: list[str] = field(default_factory=list)  # folded layers: "BN", "ReLU", "LRN"
    detail: str = ""  # the inside of a block: "1x1 64 \u2192 3x3 64 \u2192 1x1 256"
    branches: tuple[str, ...] = ()  # parallel branches of an Inception-style module
    group: str = ""  # the container it sits in: "entry_flow", "conv3_x"
    band: str = ""  # the model's child it sits in, drawn as a band: "features", "entry_flow"
    lanes: int = 1  # towers drawn side by side (AlexNet's two GPUs)
    cross: bool = False  # reads every tower (the towers' connection)
    macs: int = 0  # multiply-accumulates of one image through the box
    bypass: str = ""  # "residual" (a block adds its input) or "dense" (concatenates it)
    bypass_every: bool = True  # every block of a collapsed box has it (not only some)

    @property
    def title(self) -> str:
        if self.count == 1:
            return f"{self.label}  \u00b7  {self.term}"
        term = f"[{self.term}]" if "," in self.term else self.term  # not "512 x 3"
        return f"{self.label}  \u00b7  {term} \u00d7 {self.count}"


@dataclass
class Diagram:
    """What ``save_diagram`` draws: the boxes, top to bottom, and the model's card."""

    name: str
    heading: str  # "resnet50: Deep Residual Learning ...\nKaiming He et al., 2015"
    input_size: tuple[int, int, int]
    boxes: list[Box]
    parameters: int
    macs: int | None

    def box(self, label: str) -> Box:
        """The box with this label (for tests and scripts)."""
        for box in self.boxes:
            if box.label == label:
                return box
        raise KeyError(f"{self.name} has no box {label!r}; it has {[b.label for b in self.boxes]}")


# -- reading a model -----------------------------------------------------------------


def _record_shapes(
    model: nn.Module, input_size: tuple[int, int, int], macs: dict | None = None
) -> dict[nn.Module, tuple]:
    """Input and output shape (without the batch) of every module's first call, and
    "two inputs" where a module reads more than one tensor; with ``macs`` (a dict), the
    multiply-accumulates of every module's calls go into it."""
    from torch.utils.flop_counter import FlopCounterMode

    shapes: dict[nn.Module, tuple] = {}
    counter = FlopCounterMode(display=False)
    entered: dict[nn.Module, list[int]] = {}

    def before(module, _inputs) -> None:
        entered.setdefault(module, []).append(counter.get_total_flops())

    def after(module, _inputs, _output) -> None:
        if macs is not None and entered.get(module):
            start = entered[module].pop()
            macs[module] = macs.get(module, 0) + (counter.get_total_flops() - start) // 2

    def first_tensor(value):
        if isinstance(value, torch.Tensor):
            return value
        if isinstance(value, (tuple, list)):
            for item in value:
                found = first_tensor(item)
                if found is not None:
                    return found
        return None

    def hook(module, inputs, output) -> None:
        if module in shapes:
            return
        x, y = first_tensor(inputs), first_tensor(output)
        if x is not None and y is not None:
            shapes[module] = (tuple(x.shape[1:]), tuple(y.shape[1:]))
            if sum(isinstance(value, torch.Tensor) for value in inputs) > 1:
                shapes[module] += ("two inputs",)  # NASNet's cells read h_i and h_{i-1}

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    if macs is not None:
        handles += [m.register_forward_pre_hook(before) for m in model.modules()]
        handles += [m.register_forward_hook(after) for m in model.modules()]
    was_training = model.training
    model.eval()
    try:
        parameter = next(model.parameters(), None)
        device = parameter.device if parameter is not None else torch.device("cpu")
        with torch.no_grad(), counter if macs is not None else _nothing():
            model(torch.zeros(1, *input_size, device=device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return shapes


def _nothing():
    import contextlib

    return contextlib.nullcontext()


def _bypass(module: nn.Module, detail: str) -> str:
    """ "residual" where a block adds its input back, "dense" where it concatenates it."""
    name = type(module).__name__
    children = {child for child, _ in module.named_children()}
    if isinstance(getattr(module, "use_shortcut", None), bool):  # only where the shape stays
        return "residual" if module.use_shortcut else ""
    if "Dense" in name and "Block" in name:
        return "dense"
    residual = ("Residual" in name or "Bottleneck" in name or "BasicBlock" in name
                or children & {"shortcut", "downsample"} or "+ shortcut" in detail
                or "+ input" in detail)  # fmt: skip
    return "residual" if residual and list(module.children()) else ""


def _size(values) -> str:
    values = values if isinstance(values, tuple) else (values, values)
    return "x".join(str(v) for v in values)


def _conv_term(conv: nn.Conv2d, *, lanes: int = 1) -> str:
    kernel = _size(conv.kernel_size)
    stride = conv.stride if isinstance(conv.stride, tuple) else (conv.stride, conv.stride)
    step = f", /{stride[0]}" if max(stride) > 1 else ""
    if conv.groups > 1 and conv.groups == conv.in_channels:
        return f"dw conv {kernel}{step}"
    return f"conv {kernel}, {conv.out_channels // lanes}{step}"


def _is_separable(module: nn.Module) -> bool:
    return isinstance(getattr(module, "depthwise", None), nn.Conv2d) and isinstance(
        getattr(module, "pointwise", None), nn.Conv2d
    )


def _op(module: nn.Module) -> str | None:
    """A short name for one operation inside a block ("3x3 64", "sep 3x3 728", "max 3x3")."""
    if _is_separable(module):
        return f"sep {_size(module.depthwise.kernel_size)} {module.pointwise.out_channels}"
    if isinstance(module, nn.Conv2d):
        stride = module.stride if isinstance(module.stride, tuple) else (module.stride,)
        step = f" /{max(stride)}" if max(stride) > 1 else ""
        if module.groups > 1 and module.groups == module.in_channels:
            return f"dw {_size(module.kernel_size)}{step}"
        return f"{_size(module.kernel_size)} {module.out_channels}{step}"
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        stride = module.stride if isinstance(module.stride, int) else max(module.stride)
        kind = "max" if isinstance(module, nn.MaxPool2d) else "avg"
        return f"{kind} {_size(module.kernel_size)}" + (f" /{stride}" if stride > 1 else "")
    if isinstance(module, nn.Linear):
        return f"fc {module.out_features}"
    return None


def _ops(module: nn.Module) -> list[str]:
    """The operations on a block's main path, in order (shortcuts left out)."""
    found: list[str] = []
    for name, child in module.named_children():
        if name.lower().startswith(_SKIP_NAMES) or isinstance(child, nn.Identity):
            continue
        unit = _conv_like(child)
        op = _op(unit if unit is not None else child)
        if op is not None:
            found.append(op)
            continue
        kinds = Counter(type(c).__name__ for c in child.children())
        if any(grandchild.startswith("branch") for grandchild, _ in child.named_children()):
            found.append("[" + " | ".join(_branches(child)) + "]")
        elif type(child).__name__ in ("SqueezeExcitation", "SEModule") or name.startswith("se"):
            found.append("SE")
        elif "Transformer" in type(child).__name__ or "Attention" in type(child).__name__:
            found.append(type(child).__name__)
        elif len(kinds) == 1 and sum(kinds.values()) > 1 and _is_opaque(next(child.children())):
            found.append(f"{sum(kinds.values())}\u00d7 {next(iter(kinds))}")
        else:
            found.extend(_ops(child))
    return found


def _is_opaque(module: nn.Module) -> bool:
    """A block that is more than one operation (a DenseLayer, a transformer layer)."""
    return _op(module) is None and _conv_like(module) is None


def _branches(module: nn.Module) -> tuple[str, ...]:
    """Parallel branches of an Inception-style module (children named ``branch...``)."""
    groups: dict[str, list[str]] = {}
    for name, child in module.named_children():
        if not name.startswith("branch"):
            continue
        match = re.match(r"(branch[^_]*(?:_pool)?)(?:_(\d+)([ab]?))?$", name)
        key = match.group(1) if match else name
        unit = _conv_like(child)
        single = _op(unit if unit is not None else child)
        ops = [single] if single else _ops(child)
        if not ops:
            continue
        if key == "branch_pool" and not ops[0].startswith(("max", "avg")):
            ops.insert(0, "pool")  # pooled in forward, not by a module
        steps = groups.setdefault(key, [])
        text = " \u2192 ".join(ops)
        if match and match.group(3) == "b" and steps:  # 2a and 2b read the same input
            steps[-1] += f" + {text}"
        else:
            steps.append(text)
    return tuple(" \u2192 ".join(steps) for steps in groups.values())


def _conv_like(module: nn.Module) -> nn.Module | None:
    """The one convolution of a conv-norm-act unit (or the unit itself), else None."""
    if isinstance(module, nn.Conv2d) or _is_separable(module):
        return module
    children = list(module.children())
    if not children:
        return None
    convs = [c for c in children if isinstance(c, nn.Conv2d) or _is_separable(c)]
    rest = [c for c in children if c not in convs]
    if len(convs) == 1 and all(not list(c.children()) and _op(c) is None for c in rest):
        return convs[0]
    return None


def _notes(module: nn.Module) -> list[str]:
    """What a conv-norm-act unit adds to its convolution: "BN", "ReLU"."""
    names = [type(child).__name__ for child in module.children()]
    return [_NOTE_NAMES[name] for name in names if name in _NOTE_NAMES]


def _is_attachment(module: nn.Module, shapes: tuple) -> bool:
    """Layers folded into the box before them: activations, normalisation, dropout."""
    if list(module.children()) or isinstance(module, (nn.Conv2d, nn.Linear)):
        return False
    name = type(module).__name__
    if name in _NOTE_NAMES or isinstance(module, (nn.Dropout, nn.Identity)):
        return True
    return shapes[0] == shapes[1] and not any(True for _ in module.parameters())


def _attachment_note(module: nn.Module) -> str | None:
    if isinstance(module, nn.Identity):
        return None
    if isinstance(module, nn.Dropout):
        return f"dropout {module.p:g}" if module.p > 0 else None
    if isinstance(module, nn.AdaptiveAvgPool2d):
        return "adaptive avg pool"
    name = type(module).__name__
    return _NOTE_NAMES.get(name, name)


def _term_and_kind(module: nn.Module, shapes: tuple, lanes: int) -> tuple[str, str, str]:
    """(term, kind, detail) of a box."""
    (in_shape, out_shape), name = shapes, type(module).__name__
    conv = _conv_like(module)
    if conv is not None:
        if _is_separable(conv):
            kernel = _size(conv.depthwise.kernel_size)
            return f"separable conv {kernel}, {conv.pointwise.out_channels}", "conv", ""
        return _conv_term(conv, lanes=lanes), "conv", ""
    if isinstance(module, nn.Linear):
        return f"fc, {module.out_features}", "head", ""
    if "Pool" in name and (len(out_shape) == 1 or out_shape[1:] == (1, 1)):
        return f"global {'max' if 'Max' in name else 'avg'} pool", "head", ""
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        kind = "max" if isinstance(module, nn.MaxPool2d) else "avg"
        stride = module.stride if isinstance(module.stride, int) else max(module.stride)
        step = f", /{stride}" if stride > 1 else ""
        return f"{kind} pool {_size(module.kernel_size)}{step}", "pool", ""
    if "Pool" in name or "Subsampling" in name:
        return f"{name}, {out_shape[0] // lanes}", "pool", ""
    if not list(module.children()):  # a layer of the model's own (C3, RBF output)
        kind = "head" if len(out_shape) == 1 else "conv"
        weight = getattr(module, "weight", None)
        kernel = ""  # LeNet's C3 keeps its 5x5 kernels in a weight of its own shape
        if kind == "conv" and isinstance(weight, torch.Tensor) and weight.dim() >= 3:
            kernel = f" {_size(tuple(weight.shape[-2:]))}"
        return f"{name}{kernel}, {out_shape[0] // lanes}", kind, ""
    reduces = len(in_shape) == 3 and len(out_shape) == 3 and out_shape[1] < in_shape[1]
    named = any(word in name for word in ("Reduction", "Transition")) or name == "Cell"
    kind = "reduction" if reduces and named else "block"
    if name == "Cell":  # NASNet: the paper's two cells
        name = "Reduction cell" if reduces else "Normal cell"
    kinds = Counter(type(c).__name__ for c in module.children())
    child = next(module.children())
    if len(kinds) == 1 and sum(kinds.values()) > 1 and _is_opaque(child):  # DenseBlock
        inside = ", ".join(_ops(child))
        detail = f"{sum(kinds.values())} \u00d7 {type(child).__name__}" + (
            f" [{inside}]" if inside else ""
        )
        return name, kind, detail
    if any(child.startswith("branch") for child, _ in module.named_children()):
        # The branches are drawn inside the box; after them, Inception-ResNet's projection.
        after = [_op(c) for n, c in module.named_children() if not n.startswith("branch")]
        after = [op for op in after if op]
        detail = ("concatenate \u2192 " + " \u2192 ".join(after)) if after else ""
        return name, kind, detail + (", + input" if "Residual" in name and detail else "")
    ops = _ops(module)
    detail = " \u2192 ".join(ops) if 0 < len(ops) <= 8 else ""
    if detail and any(child in ("shortcut", "downsample") for child, _ in module.named_children()):
        detail += ", + shortcut"
    common, times = kinds.most_common(1)[0]
    if not detail and times >= 3:  # NASNet's cells: five blocks
        detail = f"{times} \u00d7 {common}"
    return name, kind, detail


def _name_stem(name: str) -> str:
    return re.sub(r"[\d_]+$", "", name)


@dataclass
class _Candidate:
    path: str
    name: str
    module: nn.Module
    group: str
    stage: bool  # its container holds blocks of one class only
    stage_size: int  # how many blocks the container holds
    band: str  # the model's child that holds it


def _walk(module: nn.Module, prefix: str, group: str, stage: bool, shapes, out: list) -> None:
    for name, child in module.named_children():
        path = f"{prefix}{name}"
        if type(child) in _CONTAINERS and list(child.children()):
            kinds = {type(c) for c in child.children()}
            _walk(child, f"{path}.", name, len(kinds) == 1, shapes, out)
        elif child in shapes:
            size = len(list(module.children()))
            band = path.split(".")[0] if "." in path else ""
            out.append(_Candidate(path, name, child, group, stage, size, band))


def _tower_lanes(candidates: list[_Candidate]) -> int:
    """How many towers grouped (not depthwise) convolutions split the network into."""
    lanes = 1
    for candidate in candidates:
        for module in candidate.module.modules():
            if isinstance(module, nn.Conv2d) and 1 < module.groups < module.in_channels:
                if candidate.module is module or _conv_like(candidate.module) is module:
                    lanes = max(lanes, module.groups)
    return lanes


def _heading(model: nn.Module) -> tuple[str, str]:
    card = getattr(model, "card", None)
    if card is None:
        name = type(model).__name__
        return name, name
    authors = card.authors.split(",")[0].strip()
    if "," in card.authors or " and " in card.authors:
        authors = authors.split(" and ")[0].strip() + " et al."
    return card.name, f"{card.name}: {card.title}\n{authors}, {card.year}"


def architecture_diagram(
    model: nn.Module, input_size: tuple[int, int, int] | None = None, *, macs: bool = True
) -> Diagram:
    """The block diagram of ``model`` at ``input_size`` (C, H, W; default: its card's)."""
    from keyarch.analysis.complexity import count_macs, count_parameters

    name, heading = _heading(model)
    card = getattr(model, "card", None)
    if input_size is None:
        if card is None:
            raise BadInput(f"{name} has no model card: give input_size as (C, H, W)")
        input_size = tuple(card.input_size)
    input_size = tuple(int(v) for v in input_size)
    module_macs: dict[nn.Module, int] = {}
    shapes = _record_shapes(model, input_size, module_macs if macs else None)
    candidates: list[_Candidate] = []
    _walk(model, "", "", False, shapes, candidates)
    lanes = _tower_lanes(candidates)

    boxes: list[Box] = [Box(("input",), "input", "image", "input", (), input_size)]
    sources: list[_Candidate | None] = [None]  # the module behind each box
    in_towers = False
    for candidate in candidates:
        module, shape = candidate.module, shapes[candidate.module]
        previous = boxes[-1]
        if _is_attachment(module, shape) and previous.kind != "input":
            note = _attachment_note(module)
            if note and note not in previous.notes[-1:]:
                previous.notes.append(note)
            previous.out_shape = shape[1]
            previous.names += (candidate.path,)
            previous.macs += module_macs.get(module, 0)
            continue
        spatial = len(shape[1]) == 3 and shape[1][1:] != (1, 1)
        if lanes > 1 and not in_towers and spatial:
            in_towers = True
        elif in_towers and not spatial:
            in_towers = False
        box_lanes = lanes if in_towers else 1
        term, kind, detail = _term_and_kind(module, shape[:2], box_lanes)
        if len(shape) > 2:
            detail = "; ".join(filter(None, (detail, "reads the two previous outputs")))
        box = Box(
            names=(candidate.path,),
            label=candidate.name,
            term=term,
            kind=kind,
            in_shape=shape[0],
            out_shape=shape[1],
            parameters=count_parameters(module, trainable_only=False),
            notes=_notes(module) if _conv_like(module) is not None else [],
            detail=detail,
            branches=_branches(module),
            group=candidate.group,
            band=candidate.band,
            lanes=box_lanes,
            macs=module_macs.get(module, 0),
            bypass=_bypass(module, detail),
        )
        if box_lanes > 1:
            conv = _conv_like(module)
            box.cross = previous.lanes == 1 or (isinstance(conv, nn.Conv2d) and conv.groups == 1)
        elif previous.lanes > 1:
            box.cross = True
        boxes.append(box)
        sources.append(candidate)

    boxes = _collapse(boxes, sources)
    total = count_parameters(model, trainable_only=False)
    counted = None
    if macs:
        try:
            counted = count_macs(model, input_size)
        except Exception:  # a diagram without the MACs beats no diagram
            counted = None
    return Diagram(name, heading, input_size, boxes, total, counted)


def _collapse(boxes: list[Box], sources: list[_Candidate | None]) -> list[Box]:
    """Consecutive blocks of one class, name and container that keep the shape become one
    box (in a stage of one class of blocks, the first may change the shape); then each box
    gets the label a reader looks for: the stage's name, or first - last block."""

    def key(candidate: _Candidate | None) -> tuple:
        if candidate is None:
            return ()
        return type(candidate.module), _name_stem(candidate.name), candidate.group

    runs: list[tuple[Box, _Candidate | None, _Candidate | None]] = []  # box, first, last
    for box, source in zip(boxes, sources, strict=True):
        if runs:
            last, first, _ = runs[-1]
            if (
                source is not None
                and key(first) == key(source)
                and last.kind != "head"
                and box.in_shape == box.out_shape
                and (last.in_shape == last.out_shape or first.stage)
                and last.lanes == box.lanes
            ):
                last.count += 1
                last.names += box.names
                last.notes += [note for note in box.notes if note not in last.notes]
                last.parameters += box.parameters
                last.macs += box.macs
                last.bypass_every = last.bypass_every and box.bypass == last.bypass
                last.bypass = last.bypass or box.bypass
                last.out_shape = box.out_shape
                runs[-1] = (last, first, source)
                continue
        runs.append((box, source, source))
    for box, first, last in runs:
        if first is not None:
            _name_box(box, first, last)
    return [box for box, _, _ in runs]


def _name_box(box: Box, first: _Candidate, last: _Candidate) -> None:
    start, end = first.name, last.name
    if first.name.isdigit():  # ResNet's conv2_x.0: the stage is the name
        start, end = f"{first.group}.{start}", f"{first.group}.{end}"
        whole = box.count == first.stage_size
        if first.name == "0" and (box.count > 1 or whole):
            start = end = first.group
    box.label = f"{start} \u2013 {end}" if box.count > 1 and start != end else start
    changes = box.count > 1 and len(box.in_shape) == 3 and len(box.out_shape) == 3
    if changes and box.out_shape[1] < box.in_shape[1]:
        factor = box.in_shape[1] // box.out_shape[1]
        box.detail = f"first block /{factor}" + (f";  {box.detail}" if box.detail else "")
