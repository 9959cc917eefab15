"""MobileNetV2: Sandler, Howard, Zhu, Zhmoginov and Chen, "MobileNetV2: Inverted Residuals
and Linear Bottlenecks", CVPR 2018 (arXiv 2018). https://arxiv.org/abs/1801.04381

Main ideas: the inverted residual with a linear bottleneck (Table 1,
``keyarch.layers.InvertedResidual``): a 1x1 convolution expands a thin bottleneck t = 6
times, a 3x3 depthwise convolution filters it, a 1x1 convolution projects it back *without*
a non-linearity (ReLU in a low-dimensional space destroys information, section 3.2), and the
shortcut joins the thin bottlenecks rather than the wide layers. ``TABLE_2`` copies Table 2's
(t, c, n, s) rows. The width multiplier scales every layer's channels, rounded to multiples
of 8 as the released code does, except that the last 1x1 convolution keeps its 1280 channels
for multipliers below one (the paper's "one minor implementation difference" from v1).

Deviations:

* The last layer is a linear layer after global average pooling where Table 2 has a 1x1
  convolution after a 7x7 average pool: the same weights and the same function at 224
  pixels, and other input sizes work.
* Dropout before the classifier: section 4 trains "using dropout and batch normalization"
  but gives no rate; 0.2 (torchvision's and the released code's) is assumed. Pass
  ``dropout=0.0`` to leave it out.
* The t = 1 bottleneck (Table 2's first row) has no 1x1 expansion convolution, which
  Table 1's block defines (a 1x1 convolution from k to tk channels, here k to k): as in
  the released code and torchvision. The paper's totals (3.4 M parameters, 300 M
  mult-adds) are those of the network without it.
* ``mobilenet_v2_cifar`` (for 32x32 images; the efficiency-frontier experiment) runs conv1
  and the second row at stride 1 (``CIFAR_TABLE_2``): assumed, in its card.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace

import torch
from torch import nn

from keyarch.layers import ConvNormAct, InvertedResidual, fan_out_normal_
from keyarch.layers.channels import round_channels
from keyarch.models.base import GlobalPoolHead, ImageClassifier, classifier_layer
from keyarch.models.mobilenet import check_width_multiplier
from keyarch.registry import IMAGENET_VAL, SINGLE_CROP, Metric, Paper, model_registrar

PAPER = Paper(
    title="MobileNetV2: Inverted Residuals and Linear Bottlenecks",
    authors="Mark Sandler, Andrew Howard, Menglong Zhu, Andrey Zhmoginov, Liang-Chieh Chen",
    year=2018,
    url="https://arxiv.org/abs/1801.04381",
    main_ideas=(
        "Inverted residual: expand a thin bottleneck with a 1x1 convolution (t = 6), filter "
        "it with a 3x3 depthwise convolution, project it back with a 1x1 convolution; the "
        "shortcut connects the thin bottlenecks, not the wide layers.",
        "Linear bottleneck: the projection has no ReLU, since a non-linearity in a "
        "low-dimensional space destroys information (section 3.2, Figure 1).",
        "Table 2: a 32-filter convolution, 17 bottleneck blocks in seven (t, c, n, s) rows "
        "(the text says 19 bottleneck layers; the table's n sum to 17) and a 1x1 "
        "convolution to 1280 channels; 300 M mult-adds and 3.4 M parameters for 72.0 % "
        "top-1, better than MobileNet v1 with fewer operations (Table 4).",
    ),
    importance=(
        "The inverted residual became the block of efficient networks (MnasNet, "
        "MobileNetV3, EfficientNet, the MV2 blocks of MobileViT) and MobileNetV2 a default "
        "backbone for detection (SSDLite) and segmentation (DeepLabv3 mobile) on phones."
    ),
)
register = model_registrar(
    family="MobileNetV2",
    paper=PAPER,
    input_size=(3, 224, 224),
    deviations=(
        "The classifier is a linear layer after global average pooling where Table 2 has a "
        "1x1 convolution after a 7x7 average pool: the same weights and function at 224.",
        "Dropout before the classifier: section 4 uses dropout but gives no rate; 0.2 "
        "(torchvision's and the released code's) is assumed.",
        "The t = 1 bottleneck (Table 2, first row) has no 1x1 expansion convolution, which "
        "Table 1 defines: as the released code; the paper's 3.4 M parameters and 300 M "
        "mult-adds count the network without it.",
    ),
)

# Where the paper lays the network out, and the names here that hold it (the guide
# shows them beside the layers keyarch builds from them).
PAPER_TABLES = {
    "Table 2": ("FIRST_CONV", "TABLE_2", "LAST_CONV"),
}


@dataclass(frozen=True)
class BottleneckRow:
    """A "bottleneck" row of Table 2: ``repeat`` inverted residuals, the first with
    ``stride``, the others with stride 1."""

    expansion: int  # t: expansion factor of the first 1x1 convolution
    channels: int  # c: output channels, at width multiplier 1
    repeat: int  # n
    stride: int  # s


FIRST_CONV = 32  # Table 2, "conv2d" 3x3 stride 2, input 224^2 x 3

# Table 2, the bottleneck rows; comments give the input at 224 pixels.
TABLE_2 = (
    BottleneckRow(expansion=1, channels=16, repeat=1, stride=1),  # 112^2 x 32
    BottleneckRow(expansion=6, channels=24, repeat=2, stride=2),  # 112^2 x 16
    BottleneckRow(expansion=6, channels=32, repeat=3, stride=2),  # 56^2 x 24
    BottleneckRow(expansion=6, channels=64, repeat=4, stride=2),  # 28^2 x 32
    BottleneckRow(expansion=6, channels=96, repeat=3, stride=1),  # 14^2 x 64
    BottleneckRow(expansion=6, channels=160, repeat=3, stride=2),  # 14^2 x 96
    BottleneckRow(expansion=6, channels=320, repeat=1, stride=1),  # 7^2 x 160
)

# For 32x32 images (assumed, as kuangliu/pytorch-cifar's): conv1 and the second row at
# stride 1, so that the total stride is 8 and 32 px leave a 4x4 map (7x7 at 224).
CIFAR_TABLE_2 = (TABLE_2[0], replace(TABLE_2[1], stride=1), *TABLE_2[2:])

LAST_CONV = 1280  # Table 2, "conv2d 1x1", input 7^2 x 320; never narrowed below 1280


class MobileNetV2(GlobalPoolHead, ImageClassifier):
    """Table 2: ``features.conv1`` (3x3/2), ``features.bottleneck1`` ... ``bottleneck7``
    (one per row, each a sequence of ``InvertedResidual``), ``features.conv2`` (1x1 to
    1280), global average pooling, dropout and a linear ``classifier``."""

    model_name = "mobilenet_v2"
    classifier_name = "classifier"
    # Every convolution is 3x3 with padding 1 or 1x1, so any size reaches a 1x1 map.
    min_input_size = 1

    def __init__(self, *, width_multiplier: float = 1.0, dropout: float = 0.2,
                 table: tuple[BottleneckRow, ...] = TABLE_2, conv1_stride: int = 2,
                 num_classes: int = 1000, in_chans: int = 3) -> None:  # fmt: skip
        """``table``: the bottleneck rows (Table 2's by default); ``conv1_stride``: conv1's
        (2 in Table 2, 1 in ``mobilenet_v2_cifar``)."""
        super().__init__(num_classes=num_classes, in_chans=in_chans)
        width = check_width_multiplier(width_multiplier, "width_multiplier", self.model_name)
        self.width_multiplier = width
        unit = {"batch_norm": True, "activation": nn.ReLU6}
        channels = round_channels(FIRST_CONV * width)
        layers: OrderedDict[str, nn.Module] = OrderedDict(
            conv1=ConvNormAct(in_chans, channels, 3, stride=conv1_stride, **unit)
        )  # N x 32 x 112 x 112 at 224 and width 1
        for number, row in enumerate(table, start=1):
            out_channels = round_channels(row.channels * width)
            blocks = []
            for index in range(row.repeat):
                blocks.append(InvertedResidual(
                    channels, out_channels, stride=row.stride if index == 0 else 1,
                    expansion_ratio=row.expansion, activation=nn.ReLU6))  # fmt: skip
                channels = out_channels
            layers[f"bottleneck{number}"] = nn.Sequential(*blocks)
        # N x 320 x 7 x 7 at 224 and width 1
        last = round_channels(LAST_CONV * max(1.0, width))
        layers["conv2"] = ConvNormAct(channels, last, 1, **unit)  # N x 1280 x 7 x 7
        self.features = nn.Sequential(layers)
        self.num_features = last
        self.pool = nn.AdaptiveAvgPool2d(1)  # "avgpool 7x7" at 224
        self.dropout = nn.Dropout(dropout)
        self.classifier = classifier_layer(last, num_classes)  # the last "conv2d 1x1"
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                fan_out_normal_(module)  # depthwise: fan-out k x k, as TensorFlow
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=0.01)
                nn.init.zeros_(module.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)  # N x 1280 x H/32 x W/32


def _released(checkpoint: str, top1: float, top5: float) -> Metric:
    return Metric("ImageNet", top1, top5,
                  f"the authors' TF-slim checkpoint {checkpoint} (tensorflow/models "
                  "research/slim/nets/mobilenet/README.md), single crop",
                  split=IMAGENET_VAL, crops=SINGLE_CROP)  # fmt: skip


def _build(width: float, dropout: float, num_classes: int, in_chans: int) -> MobileNetV2:
    return MobileNetV2(width_multiplier=width, dropout=dropout, num_classes=num_classes,
                       in_chans=in_chans)  # fmt: skip


@register(
    description="MobileNetV2 1.0-224 (Table 2): 3,504,872 parameters, 300 M mult-adds; "
    "192, 160, 128 and 96 pixel inputs give the released 221, 154, 99 and 56 M.",
    metrics=(
        Metric("ImageNet", 72.0, None, "paper, Table 4", split=IMAGENET_VAL,
               crops="not stated"),
        Metric("ImageNet", 71.878, 90.286, "torchvision weights, 224 centre crop of 256",
               split=IMAGENET_VAL, crops=SINGLE_CROP),
        _released("mobilenet_v2_1.0_224", 71.8, 91.0),
    ),
)  # fmt: skip
def mobilenet_v2_100(*, num_classes: int = 1000, in_chans: int = 3,
                     dropout: float = 0.2) -> MobileNetV2:  # fmt: skip
    return _build(1.0, dropout, num_classes, in_chans)


@register(
    description="MobileNetV2 1.4-224: width multiplier 1.4, 6.06 M parameters and 582 M "
    "mult-adds in the released table (Table 4: 6.9 M, 585 M).",
    metrics=(
        Metric("ImageNet", 74.7, None, "paper, Table 4", split=IMAGENET_VAL,
               crops="not stated"),
        _released("mobilenet_v2_1.4_224", 75.0, 92.5),
    ),
)  # fmt: skip
def mobilenet_v2_140(*, num_classes: int = 1000, in_chans: int = 3,
                     dropout: float = 0.2) -> MobileNetV2:  # fmt: skip
    return _build(1.4, dropout, num_classes, in_chans)


@register(
    description="MobileNetV2 0.75-224 (released checkpoints): 2.61 M parameters, 209 M "
    "mult-adds; the last convolution keeps 1280 channels.",
    metrics=(_released("mobilenet_v2_0.75_224", 69.8, 89.6),),
)
def mobilenet_v2_075(*, num_classes: int = 1000, in_chans: int = 3,
                     dropout: float = 0.2) -> MobileNetV2:  # fmt: skip
    return _build(0.75, dropout, num_classes, in_chans)


@register(
    description="MobileNetV2 0.5-224 (released checkpoints): 1.95 M parameters, 97 M "
    "mult-adds; the last convolution keeps 1280 channels.",
    metrics=(_released("mobilenet_v2_0.5_224", 65.4, 86.4),),
)
def mobilenet_v2_050(*, num_classes: int = 1000, in_chans: int = 3,
                     dropout: float = 0.2) -> MobileNetV2:  # fmt: skip
    return _build(0.5, dropout, num_classes, in_chans)


@register(
    description="MobileNetV2 0.35-224 (released checkpoints): 1.66 M parameters, 59 M "
    "mult-adds; the last convolution keeps 1280 channels.",
    metrics=(_released("mobilenet_v2_0.35_224", 60.3, 82.9),),
)
def mobilenet_v2_035(*, num_classes: int = 1000, in_chans: int = 3,
                     dropout: float = 0.2) -> MobileNetV2:  # fmt: skip
    return _build(0.35, dropout, num_classes, in_chans)


@register(
    description="MobileNetV2 1.0 (Table 2) for 32x32 images (CIFAR-10), for the "
    "efficiency-frontier experiment: conv1 and the second bottleneck row at stride 1, so "
    "that 32 px leave a 4x4x1280 map (7x7 at 224).",
    input_size=(3, 32, 32),
    deviations=(
        "Not in the paper, a CIFAR adaptation (assumed, as kuangliu/pytorch-cifar's): the "
        "first convolution and the (t=6, c=24, n=2) row at stride 1 instead of 2.",
    ),
)
def mobilenet_v2_cifar(*, num_classes: int = 10, in_chans: int = 3,
                       dropout: float = 0.2) -> MobileNetV2:  # fmt: skip
    return MobileNetV2(width_multiplier=1.0, dropout=dropout, table=CIFAR_TABLE_2,
                       conv1_stride=1, num_classes=num_classes,
                       in_chans=in_chans)  # fmt: skip
