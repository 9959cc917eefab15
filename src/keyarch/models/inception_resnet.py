"""Inception-ResNet-v1 and -v2, from the same paper as Inception-v4 (Szegedy et al. 2016,
https://arxiv.org/abs/1602.07261): Inception blocks whose output, projected by a linear
1x1 convolution and scaled by 0.1-0.3, is added to their input, with Reduction-A (Figure 7
with Table 1's k, l, m, n) and a residual Reduction-B between the grids.

Inception-ResNet-v1 (Figure 15 with the stem of Figure 14, blocks of Figures 10, 11, 13 and
Reduction-B of Figure 12): 5 / 10 / 5 blocks of 256 / 896 / 1792 channels, about the cost of
Inception-v3. There is no released reference model; its parameter count (22,756,328 with
1000 classes, 6.21 G multiply-adds at 299) follows from the figures, and the residual
scales are v2's.

Inception-ResNet-v2 (Figures 16-19). Deviations, following the released TensorFlow model
(whose weights timm ports and the reference counts measure): its stem is Inception-v3's
followed by a 35x35 Inception block (the paper's Figure 3 stem is drawn for both networks);
it repeats the blocks 10, 20 and 10
times where Figure 15 says 5, 10 and 5; residual scales 0.17, 0.10 and 0.20; the last block
has no ReLU and is followed by a 1x1 convolution to 1536 channels.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from keyarch.layers import inception_conv as conv
from keyarch.models.base import GlobalPoolHead, ImageClassifier, classifier_layer
from keyarch.models.inception_v4 import PAPER, REDUCTION_A, Concat, ReductionA, average_pool
from keyarch.registry import Metric, model_registrar

register = model_registrar(family="Inception-ResNet", paper=PAPER, input_size=(3, 299, 299))

# Where the paper lays the network out, and the names here that hold it (the guide
# shows them beside the layers keyarch builds from them).
PAPER_TABLES = {
    "Figure 15 (Inception-ResNet-v1)": ("REPEATS_V1",),
    "Figures 16-19 (Inception-ResNet-v2, as released)": ("REPEATS",),
}

# Inception-ResNet-v1, Figure 15: (blocks, residual scale) per grid.
REPEATS_V1 = {"a": (5, 0.17), "b": (10, 0.10), "c": (5, 0.20)}

# (blocks, residual scale) for each grid, as released; Figure 15 draws 5, 10, 5 blocks.
REPEATS = {"inception_resnet_a": (10, 0.17), "inception_resnet_b": (20, 0.10),
           "inception_resnet_c": (10, 0.20)}  # fmt: skip


class StemMixed5b(Concat):
    """The released stem's last step: an Inception-v3 35x35 block, 192 -> 320 channels."""

    branch_names = ("branch0", "branch1", "branch2", "branch3")

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = conv(192, 96, 1)
        self.branch1 = nn.Sequential(conv(192, 48, 1), conv(48, 64, 5, padding=2))
        self.branch2 = nn.Sequential(
            conv(192, 64, 1), conv(64, 96, 3, padding=1), conv(96, 96, 3, padding=1)
        )
        self.branch3 = nn.Sequential(average_pool(), conv(192, 64, 1))


class ResidualInceptionBlock(nn.Module):
    """x + scale * projection(concat(branches(x))), then ReLU (Figure 20's scaling)."""

    def __init__(self, branches: OrderedDict[str, nn.Module], width: int, channels: int,
                 scale: float, activation: bool = True) -> None:  # fmt: skip
        super().__init__()
        for name, branch in branches.items():
            self.add_module(name, branch)
        self.branch_names = tuple(branches)
        self.projection = nn.Conv2d(width, channels, 1)  # "1x1 Conv (Linear)" in the figures
        self.scale = scale
        self.act = nn.ReLU() if activation else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mixed = torch.cat([getattr(self, name)(x) for name in self.branch_names], 1)
        return self.act(x + self.scale * self.projection(mixed))


def inception_resnet_a(scale: float) -> ResidualInceptionBlock:
    """Figure 16, the 35x35 grid (320 channels)."""
    return ResidualInceptionBlock(OrderedDict(
        branch0=conv(320, 32, 1),
        branch1=nn.Sequential(conv(320, 32, 1), conv(32, 32, 3, padding=1)),
        branch2=nn.Sequential(conv(320, 32, 1), conv(32, 48, 3, padding=1),
                              conv(48, 64, 3, padding=1)),
    ), width=128, channels=320, scale=scale)  # fmt: skip


def inception_resnet_b(scale: float) -> ResidualInceptionBlock:
    """Figure 17, the 17x17 grid (1088 channels)."""
    return ResidualInceptionBlock(OrderedDict(
        branch0=conv(1088, 192, 1),
        branch1=nn.Sequential(conv(1088, 128, 1), conv(128, 160, (1, 7), padding=(0, 3)),
                              conv(160, 192, (7, 1), padding=(3, 0))),
    ), width=384, channels=1088, scale=scale)  # fmt: skip


