"""torchvision's weights, converted, give keyarch's models the same logits."""

import pytest
import torch
import torchvision

import keyarch
from keyarch.compat import convert_state_dict, supported

TORCHVISION_MODELS = [
    "alexnet",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
]


def _randomise_batch_norm(model: torch.nn.Module) -> None:
    """Non-trivial running statistics and affine terms, so that a swapped BN would show."""
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 1.5)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)


@pytest.mark.parametrize("name", TORCHVISION_MODELS)
def test_converted_torchvision_weights_give_the_same_logits(name):
    torch.manual_seed(0)
    reference = getattr(torchvision.models, name)().eval()
    with torch.no_grad():
        _randomise_batch_norm(reference)
    with torch.device("meta"):
        ours = keyarch.create_model(name)
    converted = convert_state_dict(name, reference.state_dict(), "torchvision")
    ours.load_state_dict(converted, strict=True, assign=True)
    ours.eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        difference = (reference(x) - ours(x)).abs().max().item()
    assert difference <= 1e-5


def test_alexnet_matches_torchvision_logits_at_a_small_size_too():
    torch.manual_seed(1)
    reference = torchvision.models.alexnet().eval()
    ours = keyarch.create_model("alexnet").eval()
    ours.load_state_dict(convert_state_dict("alexnet", reference.state_dict(), "torchvision"))
    x = torch.randn(3, 3, 100, 120)
    with torch.no_grad():
        assert torch.allclose(reference(x), ours(x), atol=1e-5)


def test_every_torchvision_converter_is_listed():
    families = [*TORCHVISION_MODELS, "googlenet", "inception_v3"]
    families += [f"resnet{d}" for d in (18, 34, 50, 101, 152)]
    families += [f"densenet{d}" for d in (121, 161, 169, 201)]
    families += [f"mobilenet_v2_{w}" for w in ("035", "050", "075", "100", "140")]
    assert supported("torchvision") == sorted(families)


def test_a_state_dict_of_another_model_is_reported():
    state = torchvision.models.alexnet().state_dict()
    with pytest.raises(ValueError, match="do not belong to torchvision vgg11"):
        convert_state_dict("vgg11", state, "torchvision")


def test_unknown_source_and_model_are_reported():
    with pytest.raises(ValueError, match="unknown source 'caffe'"):
        convert_state_dict("alexnet", {}, "caffe")
    with pytest.raises(ValueError, match="no converter for 'vgg16c' from torchvision"):
        convert_state_dict("vgg16c", {}, "torchvision")
    with pytest.raises(TypeError, match="mapping"):
        convert_state_dict("alexnet", [1, 2], "torchvision")
