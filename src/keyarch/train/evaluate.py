"""Test-time augmentation, averaging softmax outputs (the tasks in ``keyarch.train.tasks``
evaluate with it).

* ``tencrop`` (AlexNet, section 4.1): the four corner crops, the centre crop and their
  horizontal flips.
* ``multiscale`` (VGG, section 3.2): the image at several scales Q (1, 1.5 and 2 times the
  evaluation size, i.e. 256, 384, 512 for 224 crops) and their flips, each a centre square
  (the paper takes the whole image; a batch needs one size). A model with ``dense_forward``
  (VGG) is evaluated densely, the paper's way: fc layers as convolutions over the whole
  square, the class score map averaged. A network that ends in global average pooling and
  one linear layer computes exactly that already. Other fully connected heads (AlexNet,
  ZFNet) pool their last map adaptively to the size fc6 takes: not dense evaluation.
* ``flip``: the centre crop and its mirror image.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF

from keyarch.errors import BadInput
from keyarch.train.checkpoint import unwrap
from keyarch.train.recipes import TTA_MODES


def _softmax(
    model: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, autocast
) -> torch.Tensor:
    with autocast():
        return F.softmax(model(x).float(), dim=1)


def tta_probabilities(
    model: torch.nn.Module, images: torch.Tensor, mode: str, crop: int, autocast
) -> torch.Tensor:
    """Class probabilities of a batch of evaluation-size images under ``mode``."""
    if mode == "none":
        return _softmax(model, TF.center_crop(images, [crop, crop]), autocast)
    if mode == "flip":
        centre = TF.center_crop(images, [crop, crop])
        return (_softmax(model, centre, autocast) + _softmax(model, centre.flip(-1), autocast)) / 2
    if mode == "tencrop":
        crops = TF.ten_crop(images, [crop, crop])  # 5 crops, then their flips
        return torch.stack([_softmax(model, c, autocast) for c in crops]).mean(0)
    if mode == "multiscale":
        forward = getattr(unwrap(model), "dense_forward", model)  # VGG: section 3.2's way
        size = min(images.shape[-2:])
        outputs = []
        for scale in (1.0, 1.5, 2.0):
            side = max(crop, round(size * scale))
            resized = TF.center_crop(TF.resize(images, side, antialias=True), [side, side])
            outputs += [
                _softmax(forward, resized, autocast),
                _softmax(forward, resized.flip(-1), autocast),
            ]
        return torch.stack(outputs).mean(0)
    raise BadInput(f"unknown test-time augmentation {mode!r}; expected one of {TTA_MODES}")
