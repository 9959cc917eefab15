"""Inception-v4: Szegedy, Ioffe, Vanhoucke and Alemi, "Inception-v4, Inception-ResNet and
the Impact of Residual Connections on Learning", AAAI 2017 (arXiv 2016).
https://arxiv.org/abs/1602.07261

Main ideas: a uniform, simplified Inception network (Figure 9): the stem of Figure 3, four
Inception-A (Figure 4), Reduction-A (Figure 7), seven Inception-B (Figure 5), Reduction-B
(Figure 8), three Inception-C (Figure 6), average pooling, dropout (keep 0.8), softmax.
``REDUCTION_A`` holds Table 1's k, l, m, n for Inception-v4. Branch names (branch0 ...)
are those of the released TensorFlow model, left to right as in the figures, so that the
weights of timm's port load through a renaming of the stages only.

Deviations: none in the layers; average pooling inside the modules excludes the padding
from its count, as the released model does.
"""

from __future__ import annotations

import torch
from torch import nn

from keyarch.layers import inception_conv as conv
from keyarch.models.base import GlobalPoolHead, ImageClassifier, classifier_layer
from keyarch.registry import Metric, Paper, model_registrar

PAPER = Paper(
    title="Inception-v4, Inception-ResNet and the Impact of Residual Connections on Learning",
    authors="Christian Szegedy, Sergey Ioffe, Vincent Vanhoucke, Alexander A. Alemi",
    year=2016,
    url="https://arxiv.org/abs/1602.07261",
    main_ideas=(
        "A uniform Inception network with explicit reduction blocks (Inception-v4).",
        "Residual connections around Inception blocks (Inception-ResNet) train much faster "
        "and reach similar or better accuracy.",
        "Residuals are scaled by 0.1-0.3 before addition, which stabilises very wide "
        "residual Inception networks.",
    ),
    importance=(
        "Showed that residual connections speed up training of Inception networks and "
        "reached 3.08 % top-5 error with an ensemble, the state of the art in 2016."
    ),
)
register = model_registrar(family="Inception-v4", paper=PAPER, input_size=(3, 299, 299))

# Where the paper lays the network out, and the names here that hold it (the guide
# shows them beside the layers keyarch builds from them).
PAPER_TABLES = {
    "Table 1 (Reduction-A's k, l, m, n)": ("REDUCTION_A",),
    "Figure 9": ("InceptionV4.__init__",),
}

# Table 1: the filter-bank sizes k, l, m, n of Reduction-A for each network.
REDUCTION_A = {
    "inception_v4": (192, 224, 256, 384),
    "inception_resnet_v1": (192, 192, 256, 384),
    "inception_resnet_v2": (256, 256, 384, 384),
}


def average_pool() -> nn.AvgPool2d:
    return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)


class Concat(nn.Module):
    """Run the branches registered on this module and concatenate their outputs."""

    branch_names: tuple[str, ...] = ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([getattr(self, name)(x) for name in self.branch_names], 1)


class StemMixed3a(Concat):
    """Figure 3, first split: 3x3/2 max pool || 3x3/2 convolution with 96 filters."""

    branch_names = ("maxpool", "conv")

    def __init__(self) -> None:
        super().__init__()
        self.maxpool = nn.MaxPool2d(3, stride=2)
        self.conv = conv(64, 96, 3, stride=2)


class StemMixed4a(Concat):
    """Figure 3, second split: 1x1 then 3x3 || 1x1, 7x1, 1x7, then 3x3 (all to 96)."""

    branch_names = ("branch0", "branch1")

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = nn.Sequential(conv(160, 64, 1), conv(64, 96, 3))
        self.branch1 = nn.Sequential(
            conv(160, 64, 1), conv(64, 64, (1, 7), padding=(0, 3)),
            conv(64, 64, (7, 1), padding=(3, 0)), conv(64, 96, 3),
        )  # fmt: skip


class StemMixed5a(Concat):
    """Figure 3, last split: 3x3/2 convolution with 192 filters || 3x3/2 max pool."""

    branch_names = ("conv", "maxpool")

    def __init__(self) -> None:
        super().__init__()
        self.conv = conv(192, 192, 3, stride=2)
        self.maxpool = nn.MaxPool2d(3, stride=2)


class Stem(nn.Sequential):
    """Figure 3: 299x299x3 -> 35x35x384."""

    def __init__(self, in_chans: int) -> None:
        super().__init__()
        self.conv1 = conv(in_chans, 32, 3, stride=2)  # 149 x 149 x 32
        self.conv2 = conv(32, 32, 3)  # 147 x 147 x 32
        self.conv3 = conv(32, 64, 3, padding=1)  # 147 x 147 x 64
        self.mixed_3a = StemMixed3a()  # 73 x 73 x 160
        self.mixed_4a = StemMixed4a()  # 71 x 71 x 192
        self.mixed_5a = StemMixed5a()  # 35 x 35 x 384


class InceptionA(Concat):
    """Figure 4, the 35x35 grid: 1x1 || 1x1-3x3 || 1x1-3x3-3x3 || avg pool-1x1 (96 each)."""

    branch_names = ("branch0", "branch1", "branch2", "branch3")

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = conv(384, 96, 1)
        self.branch1 = nn.Sequential(conv(384, 64, 1), conv(64, 96, 3, padding=1))
        self.branch2 = nn.Sequential(
            conv(384, 64, 1), conv(64, 96, 3, padding=1), conv(96, 96, 3, padding=1)
        )
        self.branch3 = nn.Sequential(average_pool(), conv(384, 96, 1))


