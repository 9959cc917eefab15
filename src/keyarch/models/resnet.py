"""ResNet: He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition", CVPR
2016 (arXiv 2015). https://arxiv.org/abs/1512.03385

Main ideas: let each block learn a residual F(x) and add its input back, y = F(x) + x, so
that very deep networks optimise as easily as shallow ones (the degradation problem of plain
networks disappears); basic blocks (two 3x3) for 18/34 layers, bottlenecks (1x1, 3x3, 1x1)
for 50/101/152. ``IMAGENET_TABLE`` copies Table 1; the CIFAR networks of section 4.2 have
6n+2 layers of 16/32/64 filters, and their plain twins drop the shortcuts.

Choices made explicit, as builder options:
* ``shortcut="B"`` (projection where dimensions change, the paper's ImageNet choice) or
  ``"A"`` (identity with zero-padded channels and subsampling, no parameters; the CIFAR
  choice); ``"none"`` gives the plain network.
* ``stride_on="3x3"`` puts the stride of a down-sampling bottleneck on its 3x3 convolution,
  as torchvision does ("ResNet v1.5", whose weights load); ``"1x1"`` puts it on the first
  1x1 as the paper did.
* ``zero_init_residual``: the last batch-norm scale of each block starts at 0 (Goyal et al.
  2017), so every block starts as the identity.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from keyarch.errors import BadInput
from keyarch.layers import ConvNormAct
from keyarch.models.base import GlobalPoolHead, ImageClassifier, classifier_layer
from keyarch.registry import Metric, Paper, model_registrar

PAPER = Paper(
    title="Deep Residual Learning for Image Recognition",
    authors="Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun",
    year=2015,
    url="https://arxiv.org/abs/1512.03385",
    main_ideas=(
        "Residual learning: blocks compute F(x) + x through identity shortcuts, so extra "
        "layers can default to the identity.",
        "Deeper plain networks train worse (degradation); residual ones keep improving up "
        "to 152 layers on ImageNet and 110 on CIFAR-10. A 1202-layer CIFAR network still "
        "trains (under 0.1 % training error) but tests worse than ResNet-110 (7.93 against "
        "6.43 % error, Table 6), which the paper attributes to overfitting: 19.4 M "
        "parameters are too many for so small a dataset.",
        "Bottleneck blocks (1x1 reduce, 3x3, 1x1 expand) keep very deep networks cheap.",
    ),
    importance=(
        "Won ILSVRC and COCO 2015 (3.57 % top-5 error with an ensemble); the residual "
        "connection is in nearly every deep network since, transformers included."
    ),
)
register = model_registrar(family="ResNet", paper=PAPER, input_size=(3, 224, 224))

# Where the paper lays the network out, and the names here that hold it (the guide
# shows them beside the layers keyarch builds from them).
PAPER_TABLES = {
    "Table 1": ("IMAGENET_TABLE",),
}


@dataclass(frozen=True)
class Stage:
    """A row group of Table 1: blocks in one stage and their width (before expansion)."""

    blocks: int
    width: int


# Table 1: conv2_x ... conv5_x for each depth (block type, stages).
IMAGENET_TABLE: dict[int, tuple[str, tuple[Stage, ...]]] = {
    18: ("basic", (Stage(2, 64), Stage(2, 128), Stage(2, 256), Stage(2, 512))),
    34: ("basic", (Stage(3, 64), Stage(4, 128), Stage(6, 256), Stage(3, 512))),
    50: ("bottleneck", (Stage(3, 64), Stage(4, 128), Stage(6, 256), Stage(3, 512))),
    101: ("bottleneck", (Stage(3, 64), Stage(4, 128), Stage(23, 256), Stage(3, 512))),
    152: ("bottleneck", (Stage(3, 64), Stage(8, 128), Stage(36, 256), Stage(3, 512))),
}


class ZeroPadShortcut(nn.Module):
    """Option A: subsample by the stride and pad the new channels with zeros."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.stride, self.extra = stride, out_channels - in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra))


def shortcut(kind: str, in_channels: int, out_channels: int, stride: int) -> nn.Module | None:
    """The shortcut of a block: None for plain networks, identity where shapes agree."""
    if kind == "none":
        return None
    if in_channels == out_channels and stride == 1:
        return nn.Identity()
    if kind == "A":
        return ZeroPadShortcut(in_channels, out_channels, stride)
    if kind == "B":
        return ConvNormAct(in_channels, out_channels, 1, stride=stride, padding=0,
                           batch_norm=True, activation=None)  # fmt: skip
    raise BadInput(f"shortcut must be 'A', 'B' or 'none', got {kind!r}")


class BasicBlock(nn.Module):
    """Figure 5 (left): two 3x3 convolutions; relu(bn2(conv2(relu(bn1(conv1 x)))) + x)."""

    expansion = 1

    def __init__(self, in_channels: int, width: int, stride: int, shortcut_kind: str,
                 stride_on: str = "3x3") -> None:  # fmt: skip
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = shortcut(shortcut_kind, in_channels, width, stride)

    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out if self.shortcut is None else out + self.shortcut(x))


