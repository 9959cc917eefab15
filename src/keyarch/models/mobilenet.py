"""MobileNet (v1): Howard, Zhu, Chen, Kalenichenko, Wang, Weyand, Andreetto and Adam,
"MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications",
arXiv 2017. https://arxiv.org/abs/1704.04861

Main ideas: factor every convolution after the first into a depthwise separable one (a 3x3
depthwise convolution, one filter per channel, then a 1x1 pointwise convolution, each with
batch norm and ReLU; Figure 3), which costs 8 to 9 times fewer mult-adds than a full 3x3
convolution for about 1 % of ImageNet accuracy (Table 4). Two global hyper-parameters trade
accuracy for cost: the width multiplier alpha thins every layer to alpha times its channels
(cost ~ alpha^2; Table 6), the resolution multiplier rho shrinks the input (cost ~ rho^2;
Table 7; here: feed 192, 160 or 128 pixel images, since global pooling ends the body).
``TABLE_1`` copies Table 1 row by row.

Deviations:

* Table 1 prints the last depthwise layer as "Conv dw / s2", but its input and its output
  are 7x7 (the next row's input size is 7x7 and the average pool is 7x7): it has stride 1,
  as the authors' TF-slim network and timm build it.
* ``activation="relu"`` (the default) is the paper's ReLU; ``activation="relu6"`` is the
  ReLU6 that timm's ``mobilenetv1_*`` models use, needed to reproduce their outputs;
  ``pretrained=True`` loads timm's weights into that ReLU6 network by itself.
* Weights start from N(0, 2 / fan-out) as TF-slim's variance scaling gives them, with a
  depthwise filter's fan-out k x k as TensorFlow counts it (``fan_out_normal_``).
* Under a width multiplier the channel counts are rounded to multiples of 8 (as timm
  does); for the paper's alpha in {1, 0.75, 0.5, 0.25} every alpha * N is already one.
* The classifier is a linear layer after global average pooling (the paper's 7x7 average
  pool at 224 pixels), so that other resolutions work; dropout before it is off by default
  (the paper names none).
* ``mobilenet_v1_cifar`` (for 32x32 images; the efficiency-frontier experiment) runs the
  first convolution at stride 1: assumed, in its card.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from keyarch.errors import BadInput, BadType
from keyarch.layers import ConvNormAct, fan_out_normal_
from keyarch.layers.channels import round_channels
from keyarch.models.base import GlobalPoolHead, ImageClassifier, classifier_layer
from keyarch.registry import IMAGENET_VAL, SINGLE_CROP, Metric, Paper, model_registrar

PAPER = Paper(
    title="MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications",
    authors="Andrew G. Howard, Menglong Zhu, Bo Chen, Dmitry Kalenichenko, Weijun Wang, "
    "Tobias Weyand, Marco Andreetto, Hartwig Adam",
    year=2017,
    url="https://arxiv.org/abs/1704.04861",
    main_ideas=(
        "Depthwise separable convolutions (a 3x3 depthwise convolution, then a 1x1 pointwise "
        "one, each followed by batch norm and ReLU) replace all but the first convolution: "
        "8 to 9 times fewer mult-adds for about 1 % accuracy (Table 4).",
        "28 layers counting depthwise and pointwise separately (Table 1); 95 % of the "
        "mult-adds and 75 % of the parameters are in the 1x1 convolutions (Table 2).",
        "Two knobs shrink the network for a budget: the width multiplier alpha (cost and "
        "parameters ~ alpha^2, Table 6) and the resolution multiplier rho (cost ~ rho^2, "
        "Table 7); 1.0-224 has 569 M mult-adds and 4.2 M parameters.",
    ),
    importance=(
        "Made depthwise separable convolutions the standard building block of networks for "
        "phones and embedded devices, and the width/resolution multipliers the standard way "
        "to size them (MobileNetV2/V3, EfficientNet, detection and segmentation backbones)."
    ),
)
register = model_registrar(
    family="MobileNet",
    paper=PAPER,
    input_size=(3, 224, 224),
    deviations=(
        "Table 1 prints the last depthwise layer as 'Conv dw / s2', but its input and output "
        "are both 7x7: it is built with stride 1, as in the authors' TF-slim code and timm.",
        "A linear layer after global average pooling (the paper's 7x7 average pool at 224 "
        "pixels), so that the smaller resolutions of Table 7 work; dropout before it is off "
        "by default (the paper names none).",
        "Channel counts under other width multipliers are rounded to multiples of 8 (as "
        "timm does); the paper's alpha of 1, 0.75, 0.5 and 0.25 need no rounding.",
    ),
)

# Where the paper lays the network out, and the names here that hold it (the guide
# shows them beside the layers keyarch builds from them).
PAPER_TABLES = {
    "Table 1": ("STEM_CHANNELS", "TABLE_1"),
}


@dataclass(frozen=True)
class SeparableRow:
    """A "Conv dw" row of Table 1 and the 1x1 "Conv" row after it: one depthwise separable
    convolution (``repeat`` of them for the "5x" rows)."""

    stride: int  # of the 3x3 depthwise convolution
    channels: int  # output channels of the 1x1 pointwise convolution, at alpha = 1
    repeat: int = 1


STEM_CHANNELS = 32  # Table 1, first row: Conv / s2, 3x3x3x32, input 224x224x3

# Table 1, the depthwise separable layers; comments give the input at 224 pixels.
TABLE_1 = (
    SeparableRow(stride=1, channels=64),  # 112x112x32
    SeparableRow(stride=2, channels=128),  # 112x112x64
    SeparableRow(stride=1, channels=128),  # 56x56x128
    SeparableRow(stride=2, channels=256),  # 56x56x128
    SeparableRow(stride=1, channels=256),  # 28x28x256
    SeparableRow(stride=2, channels=512),  # 28x28x256
    SeparableRow(stride=1, channels=512, repeat=5),  # 14x14x512, "5x"
    SeparableRow(stride=2, channels=1024),  # 14x14x512
    SeparableRow(stride=1, channels=1024),  # 7x7x1024 (printed "s2"; see the docstring)
)

ACTIVATIONS = {"relu": nn.ReLU, "relu6": nn.ReLU6}


class DepthwiseSeparableConv(nn.Sequential):
    """Figure 3, right: 3x3 depthwise convolution, BN, ReLU, then 1x1 pointwise
    convolution, BN, ReLU. The children are ``depthwise`` and ``pointwise``."""

    def __init__(self, in_channels: int, out_channels: int, *, stride: int,
                 activation: type[nn.Module]) -> None:  # fmt: skip
        super().__init__()
        self.depthwise = ConvNormAct(in_channels, in_channels, 3, stride=stride,
                                     groups=in_channels, batch_norm=True,
                                     activation=activation)  # fmt: skip
        self.pointwise = ConvNormAct(in_channels, out_channels, 1, batch_norm=True,
                                     activation=activation)  # fmt: skip


def check_width_multiplier(value: object, name: str, model: str) -> float:
    """``value`` if it is a positive number, else ``BadType`` / ``BadInput`` saying so."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadType(f"{model}: {name} must be a positive number such as 0.5, got {value!r}")
    if not value > 0:
        raise BadInput(f"{model}: {name} must be a positive number such as 0.5, got {value}")
    return float(value)