class ReductionA(Concat):
    """Figure 7, 35x35 -> 17x17: 3x3/2 conv (n) || 1x1 (k)-3x3 (l)-3x3/2 (m) || max pool."""

    branch_names = ("branch0", "branch1", "branch2")

    def __init__(self, in_channels: int, k: int, l: int, m: int, n: int) -> None:  # noqa: E741
        super().__init__()
        self.branch0 = conv(in_channels, n, 3, stride=2)
        self.branch1 = nn.Sequential(
            conv(in_channels, k, 1), conv(k, l, 3, padding=1), conv(l, m, 3, stride=2)
        )
        self.branch2 = nn.MaxPool2d(3, stride=2)


class InceptionB(Concat):
    """Figure 5, the 17x17 grid: 7x7 factorised into 1x7 and 7x1 convolutions."""

    branch_names = ("branch0", "branch1", "branch2", "branch3")

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = conv(1024, 384, 1)
        self.branch1 = nn.Sequential(
            conv(1024, 192, 1), conv(192, 224, (1, 7), padding=(0, 3)),
            conv(224, 256, (7, 1), padding=(3, 0)),
        )  # fmt: skip
        self.branch2 = nn.Sequential(
            conv(1024, 192, 1), conv(192, 192, (7, 1), padding=(3, 0)),
            conv(192, 224, (1, 7), padding=(0, 3)), conv(224, 224, (7, 1), padding=(3, 0)),
            conv(224, 256, (1, 7), padding=(0, 3)),
        )  # fmt: skip
        self.branch3 = nn.Sequential(average_pool(), conv(1024, 128, 1))


class ReductionB(Concat):
    """Figure 8, 17x17 -> 8x8: 1x1-3x3/2 || 1x1-1x7-7x1-3x3/2 || max pool."""

    branch_names = ("branch0", "branch1", "branch2")

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = nn.Sequential(conv(1024, 192, 1), conv(192, 192, 3, stride=2))
        self.branch1 = nn.Sequential(
            conv(1024, 256, 1), conv(256, 256, (1, 7), padding=(0, 3)),
            conv(256, 320, (7, 1), padding=(3, 0)), conv(320, 320, 3, stride=2),
        )  # fmt: skip
        self.branch2 = nn.MaxPool2d(3, stride=2)


class InceptionC(nn.Module):
    """Figure 6, the 8x8 grid: 3x3 split into parallel 1x3 and 3x1 convolutions."""

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = conv(1536, 256, 1)
        self.branch1_0 = conv(1536, 384, 1)
        self.branch1_1a = conv(384, 256, (1, 3), padding=(0, 1))
        self.branch1_1b = conv(384, 256, (3, 1), padding=(1, 0))
        self.branch2_0 = conv(1536, 384, 1)
        self.branch2_1 = conv(384, 448, (3, 1), padding=(1, 0))
        self.branch2_2 = conv(448, 512, (1, 3), padding=(0, 1))
        self.branch2_3a = conv(512, 256, (1, 3), padding=(0, 1))
        self.branch2_3b = conv(512, 256, (3, 1), padding=(1, 0))
        self.branch3 = nn.Sequential(average_pool(), conv(1536, 256, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        one = self.branch1_0(x)
        two = self.branch2_2(self.branch2_1(self.branch2_0(x)))
        return torch.cat([
            self.branch0(x), self.branch1_1a(one), self.branch1_1b(one),
            self.branch2_3a(two), self.branch2_3b(two), self.branch3(x),
        ], 1)  # fmt: skip


class InceptionV4(GlobalPoolHead, ImageClassifier):
    """Figure 9: stem, 4 x Inception-A, Reduction-A, 7 x Inception-B, Reduction-B,
    3 x Inception-C, average pooling, dropout, linear."""

    model_name = "inception_v4"
    min_input_size = 75

    def __init__(self, *, num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.2):
        super().__init__(num_classes=num_classes, in_chans=in_chans)
        self.stem = Stem(in_chans)  # N x 384 x 35 x 35
        self.inception_a = nn.Sequential(*[InceptionA() for _ in range(4)])
        self.reduction_a = ReductionA(384, *REDUCTION_A["inception_v4"])  # N x 1024 x 17 x 17
        self.inception_b = nn.Sequential(*[InceptionB() for _ in range(7)])
        self.reduction_b = ReductionB()  # N x 1536 x 8 x 8
        self.inception_c = nn.Sequential(*[InceptionC() for _ in range(3)])
        self.num_features = 1536
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)  # keep probability 0.8
        self.fc = classifier_layer(1536, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.inception_a(self.stem(x))  # N x 384 x 35 x 35
        x = self.inception_b(self.reduction_a(x))  # N x 1024 x 17 x 17
        return self.inception_c(self.reduction_b(x))  # N x 1536 x 8 x 8


@register(
    description="Figure 9: stem, 4/7/3 Inception-A/B/C blocks with Reduction-A and -B; "
    "42,679,816 parameters.",
    metrics=(
        Metric(
            "ImageNet",
            80.0,
            95.0,
            "paper, Table 2: single crop, single model, 20.0 / "
            "5.0 % error on the non-blacklisted part of the validation set",
            split="ILSVRC-2012 val",
            crops="1 crop",
        ),
    ),
)
def inception_v4(
    *, num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.2
) -> InceptionV4:
    return InceptionV4(num_classes=num_classes, in_chans=in_chans, dropout=dropout)
