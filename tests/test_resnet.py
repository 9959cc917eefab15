"""ResNet: Table 1, the CIFAR networks and their plain twins, shortcuts, torchvision weights."""

import pytest
import torch
import torchvision

import keyarch
from conftest import converted_logit_difference
from keyarch.analysis import count_macs, count_parameters
from keyarch.models.resnet import BasicBlock, ZeroPadShortcut

IMAGENET = {
    "resnet18": (11_689_512, 1.814), "resnet34": (21_797_672, 3.664),
    "resnet50": (25_557_032, 4.089), "resnet101": (44_549_160, 7.801),
    "resnet152": (60_192_808, 11.514),
}  # fmt: skip


def _meta(name, **options):
    with torch.device("meta"):
        return keyarch.create_model(name, **options)


@pytest.mark.parametrize("name", sorted(IMAGENET))
def test_imagenet_resnets_match_the_reference_counts(name):
    model = _meta(name)
    parameters, gmacs = IMAGENET[name]
    assert count_parameters(model) == parameters
    assert count_macs(model, (3, 224, 224)) / 1e9 == pytest.approx(gmacs, rel=0.01)


def test_cifar_resnets_have_the_papers_sizes():
    # Table 6: ResNet-20 0.27 M, 32 0.46 M, 44 0.66 M, 56 0.85 M, 110 1.7 M parameters.
    sizes = {n: count_parameters(_meta(f"resnet{n}")) for n in (20, 32, 44, 56, 110)}
    assert sizes[20] == 269_722 and sizes[110] == 1_727_962
    assert [round(sizes[n] / 1e6, 2) for n in (20, 32, 44, 56)] == [0.27, 0.46, 0.66, 0.85]
    layers = [
        m for m in _meta("resnet56").modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)
    ]
    assert len(layers) == 56  # 6n + 2 weighted layers, option A adds none


def test_plain_twins_have_the_same_layers_and_no_shortcuts():
    plain, residual = _meta("plain20"), _meta("resnet20")
    assert count_parameters(plain) == count_parameters(residual)
    assert all(b.shortcut is None for b in plain.modules() if isinstance(b, BasicBlock))
    assert any(isinstance(m, ZeroPadShortcut) for m in residual.modules())


def test_option_a_pads_channels_with_zeros_and_subsamples():
    x = torch.arange(2 * 4 * 4, dtype=torch.float32).view(1, 2, 4, 4)
    y = ZeroPadShortcut(2, 5, stride=2)(x)
    assert y.shape == (1, 5, 2, 2)
    assert torch.equal(y[:, :2], x[:, :, ::2, ::2]) and y[:, 2:].abs().sum() == 0


def test_option_b_projects_only_where_dimensions_change():
    model = _meta("resnet18", shortcut="B")
    kinds = [type(b.shortcut).__name__ for b in model.modules() if isinstance(b, BasicBlock)]
    assert kinds.count("ConvNormAct") == 3 and kinds.count("Identity") == 5
    assert count_parameters(_meta("resnet18", shortcut="A")) < count_parameters(model)


def test_stride_on_1x1_is_the_papers_choice_and_cheaper():
    paper, v15 = _meta("resnet50", stride_on="1x1"), _meta("resnet50")
    assert count_parameters(paper) == count_parameters(v15)
    assert paper.conv3_x[0].conv1.stride == (2, 2) and v15.conv3_x[0].conv2.stride == (2, 2)
    assert count_macs(paper, (3, 224, 224)) < count_macs(v15, (3, 224, 224))
    with pytest.raises(ValueError, match="stride_on must be"):
        keyarch.create_model("resnet50", stride_on="7x7")


def test_zero_init_residual_makes_every_block_start_as_identity():
    torch.manual_seed(0)
    model = keyarch.create_model("resnet20", zero_init_residual=True).eval()
    block = model.stage1[1]
    x = torch.relu(torch.randn(2, 16, 8, 8))
    with torch.no_grad():
        assert torch.allclose(block(x), x)


@pytest.mark.parametrize("name", sorted(IMAGENET))
def test_converted_torchvision_weights_give_the_same_logits(name):
    torch.manual_seed(0)
    reference = getattr(torchvision.models, name)()
    assert converted_logit_difference(reference, name, "torchvision", 224) <= 1e-4


def test_cards_say_resnet_1202_tests_worse_than_resnet_110():
    # Section 4.2, Table 6: 7.93 % against 6.43 % error, attributed to overfitting.
    card = keyarch.model_card("resnet110")
    assert "7.93" in card.description and "overfitting" in card.description
    assert any("7.93" in idea and "overfitting" in idea for idea in card.main_ideas)
    assert card.metrics[0].top1 == 93.57 and card.metrics[0].split == "CIFAR-10 test"
