"""The papers' augmentations applied to a whole batch at once, on the training device.

Datasets held in memory (MNIST, Fashion-MNIST, CIFAR, small image folders) are indexed a
batch at a time as uint8 ``(B, C, H, W)`` and augmented here, on the device the network
trains on, instead of image by image in loader processes. Every random choice is still
made per image, as the papers describe: the parameters are drawn on the CPU from a
generator the caller seeds (``keyarch.train`` seeds it from seed, epoch and batch), for
the whole global batch, so a batch looks the same on any device, after a resume and in any
number of processes (each takes its rows of the global batch).

* ``pad`` / ``none``: LeNet-5's 28 -> 32 field, or a plain resize.
* ``crop-flip`` (ResNet/DenseNet on CIFAR): 4-pixel zero padding, random crop, flip; exact
  pixel shifts, nothing interpolated.
* ``distort`` (LeNet-5, section III-C): random planar affine maps, translations up to 7 %,
  scaling 0.9-1.1, horizontal shearing up to 10 degrees.
* ``alexnet`` (section 4.1): random crops of the resized image, flips, PCA colour noise
  ``eigenvectors @ (alpha * eigenvalues)`` with one alpha ~ N(0, 0.1) per image.
* ``vgg`` (section 3.1): scale jittering, the shorter side rescaled to S ~ U[resize,
  2 * resize], a random crop, flips, PCA colour noise.
* ``inception`` (GoogLeNet, section 6): crops of 8 % to 100 % of the area with aspect
  ratios 3/4 to 4/3, resized to the input size; flips; Andrew Howard's photometric
  distortions (GoogLeNet cites them, arXiv:1312.5402 section 2.1 describes them): contrast,
  brightness and colour each enhanced by a factor drawn from [0.5, 1.5], in a random order,
  as PIL's ``ImageEnhance`` does.
* ``resized-crop``: the same crops and flips without colour changes (SENet, MobileViT:
  "random resized cropping and horizontal flipping").
* The smallest crop of these three is the recipe's ``min_crop_area`` (8 % unless a paper
  limits it: MobileNet, section 3.2).
* ``inception-light`` (BN-Inception, section 4.2.1: "reduce the photometric distortions"):
  the same with factors from [0.75, 1.25] (the paper gives no number: assumed).

Scaled crops are sampled bilinearly in one ``grid_sample`` per batch, without antialiasing:
the in-memory datasets are small images that are enlarged, never shrunk.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from keyarch.data.catalog import AUGMENTATIONS
from keyarch.errors import BadInput

RANDOM_KINDS = tuple(kind for kind in AUGMENTATIONS if kind not in ("none", "pad"))
# how far from 1 the photometric enhancement factors go, per augmentation
PHOTOMETRIC_RANGE = {"inception": 0.5, "inception-light": 0.25}


class BatchAugment:
    """Turns uint8 batches into the network's normalised float input.

    ``crop`` is the network's input size, ``resize`` the shorter side images are brought to
    first, ``pad`` centres small images in a ``crop`` field instead of resizing them, and
    ``pca`` holds AlexNet's eigenvalues and eigenvectors (columns) of the RGB covariance.
    """

    def __init__(
        self,
        kind: str,
        *,
        crop: int,
        resize: int,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        pad: bool = False,
        pca: tuple[torch.Tensor, torch.Tensor] | None = None,
        min_area: float = 0.08,
    ) -> None:
        if kind not in ("none", "pad", *RANDOM_KINDS):
            raise BadInput(
                f"unknown augmentation {kind!r}; expected none, pad, {', '.join(RANDOM_KINDS)}"
            )
        self.kind, self.crop, self.resize, self.pad = kind, crop, resize, pad
        self.mean = torch.tensor(mean).view(1, -1, 1, 1)
        self.std = torch.tensor(std).view(1, -1, 1, 1)
        self.pca = pca if kind in ("alexnet", "vgg") else None
        self.min_area = min_area  # of the "inception" crops: GoogLeNet's 8 % by default

    @property
    def random(self) -> bool:
        return self.kind in RANDOM_KINDS

    # ---- deterministic steps -------------------------------------------------------------
    def _fit(self, images: torch.Tensor, size: int) -> torch.Tensor:
        """Float images brought to ``size``: centred in a larger field (``pad``) or resized."""
        height, width = images.shape[-2:]
        if self.pad:
            top, left = (size - height) // 2, (size - width) // 2
            return F.pad(images, (left, size - width - left, top, size - height - top))
        if min(height, width) == size:
            return images
        return F.interpolate(
            images,
            size=_shorter_side(height, width, size),
            mode="bilinear",
            antialias=True,
            align_corners=False,
        )

    def _normalise(self, images: torch.Tensor) -> torch.Tensor:
        mean, std = self.mean.to(images.device), self.std.to(images.device)
        return (images - mean) / std

    def evaluation(self, images: torch.Tensor) -> torch.Tensor:
        """The evaluation input: brought to ``resize`` (or padded), normalised; the caller
        takes the centre crop or the test-time crops."""
        images = images.float().div_(255)
        return self._normalise(self._fit(images, self.crop if self.pad else self.resize))

    # ---- training ------------------------------------------------------------------------
    def __call__(
        self, images: torch.Tensor, generator: torch.Generator, share: tuple[int, int] = (0, 1)
    ) -> torch.Tensor:
        """Augment this process's ``share`` (rank, world size) of a global batch: parameters
        are drawn for all ``len(images) * world_size`` images and rows ``rank::world_size``
        are applied, so every process draws the same numbers."""
        rank, world = share
        images = images.float().div_(255)
        if not self.random:
            return self._normalise(self._fit(images, self.crop))
        total = len(images) * world
        rows = slice(rank, None, world)
        mode = "bilinear"
        if self.kind == "distort":
            source = self._fit(images, self.crop)
            theta = _distortions(total, generator)
        else:
            if self.kind == "crop-flip":  # exact pixel shifts: sampled at pixel centres
                source = F.pad(self._fit(images, self.crop if self.pad else self.resize), (4,) * 4)
                windows = _crops(source.shape[-2:], source.shape[-2:], self.crop, total, generator)
                mode = "nearest"
            else:  # windows of the original image, enlarged in the same sampling step
                source = images
                height, width = images.shape[-2:]
                if self.kind in ("alexnet", "alexnet-crops"):  # the same crops, PCA or not
                    resized = _shorter_side(height, width, self.resize)
                    windows = _crops((height, width), resized, self.crop, total, generator)
                elif self.kind == "vgg":
                    windows = _scale_jitter(self.resize, self.crop, height, width, total, generator)
                else:
                    windows = _resized_crop_windows(height, width, total, generator, self.min_area)
            theta = _window_theta(windows, *source.shape[-2:])
        grid = F.affine_grid(
            theta[rows].to(source.device),
            [len(source), source.shape[1], self.crop, self.crop],
            align_corners=False,
        )
        images = F.grid_sample(source, grid, mode=mode, padding_mode="zeros", align_corners=False)
        if self.pca is not None:
            images = images + _pca_shifts(*self.pca, total, generator)[rows].to(images.device)
        if self.kind in PHOTOMETRIC_RANGE:
            factors, order = photometric_parameters(total, PHOTOMETRIC_RANGE[self.kind], generator)
            images = photometric(images, factors[rows], order[rows])
        return self._normalise(images)


def _shorter_side(height: int, width: int, size: int) -> tuple[int, int]:
    if height <= width:
        return size, max(size, round(width * size / height))
    return max(size, round(height * size / width)), size


def _crops(original, resized, size: int, total: int, generator) -> torch.Tensor:
    """A ``size`` square at a random whole-pixel offset of the image resized to ``resized``
    (height, width), as windows (top, left, height, width) of the ``original`` image, and
    flips."""
    (height, width), (resized_height, resized_width) = original, resized
    tops = torch.randint(0, resized_height - size + 1, (total,), generator=generator)
    lefts = torch.randint(0, resized_width - size + 1, (total,), generator=generator)
    y_scale, x_scale = height / resized_height, width / resized_width
    return torch.stack(
        [
            tops * y_scale,
            lefts * x_scale,
            torch.full((total,), size * y_scale),
            torch.full((total,), size * x_scale),
            _flips(total, generator),
        ],
        dim=1,
    ).double()


def _distortions(total: int, generator: torch.Generator) -> torch.Tensor:
    """LeNet-5's planar affine distortions as (total, 2, 3) output-to-input maps."""
    uniform = torch.rand(total, 4, generator=generator, dtype=torch.float64)
    shift = (uniform[:, :2] * 2 - 1) * 0.07 * 2  # up to 7 % of the side, in [-1, 1] units
    scale = 0.9 + 0.2 * uniform[:, 2]
    shear = torch.deg2rad((uniform[:, 3] * 2 - 1) * 10)
    # forward map: x' = scale * (x + tan(shear) * y) + shift_x, y' = scale * y + shift_y
    forward = torch.zeros(total, 2, 2, dtype=torch.float64)
    forward[:, 0, 0] = scale
    forward[:, 0, 1] = scale * torch.tan(shear)
    forward[:, 1, 1] = scale
    inverse = torch.linalg.inv(forward)
    offset = -(inverse @ shift.unsqueeze(-1))
    return torch.cat([inverse, offset], dim=2).float()


