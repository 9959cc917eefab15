"""BN-Inception ("Inception-v2"): Ioffe and Szegedy, "Batch Normalization: Accelerating
Deep Network Training by Reducing Internal Covariate Shift", ICML 2015.
https://arxiv.org/abs/1502.03167

Main ideas: normalise every layer's inputs over the mini-batch, then scale and shift them
with learned parameters, so that higher learning rates train stably and quickly. Applied to
GoogLeNet (section 4.1, Figure 5): batch norm before every non-linearity, each 5x5 convolution
replaced by two 3x3 ones, average or max pooling in the modules, and grid reductions done by
stride-2 modules whose pooling branch passes the input through (inception3c, inception4e).
``FIGURE_5`` copies the figure's columns.

Deviations: the branch widths are read from the authors' released Caffe model; with them
the channel totals after inception4c and inception4e are 608 and 1056, where Figure 5
prints 576 and 1024 (the figure's totals do not add up). Convolutions have no bias, as the
paper notes (section 3.2) that batch norm cancels it; the released model kept them.
Pooling rounds up, as in Caffe. Parameter count, derived from the table: 11,285,224 with
1000 classes (2.03 G multiply-adds at 224), where section 4.2 states 13.6 M; the paper does
not say what its count includes, and the 2.3 M difference is unexplained here.

The appendix: "Our model employed separable convolution with depth multiplier 8 on the
first convolutional layer." ``separable_stem=True`` builds conv1 that way (a 7x7/2
depthwise convolution giving 8 maps per input channel, then a 1x1 convolution to 64,
batch norm and ReLU): 11,278,528 parameters. The default is a full 7x7 convolution, as
the released Caffe model and most reimplementations have it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from keyarch.layers import ConvNormAct, SeparableConv2d
from keyarch.models.base import GlobalPoolHead, ImageClassifier, classifier_layer
from keyarch.registry import Metric, Paper, model_registrar

PAPER = Paper(
    title="Batch Normalization: Accelerating Deep Network Training by Reducing Internal "
    "Covariate Shift",
    authors="Sergey Ioffe, Christian Szegedy",
    year=2015,
    url="https://arxiv.org/abs/1502.03167",
    main_ideas=(
        "Normalise each activation over the mini-batch, then scale and shift it with "
        "learned parameters; at inference use population statistics.",
        "Allows much higher learning rates, less care with initialisation, and acts as a "
        "regulariser: dropout and local response normalisation can be removed.",
        "BN-Inception matches GoogLeNet's accuracy in 14 times fewer steps.",
    ),
    importance=(
        "Batch normalisation became a default layer of nearly every CNN; BN-Inception "
        "reached 4.8 % top-5 test error with an ensemble, beyond human raters' estimate."
    ),
)
register = model_registrar(family="BN-Inception", paper=PAPER, input_size=(3, 224, 224))

# Where the paper lays the network out, and the names here that hold it (the guide
# shows them beside the layers keyarch builds from them).
PAPER_TABLES = {
    "Figure 5": ("FIGURE_5",),
}


@dataclass(frozen=True)
class Row:
    """Figure 5: #1x1, #3x3 reduce, #3x3, double #3x3 reduce, double #3x3, pool + proj."""

    ch1x1: int  # 0: no 1x1 branch (the stride-2 modules)
    ch3x3red: int
    ch3x3: int
    double3x3red: int
    double3x3: int
    pool: str  # "avg" or "max"
    pool_proj: int  # 0: the pooled input passes through
    stride: int = 1


FIGURE_5: dict[str, Row] = {
    "inception3a": Row(64, 64, 64, 64, 96, "avg", 32),
    "inception3b": Row(64, 64, 96, 64, 96, "avg", 64),
    "inception3c": Row(0, 128, 160, 64, 96, "max", 0, stride=2),
    "inception4a": Row(224, 64, 96, 96, 128, "avg", 128),
    "inception4b": Row(192, 96, 128, 96, 128, "avg", 128),
    "inception4c": Row(160, 128, 160, 128, 160, "avg", 128),
    "inception4d": Row(96, 128, 192, 160, 192, "avg", 128),
    "inception4e": Row(0, 128, 192, 192, 256, "max", 0, stride=2),
    "inception5a": Row(352, 192, 320, 160, 224, "avg", 128),
    "inception5b": Row(352, 192, 320, 192, 224, "max", 128),
}


def conv(in_channels: int, out_channels: int, kernel: int, **options) -> ConvNormAct:
    return ConvNormAct(in_channels, out_channels, kernel, batch_norm=True, **options)


