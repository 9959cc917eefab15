"""Test-time augmentation, averaging softmax outputs (the tasks in ``keyarch.train.tasks``
evaluate with it).

* ``tencrop`` (AlexNet, section 4.1): the four corner crops, the centre crop and their
  horizontal flips.
* ``multiscale`` (VGG, section 3.2): the image at several scales Q (1, 1.5 and 2 times the
  evaluation size, i.e. 256, 384, 512 for 224 crops) and their flips, each taken whole (a
  centre square); the adaptive pooling before fc6 turns the network into the paper's dense
  evaluation at every scale.
* ``flip``: the centre crop and its mirror image.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF

from keyarch.errors import BadInput
from keyarch.train.recipes import TTA_MODES


def _softmax(model: torch.nn.Module, x: torch.Tensor, autocast) -> torch.Tensor:
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
        size = min(images.shape[-2:])
        outputs = []
        for scale in (1.0, 1.5, 2.0):
            side = max(crop, round(size * scale))
            resized = TF.center_crop(TF.resize(images, side, antialias=True), [side, side])
            outputs += [
                _softmax(model, resized, autocast),
                _softmax(model, resized.flip(-1), autocast),
            ]
        return torch.stack(outputs).mean(0)
    raise BadInput(f"unknown test-time augmentation {mode!r}; expected one of {TTA_MODES}")