def _scale_jitter(resize: int, crop: int, height: int, width: int, total: int, generator):
    """VGG: shorter side to S ~ U[resize, 2 resize], then a random crop, as windows
    (top, left, height, width) in the original image's pixels, and flips."""
    sides = torch.randint(resize, 2 * resize + 1, (total,), generator=generator)
    window = crop * min(height, width) / sides.double()
    uniform = torch.rand(total, 2, generator=generator, dtype=torch.float64)
    top = uniform[:, 0] * (height - window).clamp(min=0)
    left = uniform[:, 1] * (width - window).clamp(min=0)
    return torch.stack([top, left, window, window, _flips(total, generator)], dim=1)


def _resized_crop_windows(
    height: int, width: int, total: int, generator, min_area: float = 0.08
) -> torch.Tensor:
    """GoogLeNet: ``min_area`` (8 %) to 100 % of the area, aspect ratio 3/4-4/3 (ten tries,
    then the whole image), as windows (top, left, height, width) and flips."""
    tries = 10
    fraction = min_area + (1 - min_area) * torch.rand(
        total, tries, generator=generator, dtype=torch.float64
    )
    area = height * width * fraction
    log_ratio = math.log(3 / 4) + math.log(16 / 9) * torch.rand(
        total, tries, generator=generator, dtype=torch.float64
    )
    ratio = log_ratio.exp()
    crop_width, crop_height = (area * ratio).sqrt(), (area / ratio).sqrt()
    fits = (crop_width <= width) & (crop_height <= height)
    first = torch.where(fits.any(1), fits.double().argmax(1), torch.full((total,), -1))
    chosen = first.clamp(min=0).unsqueeze(1)
    window_height = torch.where(
        first >= 0,
        crop_height.gather(1, chosen)[:, 0],
        torch.full((total,), float(height), dtype=torch.float64),
    )
    window_width = torch.where(
        first >= 0,
        crop_width.gather(1, chosen)[:, 0],
        torch.full((total,), float(width), dtype=torch.float64),
    )
    uniform = torch.rand(total, 2, generator=generator, dtype=torch.float64)
    top = uniform[:, 0] * (height - window_height)
    left = uniform[:, 1] * (width - window_width)
    return torch.stack([top, left, window_height, window_width, _flips(total, generator)], 1)


