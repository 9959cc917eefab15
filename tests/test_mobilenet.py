"""MobileNet v1 (Table 1, Tables 6 and 7) and MobileNetV2 (Table 2, the released checkpoints'
table): counts, shapes, options, and identical logits with timm's and torchvision's models."""

import pytest
import timm
import torch
import torchvision
from torch import nn

import keyarch
from conftest import converted_logit_difference
from keyarch.analysis import count_macs, count_parameters
from keyarch.layers import InvertedResidual, round_channels
from keyarch.models.mobilenet import TABLE_1, DepthwiseSeparableConv
from keyarch.models.mobilenetv2 import TABLE_2


def _meta(name: str, **options) -> nn.Module:
    with torch.device("meta"):
        return keyarch.create_model(name, **options)


def _mmacs(model: nn.Module, size: int) -> float:
    return count_macs(model, (3, size, size)) / 1e6


# ---------------------------------------------------------------- MobileNet v1

# name -> (parameters of timm's network at that width, Table 6: million mult-adds,
# million parameters as the paper prints them, to one decimal)
TABLE_6 = {
    "mobilenet_v1_100": (4_231_976, 569, 4.2),
    "mobilenet_v1_075": (2_585_560, 325, 2.6),
    "mobilenet_v1_050": (1_331_592, 149, 1.3),
    "mobilenet_v1_025": (470_072, 41, 0.5),
}


@pytest.mark.parametrize("name", sorted(TABLE_6))
def test_mobilenet_v1_widths_have_table_6_parameters(name):
    parameters = count_parameters(_meta(name))
    exact, _, printed = TABLE_6[name]
    assert parameters == exact  # timm's mobilenetv1 at the same width multiplier
    assert round(parameters / 1e6, 1) == printed  # the paper rounds to 0.1 M


@pytest.mark.parametrize("name", sorted(TABLE_6))
def test_mobilenet_v1_widths_have_table_6_mult_adds_within_2_percent(name):
    assert _mmacs(_meta(name), 224) == pytest.approx(TABLE_6[name][1], rel=0.02)


@pytest.mark.parametrize(("size", "mult_adds"), [(224, 569), (192, 418), (160, 290), (128, 186)])
def test_mobilenet_v1_resolutions_have_table_7_mult_adds_within_2_percent(size, mult_adds):
    model = _meta("mobilenet_v1_100")
    assert _mmacs(model, size) == pytest.approx(mult_adds, rel=0.02)
    assert count_parameters(model) == 4_231_976  # resolution does not change parameters


def test_table_1_has_28_layers_and_ends_in_7x7x1024():
    model = _meta("mobilenet_v1_100")
    separable = [m for m in model.modules() if isinstance(m, DepthwiseSeparableConv)]
    assert len(separable) == 13 == sum(row.repeat for row in TABLE_1)
    # Counting depthwise and pointwise separately: 1 + 2 * 13 convolutions and the FC layer.
    convolutions = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convolutions) + 1 == 28
    features = model.forward_features(torch.empty(1, 3, 224, 224, device="meta"))
    assert features.shape == (1, 1024, 7, 7)


def test_last_depthwise_layer_has_stride_1_although_table_1_prints_s2():
    model = _meta("mobilenet_v1_100")
    x = torch.empty(1, 3, 224, 224, device="meta")
    for name, layer in model.features.named_children():
        before = x
        x = layer(x)
        if name == "separable13":
            assert before.shape[-2:] == x.shape[-2:] == (7, 7)
            assert layer.depthwise.conv.stride == (1, 1)
    deviations = keyarch.model_card("mobilenet_v1_100").deviations
    assert any("Conv dw / s2" in d and "stride 1" in d for d in deviations)


def test_width_multiplier_thins_every_layer():
    model = _meta("mobilenet_v1_025")
    assert model.features.conv1.conv.out_channels == 8
    assert model.num_features == 256
    assert model.fc.in_features == 256


