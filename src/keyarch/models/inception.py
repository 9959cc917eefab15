"""Inception-v3: Szegedy, Vanhoucke, Ioffe, Shlens and Wojna, "Rethinking the Inception
Architecture for Computer Vision", CVPR 2016 (arXiv 2015). https://arxiv.org/abs/1512.00567

Main ideas: factorise big convolutions (a 5x5 into two 3x3, an n x n into 1 x n then n x 1)
to save computation without losing expressiveness; shrink the grid with parallel stride-2
convolution and pooling branches (Figure 10) instead of a pool that bottlenecks the
representation; batch-normalised auxiliary classifier as a regulariser; label-smoothing
regularisation. Table 1 of the paper outlines the network: 299x299 input, grids of 35, 17
and 8 pixels, 3 + 5 + 2 Inception modules; ``InceptionV3`` builds the released form of it,
stage by stage (see the deviations).

Layer names are those of the authors' released TensorFlow model (Conv2d_1a_3x3,
Mixed_5b ...), which torchvision and timm keep, so the weights of both load as they are;
the module classes carry the paper's figure numbers.

Deviations: the released model is followed where it differs from Table 1. Its stem, after
the first pool (73x73x64), is a 1x1 convolution to 80 channels, a 3x3 to 192 (71x71) and a
3x3/2 max pool (35x35x192); Table 1 lists a 3x3/1 convolution to 80, a 3x3/2 to 192 and a
3x3/1 to 288, so that the first module would take 288 channels, not 192. The 17x17 stage has
4 modules (Mixed_6b-6e) where Table 1 says 5. Batch norm (eps 1e-3) follows every
convolution, as in the released model.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from keyarch.layers import inception_conv as conv
from keyarch.models.base import (
    AuxiliaryClassifiersMixin,
    GlobalPoolHead,
    ImageClassifier,
    classifier_layer,
)
from keyarch.registry import Metric, Paper, model_registrar

PAPER = Paper(
    title="Rethinking the Inception Architecture for Computer Vision",
    authors="Christian Szegedy, Vincent Vanhoucke, Sergey Ioffe, Jonathon Shlens, Zbigniew Wojna",
    year=2015,
    url="https://arxiv.org/abs/1512.00567",
    main_ideas=(
        "Factorised convolutions: 5x5 as two 3x3, n x n as 1 x n followed by n x 1.",
        "Grid-size reduction by parallel stride-2 convolution and pooling branches, "
        "avoiding representational bottlenecks.",
        "Label-smoothing regularisation and a batch-normalised auxiliary classifier.",
    ),
    importance=(
        "Reached 21.2 % top-1 / 5.6 % top-5 single-crop error at 5 G multiply-adds; its "
        "design principles and label smoothing became standard practice."
    ),
)
register = model_registrar(family="Inception", paper=PAPER, input_size=(3, 299, 299))

# Where the paper lays the network out, and the names here that hold it (the guide
# shows them beside the layers keyarch builds from them).
PAPER_TABLES = {
    "Table 1 (as released)": ("InceptionV3.__init__",),
}


class InceptionFigure5(nn.Module):
    """35x35 grid (Figure 5): the 5x5 branch, and a 5x5 factorised into two 3x3."""

    def __init__(self, in_channels: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = conv(in_channels, 64, 1)
        self.branch5x5_1 = conv(in_channels, 48, 1)
        self.branch5x5_2 = conv(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = conv(in_channels, 64, 1)
        self.branch3x3dbl_2 = conv(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = conv(96, 96, 3, padding=1)
        self.branch_pool = conv(in_channels, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([
            self.branch1x1(x),
            self.branch5x5_2(self.branch5x5_1(x)),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            self.branch_pool(F.avg_pool2d(x, 3, stride=1, padding=1)),
        ], 1)  # fmt: skip


class GridReduction35(nn.Module):
    """Figure 10: 35x35 -> 17x17 with a stride-2 convolution and a stride-2 pool side by side."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3 = conv(in_channels, 384, 3, stride=2)
        self.branch3x3dbl_1 = conv(in_channels, 64, 1)
        self.branch3x3dbl_2 = conv(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = conv(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([
            self.branch3x3(x),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            F.max_pool2d(x, 3, stride=2),
        ], 1)  # fmt: skip


class InceptionFigure6(nn.Module):
    """17x17 grid (Figure 6): 7x7 convolutions factorised into 1x7 and 7x1 (n = 7)."""

    def __init__(self, in_channels: int, channels_7x7: int) -> None:
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = conv(in_channels, 192, 1)
        self.branch7x7_1 = conv(in_channels, c7, 1)
        self.branch7x7_2 = conv(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = conv(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = conv(in_channels, c7, 1)
        self.branch7x7dbl_2 = conv(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = conv(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = conv(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = conv(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = conv(in_channels, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        double = x
        for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3,
                      self.branch7x7dbl_4, self.branch7x7dbl_5):  # fmt: skip
            double = layer(double)
        return torch.cat([
            self.branch1x1(x),
            self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x))),
            double,
            self.branch_pool(F.avg_pool2d(x, 3, stride=1, padding=1)),
        ], 1)  # fmt: skip


class GridReduction17(nn.Module):
    """17x17 -> 8x8, the same idea as Figure 10 with a factorised 7x7 branch."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3_1 = conv(in_channels, 192, 1)
        self.branch3x3_2 = conv(192, 320, 3, stride=2)
        self.branch7x7x3_1 = conv(in_channels, 192, 1)
        self.branch7x7x3_2 = conv(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = conv(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = conv(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seven = self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x)))
        return torch.cat([
            self.branch3x3_2(self.branch3x3_1(x)),
            self.branch7x7x3_4(seven),
            F.max_pool2d(x, 3, stride=2),
        ], 1)  # fmt: skip


class InceptionFigure7(nn.Module):
    """8x8 grid (Figure 7): expanded filter banks, 3x3 split into parallel 1x3 and 3x1."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch1x1 = conv(in_channels, 320, 1)
        self.branch3x3_1 = conv(in_channels, 384, 1)
        self.branch3x3_2a = conv(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = conv(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = conv(in_channels, 448, 1)
        self.branch3x3dbl_2 = conv(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = conv(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = conv(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = conv(in_channels, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        single = self.branch3x3_1(x)
        double = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        return torch.cat([
            self.branch1x1(x),
            self.branch3x3_2a(single), self.branch3x3_2b(single),
            self.branch3x3dbl_3a(double), self.branch3x3dbl_3b(double),
            self.branch_pool(F.avg_pool2d(x, 3, stride=1, padding=1)),
        ], 1)  # fmt: skip


class AuxiliaryClassifier(nn.Module):
    """On the 17x17 grid: 5x5/3 average pool, 1x1 conv 128, 5x5 conv 768 (batch-normalised,
    section 7), global pool, linear."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.conv0 = conv(in_channels, 128, 1)
        self.conv1 = conv(128, 768, 5)
        self.fc = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(self.conv0(F.avg_pool2d(x, 5, stride=3)))  # N x 768 x 1 x 1
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


class InceptionV3(AuxiliaryClassifiersMixin, GlobalPoolHead, ImageClassifier):
    """Table 1, as released: stem, 3 x Figure 5, reduction, 4 x Figure 6, reduction,
    2 x Figure 7, pooling, dropout 0.5, linear; the auxiliary head on Mixed_6e (none with
    ``num_classes=0``)."""

    model_name = "inception_v3"
    min_input_size = 75
    auxiliary_classifiers = {"AuxLogits": "fc"}

    def __init__(self, *, aux_logits: bool, num_classes: int = 1000, in_chans: int = 3,
                 dropout: float = 0.5) -> None:  # fmt: skip
        super().__init__(num_classes=num_classes, in_chans=in_chans)
        self.aux_weight = 0.4  # the released training code's weight; the paper gives none
        self.Conv2d_1a_3x3 = conv(in_chans, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = conv(32, 32, 3)
        self.Conv2d_2b_3x3 = conv(32, 64, 3, padding=1)
        self.maxpool1 = nn.MaxPool2d(3, stride=2)
        self.Conv2d_3b_1x1 = conv(64, 80, 1)
        self.Conv2d_4a_3x3 = conv(80, 192, 3)
        self.maxpool2 = nn.MaxPool2d(3, stride=2)
        self.Mixed_5b = InceptionFigure5(192, pool_features=32)
        self.Mixed_5c = InceptionFigure5(256, pool_features=64)
        self.Mixed_5d = InceptionFigure5(288, pool_features=64)
        self.Mixed_6a = GridReduction35(288)
        self.Mixed_6b = InceptionFigure6(768, channels_7x7=128)
        self.Mixed_6c = InceptionFigure6(768, channels_7x7=160)
        self.Mixed_6d = InceptionFigure6(768, channels_7x7=160)
        self.Mixed_6e = InceptionFigure6(768, channels_7x7=192)
        with_aux = aux_logits and num_classes > 0
        self.AuxLogits = AuxiliaryClassifier(768, num_classes) if with_aux else None
        self.Mixed_7a = GridReduction17(768)
        self.Mixed_7b = InceptionFigure7(1280)
        self.Mixed_7c = InceptionFigure7(2048)
        self.num_features = 2048
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = classifier_layer(2048, num_classes)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(module.weight, std=0.1, a=-2, b=2)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def _body(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))  # N x 64 x 147 x 147
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(self.maxpool1(x)))  # N x 192 x 71 x 71
        x = self.maxpool2(x)  # N x 192 x 35 x 35
        x = self.Mixed_5d(self.Mixed_5c(self.Mixed_5b(x)))  # N x 288 x 35 x 35
        x = self.Mixed_6a(x)  # N x 768 x 17 x 17
        x = self.Mixed_6e(self.Mixed_6d(self.Mixed_6c(self.Mixed_6b(x))))  # N x 768 x 17 x 17
        aux = (self.AuxLogits(x),) if self.training and self.AuxLogits is not None else ()
        x = self.Mixed_7a(x)  # N x 1280 x 8 x 8
        return self.Mixed_7c(self.Mixed_7b(x)), aux  # N x 2048 x 8 x 8


@register(
    description="Inception-v3 as released (Table 1 with 4 modules on the 17x17 grid): "
    "23,834,568 parameters, 27,161,264 with the auxiliary classifier.",
    deviations=(
        "The stem as released: after the first pool, 1x1 conv to 80, 3x3 conv to 192 and a "
        "3x3/2 max pool; Table 1 has 3x3/1 conv to 80, 3x3/2 conv to 192 and 3x3/1 conv to "
        "288 (the first Inception module then takes 288 channels, not 192).",
        "4 Inception modules on the 17x17 grid, as released, where Table 1 has 5.",
    ),
    metrics=(
        Metric(
            "ImageNet",
            77.294,
            93.450,
            "torchvision weights, 299 centre crop of 342",
            split="ILSVRC-2012 val",
            crops="1 crop",
        ),
        Metric(
            "ImageNet",
            78.8,
            94.4,
            "paper, Table 3: single crop, 21.2 / 5.6 % error",
            split="ILSVRC-2012 val",
            crops="1 crop",
        ),
    ),
)
def inception_v3(*, num_classes: int = 1000, in_chans: int = 3, aux_logits: bool = False,
                 dropout: float = 0.5) -> InceptionV3:  # fmt: skip
    return InceptionV3(aux_logits=aux_logits, num_classes=num_classes, in_chans=in_chans,
                       dropout=dropout)  # fmt: skip
