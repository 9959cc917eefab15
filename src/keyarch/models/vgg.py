"""VGG: Simonyan and Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015. https://arxiv.org/abs/1409.1556

Main ideas: depth is what matters; stacks of 3x3 convolutions (two have the receptive
field of one 5x5, three of one 7x7, with fewer parameters and more non-linearities),
five max-pooling stages, width doubling from 64 to 512, and three fully connected layers.
``VGG_CONFIGS`` copies Table 1 column by column (A, A-LRN, B, C, D, E), in the paper's
own notation: "conv3-64" is a 3x3 convolution with 64 channels.

Testing (section 3.2) is dense: fc6 becomes a 7x7 convolution and fc7, fc8 1x1 ones, the
network runs over the whole rescaled image and its class score map is averaged.
``VGG.dense_forward`` does this with the fc weights viewed as kernels; ``forward`` is the
224-crop classifier, and the two agree at 224, where the score map is 1x1.

Deviations: an adaptive 7x7 average pool before fc6 (identity at 224, as torchvision),
so inputs down to 32x32 work (at other sizes ``forward`` is not the paper's dense
evaluation: ``dense_forward`` is); weights start from Glorot initialisation, which the paper
(section 3.1) reports works as well as its staged pre-training from configuration A; the
``_bn`` variants (batch norm after every convolution, keeping the convolution's bias as
torchvision does) are not in the paper. ``vgg11_cifar`` (for 32x32 images; the
efficiency-frontier experiment) is configuration A with batch norm and fc6, fc7 of 512 on
the 1x1 map five pools leave: assumed, in its card.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from keyarch.errors import BadInput
from keyarch.layers import ConvNormAct, LocalResponseNorm
from keyarch.models.base import ImageClassifier, MultilayerHead, classifier_layer
from keyarch.registry import Metric, Paper, model_registrar

PAPER = Paper(
    title="Very Deep Convolutional Networks for Large-Scale Image Recognition",
    authors="Karen Simonyan, Andrew Zisserman",
    year=2014,
    url="https://arxiv.org/abs/1409.1556",
    main_ideas=(
        "Only 3x3 convolutions, stacked: the receptive field of large kernels with fewer "
        "weights and more ReLUs between them.",
        "Depth from 11 to 19 weight layers improves accuracy steadily (Table 3).",
        "Scale jittering in training and dense multi-scale evaluation in testing.",
    ),
    importance=(
        "Runner-up of ILSVRC-2014 classification and winner of localisation; its simple, "
        "uniform design made it the default feature extractor for transfer learning, "
        "detection and style transfer for years."
    ),
)
_GLOROT = (
    "Glorot initialisation instead of staged training from configuration A (the paper, "
    "section 3.1, reports it works as well)."
)
register = model_registrar(
    family="VGG",
    paper=PAPER,
    input_size=(3, 224, 224),
    deviations=(
        "Adaptive 7x7 average pooling before fc6 (identity at 224, as torchvision), so "
        "inputs down to 32x32 work; forward at other sizes is not the paper's dense "
        "evaluation, which dense_forward is (fc layers as convolutions, score map averaged).",
        _GLOROT,
    ),
)

# Where the paper lays the network out, and the names here that hold it (the guide
# shows them beside the layers keyarch builds from them).
PAPER_TABLES = {
    "Table 1": ("VGG_CONFIGS",),
}
# The 32x32 member: its head pools to 1x1, so the 7x7 pooling note does not apply.
register_cifar = model_registrar(
    family="VGG", paper=PAPER, input_size=(3, 32, 32), deviations=(_GLOROT,)
)

# Table 1: ConvNet configurations, one tuple per stage; a max-pool follows every stage.
VGG_CONFIGS: dict[str, tuple[tuple[str, ...], ...]] = {
    "A": (("conv3-64",), ("conv3-128",), ("conv3-256", "conv3-256"),
          ("conv3-512", "conv3-512"), ("conv3-512", "conv3-512")),
    "A-LRN": (("conv3-64", "LRN"), ("conv3-128",), ("conv3-256", "conv3-256"),
              ("conv3-512", "conv3-512"), ("conv3-512", "conv3-512")),
    "B": (("conv3-64", "conv3-64"), ("conv3-128", "conv3-128"), ("conv3-256", "conv3-256"),
          ("conv3-512", "conv3-512"), ("conv3-512", "conv3-512")),
    "C": (("conv3-64", "conv3-64"), ("conv3-128", "conv3-128"),
          ("conv3-256", "conv3-256", "conv1-256"),
          ("conv3-512", "conv3-512", "conv1-512"),
          ("conv3-512", "conv3-512", "conv1-512")),
    "D": (("conv3-64", "conv3-64"), ("conv3-128", "conv3-128"),
          ("conv3-256", "conv3-256", "conv3-256"),
          ("conv3-512", "conv3-512", "conv3-512"),
          ("conv3-512", "conv3-512", "conv3-512")),
    "E": (("conv3-64", "conv3-64"), ("conv3-128", "conv3-128"),
          ("conv3-256", "conv3-256", "conv3-256", "conv3-256"),
          ("conv3-512", "conv3-512", "conv3-512", "conv3-512"),
          ("conv3-512", "conv3-512", "conv3-512", "conv3-512")),
}  # fmt: skip


def parse_layer(spec: str) -> tuple[int, int]:
    """Read the paper's notation: 'conv3-256' is (kernel 3, 256 channels)."""
    kind, channels = spec.split("-")
    return int(kind.removeprefix("conv")), int(channels)