class BNInceptionModule(nn.Module):
    """Figure 5's module: 1x1 || 1x1-3x3 || 1x1-3x3-3x3 (the factorised 5x5) || pool-1x1."""

    def __init__(self, in_channels: int, row: Row) -> None:
        super().__init__()
        s = row.stride
        self.branch1x1 = conv(in_channels, row.ch1x1, 1) if row.ch1x1 else None
        self.branch3x3 = nn.Sequential(
            conv(in_channels, row.ch3x3red, 1), conv(row.ch3x3red, row.ch3x3, 3, stride=s)
        )
        self.branch_double3x3 = nn.Sequential(
            conv(in_channels, row.double3x3red, 1),
            conv(row.double3x3red, row.double3x3, 3),
            conv(row.double3x3, row.double3x3, 3, stride=s),
        )
        if row.pool == "avg":
            pool = nn.AvgPool2d(3, stride=1, padding=1, ceil_mode=True)
        else:  # stride-2 modules pool without padding, as the grid halves
            pool = nn.MaxPool2d(3, stride=s, padding=1 if s == 1 else 0, ceil_mode=True)
        self.branch_pool = (
            nn.Sequential(pool, conv(in_channels, row.pool_proj, 1)) if row.pool_proj else pool
        )
        self.out_channels = (row.ch1x1 + row.ch3x3 + row.double3x3
                             + (row.pool_proj or in_channels))  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.branch3x3(x), self.branch_double3x3(x), self.branch_pool(x)]
        if self.branch1x1 is not None:
            branches.insert(0, self.branch1x1(x))
        return torch.cat(branches, 1)


class SeparableStem(nn.Sequential):
    """The appendix's first layer: a separable 7x7/2 convolution with depth multiplier 8
    (3 -> 24 maps depthwise, then 1x1 to 64), batch norm, ReLU. Children ``conv``, ``bn``,
    ``act`` as in :class:`ConvNormAct`."""

    def __init__(self, in_channels: int, out_channels: int = 64) -> None:
        super().__init__()
        self.conv = SeparableConv2d(in_channels, out_channels, 7, stride=2, padding=3,
                                    depth_multiplier=8)  # fmt: skip
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = nn.ReLU()


class BNInception(GlobalPoolHead, ImageClassifier):
    """Stem (7x7/2 conv, pool, 1x1, 3x3, pool), ten modules, global average pool, linear.
    ``separable_stem``: conv1 as the appendix's separable convolution (depth multiplier 8)."""

    model_name = "bn_inception"
    min_input_size = 31

    def __init__(
        self, *, num_classes: int = 1000, in_chans: int = 3, separable_stem: bool = False
    ) -> None:
        super().__init__(num_classes=num_classes, in_chans=in_chans)
        self.conv1 = (
            SeparableStem(in_chans, 64)
            if separable_stem
            else conv(in_chans, 64, 7, stride=2, padding=3)
        )  # N x 64 x 112 x 112
        self.pool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)  # N x 64 x 56 x 56
        self.conv2_reduce = conv(64, 64, 1)
        self.conv2 = conv(64, 192, 3)  # N x 192 x 56 x 56
        self.pool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)  # N x 192 x 28 x 28
        channels = 192
        modules = []
        for name, row in FIGURE_5.items():
            module = BNInceptionModule(channels, row)
            self.add_module(name, module)
            modules.append(module)
            channels = module.out_channels
        self.inception_modules = tuple(modules)  # call order; registered above by name
        self.num_features = channels
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = classifier_layer(channels, num_classes)  # no dropout (section 4.2.1)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool2(self.conv2(self.conv2_reduce(self.pool1(self.conv1(x)))))
        for module in self.inception_modules:  # 28 -> 14 (3c) -> 7 (4e)
            x = module(x)
        return x  # N x 1024 x 7 x 7


@register(
    description="GoogLeNet with batch norm everywhere and 5x5 convolutions factorised into "
    "two 3x3 (Figure 5); no dropout, no LRN. 11,285,224 parameters as built from Figure 5 "
    "(11,278,528 with separable_stem=True) against the paper's 13.6 M (section 4.2).",
    deviations=(
        "conv1 is a full 7x7 convolution by default; the appendix's separable 7x7 with depth "
        "multiplier 8 is the option separable_stem=True.",
        "11,285,224 parameters where section 4.2 states 13.6 M: the paper does not say what "
        "its count includes; the branch widths are the released model's (Figure 5's channel "
        "totals do not add up).",
    ),
    metrics=(
        Metric(
            "ImageNet",
            74.8,
            92.2,
            "Szegedy et al. 2015 ('Rethinking'), Table 3: single crop, 25.2 / 7.8 % error; "
            "the paper's Figure 4 gives the same 74.8 % for BN-x30",
            split="ILSVRC-2012 val",
            crops="1 crop",
        ),
    ),  # fmt: skip
)
def bn_inception(
    *, num_classes: int = 1000, in_chans: int = 3, separable_stem: bool = False
) -> BNInception:
    return BNInception(num_classes=num_classes, in_chans=in_chans, separable_stem=separable_stem)
