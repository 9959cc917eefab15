"""A grid of images with the captions a model wrote for them (and one reference each)."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import torch

from keyarch.outputs import atomic_write


def draw_caption_grid(path: str | Path, images: torch.Tensor, generated: list[str],
                      references: list[str], title: str, columns: int = 4) -> None:  # fmt: skip
    """``images`` (uint8 N x 3 x H x W) in rows of ``columns``, each with the generated
    caption (bold) and a reference caption under it; a PNG written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = len(images)
    rows = max(1, -(-count // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(3.4 * columns, 4.3 * rows), squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index >= count:
            continue
        axis.imshow(images[index].permute(1, 2, 0).numpy(), interpolation="nearest")
        text = "\n".join(textwrap.wrap(generated[index], 34))
        reference = "\n".join(textwrap.wrap("ref: " + references[index], 38))
        axis.set_title(text, fontsize=9, fontweight="bold", loc="left")
        axis.text(0, -0.04, reference, transform=axis.transAxes, fontsize=8, va="top",
                  color="dimgray")  # fmt: skip
    figure.suptitle(title, fontsize=11)
    figure.tight_layout(h_pad=3.0, rect=(0, 0, 1, 1 - 0.45 / (4.3 * rows)))  # room for the title
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    atomic_write(Path(path), buffer.getvalue())
