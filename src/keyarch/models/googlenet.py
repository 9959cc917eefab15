"""GoogLeNet: Szegedy et al., "Going Deeper with Convolutions", CVPR 2015 (arXiv 2014).
https://arxiv.org/abs/1409.4842

Main ideas: the Inception module runs 1x1, 3x3 and 5x5 convolutions and a 3x3 max pool side
by side and concatenates them, with 1x1 "reduce" convolutions in front of the expensive
branches to keep the cost down; 22 layers deep at 1.5 G multiply-adds; two auxiliary
classifiers on intermediate layers add 0.3 of their loss during training only.
``INCEPTION_TABLE`` copies Table 1 of the paper row by row.

``googlenet_paper`` is the network of the paper: no batch norm, local response
normalisation after the first pool and after conv3, 5x5 convolutions, dropout 0.4.
``googlenet`` is the form torchvision publishes weights for, documented as deviations: batch
norm after every convolution, a 3x3 kernel where the paper's 5x5 branch has 5x5 (a known
slip of that implementation, kept so that its weights load), a 2x2 max pool before
inception5a, and dropout 0.2. 6,624,904 parameters without the auxiliary heads, 13,004,888
with.

Auxiliary heads (section 5) start with a 5x5 stride-3 average pool, 14x14 -> 4x4 at 224.
``googlenet_paper`` has it; ``googlenet`` pools adaptively to 4x4, as torchvision does, which
is not the same computation at 14x14 (windows of 4 at offsets 0, 3, 7, 10, not windows of 5
at 0, 3, 6, 9), so that torchvision's weights give torchvision's auxiliary logits.

``googlenet_cifar`` is a 32x32 adaptation for the efficiency-frontier experiment (batch
norm, the paper's 5x5 branches, conv1 at stride 1); its card lists what it changes.

Deviations in all three: max pooling rounds up (ceil mode, as the Caffe model). In
``googlenet_paper`` an adaptive pool to 4x4 follows the 5x5/3 pool (an identity at 224) and
maps smaller than 5x5 pool only adaptively, so that other input sizes still reach fc1.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from keyarch.layers import ConvNormAct, LocalResponseNorm
from keyarch.models.base import (
    AuxiliaryClassifiersMixin,
    GlobalPoolHead,
    ImageClassifier,
    classifier_layer,
)
from keyarch.registry import Metric, Paper, model_registrar

PAPER = Paper(
    title="Going Deeper with Convolutions",
    authors="Christian Szegedy, Wei Liu, Yangqing Jia, Pierre Sermanet, Scott Reed, "
    "Dragomir Anguelov, Dumitru Erhan, Vincent Vanhoucke, Andrew Rabinovich",
    year=2014,
    url="https://arxiv.org/abs/1409.4842",
    main_ideas=(
        "The Inception module: parallel 1x1, 3x3, 5x5 convolutions and 3x3 max pooling, "
        "concatenated, so each layer sees several scales at once.",
        "1x1 convolutions reduce the channels before the 3x3 and 5x5 ones, so 22 layers "
        "cost only 1.5 G multiply-adds and 7 M parameters, a twelfth of AlexNet's.",
        "Auxiliary classifiers on inception4a and inception4d add 0.3 of their loss in "
        "training, to help gradients reach the lower layers.",
    ),
    importance=(
        "Won ILSVRC-2014 classification (6.67 % top-5 error) and started the Inception "
        "family; made network-in-network 1x1 reductions and multi-branch modules standard."
    ),
)
register = model_registrar(
    family="GoogLeNet",
    paper=PAPER,
    input_size=(3, 224, 224),
    deviations=("Ceil-mode max pooling, as in the paper's Caffe model.",),
)

# Where the paper lays the network out, and the names here that hold it (the guide
# shows them beside the layers keyarch builds from them).
PAPER_TABLES = {
    "Table 1": ("INCEPTION_TABLE", "PAPER_VARIANT"),
}


@dataclass(frozen=True)
class InceptionRow:
    """One row of Table 1: the channels of each branch of an Inception module."""

    in_channels: int
    ch1x1: int
    ch3x3red: int
    ch3x3: int
    ch5x5red: int
    ch5x5: int
    pool_proj: int

    @property
    def out_channels(self) -> int:
        return self.ch1x1 + self.ch3x3 + self.ch5x5 + self.pool_proj


# Table 1: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj (and the input width).
INCEPTION_TABLE: dict[str, InceptionRow] = {
    "inception3a": InceptionRow(192, 64, 96, 128, 16, 32, 32),
    "inception3b": InceptionRow(256, 128, 128, 192, 32, 96, 64),
    "inception4a": InceptionRow(480, 192, 96, 208, 16, 48, 64),
    "inception4b": InceptionRow(512, 160, 112, 224, 24, 64, 64),
    "inception4c": InceptionRow(512, 128, 128, 256, 24, 64, 64),
    "inception4d": InceptionRow(512, 112, 144, 288, 32, 64, 64),
    "inception4e": InceptionRow(528, 256, 160, 320, 32, 128, 128),
    "inception5a": InceptionRow(832, 256, 160, 320, 32, 128, 128),
    "inception5b": InceptionRow(832, 384, 192, 384, 48, 128, 128),
}


@dataclass(frozen=True)
class Variant:
    """What differs between the paper's network and torchvision's."""

    batch_norm: bool
    five_by_five: int  # kernel of the "5x5" branch: 5 in the paper, 3 in torchvision
    lrn: bool
    pool4_kernel: int  # max pool before inception5a: 3 in the paper, 2 in torchvision
    dropout: float
    min_input_size: int  # the smallest input whose maps survive every pooling
    aux_pool: str  # auxiliary heads: "5x5/3" (the paper's) or "adaptive" (torchvision's)
    conv1_stride: int = 2  # 2 in the paper; 1 for 32x32 images


PAPER_VARIANT = Variant(
    batch_norm=False, five_by_five=5, lrn=True, pool4_kernel=3, dropout=0.4, min_input_size=31,
    aux_pool="5x5/3",
)  # fmt: skip
TORCHVISION_VARIANT = Variant(
    batch_norm=True, five_by_five=3, lrn=False, pool4_kernel=2, dropout=0.2, min_input_size=15,
    aux_pool="adaptive",
)  # fmt: skip
# For CIFAR (assumed): the paper's modules and pools with batch norm, conv1 at stride 1.
CIFAR_VARIANT = Variant(
    batch_norm=True, five_by_five=5, lrn=False, pool4_kernel=3, dropout=0.4, min_input_size=16,
    aux_pool="adaptive", conv1_stride=1,
)  # fmt: skip


def _conv(variant: Variant, in_channels: int, out_channels: int, kernel: int, **options):
    return ConvNormAct(
        in_channels, out_channels, kernel, batch_norm=variant.batch_norm, bn_eps=1e-3, **options
    )


class InceptionModule(nn.Module):
    """Figure 2(b): four branches over the same input, concatenated along channels."""

    def __init__(self, row: InceptionRow, variant: Variant) -> None:
        super().__init__()
        self.branch1x1 = _conv(variant, row.in_channels, row.ch1x1, 1)
        self.branch3x3 = nn.Sequential(
            _conv(variant, row.in_channels, row.ch3x3red, 1),
            _conv(variant, row.ch3x3red, row.ch3x3, 3),
        )
        self.branch5x5 = nn.Sequential(
            _conv(variant, row.in_channels, row.ch5x5red, 1),
            _conv(variant, row.ch5x5red, row.ch5x5, variant.five_by_five),
        )
        self.branch_pool = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
            _conv(variant, row.in_channels, row.pool_proj, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.branch1x1, self.branch3x3, self.branch5x5, self.branch_pool)
        return torch.cat([branch(x) for branch in branches], dim=1)


def auxiliary_pool(x: torch.Tensor) -> torch.Tensor:
    """Section 5's "average pooling layer with 5x5 filter size and stride 3": 14x14 -> 4x4
    at 224. An adaptive pool to 4x4 follows (an identity there), so that other sizes reach
    fc1 with 128 x 4 x 4 values; maps under 5x5 (inputs under 79 pixels) skip the 5x5 pool."""
    if min(x.shape[-2:]) >= 5:
        x = F.avg_pool2d(x, 5, stride=3)  # N x C x 4 x 4 at 14x14
    return F.adaptive_avg_pool2d(x, 4)


torch.fx.wrap("auxiliary_pool")  # one node for fx tracing: its branch depends on the size


class AuxiliaryPool(nn.Module):
    """:func:`auxiliary_pool` as a layer."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return auxiliary_pool(x)


