"""Drawing of a block diagram (``keyarch.analysis.diagram``) with matplotlib, no graphviz:
SVG or PNG by the suffix, top to bottom, the tensor shape (C x H x W) written on each
arrow, parameters beside each box, the paper in the title and the totals (parameters,
MACs) in the footer. ``draw_model(model, path)`` builds and draws in one call.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from torch import nn

from keyarch.analysis.diagram import COLOURS, Box, Diagram, architecture_diagram

SUFFIXES = (".svg", ".png")


def _shape_text(shape: tuple[int, ...], lanes: int = 1) -> str:
    if not shape:
        return ""
    if lanes > 1 and len(shape) == 3:
        per = (shape[0] // lanes, *shape[1:])
        return f"{lanes} towers \u00d7 " + " \u00d7 ".join(str(v) for v in per)
    return " \u00d7 ".join(str(v) for v in shape)


def _millions(count: int) -> str:
    if count >= 1e9:
        return f"{count / 1e9:.2f} G"
    if count >= 1e6:
        return f"{count / 1e6:.2f} M"
    if count >= 1e3:
        return f"{count / 1e3:.1f} k"
    return str(count)


_WIDTH = 9.5  # inches
_BOX_LEFT, _BOX_RIGHT = 2.0, 7.6
_WRAP = 78  # characters of detail text per line in a full-width box


def _box_lines(box: Box) -> tuple[list[str], list[str]]:
    """(title lines, small lines) of a box."""
    wrap = _WRAP if box.lanes == 1 else _WRAP // box.lanes - 6
    title = box.title if box.kind != "input" else f"input  \u00b7  {_shape_text(box.out_shape)}"
    small = textwrap.wrap(box.detail, wrap) if box.detail else []
    if box.notes:
        small.append(("then " if box.detail or box.branches else "") + ", ".join(box.notes))
    if box.lanes > 1:
        return textwrap.wrap(title, wrap + 4), small
    return [title], small


def _box_height(box: Box) -> float:
    title, small = _box_lines(box)
    height = 0.22 + 0.2 * len(title) + 0.16 * len(small)
    if box.branches:
        each = _branch_width(box)
        height += 0.16 + 0.13 * max(len(_wrap_branch(b, each)) for b in box.branches)
    return height


def _branch_width(box: Box) -> float:
    """Inches of one branch's box inside ``box``."""
    inner = (_BOX_RIGHT - _BOX_LEFT - 0.2 * (box.lanes - 1)) / box.lanes - 0.2
    return (inner - 0.08 * (len(box.branches) - 1)) / len(box.branches)


def _wrap_branch(text: str, width: float) -> list[str]:
    characters = max(10, int(width * 72 / (7.5 * 0.62)))  # 7.5 pt text, average glyph
    return textwrap.wrap(text, characters, break_long_words=False)


def _check_path(path: str | Path, overwrite: bool = False) -> Path:
    from keyarch.outputs import check_file

    return check_file(path, suffixes=SUFFIXES, overwrite=overwrite)


def _rectangle(axes, left, top, width, height, rounding, **style) -> None:
    from matplotlib.patches import FancyBboxPatch

    shape = f"round,pad=0,rounding_size={rounding}"
    axes.add_patch(FancyBboxPatch((left, top), width, height, boxstyle=shape, **style))


_GREY = {"fontsize": 8, "color": "#666666", "va": "center"}