class VGG(MultilayerHead, ImageClassifier):
    """Five stages of convolutions (conv1_1 ... conv5_k), each closed by a 2x2 max pool,
    then fc6, fc7 (``hidden`` units, 4096 in the paper; dropout) and fc8."""

    model_name = "vgg"
    min_input_size = 32

    def __init__(
        self,
        config: str,
        *,
        batch_norm: bool = False,
        hidden: int = 4096,
        pooled: int = 7,
        num_classes: int = 1000,
        in_chans: int = 3,
        dropout: float = 0.5,
    ) -> None:
        """``hidden``: the width of fc6 and fc7; ``pooled``: the side of the adaptive
        average pooling before fc6 (the paper's 4096 and 7)."""
        super().__init__(num_classes=num_classes, in_chans=in_chans)
        if config not in VGG_CONFIGS:
            raise BadInput(f"unknown VGG configuration {config!r}; expected {list(VGG_CONFIGS)}")
        self.config = config
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        channels = in_chans
        for stage, specs in enumerate(VGG_CONFIGS[config], start=1):
            conv_index = 0
            for spec in specs:
                if spec == "LRN":  # A-LRN: Krizhevsky et al.'s constants (section 2.3)
                    layers[f"norm{stage}"] = LocalResponseNorm(5, k=2.0, alpha=1e-4, beta=0.75)
                    continue
                conv_index += 1
                kernel, width = parse_layer(spec)
                layers[f"conv{stage}_{conv_index}"] = ConvNormAct(
                    channels, width, kernel, batch_norm=batch_norm, conv_bias=True
                )
                channels = width
            layers[f"pool{stage}"] = nn.MaxPool2d(2, stride=2)
        self.features = nn.Sequential(layers)
        self.num_features = channels
        self.head_hidden_size = hidden  # the pre-logits: fc7's outputs
        self.pooled = pooled
        self.pool = nn.AdaptiveAvgPool2d((pooled, pooled))
        self.classifier = nn.Sequential(
            OrderedDict(
                fc6=nn.Linear(channels * pooled * pooled, hidden),
                relu6=nn.ReLU(inplace=True),
                drop6=nn.Dropout(dropout),
                fc7=nn.Linear(hidden, hidden),
                relu7=nn.ReLU(inplace=True),
                drop7=nn.Dropout(dropout),
                fc8=classifier_layer(hidden, num_classes),
            )
        )
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    def dense_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Section 3.2's dense evaluation: fc6 applied as a 7x7 convolution (``pooled`` x
        ``pooled``) and fc7, fc8 as 1x1 convolutions over the whole image, with the fc
        weights viewed as kernels (no copies); the class score map is averaged over its
        positions. N x num_classes.

        At 224x224 the score map is 1x1 and this equals ``forward``; at 384 it is 6x6, the
        scores of 36 windows of 224 pixels at a stride of 32 at once. Feature maps smaller
        than fc6's 7x7 window (inputs under 224) are first pooled to 7x7, as ``forward`` does.
        """
        self.check_input(x)
        features = self.forward_features(x)  # N x 512 x H/32 x W/32
        side = self.pooled
        if min(features.shape[-2:]) < side:
            features = self.pool(features)  # N x 512 x 7 x 7
        head = self.classifier
        fc6 = head.fc6.weight.view(head.fc6.out_features, features.shape[1], side, side)
        x = head.drop6(head.relu6(F.conv2d(features, fc6, head.fc6.bias)))
        # N x 4096 x (H/32 - 6) x (W/32 - 6)
        x = head.drop7(head.relu7(F.conv2d(x, head.fc7.weight[:, :, None, None], head.fc7.bias)))
        if isinstance(head.fc8, nn.Linear):  # nn.Identity after num_classes=0: pre-logits
            x = F.conv2d(x, head.fc8.weight[:, :, None, None], head.fc8.bias)
        return x.mean(dim=(-2, -1))  # the class score map, averaged: N x num_classes

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)  # N x 512 x 7 x 7 at 224


def _imagenet(top1: float, top5: float) -> tuple[Metric, ...]:
    return (
        Metric("ImageNet", top1, top5, "torchvision weights, 224 centre crop of 256",
               split="ILSVRC-2012 val", crops="1 crop"),
    )  # fmt: skip


def _table_5(dense: tuple[float, float], both: tuple[float, float]) -> tuple[Metric, ...]:
    """Table 5: trained with scale jittering S in [256, 512], tested at Q = 256, 384, 512."""
    setting = "paper, Table 5 (trained at S in [256, 512], tested at Q = 256, 384, 512)"
    return (
        Metric("ImageNet", *dense, f"{setting}: dense evaluation (section 3.2)",
               split="ILSVRC-2012 val", crops="dense, 3 scales"),
        Metric("ImageNet", *both, f"{setting}: multi-crop (50 per scale) and dense combined",
               split="ILSVRC-2012 val", crops="150 crops & dense, 3 scales"),
    )  # fmt: skip


def _vgg(config: str, batch_norm: bool, **options) -> VGG:
    return VGG(config, batch_norm=batch_norm, **options)


@register(
    description="Configuration A of Table 1: 11 weight layers.", metrics=_imagenet(69.020, 88.628)
)
def vgg11(*, num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.5) -> VGG:
    return _vgg("A", False, num_classes=num_classes, in_chans=in_chans, dropout=dropout)


@register(
    description="Configuration A-LRN of Table 1: A with local response normalisation "
    "after conv1_1 (the paper finds it does not help, Table 3)."
)
def vgg11_lrn(*, num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.5) -> VGG:
    return _vgg("A-LRN", False, num_classes=num_classes, in_chans=in_chans, dropout=dropout)


@register(
    description="Configuration B of Table 1: 13 weight layers.", metrics=_imagenet(69.928, 89.246)
)
def vgg13(*, num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.5) -> VGG:
    return _vgg("B", False, num_classes=num_classes, in_chans=in_chans, dropout=dropout)


@register(
    description="Configuration C of Table 1: 16 weight layers, the last of stages 3-5 "
    "a 1x1 convolution (extra non-linearity without more receptive field)."
)
def vgg16c(*, num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.5) -> VGG:
    return _vgg("C", False, num_classes=num_classes, in_chans=in_chans, dropout=dropout)


@register(
    description="Configuration D of Table 1, 'VGG-16': 16 weight layers, 138,357,544 parameters.",
    metrics=_imagenet(71.592, 90.382) + _table_5((75.2, 92.5), (75.6, 92.8)),
)
def vgg16(*, num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.5) -> VGG:
    return _vgg("D", False, num_classes=num_classes, in_chans=in_chans, dropout=dropout)


@register(
    description="Configuration E of Table 1, 'VGG-19': 19 weight layers.",
    metrics=_imagenet(72.376, 90.876) + _table_5((75.2, 92.5), (75.6, 92.9)),
)
def vgg19(*, num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.5) -> VGG:
    return _vgg("E", False, num_classes=num_classes, in_chans=in_chans, dropout=dropout)


_BN = ("Batch norm after every convolution (Ioffe & Szegedy 2015) is not in the paper.",)


@register(
    description="Configuration A with batch norm after every convolution.",
    deviations=_BN,
    metrics=_imagenet(70.370, 89.810),
)
def vgg11_bn(*, num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.5) -> VGG:
    return _vgg("A", True, num_classes=num_classes, in_chans=in_chans, dropout=dropout)


@register(
    description="Configuration B with batch norm after every convolution.",
    deviations=_BN,
    metrics=_imagenet(71.586, 90.374),
)
def vgg13_bn(*, num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.5) -> VGG:
    return _vgg("B", True, num_classes=num_classes, in_chans=in_chans, dropout=dropout)


@register(description="Configuration C with batch norm after every convolution.", deviations=_BN)
def vgg16c_bn(*, num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.5) -> VGG:
    return _vgg("C", True, num_classes=num_classes, in_chans=in_chans, dropout=dropout)


@register(
    description="Configuration D with batch norm after every convolution; 138,365,992 parameters.",
    deviations=_BN,
    metrics=_imagenet(73.360, 91.516),
)
def vgg16_bn(*, num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.5) -> VGG:
    return _vgg("D", True, num_classes=num_classes, in_chans=in_chans, dropout=dropout)


@register(
    description="Configuration E with batch norm after every convolution.",
    deviations=_BN,
    metrics=_imagenet(74.218, 91.842),
)
def vgg19_bn(*, num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.5) -> VGG:
    return _vgg("E", True, num_classes=num_classes, in_chans=in_chans, dropout=dropout)


@register_cifar(
    description="Configuration A (11 weight layers) for 32x32 images (CIFAR-10), for the "
    "efficiency-frontier experiment: batch norm after every convolution, the five stages "
    "and pools of Table 1 (32 -> 1x1x512), fc6 and fc7 of 512 units.",
    deviations=(
        "Not in the paper, a CIFAR adaptation (assumed): fc6 and fc7 of 512 units on the "
        "1x1x512 map that five pools leave of a 32x32 image (an adaptive pool to 1x1 before "
        "fc6, an identity at 32; the "
        "paper's head, fc6 to fc8, holds 123.6 M parameters, fc6 alone 102.8 M); CIFAR "
        "versions of VGG commonly shrink the head so (Zagoruyko 2015's has one hidden "
        "layer of 512).",
        "Batch norm after every convolution, so that it trains from scratch without the "
        "paper's staged initialisation (as vgg11_bn).",
    ),
)
def vgg11_cifar(*, num_classes: int = 10, in_chans: int = 3, dropout: float = 0.5) -> VGG:
    return _vgg("A", True, hidden=512, pooled=1, num_classes=num_classes, in_chans=in_chans,
                dropout=dropout)  # fmt: skip