def _flips(total: int, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(total, generator=generator) < 0.5).double()


def _window_theta(windows: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(total, 2, 3) maps from the output square to each window of the input (flipped
    where the window's fifth column says so), in ``affine_grid``'s [-1, 1] units."""
    top, left, window_height, window_width, flipped = windows.unbind(1)
    theta = torch.zeros(len(windows), 2, 3, dtype=torch.float64)
    theta[:, 0, 0] = window_width / width * (1 - 2 * flipped)
    theta[:, 0, 2] = (2 * left + window_width) / width - 1
    theta[:, 1, 1] = window_height / height
    theta[:, 1, 2] = (2 * top + window_height) / height - 1
    return theta.float()


def _pca_shifts(eigenvalues, eigenvectors, total: int, generator) -> torch.Tensor:
    alpha = torch.randn(total, 3, generator=generator) * 0.1
    shift = (alpha * eigenvalues) @ eigenvectors.T  # (total, 3): one colour shift per image
    return shift.view(total, 3, 1, 1)


# ---- Howard's photometric distortions ------------------------------------------------------
CONTRAST, BRIGHTNESS, COLOUR = range(3)
# ITU-R 601-2 luma, the weights of PIL's conversion to grey
LUMA = (0.299, 0.587, 0.114)


def photometric_parameters(total: int, spread: float, generator) -> tuple[torch.Tensor, ...]:
    """Per image: factors (total, 3) for contrast, brightness and colour, uniform in
    [1 - spread, 1 + spread], and the order (total, 3) in which the three are applied."""
    factors = 1 - spread + 2 * spread * torch.rand(total, 3, generator=generator)
    order = torch.rand(total, 3, generator=generator).argsort(dim=1)
    return factors, order


def _grey(images: torch.Tensor) -> torch.Tensor:
    if images.shape[1] != 3:
        return images
    luma = torch.tensor(LUMA, device=images.device, dtype=images.dtype).view(1, 3, 1, 1)
    return (images * luma).sum(1, keepdim=True)


def photometric(images: torch.Tensor, factors: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """Apply each image's three enhancements in its order, as PIL's ``ImageEnhance`` does
    on [0, 1] images: every one blends the image with a degenerate version of itself
    (contrast: its mean grey level; brightness: black; colour: its grey image) by the
    factor, and clips to [0, 1]. A factor of 1 leaves the image unchanged."""
    factors, order = factors.to(images.device), order.to(images.device)
    for position in range(3):
        for operation in (CONTRAST, BRIGHTNESS, COLOUR):
            chosen = order[:, position] == operation
            factor = torch.where(chosen, factors[:, operation], 1.0).view(-1, 1, 1, 1)
            if operation == CONTRAST:
                degenerate = _grey(images).mean(dim=(1, 2, 3), keepdim=True)
            elif operation == BRIGHTNESS:
                degenerate = torch.zeros_like(images[:, :1, :1, :1])
            else:
                degenerate = _grey(images)
            images = (degenerate + factor * (images - degenerate)).clamp_(0, 1)
    return images
