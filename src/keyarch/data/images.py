"""Reading one image file into a normalised batch a model accepts."""

from __future__ import annotations

from pathlib import Path

import torch
from torchvision.transforms import v2

from keyarch.data.formats import open_image
from keyarch.errors import BadInput

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def load_image(
    path: str | Path,
    input_size: tuple[int, int, int],
    *,
    mean: tuple[float, ...] | None = None,
    std: tuple[float, ...] | None = None,
) -> torch.Tensor:
    """Load ``path`` as a (1, C, H, W) batch: shorter side resized, centre-cropped, normalised.

    ``input_size`` is (channels, height, width); one channel reads the image as grey.
    Mean and std default to ImageNet's for colour and to 0.5/0.5 for grey images.
    """
    channels, height, width = input_size
    if channels not in (1, 3):
        raise BadInput(f"images load with 1 or 3 channels, the model expects {channels}")
    image = open_image(path, "RGB" if channels == 3 else "L")
    mean = mean or (IMAGENET_MEAN if channels == 3 else (0.5,))
    std = std or (IMAGENET_STD if channels == 3 else (0.5,))
    transform = v2.Compose(
        [
            v2.PILToTensor(),
            v2.Resize(min(height, width), antialias=True),
            v2.CenterCrop((height, width)),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean, std),
        ]
    )
    return transform(image).unsqueeze(0)