class AuxiliaryClassifier(nn.Module):
    """Section 5: average pool, 1x1 conv with 128 filters, fc 1024, dropout 0.7, fc."""

    def __init__(self, in_channels: int, num_classes: int, variant: Variant) -> None:
        super().__init__()
        paper_pool = variant.aux_pool == "5x5/3"
        self.pool = AuxiliaryPool() if paper_pool else nn.AdaptiveAvgPool2d((4, 4))
        self.conv = _conv(variant, in_channels, 128, 1)
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(0.7)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(self.pool(x)).flatten(1)  # N x 2048
        return self.fc2(self.dropout(self.relu(self.fc1(x))))  # N x num_classes


class GoogLeNet(AuxiliaryClassifiersMixin, GlobalPoolHead, ImageClassifier):
    """Table 1: a stem of three convolutions, nine Inception modules in three stages
    (3a-3b, 4a-4e, 5a-5b) separated by max pools, global average pooling, one linear layer.
    With ``aux_logits``, training returns :class:`AuxiliaryOutputs` (aux1 on inception4a,
    aux2 on inception4d, weight 0.3); evaluation returns the main logits only.
    ``num_classes=0`` builds no auxiliary classifiers: there is nothing for them to classify."""

    model_name = "googlenet"
    auxiliary_classifiers = {"aux1": "fc2", "aux2": "fc2"}

    def __init__(
        self,
        variant: Variant,
        *,
        aux_logits: bool,
        num_classes: int = 1000,
        in_chans: int = 3,
    ) -> None:
        super().__init__(num_classes=num_classes, in_chans=in_chans)
        self.min_input_size = variant.min_input_size
        self.aux_weight = 0.3

        def norm() -> nn.Module:
            return (
                LocalResponseNorm(5, k=1.0, alpha=1e-4, beta=0.75) if variant.lrn else nn.Identity()
            )

        def pool(kernel: int = 3) -> nn.MaxPool2d:
            return nn.MaxPool2d(kernel, stride=2, ceil_mode=True)

        self.conv1 = _conv(variant, in_chans, 64, 7, stride=variant.conv1_stride, padding=3)
        self.maxpool1 = pool()
        self.norm1 = norm()
        self.conv2 = _conv(variant, 64, 64, 1)  # "3x3 reduce" of the stem
        self.conv3 = _conv(variant, 64, 192, 3)
        self.norm2 = norm()
        self.maxpool2 = pool()
        for name in ("inception3a", "inception3b"):
            self.add_module(name, InceptionModule(INCEPTION_TABLE[name], variant))
        self.maxpool3 = pool()
        for name in ("inception4a", "inception4b", "inception4c", "inception4d", "inception4e"):
            self.add_module(name, InceptionModule(INCEPTION_TABLE[name], variant))
        self.maxpool4 = pool(variant.pool4_kernel)
        for name in ("inception5a", "inception5b"):
            self.add_module(name, InceptionModule(INCEPTION_TABLE[name], variant))
        with_aux = aux_logits and num_classes > 0
        self.aux1 = AuxiliaryClassifier(512, num_classes, variant) if with_aux else None
        self.aux2 = AuxiliaryClassifier(528, num_classes, variant) if with_aux else None
        self.num_features = INCEPTION_TABLE["inception5b"].out_channels
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(variant.dropout)
        self.fc = classifier_layer(self.num_features, num_classes)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(module.weight, std=0.01, a=-2, b=2)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def _body(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """The feature map, and the auxiliary logits when training with them."""
        with_aux = self.training and self.aux1 is not None
        x = self.norm1(self.maxpool1(self.conv1(x)))  # N x 64 x 56 x 56
        x = self.conv3(self.conv2(x))  # N x 192 x 56 x 56
        x = self.maxpool2(self.norm2(x))  # N x 192 x 28 x 28
        x = self.inception3b(self.inception3a(x))  # N x 480 x 28 x 28
        x = self.inception4a(self.maxpool3(x))  # N x 512 x 14 x 14
        aux1 = self.aux1(x) if with_aux else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))  # N x 528 x 14 x 14
        aux2 = self.aux2(x) if with_aux else None
        x = self.maxpool4(self.inception4e(x))  # N x 832 x 7 x 7
        x = self.inception5b(self.inception5a(x))  # N x 1024 x 7 x 7
        return x, ((aux1, aux2) if with_aux else ())


