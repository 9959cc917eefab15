"""Inception-v4 and Inception-ResNet-v2: counts, residual scaling, timm's weights."""

import pytest
import timm
import torch

import keyarch
from conftest import converted_logit_difference
from keyarch.analysis import count_macs, count_parameters
from keyarch.models.inception_resnet import ResidualInceptionBlock

REFERENCE = {"inception_v4": (42_679_816, 12.254), "inception_resnet_v2": (55_843_464, 13.156)}


def _meta(name):
    with torch.device("meta"):
        return keyarch.create_model(name)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_parameters_and_macs_match_timm(name):
    model = _meta(name)
    parameters, gmacs = REFERENCE[name]
    assert count_parameters(model) == parameters
    assert count_macs(model, (3, 299, 299)) / 1e9 == pytest.approx(gmacs, rel=0.01)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_grids_and_smallest_input(name):
    model = _meta(name).eval()
    assert model.forward_features(torch.empty(1, 3, 299, 299, device="meta")).shape[-1] == 8
    with pytest.raises(ValueError, match=f"{name} needs inputs of at least 75x75"):
        model(torch.empty(1, 3, 74, 74, device="meta"))


def test_figure_9_block_counts():
    model = _meta("inception_v4")
    assert [len(model.inception_a), len(model.inception_b), len(model.inception_c)] == [4, 7, 3]


def test_residuals_are_scaled_before_the_addition():
    torch.manual_seed(0)
    model = keyarch.create_model("inception_resnet_v2").eval()
    scales = [block.scale for block in model.inception_resnet_a]
    assert scales == [0.17] * 10 and model.inception_resnet_b[0].scale == 0.10
    block: ResidualInceptionBlock = model.inception_resnet_a[0]
    x = torch.randn(1, 320, 9, 9)
    with torch.no_grad():
        mixed = torch.cat([getattr(block, n)(x) for n in block.branch_names], 1)
        expected = torch.relu(x + 0.17 * block.projection(mixed))
        assert torch.allclose(block(x), expected, atol=1e-6)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_converted_timm_weights_give_the_same_logits(name):
    torch.manual_seed(0)
    reference = timm.create_model(name, pretrained=False)
    assert converted_logit_difference(reference, name, "timm", 299) <= 1e-4


def test_inception_resnet_v1_follows_figure_15():
    model = _meta("inception_resnet_v1").eval()
    x = torch.empty(1, 3, 299, 299, device="meta")
    stem = model.stem(x)
    assert stem.shape == (1, 256, 35, 35)  # Figure 14's output
    grid17 = model.reduction_a(model.inception_resnet_a(stem))
    assert grid17.shape == (1, 896, 17, 17)
    assert model.reduction_b(model.inception_resnet_b(grid17)).shape == (1, 1792, 8, 8)
    blocks = [len(model.inception_resnet_a), len(model.inception_resnet_b),
              len(model.inception_resnet_c)]  # fmt: skip
    assert blocks == [5, 10, 5]
    assert count_parameters(model) == 22_756_328  # derived from the figures, see the module
