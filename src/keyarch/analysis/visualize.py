"""Seeing what a CNN learned, after Zeiler and Fergus (2013).

* ``first_layer_filters``: the first convolution's kernels as small colour images.
* ``strongest_feature_maps``: the maps of a layer that respond most to an image.
* ``deconvnet_projection``: the deconvnet of section 2.1 projects one activation back to
  pixel space by reversing the layers below it: max unpooling with the switches recorded
  on the way up, rectification, and filtering with the transposed convolution weights.
  Normalisation layers are passed through unchanged on the way down, as in the paper.

Works on any model whose ``features`` is a sequence of Conv2d, ReLU, max-pooling and
normalisation layers, in call order (AlexNet, ZFNet, VGG).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from keyarch.errors import BadInput

_PASS_THROUGH = (nn.LocalResponseNorm, nn.BatchNorm2d, nn.Identity, nn.Dropout)


def _leaf_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    features = getattr(model, "features", None)
    if not isinstance(features, nn.Module):
        raise BadInput(f"{type(model).__name__} has no `features` sequence to visualise")
    leaves = [(n, m) for n, m in features.named_modules() if n and not list(m.children())]
    supported = (nn.Conv2d, nn.ReLU, nn.MaxPool2d, *_PASS_THROUGH)
    for name, module in leaves:
        if not isinstance(module, supported):
            raise BadInput(
                f"the deconvnet cannot reverse layer {name!r} ({type(module).__name__}); it "
                "supports Conv2d, ReLU, MaxPool2d and normalisation layers"
            )
    return leaves


def layer_names(model: nn.Module) -> list[str]:
    """The convolutional layers a deconvnet can start from."""
    return [n for n, m in _leaf_layers(model) if isinstance(m, nn.Conv2d)]


@dataclass
class _Switches:
    """What one layer recorded on the way up, to be reversed on the way down."""

    module: nn.Module
    input_shape: torch.Size
    indices: torch.Tensor | None = None  # max-pooling switches


def _forward_recording(
    model: nn.Module, image: torch.Tensor, layer: str
) -> tuple[torch.Tensor, list[_Switches]]:
    """Run ``features`` up to ``layer`` (with its ReLU), recording the switches."""
    leaves = _leaf_layers(model)
    names = [n for n, _ in leaves]
    if layer not in names or not isinstance(dict(leaves)[layer], nn.Conv2d):
        raise BadInput(f"unknown layer {layer!r}; expected one of {', '.join(layer_names(model))}")
    stop = names.index(layer)
    while stop + 1 < len(leaves) and isinstance(leaves[stop + 1][1], nn.ReLU):
        stop += 1  # the rectified response, as the paper shows it
    record: list[_Switches] = []
    x = image
    for _, module in leaves[: stop + 1]:
        switch = _Switches(module, x.shape)
        if isinstance(module, nn.MaxPool2d):
            x, switch.indices = F.max_pool2d(
                x,
                module.kernel_size,
                module.stride,
                module.padding,
                module.dilation,
                ceil_mode=module.ceil_mode,
                return_indices=True,
            )
        elif isinstance(module, nn.ReLU):
            x = F.relu(x)  # never in place: the map is returned
        else:
            x = module(x)
        record.append(switch)
    return x, record


def _reverse(activation: torch.Tensor, record: list[_Switches]) -> torch.Tensor:
    """The deconvnet: unpool, rectify, transposed filtering, from the top layer down."""
    y = activation
    for switch in reversed(record):
        module = switch.module
        if isinstance(module, nn.MaxPool2d):
            y = F.max_unpool2d(
                y,
                switch.indices,
                module.kernel_size,
                module.stride,
                module.padding,
                output_size=switch.input_shape[-2:],
            )
        elif isinstance(module, nn.ReLU):
            y = F.relu(y)
        elif isinstance(module, nn.Conv2d):
            stride, padding = module.stride, module.padding
            expected = [
                (y.shape[2 + i] - 1) * stride[i] - 2 * padding[i] + module.kernel_size[i]
                for i in range(2)
            ]
            extra = [switch.input_shape[2 + i] - expected[i] for i in range(2)]
            y = F.conv_transpose2d(
                y,
                module.weight,
                stride=stride,
                padding=padding,
                output_padding=extra,
                groups=module.groups,
            )
    return y


@torch.no_grad()
def strongest_feature_maps(
    model: nn.Module, image: torch.Tensor, layer: str, top: int = 9
) -> tuple[torch.Tensor, list[int]]:
    """The ``top`` rectified maps of ``layer`` with the largest activation, and their indices."""
    maps, _ = _forward_recording(model, image, layer)
    strength = maps[0].flatten(1).max(dim=1).values
    channels = strength.argsort(descending=True)[:top].tolist()
    return maps[0, channels], channels


@torch.no_grad()
def deconvnet_projection(
    model: nn.Module, image: torch.Tensor, layer: str, channel: int
) -> torch.Tensor:
    """Project the strongest activation of map ``channel`` of ``layer`` to pixel space.

    All other activations of the layer are set to zero, as in section 2.1 of the paper.
    Returns a (C, H, W) tensor the size of ``image``.
    """
    maps, record = _forward_recording(model, image, layer)
    if not 0 <= channel < maps.shape[1]:
        raise BadInput(f"{layer} has {maps.shape[1]} maps; channel {channel} does not exist")
    selected = torch.zeros_like(maps)
    flat = maps[0, channel].flatten()
    position = int(flat.argmax())
    selected[0, channel].view(-1)[position] = flat[position]
    return _reverse(selected, record)[0]


def first_layer_filters(model: nn.Module) -> torch.Tensor:
    """The kernels of the first convolution, (out_channels, in_channels, k, k)."""
    for _, module in _leaf_layers(model):
        if isinstance(module, nn.Conv2d):
            return module.weight.detach()
    raise BadInput("the model has no convolution in `features`")


def _normalise(t: torch.Tensor) -> torch.Tensor:
    low, high = t.min(), t.max()
    return (t - low) / (high - low) if high > low else torch.zeros_like(t)


def _as_image(t: torch.Tensor):
    """(C, H, W) -> an array matplotlib shows: RGB for 3 channels, grey for one."""
    t = _normalise(t.float())
    return t.permute(1, 2, 0).numpy() if t.shape[0] == 3 else t.mean(0).numpy()


def _grid_figure(images: list, titles: list[str], path: Path, suptitle: str, cmap=None):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(len(images), 12 if len(images) > 16 else 4)
    rows = -(-len(images) // columns)
    figure, axes = plt.subplots(
        rows, columns, figsize=(1.6 * columns, 1.6 * rows + 0.5), squeeze=False
    )
    for axis in axes.flat:
        axis.axis("off")
    for axis, image, title in zip(axes.flat, images, titles, strict=False):
        axis.imshow(image, cmap=cmap, interpolation="nearest")
        if title:
            axis.set_title(title, fontsize=7)
    figure.suptitle(suptitle, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def save_visualisations(
    model: nn.Module,
    image: torch.Tensor,
    out_dir: str | Path,
    *,
    layer: str | None = None,
    top: int | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write filters, strongest maps and their deconvnet projections as PNG; return the paths.

    ``image`` is one normalised (1, C, H, W) input; ``layer`` defaults to the last
    convolution; ``top`` maps (default 9, or all of a layer with fewer). The pictures
    appear in ``out_dir`` together once all are drawn (an unknown ``layer``, or pictures
    already there without ``overwrite``, are refused first).
    """
    from keyarch.outputs import staged_folder

    model.eval()
    layers = layer_names(model)
    if not layers:
        raise BadInput(f"{getattr(model, 'model_name', type(model).__name__)} has no "
                       "convolution to visualise")  # fmt: skip
    if layer is not None and layer not in layers:
        shown = ", ".join(layers[:8]) + (" ..." if len(layers) > 8 else "")
        raise BadInput(f"--layer {layer}: not a convolution of this model; its convolutions: "
                       f"{shown}")  # fmt: skip
    layer = layer or layers[-1]
    maps = dict(_leaf_layers(model))[layer].out_channels
    if top is None:
        top = min(9, maps)
    elif top > maps:
        raise BadInput(f"--top {top}: {layer} has {maps} feature maps; give at most {maps}")
    from keyarch.outputs import check_folder

    check_folder(out_dir, "--out", names=_names(layer), overwrite=overwrite)
    with staged_folder(out_dir, "--out", overwrite=overwrite, last=()) as scratch:
        _draw_all(model, image, scratch, layer, top)
    out = Path(out_dir)
    return [out / p for p in _names(layer)]


