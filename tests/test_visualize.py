"""The deconvnet and the saved pictures (Zeiler & Fergus, section 2)."""

import pytest
import torch
from PIL import Image

import keyarch
from keyarch.analysis.visualize import (
    deconvnet_projection,
    layer_names,
    save_visualisations,
    strongest_feature_maps,
)


@pytest.fixture(scope="module")
def zfnet():
    torch.manual_seed(0)
    return keyarch.create_model("zfnet").eval()


@pytest.fixture(scope="module")
def image():
    torch.manual_seed(1)
    return torch.randn(1, 3, 96, 96)


def test_layers_are_the_convolutions(zfnet):
    assert layer_names(zfnet) == ["conv1", "conv2", "conv3", "conv4", "conv5"]


def test_conv1_projection_stays_inside_the_units_receptive_field(zfnet, image):
    maps, channels = strongest_feature_maps(zfnet, image, "conv1", top=1)
    row, column = divmod(int(maps[0].flatten().argmax()), maps.shape[-1])
    projection = deconvnet_projection(zfnet, image, "conv1", channels[0])
    assert projection.shape == image.shape[1:]
    support = projection.abs().sum(0).nonzero()
    # conv1 is 7x7, stride 2, padding 1: unit (r, c) sees rows 2r-1 .. 2r+5.
    assert support[:, 0].min() >= 2 * row - 1 and support[:, 0].max() <= 2 * row + 5
    assert support[:, 1].min() >= 2 * column - 1 and support[:, 1].max() <= 2 * column + 5
    # and it is the filter itself, scaled by the activation
    weight = zfnet.features.conv1.weight[channels[0]]
    top, left = 2 * row - 1, 2 * column - 1
    window = projection[:, max(top, 0) : top + 7, max(left, 0) : left + 7]
    expected = maps[0].max() * weight[:, max(-top, 0) :, max(-left, 0) :]
    assert torch.allclose(window, expected, atol=1e-5)


def test_deeper_projections_cover_a_larger_field(zfnet, image):
    _, channels = strongest_feature_maps(zfnet, image, "conv3", top=1)
    projection = deconvnet_projection(zfnet, image, "conv3", channels[0])
    support = projection.abs().sum(0).nonzero()
    height = support[:, 0].max() - support[:, 0].min() + 1
    assert 7 < height <= 96


def test_strongest_maps_are_sorted_by_peak(zfnet, image):
    maps, channels = strongest_feature_maps(zfnet, image, "conv2", top=5)
    peaks = maps.flatten(1).max(dim=1).values
    assert torch.all(peaks[:-1] >= peaks[1:])
    assert len(set(channels)) == 5


def test_unknown_layer_is_reported(zfnet, image):
    with pytest.raises(ValueError, match="unknown layer 'fc6'.*conv1, conv2"):
        strongest_feature_maps(zfnet, image, "fc6")


def test_saved_pictures_are_pngs(zfnet, image, tmp_path):
    paths = save_visualisations(zfnet, image, tmp_path, layer="conv2", top=4)
    assert [p.name for p in paths] == [
        "filters_first_layer.png",
        "feature_maps_conv2.png",
        "deconvnet_conv2.png",
        "input.png",
    ]
    for path in paths:
        with Image.open(path) as png:
            assert png.format == "PNG" and png.width > 100


def test_vgg_layers_can_be_visualised_too():
    torch.manual_seed(0)
    model = keyarch.create_model("vgg11", num_classes=2).eval()
    x = torch.randn(1, 3, 32, 32)
    assert layer_names(model)[0] == "conv1_1.conv"
    projection = deconvnet_projection(model, x, "conv2_1.conv", 0)
    assert projection.shape == (3, 32, 32)