def test_mobilenet_v1_uses_the_papers_relu_unless_told_relu6():
    activations = {type(m) for m in _meta("mobilenet_v1_100").modules()
                   if isinstance(m, (nn.ReLU, nn.ReLU6))}  # fmt: skip
    assert activations == {nn.ReLU}
    relu6 = {type(m) for m in _meta("mobilenet_v1_100", activation="relu6").modules()
             if isinstance(m, (nn.ReLU, nn.ReLU6))}  # fmt: skip
    assert relu6 == {nn.ReLU6}
    card = keyarch.model_card("mobilenet_v1_100")
    assert any("relu6" in d and "timm" in d for d in card.deviations)


def test_unknown_activation_or_bad_alpha_is_refused_naming_the_model():
    with pytest.raises(ValueError, match=r"mobilenet_v1_100: activation must be one of relu"):
        keyarch.create_model("mobilenet_v1_100", activation="gelu")
    from keyarch.models.mobilenet import MobileNetV1

    with pytest.raises(ValueError, match=r"alpha must be a positive number"):
        MobileNetV1(alpha=0)
    with pytest.raises(TypeError, match=r"alpha must be a positive number"):
        MobileNetV1(alpha="0.5")


def test_converted_timm_mobilenetv1_100_gives_the_same_logits():
    torch.manual_seed(0)
    reference = timm.create_model("mobilenetv1_100", pretrained=False)
    difference = _relu6_logit_difference(reference, "mobilenet_v1_100")
    assert difference <= 1e-4


def test_converted_timm_mobilenet_v1_at_width_025_gives_the_same_logits():
    from timm.models.efficientnet import _gen_mobilenet_v1  # timm registers only 1.0, 1.25

    torch.manual_seed(0)
    reference = _gen_mobilenet_v1("mobilenetv1_100", channel_multiplier=0.25)
    assert _relu6_logit_difference(reference, "mobilenet_v1_025") <= 1e-4


def _relu6_logit_difference(reference: nn.Module, name: str) -> float:
    from conftest import converted_model

    ours = converted_model(reference, name, "timm", activation="relu6")
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        return (reference.eval()(x) - ours.eval()(x)).abs().max().item()


def test_mobilenet_v1_cards_give_the_papers_accuracy_and_how_it_was_measured():
    card = keyarch.model_card("mobilenet_v1_100")
    paper = card.metrics[0]
    assert (paper.top1, paper.split, paper.crops) == (70.6, "ILSVRC-2012 val", "not stated")
    assert "Table" in paper.source
    assert card.imagenet_top1 == 70.9  # the released checkpoint, evaluated on one crop
    assert [keyarch.model_card(n).metrics[0].top1 for n in sorted(TABLE_6, reverse=True)] == [
        70.6, 68.4, 63.7, 50.6]  # fmt: skip


# ---------------------------------------------------------------- MobileNetV2

# name -> (parameters of torchvision's mobilenet_v2(width_mult), the released checkpoints'
# table: million MACs, million parameters)
RELEASED = {
    "mobilenet_v2_140": (6_108_776, 582, 6.06),
    "mobilenet_v2_100": (3_504_872, 300, 3.47),
    "mobilenet_v2_075": (2_636_424, 209, 2.61),
    "mobilenet_v2_050": (1_968_680, 97, 1.95),
    "mobilenet_v2_035": (1_677_128, 59, 1.66),
}


def test_mobilenet_v2_has_3_504_872_parameters_and_301_million_macs():
    model = _meta("mobilenet_v2_100")
    assert count_parameters(model) == 3_504_872
    assert _mmacs(model, 224) / 1e3 == pytest.approx(0.301, rel=0.01)


@pytest.mark.parametrize("name", sorted(RELEASED))
def test_mobilenet_v2_widths_match_the_released_table_within_2_percent(name):
    model = _meta(name)
    exact, macs, millions = RELEASED[name]
    parameters = count_parameters(model)
    assert parameters == exact
    assert parameters / 1e6 == pytest.approx(millions, rel=0.02)
    assert _mmacs(model, 224) == pytest.approx(macs, rel=0.02)