@register(
    description="The paper's GoogLeNet (Table 1): no batch norm, LRN in the stem, 5x5 "
    "branches, dropout 0.4, auxiliary classifiers for training that start with section 5's "
    "5x5 stride-3 average pool.",
    deviations=(
        "The auxiliary heads' 5x5/3 average pool is followed by an adaptive pool to 4x4 (an "
        "identity at 224), and maps under 5x5 (inputs under 79 pixels) pool only adaptively, "
        "so that every accepted input size reaches fc1.",
    ),
    metrics=(
        Metric(
            "ImageNet",
            None,
            89.93,
            "paper, Table 3: 1 model, 1 crop, 10.07 % top-5 error (no top-1 published)",
            split="ILSVRC-2012 val",
            crops="1 crop",
        ),
        Metric(
            "ImageNet",
            None,
            93.33,
            "paper, Tables 2 and 3: 6.67 % top-5 error, an ensemble of 7 models x 144 crops",
            split="ILSVRC-2014 test",
            crops="144 crops",
        ),
    ),
)
def googlenet_paper(
    *, num_classes: int = 1000, in_chans: int = 3, aux_logits: bool = True
) -> GoogLeNet:
    return GoogLeNet(
        PAPER_VARIANT,
        aux_logits=aux_logits,
        num_classes=num_classes,
        in_chans=in_chans,
    )