def activation_layer(activation: object, model: str) -> type[nn.Module]:
    """The activation named ``activation``, else ``BadInput`` naming ``model``."""
    if activation not in ACTIVATIONS:
        raise BadInput(
            f"{model}: activation must be one of {', '.join(ACTIVATIONS)} "
            f"(relu: the paper's; relu6: timm's), got {activation!r}"
        )
    return ACTIVATIONS[activation]


class MobileNetV1(GlobalPoolHead, ImageClassifier):
    """Table 1: a 3x3/2 convolution, 13 depthwise separable convolutions (``features.conv1``
    then ``features.separable1`` ... ``separable13``), global average pooling, one linear
    layer (``fc``). ``alpha`` is the width multiplier of section 3.3."""

    model_name = "mobilenet_v1"
    # Every convolution is 3x3 with padding 1 or 1x1, so any size reaches a 1x1 map.
    min_input_size = 1

    def __init__(self, *, alpha: float = 1.0, activation: str = "relu", dropout: float = 0.0,
                 conv1_stride: int = 2, num_classes: int = 1000,
                 in_chans: int = 3) -> None:  # fmt: skip
        """``conv1_stride``: Table 1's 2, or 1 for 32x32 images (``mobilenet_v1_cifar``)."""
        super().__init__(num_classes=num_classes, in_chans=in_chans)
        alpha = check_width_multiplier(alpha, "alpha", self.model_name)
        act = activation_layer(activation, self.model_name)
        self.alpha = alpha
        channels = round_channels(STEM_CHANNELS * alpha)
        layers: OrderedDict[str, nn.Module] = OrderedDict(
            conv1=ConvNormAct(
                in_chans, channels, 3, stride=conv1_stride, batch_norm=True, activation=act
            )  # fmt: skip
        )  # N x 32a x 112 x 112 at 224
        number = 0
        for row in TABLE_1:
            width = round_channels(row.channels * alpha)
            for index in range(row.repeat):
                number += 1
                layers[f"separable{number}"] = DepthwiseSeparableConv(
                    channels, width, stride=row.stride if index == 0 else 1, activation=act
                )
                channels = width
        self.features = nn.Sequential(layers)  # N x 1024a x 7 x 7 at 224
        self.num_features = channels
        self.pool = nn.AdaptiveAvgPool2d(1)  # "Avg Pool / s1, Pool 7x7" at 224
        self.dropout = nn.Dropout(dropout)
        self.fc = classifier_layer(channels, num_classes)  # "FC / s1, 1024 x 1000"
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                fan_out_normal_(module)  # depthwise: fan-out k x k, as TensorFlow
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=0.01)
                nn.init.zeros_(module.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)  # N x 1024a x H/32 x W/32