def save_diagram(diagram: Diagram, path: str | Path, *, overwrite: bool = False) -> Path:
    """Draw ``diagram`` to ``path`` (.svg or .png), whole or not at all; an existing file is
    not overwritten unless ``overwrite``."""
    import matplotlib
    from matplotlib.figure import Figure

    from keyarch.outputs import staged_file

    path = _check_path(path, overwrite)
    gap = 0.46  # the arrow between two boxes, with the shape beside it
    heights = [_box_height(box) for box in diagram.boxes]
    heading = [part for line in diagram.heading.split("\n") for part in textwrap.wrap(line, 80)]
    header, footer = 0.35 + 0.24 * len(heading), 0.6
    height = header + sum(heights) + gap * (len(heights) - 1) + footer
    figure = Figure(figsize=(_WIDTH, height))
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, _WIDTH)
    axes.set_ylim(height, 0)  # y grows downwards, in inches
    axes.axis("off")
    for number, line in enumerate(heading):  # the title in bold, the authors below
        weight = "bold" if number < len(heading) - 1 else "normal"
        axes.text(_WIDTH / 2, 0.25 + 0.24 * number, line, ha="center", va="top", fontsize=12,
                  weight=weight)  # fmt: skip
    tops = [header + sum(heights[:i]) + gap * i for i in range(len(heights))]

    # Bands behind the boxes of one of the model's children ("entry_flow"), named at left.
    start = 0
    while start < len(diagram.boxes):
        band, end = diagram.boxes[start].band, start
        while end + 1 < len(diagram.boxes) and diagram.boxes[end + 1].band == band:
            end += 1
        if band and (end > start or band not in diagram.boxes[start].label):
            top, bottom = tops[start] - 0.08, tops[end] + heights[end] + 0.08
            _rectangle(axes, 0.2, top, _WIDTH - 0.4, bottom - top, 0.08, facecolor="#f7f7fb",
                       edgecolor="#b8b8c8", linewidth=0.8, linestyle="--")  # fmt: skip
            axes.text(0.32, (top + bottom) / 2, band.replace("_", " "), va="center",
                      fontsize=10, style="italic", color="#444466")  # fmt: skip
        start = end + 1

    for index, (box, top, box_height) in enumerate(zip(diagram.boxes, tops, heights, strict=True)):
        _draw_box(axes, box, top, box_height)
        counts = [f"{_millions(box.parameters)} params"] if box.parameters else []
        counts += ["(both towers)"] if box.lanes == 2 and counts else []
        counts[1:1] = [f"{_millions(box.macs)} MACs"] if box.macs else []
        if counts:  # beside the box (below the tower label where there are towers)
            y = top + box_height / 2 + (0.2 if box.lanes > 1 else 0)
            axes.text(_BOX_RIGHT + 0.1, y, "\n".join(counts), **_GREY)
        if box.bypass:
            _draw_bypass(axes, box, top, box_height)
        if index + 1 < len(diagram.boxes):
            _draw_arrows(axes, box, diagram.boxes[index + 1], top + box_height, tops[index + 1])

    footer_text = f"{diagram.parameters:,} parameters"
    if diagram.macs is not None:
        footer_text += f"   \u00b7   {_millions(diagram.macs)} MACs"
    footer_text += f"   \u00b7   input {_shape_text(diagram.input_size)}"
    axes.text(_WIDTH / 2, height - 0.3, footer_text, ha="center", va="center", fontsize=10)
    # a fixed salt: the same model draws the same SVG, byte for byte
    with matplotlib.rc_context({"svg.fonttype": "none", "font.family": "DejaVu Sans",
                                "svg.hashsalt": "keyarch"}):  # fmt: skip
        metadata = {"Date": None} if path.suffix.lower() == ".svg" else None
        with staged_file(path) as scratch:
            figure.savefig(scratch, dpi=110, metadata=metadata, format=path.suffix[1:].lower())
    return path


def _draw_box(axes, box: Box, top: float, height: float) -> None:
    """One box, or one per tower side by side; its text; its branches inside it."""
    title, small = _box_lines(box)
    lane_width = (_BOX_RIGHT - _BOX_LEFT - 0.2 * (box.lanes - 1)) / box.lanes
    for lane in range(box.lanes):
        left = _BOX_LEFT + lane * (lane_width + 0.2)
        _rectangle(axes, left, top, lane_width, height, 0.06, edgecolor="#555555",
                   facecolor=COLOURS.get(box.kind, COLOURS["other"]), linewidth=1.0)  # fmt: skip
        centre, y = left + lane_width / 2, top + 0.12
        for line in title:
            axes.text(centre, y, line, ha="center", va="top", fontsize=10.5,
                      weight="bold" if box.kind != "input" else "normal")  # fmt: skip
            y += 0.2
        below = top + height - 0.08 - 0.16 * len(small)  # the small text under the branches
        if box.branches:
            each = _branch_width(box)
            for number, branch in enumerate(box.branches):
                x = left + 0.1 + number * (each + 0.08)
                _rectangle(axes, x, y + 0.06, each, below - y - 0.06, 0.03, facecolor="white",
                           edgecolor="#88aa88", linewidth=0.7)  # fmt: skip
                axes.text(x + each / 2, y + 0.11, "\n".join(_wrap_branch(branch, each)),
                          ha="center", va="top", fontsize=7.5, linespacing=1.15)  # fmt: skip
            y = below + 0.02
        for line in small:
            axes.text(centre, y + 0.02, line, ha="center", va="top", fontsize=8.5)
            y += 0.16
        if box.lanes > 1 and lane in (0, box.lanes - 1):  # AlexNet's towers: one per GPU
            x = left - 0.06 if lane == 0 else left + lane_width + 0.06
            axes.text(x, top + height / 2, f"GPU {lane + 1}", ha="right" if lane == 0 else "left",
                      **_GREY)  # fmt: skip