@register(
    description="GoogLeNet as torchvision publishes weights for it: batch norm after every "
    "convolution; 6,624,904 parameters without auxiliary heads, 13,004,888 with.",
    deviations=(
        "Batch norm after every convolution (from Inception-v2), not in the paper.",
        "A 3x3 kernel in the branch the paper gives 5x5, a 2x2 max pool before inception5a "
        "and dropout 0.2, as in torchvision, so that its weights load.",
        "Auxiliary heads pool adaptively to 4x4, as torchvision: not the paper's 5x5 "
        "stride-3 average pool even at 224, where both give 4x4 from 14x14 (windows of 4 at "
        "offsets 0, 3, 7, 10 instead of windows of 5 at 0, 3, 6, 9).",
    ),
    metrics=(
        Metric(
            "ImageNet",
            69.778,
            89.530,
            "torchvision weights, 224 centre crop of 256",
            split="ILSVRC-2012 val",
            crops="1 crop",
        ),
    ),
)
def googlenet(*, num_classes: int = 1000, in_chans: int = 3, aux_logits: bool = False) -> GoogLeNet:
    return GoogLeNet(
        TORCHVISION_VARIANT,
        aux_logits=aux_logits,
        num_classes=num_classes,
        in_chans=in_chans,
    )


@register(
    description="GoogLeNet for 32x32 images (CIFAR-10), for the efficiency-frontier "
    "experiment: Table 1's modules and pools with batch norm, conv1 at stride 1, so that "
    "inception3a sees 8x8 maps and inception5b 2x2 (28 and 7 at 224).",
    input_size=(3, 32, 32),
    deviations=(
        "Not in the paper, a CIFAR adaptation (assumed): conv1 (7x7) at stride 1, the rest "
        "of the stem kept, 32 -> 16 -> 8 -> 4 -> 2 through the four max pools; "
        "kuangliu/pytorch-cifar's version instead replaces the stem with one 3x3 "
        "convolution at stride 1 (inception3a at 32x32, 1.5 G mult-adds per image).",
        "Batch norm after every convolution (from Inception-v2) and no LRN, so that it "
        "trains from scratch in a short budget; the paper's 5x5 branches, 3x3 pool before "
        "inception5a and dropout 0.4 are kept.",
        "The auxiliary heads (section 5: weight 0.3, used in training) are off by default "
        "(aux_logits=False), as in the efficiency-frontier experiment, which trains every "
        "network with one loss; aux_logits=True adds them, pooled adaptively to 4x4 as "
        "torchvision's.",
    ),
)
def googlenet_cifar(
    *, num_classes: int = 10, in_chans: int = 3, aux_logits: bool = False
) -> GoogLeNet:
    return GoogLeNet(CIFAR_VARIANT, aux_logits=aux_logits, num_classes=num_classes,
                     in_chans=in_chans)  # fmt: skip