@pytest.mark.parametrize("name", sorted(RELEASED))
def test_released_table_counts_parameters_without_batch_norm_scale_and_shift(name):
    # The released figures are exact to the digit once batch norm's gamma and beta are left
    # out: 3,504,872 - 34,112 = 3,470,760, printed 3.47.
    model = _meta(name)
    norm = sum(p.numel() for m in model.modules() if isinstance(m, nn.BatchNorm2d)
               for p in m.parameters())  # fmt: skip
    assert round((count_parameters(model) - norm) / 1e6, 2) == RELEASED[name][2]


@pytest.mark.parametrize(("size", "macs"), [(192, 221), (160, 154), (128, 99), (96, 56)])
def test_mobilenet_v2_resolutions_match_the_released_macs_within_2_percent(size, macs):
    assert _mmacs(_meta("mobilenet_v2_100"), size) == pytest.approx(macs, rel=0.02)


def test_table_2_has_17_bottlenecks_and_ends_in_7x7x1280():
    model = _meta("mobilenet_v2_100")
    blocks = [m for m in model.modules() if isinstance(m, InvertedResidual)]
    assert len(blocks) == 17 == sum(row.repeat for row in TABLE_2)
    assert blocks[0].expansion is None  # t = 1 in the first row: no expansion layer
    assert sum(block.use_shortcut for block in blocks) == 10
    x = torch.empty(1, 3, 224, 224, device="meta")
    for name, layer in model.features.named_children():
        x = layer(x)
        if name == "bottleneck7":
            assert x.shape == (1, 320, 7, 7)
    assert x.shape == (1, 1280, 7, 7)


def test_projection_is_linear_and_the_rest_uses_relu6():
    block = [m for m in _meta("mobilenet_v2_100").modules() if isinstance(m, InvertedResidual)][3]
    assert not hasattr(block.projection, "act")
    assert isinstance(block.expansion.act, nn.ReLU6)
    assert isinstance(block.depthwise.act, nn.ReLU6)


def test_last_convolution_keeps_1280_channels_below_width_1_and_widens_above():
    assert _meta("mobilenet_v2_035").num_features == 1280
    assert _meta("mobilenet_v2_140").num_features == 1792
    # Channels are rounded to multiples of 8: 0.35 x 32 = 11.2 becomes 16, 0.35 x 16 = 5.6, 8.
    model = _meta("mobilenet_v2_035")
    assert model.features.conv1.conv.out_channels == 16
    assert model.features.bottleneck1[0].projection.conv.out_channels == 8
    assert round_channels(0.35 * 32) == 16


@pytest.mark.parametrize(("name", "width"), [("mobilenet_v2_100", 1.0), ("mobilenet_v2_035", 0.35)])
def test_converted_torchvision_mobilenet_v2_gives_the_same_logits(name, width):
    torch.manual_seed(0)
    reference = torchvision.models.mobilenet_v2(width_mult=width)
    assert converted_logit_difference(reference, name, "torchvision", 224) <= 1e-4


def test_mobilenet_v2_cards_give_the_papers_and_torchvisions_accuracy():
    card = keyarch.model_card("mobilenet_v2_100")
    top1 = {m.source.split(",")[0]: m.top1 for m in card.metrics}
    assert top1["paper"] == 72.0
    assert (71.878, 90.286) in {(m.top1, m.top5) for m in card.metrics}
    assert card.imagenet_top1 == 71.878  # the first single-crop figure
    assert keyarch.model_card("mobilenet_v2_140").metrics[0].top1 == 74.7


def test_bad_width_multiplier_is_refused_naming_the_model():
    from keyarch.models.mobilenetv2 import MobileNetV2

    with pytest.raises(ValueError, match=r"mobilenet_v2: width_multiplier must be a positive"):
        MobileNetV2(width_multiplier=-1.0)
