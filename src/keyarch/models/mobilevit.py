"""MobileViT: Sachin Mehta and Mohammad Rastegari, "MobileViT: Light-weight, General-purpose,
and Mobile-friendly Vision Transformer", ICLR 2022 (arXiv 2021).
https://arxiv.org/abs/2110.02178

Main ideas: transformers as convolutions. A MobileViT block models a feature map locally
with an n x n convolution, then globally with a transformer over the pixels at the same
position of all non-overlapping 2x2 patches (unfold, L transformer layers, fold), so that
every pixel sees the whole map while the convolutions keep the spatial inductive bias; no
positional embedding is needed. Three such blocks among MobileNetV2's MV2 blocks give
light-weight networks (1.3 M to 5.6 M parameters) that beat CNNs of their size.

The config copies the paper's architecture table (appendix A, Table 4; Figure 1b shows
the block): output channels, transformer dimension d and depth L of XXS, XS and S, the
MV2 expansion factor (2 for XXS, 4 for XS and S) and the patch size h = w = 2; appendix A
also sets the width of each transformer layer's MLP to 2d.

Details the paper leaves open, taken from the authors' released models (apple/ml-cvnets,
ported to timm as ``mobilevit_xxs``, ``mobilevit_xs``, ``mobilevit_s``): 4 attention
heads, a LayerNorm after the last transformer layer, no bias, norm or activation on the
1x1 convolution into the transformer, SiLU everywhere. As in
those models, a feature map whose side is not a multiple of the patch size (odd at
stride 8, 16 or 32, e.g. 224 or 160 pixel inputs) is resized bilinearly to the next
multiple before unfolding and back after folding.

``mobilevit_xxs_cifar`` (for 32x32 images; the efficiency-frontier experiment) runs the
stem and layer2 at stride 1 (``CIFAR_XXS``): assumed, in its card.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from keyarch.layers import ConvNormAct, InvertedResidual
from keyarch.layers.attention import TransformerEncoderLayer
from keyarch.models.base import GlobalPoolHead, ImageClassifier, classifier_layer
from keyarch.registry import IMAGENET_VAL, SINGLE_CROP, Metric, Paper, model_registrar

PAPER = Paper(
    title="MobileViT: Light-weight, General-purpose, and Mobile-friendly Vision Transformer",
    authors="Sachin Mehta, Mohammad Rastegari",
    year=2021,
    url="https://arxiv.org/abs/2110.02178",
    main_ideas=(
        "Transformers as convolutions: the MobileViT block unfolds a feature map into "
        "non-overlapping 2x2 patches, runs L transformer layers across the patches and "
        "folds it back, so each pixel sees the whole map after local n x n convolutions.",
        "Global processing with the convolutions' spatial inductive bias: no positional "
        "embedding, and it trains with basic augmentation like a CNN.",
        "Light-weight: three MobileViT blocks among MobileNetV2's inverted residuals (MV2); "
        "MobileViT-S reaches 78.4% ImageNet top-1 with 5.6 M parameters.",
    ),
    importance=(
        "Showed that a light-weight conv/transformer hybrid can beat mobile CNNs "
        "(MobileNetV3) and light ViTs (DeiT) at the same size across classification, "
        "detection and segmentation; the template for later mobile vision transformers "
        "(MobileViTv2/v3, EfficientFormer)."
    ),
)
register = model_registrar(
    family="MobileViT",
    paper=PAPER,
    input_size=(3, 256, 256),
    deviations=(
        "Weights start from PyTorch's default initialisation (the paper gives none), "
        "depthwise convolutions included: not the TensorFlow fan-out initialiser of the "
        "MobileNet and EfficientNet families.",
    ),
)

# Where the paper lays the network out, and the names here that hold it (the guide
# shows them beside the layers keyarch builds from them).
PAPER_TABLES = {
    "Table 4": ("CONFIGS",),
}

PATCH_SIZE = 2  # h = w = 2 at every level (section 3.1 and Table 4)
NUM_HEADS = 4  # not in the paper: the released models' value
MLP_RATIO = 2  # the MLP of each transformer layer is 2d wide (appendix A)


@dataclass(frozen=True)
class Stage:
    """Rows of Table 4 that share an output size: MV2 blocks (the first one strided),
    then, in layers 3 to 5, one MobileViT block."""

    channels: int  # output channels C
    stride: int  # of the first MV2 block
    mv2_blocks: int  # MV2 blocks
    transformer_dim: int | None = None  # d of the MobileViT block; None: no MobileViT block
    transformer_layers: int = 0  # L


@dataclass(frozen=True)
class MobileViTConfig:
    """One column of Table 4."""

    stem_channels: int  # Conv-3x3, stride ``stem_stride``
    stages: tuple[Stage, Stage, Stage, Stage, Stage]  # layer1 .. layer5
    final_channels: int  # Conv-1x1 before global pooling
    mv2_expansion: int  # expansion factor of every MV2 block
    stem_stride: int = 2  # Table 4's; 1 for 32x32 images


# Table 4 (appendix A): output channels, d and L; 256x256 input, output sizes 128 (layer1)
# to 8 (layer5).
CONFIGS = {
    "xxs": MobileViTConfig(
        stem_channels=16,
        stages=(
            Stage(16, stride=1, mv2_blocks=1),  # 128 x 128
            Stage(24, stride=2, mv2_blocks=3),  # 64 x 64
            Stage(48, stride=2, mv2_blocks=1, transformer_dim=64, transformer_layers=2),  # 32
            Stage(64, stride=2, mv2_blocks=1, transformer_dim=80, transformer_layers=4),  # 16
            Stage(80, stride=2, mv2_blocks=1, transformer_dim=96, transformer_layers=3),  # 8
        ),
        final_channels=320,
        mv2_expansion=2,
    ),
    "xs": MobileViTConfig(
        stem_channels=16,
        stages=(
            Stage(32, stride=1, mv2_blocks=1),
            Stage(48, stride=2, mv2_blocks=3),
            Stage(64, stride=2, mv2_blocks=1, transformer_dim=96, transformer_layers=2),
            Stage(80, stride=2, mv2_blocks=1, transformer_dim=120, transformer_layers=4),
            Stage(96, stride=2, mv2_blocks=1, transformer_dim=144, transformer_layers=3),
        ),
        final_channels=384,
        mv2_expansion=4,
    ),
    "s": MobileViTConfig(
        stem_channels=16,
        stages=(
            Stage(32, stride=1, mv2_blocks=1),
            Stage(64, stride=2, mv2_blocks=3),
            Stage(96, stride=2, mv2_blocks=1, transformer_dim=144, transformer_layers=2),
            Stage(128, stride=2, mv2_blocks=1, transformer_dim=192, transformer_layers=4),
            Stage(160, stride=2, mv2_blocks=1, transformer_dim=240, transformer_layers=3),
        ),
        final_channels=640,
        mv2_expansion=4,
    ),
}

# For 32x32 images (assumed; no CIFAR version is published): the stem and layer2 at stride
# 1, as mobilenet_v2_cifar, so that the total stride is 8 and layer3-layer5's MobileViT
# blocks see 16x16, 8x8 and 4x4 maps (32, 16 and 8 at 256).
CIFAR_XXS = replace(
    CONFIGS["xxs"],
    stem_stride=1,
    stages=(CONFIGS["xxs"].stages[0], replace(CONFIGS["xxs"].stages[1], stride=1),
            *CONFIGS["xxs"].stages[2:]),
)  # fmt: skip


# Leaves for torch.fx: these branch on the feature map's size, which a proxy does not have.
@torch.fx.wrap
def resize_to_patch_multiple(x: torch.Tensor, patch: int) -> torch.Tensor:
    """``x`` resized bilinearly so that its sides are multiples of ``patch`` (unchanged
    when they already are, as at 256 pixels)."""
    height, width = x.shape[-2:]
    size = (math.ceil(height / patch) * patch, math.ceil(width / patch) * patch)
    if size == (height, width):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


@torch.fx.wrap
def resize_like(x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """``x`` resized bilinearly to the height and width of ``reference`` (if they differ)."""
    if x.shape[-2:] == reference.shape[-2:]:
        return x
    return F.interpolate(x, size=reference.shape[-2:], mode="bilinear", align_corners=False)


def unfold(x: torch.Tensor, patch: int) -> torch.Tensor:
    """N x d x H x W -> (N P) x (H W / P) x d, P = patch^2: one sequence per pixel position
    of a patch, over all the patches (Figure 1b, "Unfold")."""
    x = x.unflatten(3, (-1, patch)).unflatten(2, (-1, patch))  # N x d x nh x p x nw x p
    x = x.permute(0, 3, 5, 2, 4, 1)  # N x p x p x nh x nw x d
    return x.flatten(3, 4).flatten(0, 2)  # (N p p) x (nh nw) x d


def fold(tokens: torch.Tensor, patch: int, height: int) -> torch.Tensor:
    """The inverse of ``unfold`` for a map ``height`` pixels high: (N P) x (H W / P) x d ->
    N x d x H x W."""
    x = tokens.unflatten(1, (height // patch, -1)).unflatten(0, (-1, patch, patch))
    x = x.permute(0, 5, 3, 1, 4, 2)  # N x d x nh x p x nw x p
    return x.flatten(4, 5).flatten(2, 3)  # N x d x H x W


class MobileViTBlock(nn.Module):
    """Figure 1b: local representations (``local_nxn``, ``local_1x1`` to d channels),
    global representations (unfold, ``transformer``: L encoder layers, ``norm``, fold),
    ``projection`` back to C channels, and ``fusion``: an n x n convolution of the input
    concatenated with the projection."""

    def __init__(self, channels: int, transformer_dim: int, transformer_layers: int) -> None:
        super().__init__()
        unit = {"batch_norm": True, "activation": nn.SiLU}
        self.local_nxn = ConvNormAct(channels, channels, 3, **unit)
        self.local_1x1 = nn.Conv2d(channels, transformer_dim, 1, bias=False)
        self.transformer = nn.Sequential(*[
            TransformerEncoderLayer(transformer_dim, NUM_HEADS, MLP_RATIO * transformer_dim,
                                    activation=nn.SiLU)
            for _ in range(transformer_layers)
        ])  # fmt: skip
        self.norm = nn.LayerNorm(transformer_dim)
        self.projection = ConvNormAct(transformer_dim, channels, 1, **unit)
        self.fusion = ConvNormAct(2 * channels, channels, 3, **unit)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        local = self.local_1x1(self.local_nxn(x))  # N x d x H x W
        grid = resize_to_patch_multiple(local, PATCH_SIZE)  # N x d x H' x W', H', W' even
        tokens = unfold(grid, PATCH_SIZE)  # (N 4) x (H' W' / 4) x d
        tokens = self.norm(self.transformer(tokens))
        global_ = resize_like(fold(tokens, PATCH_SIZE, grid.shape[2]), local)  # N x d x H x W
        out = self.projection(global_)  # N x C x H x W
        return self.fusion(torch.cat((x, out), dim=1))  # N x C x H x W


class MobileViT(GlobalPoolHead, ImageClassifier):
    """Conv-3x3 stem, ``layer1`` .. ``layer5`` (MV2 blocks; MobileViT blocks in layers 3
    to 5), Conv-1x1, global average pooling, one linear layer (Table 4)."""

    model_name = "mobilevit"
    min_input_size = 1  # any size: odd feature maps are resized to whole patches

    def __init__(
        self,
        config: MobileViTConfig,
        *,
        num_classes: int = 1000,
        in_chans: int = 3,
        dropout: float = 0.0,
    ) -> None:
        super().__init__(num_classes=num_classes, in_chans=in_chans)
        unit = {"batch_norm": True, "activation": nn.SiLU}
        channels = config.stem_channels
        self.stem = ConvNormAct(in_chans, channels, 3, stride=config.stem_stride, **unit)
        for number, stage in enumerate(config.stages, start=1):
            blocks: list[nn.Module] = []
            for index in range(stage.mv2_blocks):
                blocks.append(
                    InvertedResidual(channels, stage.channels,
                                     stride=stage.stride if index == 0 else 1,
                                     expansion_ratio=config.mv2_expansion,
                                     activation=nn.SiLU)
                )  # fmt: skip
                channels = stage.channels
            if stage.transformer_dim is not None:
                blocks.append(
                    MobileViTBlock(channels, stage.transformer_dim, stage.transformer_layers)
                )
            setattr(self, f"layer{number}", nn.Sequential(*blocks))
        self.final_conv = ConvNormAct(channels, config.final_channels, 1, **unit)
        self.num_features = config.final_channels
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = classifier_layer(self.num_features, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)  # N x 16 x 128 x 128 at 256
        x = self.layer1(x)  # N x C1 x 128 x 128
        x = self.layer2(x)  # N x C2 x 64 x 64
        x = self.layer3(x)  # N x C3 x 32 x 32
        x = self.layer4(x)  # N x C4 x 16 x 16
        x = self.layer5(x)  # N x C5 x 8 x 8
        return self.final_conv(x)  # N x num_features x 8 x 8


def _imagenet(top1: float) -> tuple[Metric, ...]:
    return (
        Metric(
            "ImageNet",
            top1,
            None,
            "paper, Figure 6 (ImageNet-1k validation set, single crop at 256x256, "
            "basic augmentation)",
            split=IMAGENET_VAL,
            crops=SINGLE_CROP,
        ),
    )


_DEVIATIONS = (
    "Dropout before the classifier is off by default (pass dropout=...).",
)  # fmt: skip


@register(
    description="Table 4, XXS: channels 16-16-24-48-64-80, d = 64/80/96, L = 2/4/3, MV2 "
    "expansion 2, Conv-1x1 to 320; 1,272,024 parameters.",
    deviations=_DEVIATIONS,
    metrics=_imagenet(69.0),
)
def mobilevit_xxs(*, num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.0) -> MobileViT:
    return MobileViT(CONFIGS["xxs"], num_classes=num_classes, in_chans=in_chans, dropout=dropout)


@register(
    description="Table 4, XS: channels 16-32-48-64-80-96, d = 96/120/144, L = 2/4/3, MV2 "
    "expansion 4, Conv-1x1 to 384; 2,317,848 parameters.",
    deviations=_DEVIATIONS,
    metrics=_imagenet(74.8),
)
def mobilevit_xs(*, num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.0) -> MobileViT:
    return MobileViT(CONFIGS["xs"], num_classes=num_classes, in_chans=in_chans, dropout=dropout)


@register(
    description="Table 4, S: channels 16-32-64-96-128-160, d = 144/192/240, L = 2/4/3, MV2 "
    "expansion 4, Conv-1x1 to 640; 5,578,632 parameters.",
    deviations=_DEVIATIONS,
    metrics=_imagenet(78.4),
)
def mobilevit_s(*, num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.0) -> MobileViT:
    return MobileViT(CONFIGS["s"], num_classes=num_classes, in_chans=in_chans, dropout=dropout)


@register(
    description="MobileViT-XXS (Table 4) for 32x32 images (CIFAR-10), for the "
    "efficiency-frontier experiment: the stem and layer2 at stride 1, so that the MobileViT "
    "blocks see 16x16, 8x8 and 4x4 maps and 32 px leave a 4x4x320 map.",
    input_size=(3, 32, 32),
    deviations=(
        "Not in the paper, a CIFAR adaptation (assumed; the paper trains on ImageNet only): "
        "the stem and layer2's first MV2 block at stride 1 instead of 2, as mobilenet_v2_cifar.",
        *_DEVIATIONS,
    ),
)
def mobilevit_xxs_cifar(*, num_classes: int = 10, in_chans: int = 3,
                        dropout: float = 0.0) -> MobileViT:  # fmt: skip
    return MobileViT(CIFAR_XXS, num_classes=num_classes, in_chans=in_chans, dropout=dropout)