def _metrics(top1: float, checkpoint: str, released_top1: float,
             released_top5: float) -> tuple[Metric, ...]:  # fmt: skip
    """The paper's accuracy (Table 6; the paper does not say how many crops it evaluated),
    and that of the authors' released TF-slim checkpoint, evaluated on one crop."""
    return (
        Metric("ImageNet", top1, None, "paper, Table 6 (and Table 8 for 1.0-224)",
               split=IMAGENET_VAL, crops="not stated"),
        Metric("ImageNet", released_top1, released_top5,
               f"the authors' TF-slim checkpoint {checkpoint} (2018-02-22 release, "
               "tensorflow/models research/slim/nets/mobilenet_v1.md), single crop",
               split=IMAGENET_VAL, crops=SINGLE_CROP),
    )  # fmt: skip


_ACTIVATION_NOTE = (
    "activation='relu' (the default) is the paper's; activation='relu6' matches timm's "
    "mobilenetv1_* models, and pretrained=True (timm's weights) builds it by itself.",
)


def _mobilenet_v1(alpha: float, activation: str, dropout: float, num_classes: int,
                  in_chans: int) -> MobileNetV1:  # fmt: skip
    activation_layer(activation, f"mobilenet_v1_{round(alpha * 100):03d}")  # the registered name
    return MobileNetV1(alpha=alpha, activation=activation, dropout=dropout,
                       num_classes=num_classes, in_chans=in_chans)  # fmt: skip


@register(
    description="1.0 MobileNet-224 (Table 1, alpha = 1): 569 M mult-adds, 4.2 M parameters "
    "(4,231,976 counted); 192, 160 and 128 pixel inputs give Table 7's 418, 290 and 186 M.",
    deviations=_ACTIVATION_NOTE,
    metrics=_metrics(70.6, "mobilenet_v1_1.0_224", 70.9, 89.9),
)
def mobilenet_v1_100(*, num_classes: int = 1000, in_chans: int = 3, activation: str = "relu",
                     dropout: float = 0.0) -> MobileNetV1:  # fmt: skip
    return _mobilenet_v1(1.0, activation, dropout, num_classes, in_chans)


@register(
    description="0.75 MobileNet-224 (Table 6): 325 M mult-adds, 2.6 M parameters.",
    deviations=_ACTIVATION_NOTE,
    metrics=_metrics(68.4, "mobilenet_v1_0.75_224", 68.4, 88.2),
)
def mobilenet_v1_075(*, num_classes: int = 1000, in_chans: int = 3, activation: str = "relu",
                     dropout: float = 0.0) -> MobileNetV1:  # fmt: skip
    return _mobilenet_v1(0.75, activation, dropout, num_classes, in_chans)


@register(
    description="0.5 MobileNet-224 (Table 6): 149 M mult-adds, 1.3 M parameters.",
    deviations=_ACTIVATION_NOTE,
    metrics=_metrics(63.7, "mobilenet_v1_0.5_224", 63.3, 84.9),
)
def mobilenet_v1_050(*, num_classes: int = 1000, in_chans: int = 3, activation: str = "relu",
                     dropout: float = 0.0) -> MobileNetV1:  # fmt: skip
    return _mobilenet_v1(0.5, activation, dropout, num_classes, in_chans)


@register(
    description="0.25 MobileNet-224 (Table 6): 41 M mult-adds, 0.5 M parameters.",
    deviations=_ACTIVATION_NOTE,
    metrics=_metrics(50.6, "mobilenet_v1_0.25_224", 49.8, 74.2),
)
def mobilenet_v1_025(*, num_classes: int = 1000, in_chans: int = 3, activation: str = "relu",
                     dropout: float = 0.0) -> MobileNetV1:  # fmt: skip
    return _mobilenet_v1(0.25, activation, dropout, num_classes, in_chans)


@register(
    description="1.0 MobileNet (Table 1) for 32x32 images (CIFAR-10), for the "
    "efficiency-frontier experiment: conv1 at stride 1, so that 32 px leave a 2x2x1024 map "
    "(7x7 at 224).",
    input_size=(3, 32, 32),
    deviations=(
        "Not in the paper, a CIFAR adaptation (assumed, as kuangliu/pytorch-cifar's): the "
        "first convolution at stride 1 instead of 2; nothing else changes.",
        *_ACTIVATION_NOTE,
    ),
)
def mobilenet_v1_cifar(*, num_classes: int = 10, in_chans: int = 3, activation: str = "relu",
                       dropout: float = 0.0) -> MobileNetV1:  # fmt: skip
    activation_layer(activation, "mobilenet_v1_cifar")
    return MobileNetV1(alpha=1.0, activation=activation, dropout=dropout, conv1_stride=1,
                       num_classes=num_classes, in_chans=in_chans)  # fmt: skip