class Bottleneck(nn.Module):
    """Figure 5 (right): 1x1 reduce, 3x3, 1x1 expand (x4), plus the shortcut."""

    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int, shortcut_kind: str,
                 stride_on: str = "3x3") -> None:  # fmt: skip
        super().__init__()
        if stride_on not in ("1x1", "3x3"):
            raise BadInput(f"stride_on must be '1x1' (paper) or '3x3' (v1.5), got {stride_on!r}")
        first, second = (stride, 1) if stride_on == "1x1" else (1, stride)
        self.conv1 = nn.Conv2d(in_channels, width, 1, stride=first, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=second, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, width * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(width * 4)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = shortcut(shortcut_kind, in_channels, width * 4, stride)

    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn3(self.conv3(self.relu(self.bn2(self.conv2(out)))))
        return self.relu(out if self.shortcut is None else out + self.shortcut(x))


BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}


def make_stage(block: type[nn.Module], in_channels: int, stage: Stage, stride: int,
               shortcut_kind: str, stride_on: str) -> tuple[nn.Sequential, int]:  # fmt: skip
    """One conv*_x stage; the first block changes stride and width."""
    blocks = []
    for index in range(stage.blocks):
        blocks.append(block(in_channels, stage.width, stride if index == 0 else 1,
                            shortcut_kind, stride_on))  # fmt: skip
        in_channels = stage.width * block.expansion
    return nn.Sequential(*blocks), in_channels


def _init(model: nn.Module, zero_init_residual: bool) -> None:
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
    if zero_init_residual:
        for module in model.modules():
            if isinstance(module, BasicBlock | Bottleneck):
                nn.init.zeros_(module.last_bn().weight)


class ResNet(GlobalPoolHead, ImageClassifier):
    """Table 1: conv1 (7x7/2), 3x3/2 max pool, conv2_x ... conv5_x, average pool, fc."""

    model_name = "resnet"
    min_input_size = 1

    def __init__(self, depth: int, *, shortcut_kind: str = "B", stride_on: str = "3x3",
                 zero_init_residual: bool = False, num_classes: int = 1000, in_chans: int = 3,
                 block: type[nn.Module] | None = None,
                 ceil_pool: bool = False) -> None:  # fmt: skip
        """``block`` replaces Table 1's block type (SE-ResNet); ``ceil_pool`` makes the stem's
        max pool round up without padding, as the Caffe models (SENet) did."""
        super().__init__(num_classes=num_classes, in_chans=in_chans)
        kind, stages = IMAGENET_TABLE[depth]
        block = block or BLOCKS[kind]
        self.conv1 = nn.Conv2d(in_chans, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = (nn.MaxPool2d(3, stride=2, ceil_mode=True) if ceil_pool
                        else nn.MaxPool2d(3, stride=2, padding=1))  # fmt: skip
        channels = 64
        for number, stage in enumerate(stages, start=2):
            layer, channels = make_stage(block, channels, stage, 1 if number == 2 else 2,
                                         shortcut_kind, stride_on)  # fmt: skip
            self.add_module(f"conv{number}_x", layer)
        self.num_features = channels
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = classifier_layer(channels, num_classes)
        _init(self, zero_init_residual)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # N x 64 x 56 x 56
        x = self.conv3_x(self.conv2_x(x))  # N x 128 (512) x 28 x 28
        return self.conv5_x(self.conv4_x(x))  # N x 512 (2048) x 7 x 7


class CifarResNet(GlobalPoolHead, ImageClassifier):
    """Section 4.2: 3x3 conv of 16 filters, then 3 stages of n basic blocks with 16, 32, 64
    filters on 32, 16, 8 pixel maps, global average pool, fc: 6n + 2 weighted layers."""

    model_name = "resnet_cifar"
    min_input_size = 1

    def __init__(self, n: int, *, shortcut_kind: str = "A", num_classes: int = 10,
                 in_chans: int = 3, zero_init_residual: bool = False) -> None:  # fmt: skip
        super().__init__(num_classes=num_classes, in_chans=in_chans)
        self.conv1 = nn.Conv2d(in_chans, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        channels = 16
        for number, width in enumerate((16, 32, 64), start=1):
            layer, channels = make_stage(BasicBlock, channels, Stage(n, width),
                                         1 if number == 1 else 2, shortcut_kind, "3x3")  # fmt: skip
            self.add_module(f"stage{number}", layer)
        self.num_features = channels
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = classifier_layer(channels, num_classes)
        _init(self, zero_init_residual)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))  # N x 16 x 32 x 32
        return self.stage3(self.stage2(self.stage1(x)))  # N x 64 x 8 x 8


def _imagenet(top1: float, top5: float) -> tuple[Metric, ...]:
    return (
        Metric("ImageNet", top1, top5, "torchvision weights, 224 centre crop of 256",
               split="ILSVRC-2012 val", crops="1 crop"),
    )  # fmt: skip


_V15 = ("Stride on the 3x3 convolution of down-sampling bottlenecks (v1.5, torchvision's "
        "choice); stride_on='1x1' gives the paper's.",)  # fmt: skip