def _names(layer: str) -> list[str]:
    return ["filters_first_layer.png", f"feature_maps_{layer}.png", f"deconvnet_{layer}.png",
            "input.png"]  # fmt: skip


def _draw_all(model: nn.Module, image: torch.Tensor, out: Path, layer: str, top: int) -> None:
    name = getattr(model, "model_name", type(model).__name__)
    paths = [out / p for p in _names(layer)]

    filters = first_layer_filters(model)
    _grid_figure(
        [_as_image(f) for f in filters],
        [""] * len(filters),
        paths[0],
        f"{name}: first-layer filters {tuple(filters.shape[1:])}",
    )
    maps, channels = strongest_feature_maps(model, image, layer, top)
    _grid_figure(
        [_normalise(m).numpy() for m in maps],
        [f"map {c}" for c in channels],
        paths[1],
        f"{name}: strongest maps of {layer}",
        cmap="viridis",
    )
    projections = [deconvnet_projection(model, image, layer, c) for c in channels]
    _grid_figure(
        [_as_image(p) for p in projections],
        [f"map {c}" for c in channels],
        paths[2],
        f"{name}: deconvnet projections of {layer}'s strongest activations",
    )
    _grid_figure([_as_image(image[0])], ["input"], paths[3], f"{name}: input")