def _draw_bypass(axes, box: Box, top: float, height: float) -> None:
    """A block's connection around its layers, at the box's left: one arc to a sum for a
    residual block, nested arcs to a concatenation for a dense block."""
    from matplotlib.patches import FancyArrowPatch

    arcs = 3 if box.bypass == "dense" else 1
    for number in range(arcs):
        inset = 0.1 + 0.12 * number
        start, end = (_BOX_LEFT, top + inset), (_BOX_LEFT, top + height - 0.1)
        axes.add_patch(FancyArrowPatch(start, end, connectionstyle=f"arc3,rad={0.5 + 0.1 * number}",
                                       arrowstyle="-|>", mutation_scale=8, linewidth=0.9,
                                       color="#2e7d32", shrinkA=0, shrinkB=0))  # fmt: skip
    sign = "\u2295" if box.bypass == "residual" else "\u2225"  # sum, or concatenation
    what = "input added" if box.bypass == "residual" else "inputs\nconcatenated"
    if box.count > 1:
        what += "\n(each block)" if box.bypass_every else "\n(blocks that\nkeep the shape)"
    axes.text(_BOX_LEFT - 0.05, top + height - 0.1, sign, ha="right", va="center", fontsize=11,
              color="#2e7d32")  # fmt: skip
    axes.text(_BOX_LEFT - 0.3, top + height / 2, what, ha="right", va="center", fontsize=6.5,
              color="#2e7d32", linespacing=1.0)  # fmt: skip


def _lane_centres(box: Box) -> list[float]:
    lane_width = (_BOX_RIGHT - _BOX_LEFT - 0.2 * (box.lanes - 1)) / box.lanes
    return [_BOX_LEFT + lane * (lane_width + 0.2) + lane_width / 2 for lane in range(box.lanes)]


def _draw_arrows(axes, upper: Box, lower: Box, start: float, end: float) -> None:
    from matplotlib.patches import FancyArrowPatch

    sources, targets = _lane_centres(upper), _lane_centres(lower)
    if len(sources) == len(targets) and not lower.cross:
        pairs = list(zip(sources, targets, strict=True))
    else:  # every tower reads every tower (or the one box): crossing arrows
        pairs = [(source, target) for source in sources for target in targets]
    for source, target in pairs:
        axes.add_patch(FancyArrowPatch((source, start), (target, end), arrowstyle="-|>",
                                       mutation_scale=10, linewidth=1.0, color="#444444",
                                       shrinkA=0, shrinkB=0))  # fmt: skip
    text = _shape_text(upper.out_shape, upper.lanes)
    if upper.lanes > 1 and lower.lanes > 1 and lower.cross:
        text += "   (towers connect)"
    x = max(sources + targets) + 0.12
    axes.text(x, (start + end) / 2, text, ha="left", va="center", fontsize=8.5, color="#1f4e79")


def draw_model(
    model: nn.Module, path: str | Path, input_size: tuple[int, int, int] | None = None
) -> Path:
    """Build the diagram of ``model`` and save it to ``path`` (.svg or .png)."""
    path = _check_path(path)  # before the forward pass, not after
    return save_diagram(architecture_diagram(model, input_size), path)