@register(description="ResNet-18 (Table 1): basic blocks [2, 2, 2, 2].",
          metrics=_imagenet(69.758, 89.078))  # fmt: skip
def resnet18(*, num_classes: int = 1000, in_chans: int = 3, shortcut: str = "B",
             zero_init_residual: bool = False) -> ResNet:  # fmt: skip
    return ResNet(18, num_classes=num_classes, in_chans=in_chans,
                  shortcut_kind=shortcut, zero_init_residual=zero_init_residual)  # fmt: skip


@register(description="ResNet-34 (Table 1): basic blocks [3, 4, 6, 3].",
          metrics=_imagenet(73.314, 91.420))  # fmt: skip
def resnet34(*, num_classes: int = 1000, in_chans: int = 3, shortcut: str = "B",
             zero_init_residual: bool = False) -> ResNet:  # fmt: skip
    return ResNet(34, num_classes=num_classes, in_chans=in_chans,
                  shortcut_kind=shortcut, zero_init_residual=zero_init_residual)  # fmt: skip


@register(description="ResNet-50 (Table 1): bottlenecks [3, 4, 6, 3].", deviations=_V15,
          metrics=_imagenet(76.130, 92.862))  # fmt: skip
def resnet50(*, num_classes: int = 1000, in_chans: int = 3, shortcut: str = "B",
             stride_on: str = "3x3", zero_init_residual: bool = False) -> ResNet:  # fmt: skip
    return ResNet(50, num_classes=num_classes, in_chans=in_chans,
                  shortcut_kind=shortcut, stride_on=stride_on,
                  zero_init_residual=zero_init_residual)  # fmt: skip


@register(description="ResNet-101 (Table 1): bottlenecks [3, 4, 23, 3].", deviations=_V15,
          metrics=_imagenet(77.374, 93.546))  # fmt: skip
def resnet101(*, num_classes: int = 1000, in_chans: int = 3, shortcut: str = "B",
              stride_on: str = "3x3", zero_init_residual: bool = False) -> ResNet:  # fmt: skip
    return ResNet(101, num_classes=num_classes, in_chans=in_chans,
                  shortcut_kind=shortcut, stride_on=stride_on,
                  zero_init_residual=zero_init_residual)  # fmt: skip


@register(description="ResNet-152 (Table 1): bottlenecks [3, 8, 36, 3].", deviations=_V15,
          metrics=_imagenet(78.312, 94.046))  # fmt: skip
def resnet152(*, num_classes: int = 1000, in_chans: int = 3, shortcut: str = "B",
              stride_on: str = "3x3", zero_init_residual: bool = False) -> ResNet:  # fmt: skip
    return ResNet(152, num_classes=num_classes, in_chans=in_chans,
                  shortcut_kind=shortcut, stride_on=stride_on,
                  zero_init_residual=zero_init_residual)  # fmt: skip


# Section 4.2, Table 6: CIFAR-10 test error of the residual networks (%).
CIFAR_ERRORS = {20: 8.75, 32: 7.51, 44: 7.17, 56: 6.97, 110: 6.43}


def _register_cifar(depth: int) -> None:
    """resnet{depth} and plain{depth}: 6n + 2 layers, with and without shortcuts."""
    n = (depth - 2) // 6
    best_of_five = " (best of 5 runs; mean 6.61 +- 0.16)" if depth == 110 else ""
    metric = Metric("CIFAR-10", round(100 - CIFAR_ERRORS[depth], 2), None,
                    f"paper, Table 6: {CIFAR_ERRORS[depth]} % error{best_of_five}",
                    split="CIFAR-10 test", crops="full image")  # fmt: skip

    def residual(*, num_classes: int = 10, in_chans: int = 3, shortcut: str = "A",
                 zero_init_residual: bool = False) -> CifarResNet:  # fmt: skip
        return CifarResNet(n, shortcut_kind=shortcut, num_classes=num_classes,
                           in_chans=in_chans, zero_init_residual=zero_init_residual)  # fmt: skip

    def plain(*, num_classes: int = 10, in_chans: int = 3) -> CifarResNet:
        return CifarResNet(n, shortcut_kind="none", num_classes=num_classes, in_chans=in_chans)

    deepest = (
        " The deepest that helps: the paper's 1202-layer network (n = 200) tests "
        "worse, 7.93 % against 6.43 % error, from overfitting."
        if depth == 110
        else ""
    )
    register(description=f"CIFAR ResNet-{depth} (section 4.2): n = {n}, 16/32/64 filters, "
             f"option A shortcuts.{deepest}", input_size=(3, 32, 32), metrics=(metric,),
             name=f"resnet{depth}")(residual)  # fmt: skip
    register(description=f"Plain-{depth}: ResNet-{depth} without shortcuts, for the "
             "degradation experiment (Figure 6).", input_size=(3, 32, 32),
             deviations=("Not a network the paper recommends: its point of comparison.",),
             name=f"plain{depth}")(plain)  # fmt: skip


for _depth in CIFAR_ERRORS:
    _register_cifar(_depth)
