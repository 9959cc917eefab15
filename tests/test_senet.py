"""SE-ResNet and the squeeze-and-excitation layer."""

import pytest
import timm
import torch

import keyarch
from conftest import converted_logit_difference
from keyarch.analysis import count_macs, count_parameters
from keyarch.layers import SqueezeExcitation

REFERENCE = {"se_resnet50": (28_088_024, 3.860), "se_resnet101": (49_326_872, 7.575),
             "se_resnet152": (66_821_848, 11.289)}  # fmt: skip


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_counts_match_timm_legacy_seresnet(name):
    with torch.device("meta"):
        model = keyarch.create_model(name)
    assert count_parameters(model) == REFERENCE[name][0]
    assert count_macs(model, (3, 224, 224)) / 1e9 == pytest.approx(REFERENCE[name][1], rel=0.01)


def test_squeeze_excitation_rescales_each_channel_by_its_context():
    torch.manual_seed(0)
    layer = SqueezeExcitation(32, reduction=16)
    assert layer.fc1.out_channels == 2
    x = torch.randn(2, 32, 5, 5)
    weights = torch.sigmoid(layer.fc2(torch.relu(layer.fc1(x.mean((2, 3), keepdim=True)))))
    assert torch.allclose(layer(x), x * weights)
    assert ((weights > 0) & (weights < 1)).all()
    with pytest.raises(ValueError, match="do not divide"):
        SqueezeExcitation(30, reduction=16)


def test_stride_is_on_the_first_1x1_as_in_the_paper():
    with torch.device("meta"):
        model = keyarch.create_model("se_resnet50")
    assert model.conv3_x[0].conv1.stride == (2, 2) and model.conv3_x[0].conv2.stride == (1, 1)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_converted_timm_weights_give_the_same_logits(name):
    torch.manual_seed(0)
    reference = timm.create_model("legacy_" + name.replace("_", ""), pretrained=False)
    assert converted_logit_difference(reference, name, "timm", 224) <= 1e-4
