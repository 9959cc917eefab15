"""Whether a model can take an input size, and whether this machine can hold the work,
decided before the work: a forward pass on the meta device (shapes only, nothing
allocated), its activations summed, compared with the machine's memory.

``check_input_size`` turns a size a network cannot take (wrong channels, too small for its
pooling) into one line naming the flag, the size and the smallest side it takes; a batch
whose activations would not fit in memory into one line with the figure.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
from torch import nn

from keyarch.errors import BadInput


def machine_memory() -> int:
    """Bytes of memory on this machine (the cgroup's limit, when lower)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = open(limit).read().strip()  # noqa: SIM115 - one short read
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total


def activation_bytes(
    model: nn.Module, size: Sequence[int], batch: int = 1, *, training: bool = False
) -> int:
    """Bytes of activations a batch of ``batch`` inputs of ``size`` (float32) needs, from
    one forward pass on the meta device (raising what the model raises): for inference the
    largest layer's input and output together (what is alive at the peak, about); for
    training every layer's output, kept for the backward pass (an estimate from below:
    gradients come on top, in-place layers share their input's memory)."""
    peak, kept = _activations(model, size)
    return batch * (kept if training else peak)


def _activations(model: nn.Module, size: Sequence[int]) -> tuple[int, int]:
    """(peak, kept) bytes for one input, from one meta forward pass (see activation_bytes);
    activations grow with the batch, so a batch of N needs N times these."""
    outputs: list[int] = []
    peak = 0

    def count(module, inputs, output) -> None:
        nonlocal peak
        sizes = [t.numel() * t.element_size() for t in _tensors(output)]
        outputs.append(sum(sizes))
        peak = max(peak, sum(sizes) + sum(t.numel() * t.element_size() for t in _tensors(inputs)))

    if not _on_meta(model):
        raise ValueError("activation_bytes needs a model on the meta device")
    hooks = [m.register_forward_hook(count) for m in model.modules() if not list(m.children())]
    try:
        with torch.no_grad():
            model.eval()(torch.empty(1, *size, device="meta"))
    finally:
        for hook in hooks:
            hook.remove()
    return peak, sum(outputs)


def _tensors(value) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors(v)]
    return []


def _on_meta(model: nn.Module) -> bool:
    return all(p.is_meta for p in model.parameters())


def _takes(model: nn.Module, size: Sequence[int]) -> str | None:
    """None when the model takes ``size``, else the first line of its complaint."""
    try:
        with torch.no_grad():
            model.eval()(torch.empty(1, *size, device="meta"))
    except (RuntimeError, ValueError, IndexError, AssertionError, ZeroDivisionError) as error:
        return (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
    return None


def smallest_side(model: nn.Module, channels: int, largest: int) -> int | None:
    """The smallest square side (at most ``largest``) the meta ``model`` takes, or None."""
    if _takes(model, (channels, largest, largest)) is not None:
        return None
    low, high = 1, largest
    while low < high:
        middle = (low + high) // 2
        if _takes(model, (channels, middle, middle)) is None:
            high = middle
        else:
            low = middle + 1
    return low


class InputNeeds:
    """What one input of a size costs a model (``needs``), checked against this machine."""

    def __init__(self, name: str, size: Sequence[int], peak: int, kept: int) -> None:
        self.name, self.size, self.peak, self.kept = name, tuple(size), peak, kept

    def check_memory(self, batch: int, flag: str, shown: str, *, training: bool = False):
        """Refuse, naming ``flag``, a batch whose activations would not fit in memory."""
        need = batch * (self.kept if training else self.peak)
        have = machine_memory()
        if need > have:
            raise BadInput(f"{flag} {shown}: a batch of {batch} at {_size(self.size)} needs "
                           f"about {need / 2**30:,.0f} GiB of activations; this machine has "
                           f"{have / 2**30:,.0f} GiB")  # fmt: skip


def needs(
    name: str, size: Sequence[int], flag: str, *, options: dict | None = None,
    shown: str | None = None,
) -> InputNeeds:  # fmt: skip
    """The model ``name`` (built with ``options``) on an input ``size`` (C, H, W), from one
    meta forward pass; a size it cannot take is refused in one line naming ``flag``: wrong
    channels, or too small (with the smallest side it takes, or the only one)."""
    from keyarch.registry import create_model, model_card

    card = model_card(name)
    shown = shown or ",".join(map(str, size))
    with torch.device("meta"):
        model = create_model(card.name, **(options or {}))
    try:
        peak, kept = _activations(model, size)
    except (RuntimeError, ValueError, IndexError, AssertionError, ZeroDivisionError) as error:
        complaint = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
        channels = (options or {}).get("in_chans", card.input_size[0])
        if size[0] != channels:
            own_size = _size(card.input_size)
            raise BadInput(f"{flag} {shown}: {card.name} takes {channels}-channel images, "
                           f"not {size[0]} (its input is {own_size})") from None  # fmt: skip
        own = max(card.input_size[1:])
        side = smallest_side(model, channels, own)
        if side == own and _takes(model, (channels, own + 1, own + 1)) is not None:
            smallest = f"; it takes only {own}x{own}"
        else:
            smallest = f"; the smallest it takes is {side}x{side}" if side else ""
        raise BadInput(f"{flag} {shown}: {card.name} cannot take a {_size(size)} input "
                       f"({complaint}){smallest}") from None  # fmt: skip
    return InputNeeds(card.name, size, peak, kept)


def check_input_size(
    name: str,
    size: Sequence[int],
    flag: str = "--input-size",
    *,
    batch: int = 1,
    training: bool = False,
    options: dict | None = None,
    shown: str | None = None,
    memory: bool = True,
) -> None:
    """Refuse, in one line naming ``flag``, an input ``size`` (C, H, W) the model ``name``
    (built with ``options``) cannot take (``needs``), or a batch of ``batch`` whose
    activations (``activation_bytes``, for ``training`` or inference) would not fit in this
    machine's memory (unless ``memory`` is False: the work allocates nothing, or runs on a
    GPU). ``shown`` is how the flag's value is written."""
    from keyarch.registry import model_card

    if model_card(name).task != "image-classification":
        return
    shown = shown or ",".join(map(str, size))
    found = needs(name, size, flag, options=options, shown=shown)
    if memory:
        found.check_memory(batch, flag, shown, training=training)


def _size(size: Sequence[int]) -> str:
    return "x".join(map(str, size))


def check_threads(threads: int | None, flag: str = "--threads", *, workers: int = 0) -> None:
    """Refuse more compute threads (plus ``workers`` loader processes) than this process's
    cores: an oversubscribed machine measures and trains slower than it is."""
    from keyarch.train.devices import usable_cores

    cores = usable_cores()
    if threads is not None and threads + workers > cores:
        extra = f" plus {workers} loader processes" if workers else ""
        raise BadInput(f"{flag} {threads}{extra}: more than the {cores} cores this process may "
                       f"run on; at most {max(1, cores - workers)}")  # fmt: skip
