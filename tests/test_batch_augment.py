"""Batched augmentation: per-image random choices, reproducible from the seed, the same rows
in any number of processes, exact pixels where nothing is interpolated."""

import pytest
import torch
import torch.nn.functional as F

from keyarch.data.batch_augment import (
    BRIGHTNESS,
    COLOUR,
    CONTRAST,
    LUMA,
    PHOTOMETRIC_RANGE,
    RANDOM_KINDS,
    BatchAugment,
    photometric,
    photometric_parameters,
)
from keyarch.train.data import batch_generator

PCA = (torch.tensor([0.2, 0.02, 0.002]), torch.eye(3))


def images(count=8, channels=3, size=32, seed=0):
    return torch.randint(
        0,
        256,
        (count, channels, size, size),
        dtype=torch.uint8,
        generator=torch.Generator().manual_seed(seed),
    )


def augment(kind, crop=32, resize=32, **options):
    return BatchAugment(
        kind, crop=crop, resize=resize, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), **options
    )


@pytest.mark.parametrize("kind", RANDOM_KINDS)
def test_every_kind_gives_the_input_size_and_is_reproducible_from_its_generator(kind):
    crop, resize = (24, 28) if kind in ("alexnet", "vgg") else (32, 32)
    transform = augment(kind, crop=crop, resize=resize, pca=PCA)
    batch = images()
    first = transform(batch, batch_generator(seed=1, epoch=2, batch=3))
    again = transform(batch, batch_generator(seed=1, epoch=2, batch=3))
    other = transform(batch, batch_generator(seed=1, epoch=2, batch=4))
    assert first.shape == (8, 3, crop, crop) and first.dtype == torch.float32
    assert torch.equal(first, again) and not torch.equal(first, other)


@pytest.mark.parametrize("kind", RANDOM_KINDS)
def test_each_process_gets_its_rows_of_the_global_batch(kind):
    transform = augment(kind, crop=24, resize=28, pca=PCA)
    batch = images(12)
    whole = transform(batch, batch_generator(0, 0, 0))
    for rank in range(3):
        part = transform(batch[rank::3], batch_generator(0, 0, 0), share=(rank, 3))
        assert torch.allclose(part, whole[rank::3], atol=1e-6)


def test_crop_flip_shifts_whole_pixels_of_the_padded_image():
    batch = images(16)
    out = augment("crop-flip")(batch, batch_generator(0, 0, 0)) * 255
    padded = F.pad(batch.float(), (4, 4, 4, 4))
    flipped = 0
    for image, result in zip(padded, out, strict=True):
        windows = [image[:, y : y + 32, x : x + 32] for y in range(9) for x in range(9)]
        plain = any(torch.allclose(result, w, atol=1e-3) for w in windows)
        mirrored = any(torch.allclose(result.flip(-1), w, atol=1e-3) for w in windows)
        assert plain or mirrored
        flipped += mirrored and not plain
    assert 0 < flipped < 16  # flips are drawn per image


def test_pca_lighting_shifts_each_image_by_one_colour():
    batch = torch.full((6, 3, 8, 8), 128, dtype=torch.uint8)
    out = augment("alexnet", crop=8, resize=8, pca=PCA)(batch, batch_generator(0, 0, 0))
    shifts = out - 128 / 255
    per_image = shifts.flatten(2)
    assert torch.allclose(per_image, per_image[:, :, :1].expand_as(per_image), atol=1e-5)
    assert per_image[:, 0, 0].std() > per_image[:, 2, 0].std()  # larger eigenvalue, larger shift


def test_alexnet_crops_are_alexnets_crops_without_the_colour_noise():
    # The ablation "no PCA colour noise" must change nothing else: the same windows of the
    # resized image and the same flips from the same generator (it once fell through to
    # Inception's random-resized crops).
    batch = images(16)
    with_noise = augment("alexnet", crop=24, resize=28)(batch, batch_generator(0, 0, 0))
    without = augment("alexnet-crops", crop=24, resize=28, pca=PCA)
    assert without.pca is None
    assert torch.equal(without(batch, batch_generator(0, 0, 0)), with_noise)


def test_lenet_field_pads_28_to_32_and_normalises():
    transform = BatchAugment("none", crop=32, resize=32, mean=(0.5,), std=(0.25,), pad=True)
    digit = torch.full((2, 1, 28, 28), 255, dtype=torch.uint8)
    out = transform(digit, batch_generator(0, 0, 0))
    assert out.shape == (2, 1, 32, 32)
    assert out[0, 0, 2:30, 2:30].eq(2.0).all() and out[0, 0, :2].eq(-2.0).all()
    assert torch.equal(transform.evaluation(digit), out)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown augmentation 'mixup'"):
        augment("mixup")


def _enhance(batch, operation, factor):
    """Apply one of Howard's enhancements alone, first in every image's order."""
    factors = torch.ones(len(batch), 3)
    factors[:, operation] = factor
    order = torch.tensor([[operation, *(o for o in range(3) if o != operation)]] * len(batch))
    return photometric(batch, factors, order)


def test_photometric_enhancements_are_pils_blends():
    batch = images(4).float() / 255
    assert torch.allclose(photometric(batch, torch.ones(4, 3), torch.arange(3).repeat(4, 1)), batch)
    assert torch.allclose(_enhance(batch, BRIGHTNESS, 1.4), (batch * 1.4).clamp(0, 1))
    grey = _enhance(batch, COLOUR, 0.0)  # no colour: the luma image in every channel
    luma = (batch * torch.tensor(LUMA).view(1, 3, 1, 1)).sum(1, keepdim=True)
    assert torch.allclose(grey, luma.expand_as(batch), atol=1e-6)
    flat = _enhance(batch, CONTRAST, 0.0)  # no contrast: the mean grey level everywhere
    assert torch.allclose(flat, luma.mean(dim=(1, 2, 3), keepdim=True).expand_as(batch))


def test_inception_distortions_draw_factors_per_image_in_the_papers_range():
    for kind, spread in (("inception", 0.5), ("inception-light", 0.25)):
        assert PHOTOMETRIC_RANGE[kind] == spread
        factors, order = photometric_parameters(1000, spread, torch.Generator().manual_seed(0))
        assert factors.min() >= 1 - spread and factors.max() <= 1 + spread
        assert factors.max() - factors.min() > 1.8 * spread  # the whole range is used
        assert (order.sort(dim=1).values == torch.arange(3)).all()  # a permutation each
        assert len({tuple(row) for row in order.tolist()}) == 6  # every order occurs
    distorted = augment("inception")(images(8), batch_generator(seed=0, epoch=0, batch=0))
    assert distorted.min() >= 0 and distorted.max() <= 1  # clipped as PIL clips
    # the per-image path (folders of files, in loader processes) applies the same
    from keyarch.data.transforms import PhotometricDistortions, train_transform

    pipeline = train_transform("inception-light", crop=24, resize=28, mean=(0.0,) * 3,
                               std=(1.0,) * 3)  # fmt: skip
    steps = [step for step in pipeline.transforms if isinstance(step, PhotometricDistortions)]
    assert [step.spread for step in steps] == [0.25]
    assert pipeline(images(1)[0]).shape == (3, 24, 24)
