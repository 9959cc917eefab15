"""The papers' data handling, as transforms that compose with torchvision's.

* AlexNet (section 4.1): random crops and horizontal flips; PCA colour augmentation, which
  adds multiples of the principal components of the training set's RGB values, with
  magnitudes proportional to their eigenvalues times alpha ~ N(0, 0.1), once per image.
* VGG (section 3.1): scale jittering, the shorter side rescaled to S ~ U[256, 512] before a
  224 crop.
* Inception (GoogLeNet, section 6): random-resized crops (torchvision's RandomResizedCrop).

Test-time augmentation lives in ``keyarch.train.evaluate``.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.transforms import v2

from keyarch.data.batch_augment import PHOTOMETRIC_RANGE, photometric, photometric_parameters
from keyarch.data.catalog import AUGMENTATIONS
from keyarch.errors import BadInput, BadType


def fit_pca_lighting(
    images: torch.Tensor, max_pixels: int = 1_000_000
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues (3,) and eigenvectors (3, 3, columns) of the RGB covariance of ``images``.

    ``images`` is uint8 (N, 3, H, W); values are taken in [0, 1]. At most ``max_pixels``
    evenly spaced pixels are used, which estimates a 3x3 covariance very well.
    """
    if images.ndim != 4 or images.shape[1] != 3:
        raise BadInput(f"PCA lighting needs RGB images (N, 3, H, W), got {tuple(images.shape)}")
    pixels = images.permute(1, 0, 2, 3).reshape(3, -1)
    step = max(1, pixels.shape[1] // max_pixels)
    pixels = pixels[:, ::step].double() / 255.0
    covariance = torch.cov(pixels)
    eigenvalues, eigenvectors = torch.linalg.eigh(covariance)
    return eigenvalues.float(), eigenvectors.float()


class PCALighting(nn.Module):
    """AlexNet's colour augmentation: add ``eigenvectors @ (alpha * eigenvalues)`` to every
    pixel of a float (3, H, W) image in [0, 1], with one alpha ~ N(0, std) per image."""

    def __init__(self, eigenvalues: torch.Tensor, eigenvectors: torch.Tensor, std: float = 0.1):
        super().__init__()
        if eigenvalues.shape != (3,) or eigenvectors.shape != (3, 3):
            raise BadInput("PCALighting needs 3 eigenvalues and a 3x3 eigenvector matrix")
        self.register_buffer("eigenvalues", eigenvalues)
        self.register_buffer("eigenvectors", eigenvectors)
        self.std = std

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if not image.is_floating_point():
            raise BadType("PCALighting works on float images in [0, 1]; apply ToDtype first")
        alpha = torch.randn(3) * self.std
        shift = self.eigenvectors @ (alpha * self.eigenvalues)
        return image + shift.view(3, 1, 1).to(image.dtype)


class PhotometricDistortions(nn.Module):
    """Howard's contrast, brightness and colour enhancements of a float (C, H, W) image in
    [0, 1], in a random order, each by a factor in [1 - spread, 1 + spread]
    (``keyarch.data.batch_augment.photometric`` does the same to a batch)."""

    def __init__(self, spread: float) -> None:
        super().__init__()
        self.spread = spread

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        factors, order = photometric_parameters(1, self.spread, None)
        return photometric(image.unsqueeze(0), factors, order)[0]


class ScaleJitter(nn.Module):
    """VGG's training scale: resize so the shorter side is S ~ U[min_size, max_size]."""

    def __init__(self, min_size: int, max_size: int) -> None:
        super().__init__()
        if not 0 < min_size <= max_size:
            raise BadInput(f"need 0 < min_size <= max_size, got {min_size}, {max_size}")
        self.min_size, self.max_size = min_size, max_size

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        size = int(torch.randint(self.min_size, self.max_size + 1, ()).item())
        return v2.functional.resize(image, size, antialias=True)


def train_transform(
    augment: str,
    *,
    crop: int,
    resize: int,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    pca: tuple[torch.Tensor, torch.Tensor] | None = None,
    pad: bool = False,
    min_area: float = 0.08,
) -> v2.Compose:
    """The training pipeline for uint8 (C, H, W) tensors, ending normalised float32.

    ``crop`` is the network's input size; ``resize`` the shorter side images are brought to
    first (AlexNet's 256 for 224 crops). "pad" centres small images in a ``crop`` field
    (LeNet-5's 28 -> 32), as ``pad=True`` does for "none" and "distort"; "distort" adds
    LeNet-5's planar affine distortions (section III-C: translations, scaling, horizontal
    shearing); "crop-flip" pads by 4 and crops (the usual CIFAR recipe); ``min_area`` is
    the smallest crop of "inception", "inception-light" and "resized-crop".
    """
    fit = [v2.CenterCrop(crop)] if pad else [v2.Resize(resize, antialias=True), v2.CenterCrop(crop)]
    finish = [v2.ToDtype(torch.float32, scale=True)]
    if augment in ("alexnet", "vgg") and pca is not None:
        finish.append(PCALighting(*pca))
    finish.append(v2.Normalize(mean, std))
    if augment == "none":
        steps = fit
    elif augment == "pad":
        steps = [v2.CenterCrop(crop)]  # centre-crop to a larger size pads with zeros
    elif augment == "distort":
        steps = [
            *fit,
            v2.RandomAffine(degrees=0, translate=(0.07, 0.07), scale=(0.9, 1.1), shear=(-10, 10)),
        ]
    elif augment == "crop-flip":
        steps = [
            v2.Resize(resize, antialias=True),
            v2.RandomCrop(crop, padding=4),
            v2.RandomHorizontalFlip(),
        ]
    elif augment in ("alexnet", "alexnet-crops"):  # the PCA noise above: "alexnet" only
        steps = [v2.Resize(resize, antialias=True), v2.RandomCrop(crop), v2.RandomHorizontalFlip()]
    elif augment == "vgg":
        steps = [ScaleJitter(resize, 2 * resize), v2.RandomCrop(crop), v2.RandomHorizontalFlip()]
    elif augment in (*PHOTOMETRIC_RANGE, "resized-crop"):
        steps = [
            v2.RandomResizedCrop(crop, scale=(min_area, 1.0), antialias=True),
            v2.RandomHorizontalFlip(),
        ]
        if augment in PHOTOMETRIC_RANGE:
            finish.insert(1, PhotometricDistortions(PHOTOMETRIC_RANGE[augment]))
    else:
        raise BadInput(f"unknown augmentation {augment!r}; expected one of {AUGMENTATIONS}")
    return v2.Compose([*steps, *finish])


def eval_transform(
    *, crop: int, resize: int, mean: tuple[float, ...], std: tuple[float, ...], pad: bool = False
) -> v2.Compose:
    """Single-crop evaluation: shorter side to ``resize``, centre ``crop``, normalise."""
    steps = (
        [v2.CenterCrop(crop)] if pad else [v2.Resize(resize, antialias=True), v2.CenterCrop(crop)]
    )
    return v2.Compose([*steps, v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)])
