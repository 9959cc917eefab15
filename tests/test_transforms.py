"""The papers' augmentations and test-time augmentation."""

import pytest
import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF

from keyarch.data.transforms import (
    PCALighting,
    ScaleJitter,
    eval_transform,
    fit_pca_lighting,
    train_transform,
)
from keyarch.train.evaluate import tta_probabilities


def test_pca_recovers_a_known_colour_covariance():
    torch.manual_seed(0)
    direction = torch.tensor([1.0, 1.0, 1.0]) / 3**0.5  # brightness varies, hue does not
    brightness = torch.rand(200, 1, 8, 8) * 0.8
    images = 0.1 + brightness * direction.view(1, 3, 1, 1) * 3**0.5 / 3 * 3
    images = (images.clamp(0, 1) * 255).round().to(torch.uint8)
    eigenvalues, eigenvectors = fit_pca_lighting(images)
    assert eigenvalues[-1] > 100 * eigenvalues[:-1].max()  # one dominant component
    assert torch.allclose(eigenvectors[:, -1].abs(), direction, atol=1e-2)


def test_pca_lighting_adds_one_colour_shift_to_every_pixel():
    eigenvalues = torch.tensor([0.01, 0.02, 0.2])
    eigenvectors = torch.linalg.qr(torch.randn(3, 3))[0]
    lighting = PCALighting(eigenvalues, eigenvectors, std=0.1)
    image = torch.rand(3, 5, 7)
    torch.manual_seed(3)
    shifted = lighting(image)
    torch.manual_seed(3)
    alpha = torch.randn(3) * 0.1
    expected_shift = eigenvectors @ (alpha * eigenvalues)
    difference = shifted - image
    assert torch.allclose(difference, expected_shift.view(3, 1, 1).expand_as(image), atol=1e-6)
    assert torch.equal(PCALighting(eigenvalues, eigenvectors, std=0.0)(image), image)
    with pytest.raises(TypeError, match="float images"):
        lighting(torch.zeros(3, 2, 2, dtype=torch.uint8))


def test_scale_jitter_draws_the_shorter_side_from_the_range():
    jitter = ScaleJitter(40, 60)
    sides = {min(jitter(torch.zeros(3, 30, 50)).shape[1:]) for _ in range(60)}
    assert min(sides) >= 40 and max(sides) <= 60 and len(sides) > 5
    with pytest.raises(ValueError):
        ScaleJitter(10, 5)


@pytest.mark.parametrize(
    "augment", ["none", "crop-flip", "alexnet", "alexnet-crops", "vgg", "inception"]
)
def test_training_pipelines_give_normalised_crops(augment):
    pca = (torch.tensor([0.001, 0.01, 0.1]), torch.eye(3))
    transform = train_transform(
        augment, crop=24, resize=28, mean=(0.5,) * 3, std=(0.25,) * 3, pca=pca
    )
    out = transform(torch.randint(0, 256, (3, 40, 50), dtype=torch.uint8))
    assert out.shape == (3, 24, 24) and out.dtype == torch.float32
    assert -2.5 < out.mean() < 2.5


def test_alexnet_crops_is_alexnet_without_the_pca_colour_noise():
    pca = (torch.tensor([0.001, 0.01, 100.0]), torch.eye(3))  # a large, visible shift
    image = torch.randint(0, 256, (3, 40, 50), dtype=torch.uint8)
    outputs = {}
    for augment in ("alexnet", "alexnet-crops"):
        torch.manual_seed(3)  # the same crop and flip
        transform = train_transform(augment, crop=24, resize=28, mean=(0.0,) * 3,
                                    std=(1.0,) * 3, pca=pca)  # fmt: skip
        outputs[augment] = transform(image)
    shift = outputs["alexnet"] - outputs["alexnet-crops"]
    assert shift.abs().max() > 0.01  # the noise is there in one and not in the other
    per_channel = shift.flatten(1)
    assert torch.allclose(per_channel, per_channel[:, :1].expand_as(per_channel), atol=1e-5)


def test_pad_centres_small_digits_in_a_larger_field():
    transform = eval_transform(crop=32, resize=32, mean=(0.0,), std=(1.0,), pad=True)
    out = transform(torch.full((1, 28, 28), 255, dtype=torch.uint8))
    assert out.shape == (1, 32, 32)
    assert out[0, 2:30, 2:30].min() == 1.0 and out[0, :2].max() == 0.0


class PatchSum(torch.nn.Module):
    """A toy network whose logits depend on position and flip, to check TTA averaging."""

    def forward(self, x):
        return torch.stack([x[:, 0, :, : x.shape[-1] // 2].mean((1, 2)), x[:, 0].mean((1, 2))], 1)


def test_ten_crop_averages_the_softmax_of_the_ten_crops():
    torch.manual_seed(0)
    images = torch.randn(4, 3, 12, 12)
    model = PatchSum()
    expected = torch.stack(
        [F.softmax(model(crop), 1) for crop in TF.ten_crop(images, [8, 8])]
    ).mean(0)
    got = tta_probabilities(model, images, "tencrop", 8, torch.no_grad)
    assert torch.allclose(got, expected)
    # the ten crops really differ: corners, centre and mirror images
    crops = TF.ten_crop(images, [8, 8])
    assert torch.equal(crops[5], crops[1].flip(-1)) and not torch.equal(crops[0], crops[1])


def test_flip_and_multiscale_average_probabilities():
    torch.manual_seed(1)
    images = torch.randn(2, 3, 10, 10)
    model = PatchSum()
    flip = tta_probabilities(model, images, "flip", 10, torch.no_grad)
    expected = (F.softmax(model(images), 1) + F.softmax(model(images.flip(-1)), 1)) / 2
    assert torch.allclose(flip, expected)
    multiscale = tta_probabilities(model, images, "multiscale", 10, torch.no_grad)
    assert torch.allclose(multiscale.sum(1), torch.ones(2))
    with pytest.raises(ValueError, match="unknown test-time augmentation"):
        tta_probabilities(model, images, "twelvecrop", 10, torch.no_grad)
