"""Xception: François Chollet, "Xception: Deep Learning with Depthwise Separable
Convolutions", CVPR 2017 (arXiv 2016). https://arxiv.org/abs/1610.02357

Main ideas: take the Inception hypothesis (cross-channel and spatial correlations can be
mapped separately) to its extreme: a linear stack of depthwise separable convolutions with
residual connections. Figure 5 is the network: an entry flow, a middle flow repeated eight
times, and an exit flow; ``ENTRY_FLOW``, ``MIDDLE_FLOW`` and ``EXIT_FLOW`` copy it. 22.9 M
parameters, like Inception-v3, and better accuracy on ImageNet.

Deviations: the layer order inside the blocks follows the released Keras model (the
first block of the entry flow starts without a ReLU), so that its weights, as converted
by timm's ``legacy_xception``, load; the paper's Figure 5 reads the same way.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from keyarch.layers import ConvNormAct, SeparableConv2d, fan_out_normal_
from keyarch.models.base import GlobalPoolHead, ImageClassifier, classifier_layer
from keyarch.registry import Metric, Paper, model_registrar

PAPER = Paper(
    title="Xception: Deep Learning with Depthwise Separable Convolutions",
    authors="François Chollet",
    year=2016,
    url="https://arxiv.org/abs/1610.02357",
    main_ideas=(
        "An Inception module taken to the extreme is a depthwise separable convolution: "
        "one spatial filter per channel, then a 1x1 convolution across channels.",
        "36 convolutional layers (section 3: 2 plain ones in the stem, 34 depthwise "
        "separable) structured into 14 modules, all with linear residual connections "
        "around them except the first and last; the paper shows the residuals speed up "
        "convergence and improve the final accuracy (Figure 9).",
        "Same parameter count as Inception-v3, better ImageNet and JFT accuracy.",
    ),
    importance=(
        "Made depthwise separable convolutions a mainstream building block (MobileNets, "
        "EfficientNets, DeepLabv3+) and showed a simple linear stack can beat Inception."
    ),
)
register = model_registrar(family="Xception", paper=PAPER, input_size=(3, 299, 299))

# Where the paper lays the network out, and the names here that hold it (the guide
# shows them beside the layers keyarch builds from them).
PAPER_TABLES = {
    "Figure 5": ("ENTRY_FLOW", "MIDDLE_FLOW", "EXIT_FLOW", "EXIT_CONVS"),
}


@dataclass(frozen=True)
class BlockSpec:
    """One residual block of Figure 5: separable convolutions and what closes it."""

    widths: tuple[int, ...]  # output channels of each separable convolution
    stride: int  # 2: a 3x3 max pool closes the block, the shortcut is a 1x1 stride-2 conv
    relu_first: bool = True  # a ReLU before the first separable convolution


# Figure 5, block by block (the stem convolutions come first; see Xception.__init__).
ENTRY_FLOW = (
    BlockSpec((128, 128), stride=2, relu_first=False),
    BlockSpec((256, 256), stride=2),
    BlockSpec((728, 728), stride=2),
)
MIDDLE_FLOW = tuple(BlockSpec((728, 728, 728), stride=1) for _ in range(8))  # "x 8"
EXIT_FLOW = (BlockSpec((728, 1024), stride=2),)
EXIT_CONVS = (1536, 2048)  # separable convolutions after the last block


class XceptionBlock(nn.Module):
    """[ReLU, SeparableConv 3x3, BN] per width, optionally a 3x3/2 max pool, plus the
    shortcut: identity, or a 1x1 convolution with batch norm where the shape changes."""

    def __init__(self, in_channels: int, spec: BlockSpec) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for width in spec.widths:
            layers += [nn.ReLU(), SeparableConv2d(channels, width), nn.BatchNorm2d(width)]
            channels = width
        if not spec.relu_first:
            layers = layers[1:]
        if spec.stride != 1:
            layers.append(nn.MaxPool2d(3, stride=spec.stride, padding=1))
        self.layers = nn.Sequential(*layers)
        self.shortcut = (
            ConvNormAct(in_channels, channels, 1, stride=spec.stride, padding=0,
                        batch_norm=True, activation=None)
            if channels != in_channels or spec.stride != 1
            else nn.Identity()
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x) + self.shortcut(x)


class Xception(GlobalPoolHead, ImageClassifier):
    """Entry flow (two convolutions, three blocks), middle flow (eight blocks), exit flow
    (one block, two separable convolutions), global average pooling, one linear layer."""

    model_name = "xception"
    min_input_size = 7

    def __init__(self, *, num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.0):
        super().__init__(num_classes=num_classes, in_chans=in_chans)
        entry: OrderedDict[str, nn.Module] = OrderedDict(
            conv1=ConvNormAct(in_chans, 32, 3, stride=2, padding=0, batch_norm=True),
            conv2=ConvNormAct(32, 64, 3, padding=0, batch_norm=True),
        )
        channels, index = 64, 0

        def blocks(specs: tuple[BlockSpec, ...]) -> OrderedDict[str, nn.Module]:
            nonlocal channels, index
            named = OrderedDict()
            for spec in specs:
                index += 1
                named[f"block{index}"] = XceptionBlock(channels, spec)
                channels = spec.widths[-1]
            return named

        entry.update(blocks(ENTRY_FLOW))
        self.entry_flow = nn.Sequential(entry)  # N x 728 x 19 x 19 at 299
        self.middle_flow = nn.Sequential(blocks(MIDDLE_FLOW))  # N x 728 x 19 x 19
        exit_layers = blocks(EXIT_FLOW)
        for number, width in enumerate(EXIT_CONVS, start=3):
            exit_layers[f"conv{number}"] = SeparableConv2d(channels, width)
            exit_layers[f"bn{number}"] = nn.BatchNorm2d(width)
            exit_layers[f"act{number}"] = nn.ReLU(inplace=True)
            channels = width
        self.exit_flow = nn.Sequential(exit_layers)  # N x 2048 x 10 x 10
        self.num_features = channels
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = classifier_layer(channels, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                fan_out_normal_(module)  # depthwise: fan-out k x k, as TensorFlow

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.exit_flow(self.middle_flow(self.entry_flow(x)))


@register(
    description="Figure 5: 36 convolutional layers (2 plain, 34 depthwise separable) in 14 "
    "modules, the 12 between the first and the last with linear residual connections; "
    "22,855,952 parameters.",
    deviations=(
        "Dropout before the classifier is off by default (the paper used 0.5 on "
        "ImageNet; pass dropout=0.5).",
    ),  # fmt: skip
    metrics=(
        Metric(
            "ImageNet",
            79.0,
            94.5,
            "paper, Table 1: single crop, single model (299)",
            split="ILSVRC-2012 val",
            crops="1 crop",
        ),
    ),
)
def xception(*, num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.0) -> Xception:
    return Xception(num_classes=num_classes, in_chans=in_chans, dropout=dropout)