def inception_resnet_c(scale: float, activation: bool = True) -> ResidualInceptionBlock:
    """Figure 19, the 8x8 grid (2080 channels)."""
    return ResidualInceptionBlock(OrderedDict(
        branch0=conv(2080, 192, 1),
        branch1=nn.Sequential(conv(2080, 192, 1), conv(192, 224, (1, 3), padding=(0, 1)),
                              conv(224, 256, (3, 1), padding=(1, 0))),
    ), width=448, channels=2080, scale=scale, activation=activation)  # fmt: skip


class ResidualReductionB(Concat):
    """Figure 18, 17x17 -> 8x8: three convolution branches and a max pool."""

    branch_names = ("branch0", "branch1", "branch2", "branch3")

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = nn.Sequential(conv(1088, 256, 1), conv(256, 384, 3, stride=2))
        self.branch1 = nn.Sequential(conv(1088, 256, 1), conv(256, 288, 3, stride=2))
        self.branch2 = nn.Sequential(
            conv(1088, 256, 1), conv(256, 288, 3, padding=1), conv(288, 320, 3, stride=2)
        )
        self.branch3 = nn.MaxPool2d(3, stride=2)


class InceptionResNetV2(GlobalPoolHead, ImageClassifier):
    """Stem, Inception-ResNet-A x 10, Reduction-A, -B x 20, Reduction-B, -C x 10, a 1x1
    convolution to 1536 channels, average pooling, dropout, linear."""

    model_name = "inception_resnet_v2"
    min_input_size = 75

    def __init__(self, *, num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.2):
        super().__init__(num_classes=num_classes, in_chans=in_chans)
        self.stem = nn.Sequential(OrderedDict(
            conv2d_1a=conv(in_chans, 32, 3, stride=2), conv2d_2a=conv(32, 32, 3),
            conv2d_2b=conv(32, 64, 3, padding=1), maxpool_3a=nn.MaxPool2d(3, stride=2),
            conv2d_3b=conv(64, 80, 1), conv2d_4a=conv(80, 192, 3),
            maxpool_5a=nn.MaxPool2d(3, stride=2), mixed_5b=StemMixed5b(),
        ))  # N x 320 x 35 x 35  # fmt: skip
        count, scale = REPEATS["inception_resnet_a"]
        self.inception_resnet_a = nn.Sequential(*[inception_resnet_a(scale) for _ in range(count)])
        self.reduction_a = ReductionA(320, *REDUCTION_A["inception_resnet_v2"])  # 1088 x 17 x 17
        count, scale = REPEATS["inception_resnet_b"]
        self.inception_resnet_b = nn.Sequential(*[inception_resnet_b(scale) for _ in range(count)])
        self.reduction_b = ResidualReductionB()  # N x 2080 x 8 x 8
        count, scale = REPEATS["inception_resnet_c"]
        self.inception_resnet_c = nn.Sequential(
            *[inception_resnet_c(scale) for _ in range(count - 1)],
            inception_resnet_c(1.0, activation=False),  # the released model's last block
        )
        self.conv2d_7b = conv(2080, 1536, 1)  # N x 1536 x 8 x 8
        self.num_features = 1536
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)  # keep probability 0.8
        self.fc = classifier_layer(1536, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.inception_resnet_a(self.stem(x))  # N x 320 x 35 x 35
        x = self.inception_resnet_b(self.reduction_a(x))  # N x 1088 x 17 x 17
        x = self.inception_resnet_c(self.reduction_b(x))  # N x 2080 x 8 x 8
        return self.conv2d_7b(x)


@register(
    description="Inception-ResNet-v2 as released: residual Inception blocks scaled by "
    "0.17 / 0.10 / 0.20; 55,843,464 parameters.",
    metrics=(
        Metric(
            "ImageNet",
            80.1,
            95.1,
            "paper, Table 2: single crop, single model, 19.9 / "
            "4.9 % error on the non-blacklisted part of the validation set",
            split="ILSVRC-2012 val",
            crops="1 crop",
        ),
    ),
)
def inception_resnet_v2(*, num_classes: int = 1000, in_chans: int = 3,
                        dropout: float = 0.2) -> InceptionResNetV2:  # fmt: skip
    return InceptionResNetV2(num_classes=num_classes, in_chans=in_chans, dropout=dropout)


def v1_block_a(scale: float) -> ResidualInceptionBlock:
    """Figure 10, Inception-ResNet-v1's 35x35 block (256 channels)."""
    return ResidualInceptionBlock(OrderedDict(
        branch0=conv(256, 32, 1),
        branch1=nn.Sequential(conv(256, 32, 1), conv(32, 32, 3, padding=1)),
        branch2=nn.Sequential(conv(256, 32, 1), conv(32, 32, 3, padding=1),
                              conv(32, 32, 3, padding=1)),
    ), width=96, channels=256, scale=scale)  # fmt: skip


def v1_block_b(scale: float) -> ResidualInceptionBlock:
    """Figure 11, the 17x17 block (896 channels)."""
    return ResidualInceptionBlock(OrderedDict(
        branch0=conv(896, 128, 1),
        branch1=nn.Sequential(conv(896, 128, 1), conv(128, 128, (1, 7), padding=(0, 3)),
                              conv(128, 128, (7, 1), padding=(3, 0))),
    ), width=256, channels=896, scale=scale)  # fmt: skip


def v1_block_c(scale: float) -> ResidualInceptionBlock:
    """Figure 13, the 8x8 block (1792 channels)."""
    return ResidualInceptionBlock(OrderedDict(
        branch0=conv(1792, 192, 1),
        branch1=nn.Sequential(conv(1792, 192, 1), conv(192, 192, (1, 3), padding=(0, 1)),
                              conv(192, 192, (3, 1), padding=(1, 0))),
    ), width=384, channels=1792, scale=scale)  # fmt: skip


class V1ReductionB(Concat):
    """Figure 12, 17x17 -> 8x8 for Inception-ResNet-v1: max pool and three branches."""

    branch_names = ("branch0", "branch1", "branch2", "branch3")

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = nn.MaxPool2d(3, stride=2)
        self.branch1 = nn.Sequential(conv(896, 256, 1), conv(256, 384, 3, stride=2))
        self.branch2 = nn.Sequential(conv(896, 256, 1), conv(256, 256, 3, stride=2))
        self.branch3 = nn.Sequential(
            conv(896, 256, 1), conv(256, 256, 3, padding=1), conv(256, 256, 3, stride=2)
        )


class InceptionResNetV1(GlobalPoolHead, ImageClassifier):
    """Figure 15: stem (Figure 14), 5 x A, Reduction-A, 10 x B, Reduction-B, 5 x C,
    average pooling, dropout (keep 0.8), linear."""

    model_name = "inception_resnet_v1"
    min_input_size = 75

    def __init__(self, *, num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.2):
        super().__init__(num_classes=num_classes, in_chans=in_chans)
        self.stem = nn.Sequential(OrderedDict(
            conv1=conv(in_chans, 32, 3, stride=2), conv2=conv(32, 32, 3),
            conv3=conv(32, 64, 3, padding=1), maxpool=nn.MaxPool2d(3, stride=2),
            conv4=conv(64, 80, 1), conv5=conv(80, 192, 3), conv6=conv(192, 256, 3, stride=2),
        ))  # N x 256 x 35 x 35  # fmt: skip
        count, scale = REPEATS_V1["a"]
        self.inception_resnet_a = nn.Sequential(*[v1_block_a(scale) for _ in range(count)])
        self.reduction_a = ReductionA(256, *REDUCTION_A["inception_resnet_v1"])  # 896 x 17 x 17
        count, scale = REPEATS_V1["b"]
        self.inception_resnet_b = nn.Sequential(*[v1_block_b(scale) for _ in range(count)])
        self.reduction_b = V1ReductionB()  # N x 1792 x 8 x 8
        count, scale = REPEATS_V1["c"]
        self.inception_resnet_c = nn.Sequential(*[v1_block_c(scale) for _ in range(count)])
        self.num_features = 1792
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = classifier_layer(1792, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.inception_resnet_a(self.stem(x))  # N x 256 x 35 x 35
        x = self.inception_resnet_b(self.reduction_a(x))  # N x 896 x 17 x 17
        return self.inception_resnet_c(self.reduction_b(x))  # N x 1792 x 8 x 8


@register(
    description="Inception-ResNet-v1 (Figures 10-15): 5 / 10 / 5 residual Inception blocks "
    "of 256 / 896 / 1792 channels; parameter count derived from the figures.",
    deviations=(
        "No released model exists to compare with; the residual scales (0.17, 0.10, "
        "0.20) are Inception-ResNet-v2's, which the paper does not give for v1.",
    ),
    metrics=(
        Metric(
            "ImageNet",
            78.7,
            94.5,
            "paper, Table 2: single crop, single model, 21.3 / "
            "5.5 % error on the non-blacklisted part of the validation set",
            split="ILSVRC-2012 val",
            crops="1 crop",
        ),
    ),
)
def inception_resnet_v1(*, num_classes: int = 1000, in_chans: int = 3,
                        dropout: float = 0.2) -> InceptionResNetV1:  # fmt: skip
    return InceptionResNetV1(num_classes=num_classes, in_chans=in_chans, dropout=dropout)
