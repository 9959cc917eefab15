"""DenseNet: Huang, Liu, van der Maaten and Weinberger, "Densely Connected Convolutional
Networks", CVPR 2017 (arXiv 2016). https://arxiv.org/abs/1608.06993

Main ideas: inside a dense block every layer receives the concatenated feature maps of all
the layers before it and adds k (the growth rate) new ones, which encourages feature reuse
and gives short gradient paths with few parameters. DenseNet-BC adds bottlenecks (a 1x1
convolution to 4k channels before each 3x3) and compression (transition layers halve the
channels). ``IMAGENET_TABLE`` copies Table 1; ``densenet_bc_100`` is the CIFAR network of
Table 2 (L = 100, k = 12).

``memory_efficient=True`` recomputes each layer's concatenation, batch norm and 1x1
convolution in the backward pass instead of storing them (Pleiss et al. 2017), trading
compute for memory; ``benchmarks/densenet_memory.py`` measures the saving.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
import torch.utils.checkpoint as checkpoint
from torch import nn

from keyarch.models.base import GlobalPoolHead, ImageClassifier, classifier_layer
from keyarch.registry import Metric, Paper, model_registrar

PAPER = Paper(
    title="Densely Connected Convolutional Networks",
    authors="Gao Huang, Zhuang Liu, Laurens van der Maaten, Kilian Q. Weinberger",
    year=2016,
    url="https://arxiv.org/abs/1608.06993",
    main_ideas=(
        "Each layer of a dense block takes all earlier feature maps, concatenated, as input "
        "and contributes k new maps (the growth rate).",
        "Bottleneck (1x1 to 4k channels) and compression (transitions halve the channels) "
        "make DenseNet-BC very parameter-efficient.",
        "Feature reuse and implicit deep supervision: fewer parameters than ResNets for the "
        "same accuracy.",
    ),
    importance=(
        "CVPR 2017 best paper; matched ResNet accuracy with a third of the parameters and "
        "made dense connectivity a standard design (segmentation, detection backbones)."
    ),
)
register = model_registrar(family="DenseNet", paper=PAPER, input_size=(3, 224, 224))

# Where the paper lays the network out, and the names here that hold it (the guide
# shows them beside the layers keyarch builds from them).
PAPER_TABLES = {
    "Table 1": ("IMAGENET_TABLE",),
}

# Table 1: growth rate k, layers per dense block, channels of the first convolution.
IMAGENET_TABLE: dict[int, tuple[int, tuple[int, ...], int]] = {
    121: (32, (6, 12, 24, 16), 64),
    169: (32, (6, 12, 32, 32), 64),
    201: (32, (6, 12, 48, 32), 64),
    264: (32, (6, 12, 64, 48), 64),
    161: (48, (6, 12, 36, 24), 96),
}


class DenseLayer(nn.Module):
    """BN-ReLU-Conv(1x1, 4k)-BN-ReLU-Conv(3x3, k) on the concatenation of all earlier maps."""

    def __init__(self, in_channels: int, growth_rate: int, bottleneck_width: int,
                 memory_efficient: bool) -> None:  # fmt: skip
        super().__init__()
        width = bottleneck_width * growth_rate
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(width)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(width, growth_rate, 3, padding=1, bias=False)
        self.memory_efficient = memory_efficient

    def bottleneck(self, *features: torch.Tensor) -> torch.Tensor:
        return self.conv1(self.relu1(self.norm1(torch.cat(features, 1))))

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        if (
            self.memory_efficient
            and not isinstance(features[0], torch.fx.Proxy)  # fx traces the plain path
            and torch.is_grad_enabled()
            and any(f.requires_grad for f in features)
        ):
            reduced = checkpoint.checkpoint(self.bottleneck, *features, use_reentrant=False)
        else:
            reduced = self.bottleneck(*features)
        return self.conv2(self.relu2(self.norm2(reduced)))


class DenseBlock(nn.ModuleDict):
    """``layers`` dense layers; the block outputs all maps, its input's and each layer's."""

    def __init__(self, layers: int, in_channels: int, growth_rate: int, bottleneck_width: int,
                 memory_efficient: bool) -> None:  # fmt: skip
        super().__init__()
        for index in range(layers):
            self[f"denselayer{index + 1}"] = DenseLayer(
                in_channels + index * growth_rate, growth_rate, bottleneck_width, memory_efficient
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class Transition(nn.Sequential):
    """Between dense blocks: BN, ReLU, 1x1 convolution (compression), 2x2 average pool."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.pool = nn.AvgPool2d(2, stride=2)


class DenseNet(GlobalPoolHead, ImageClassifier):
    """A stem, dense blocks separated by transitions, a final batch norm, pooling, linear.

    The ImageNet stem is a 7x7/2 convolution and a 3x3/2 max pool (Table 1); the CIFAR stem
    a single 3x3 convolution with 2k channels (section 3).
    """

    model_name = "densenet"
    classifier_name = "classifier"  # torchvision's name, so that its weights load by key

    def __init__(self, *, growth_rate: int, block_layers: tuple[int, ...], stem_channels: int,
                 cifar_stem: bool = False, compression: float = 0.5, bottleneck_width: int = 4,
                 memory_efficient: bool = False, num_classes: int = 1000,
                 in_chans: int = 3) -> None:  # fmt: skip
        super().__init__(num_classes=num_classes, in_chans=in_chans)
        self.min_input_size = 8 if cifar_stem else 29
        if cifar_stem:
            stem = OrderedDict(conv0=nn.Conv2d(in_chans, stem_channels, 3, padding=1, bias=False))
        else:
            stem = OrderedDict(
                conv0=nn.Conv2d(in_chans, stem_channels, 7, stride=2, padding=3, bias=False),
                norm0=nn.BatchNorm2d(stem_channels),
                relu0=nn.ReLU(inplace=True),
                pool0=nn.MaxPool2d(3, stride=2, padding=1),
            )
        self.features = nn.Sequential(stem)
        channels = stem_channels
        for number, layers in enumerate(block_layers, start=1):
            self.features.add_module(f"denseblock{number}", DenseBlock(
                layers, channels, growth_rate, bottleneck_width, memory_efficient))  # fmt: skip
            channels += layers * growth_rate
            if number < len(block_layers):
                reduced = int(channels * compression)
                self.features.add_module(f"transition{number}", Transition(channels, reduced))
                channels = reduced
        self.features.add_module("norm5", nn.BatchNorm2d(channels))
        self.num_features = channels
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = classifier_layer(channels, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight)
            elif isinstance(module, nn.Linear):
                nn.init.zeros_(module.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.features(x))  # N x C x 7 x 7 at 224 (8 x 8 for CIFAR)


def _imagenet(depth: int, num_classes: int, in_chans: int, memory_efficient: bool) -> DenseNet:
    growth, blocks, stem = IMAGENET_TABLE[depth]
    return DenseNet(growth_rate=growth, block_layers=blocks, stem_channels=stem,
                    memory_efficient=memory_efficient, num_classes=num_classes,
                    in_chans=in_chans)  # fmt: skip


def _tv(top1: float, top5: float) -> tuple[Metric, ...]:
    return (
        Metric("ImageNet", top1, top5, "torchvision weights, 224 centre crop of 256",
               split="ILSVRC-2012 val", crops="1 crop"),
    )  # fmt: skip


@register(description="DenseNet-121 (Table 1): k = 32, blocks of 6, 12, 24, 16 layers.",
          metrics=_tv(74.434, 91.972))  # fmt: skip
def densenet121(*, num_classes: int = 1000, in_chans: int = 3,
                memory_efficient: bool = False) -> DenseNet:  # fmt: skip
    return _imagenet(121, num_classes, in_chans, memory_efficient)


@register(description="DenseNet-169 (Table 1): k = 32, blocks of 6, 12, 32, 32 layers.",
          metrics=_tv(75.600, 92.806))  # fmt: skip
def densenet169(*, num_classes: int = 1000, in_chans: int = 3,
                memory_efficient: bool = False) -> DenseNet:  # fmt: skip
    return _imagenet(169, num_classes, in_chans, memory_efficient)


@register(description="DenseNet-201 (Table 1): k = 32, blocks of 6, 12, 48, 32 layers.",
          metrics=_tv(76.896, 93.370))  # fmt: skip
def densenet201(*, num_classes: int = 1000, in_chans: int = 3,
                memory_efficient: bool = False) -> DenseNet:  # fmt: skip
    return _imagenet(201, num_classes, in_chans, memory_efficient)


@register(description="DenseNet-264 (Table 1): k = 32, blocks of 6, 12, 64, 48 layers.")
def densenet264(*, num_classes: int = 1000, in_chans: int = 3,
                memory_efficient: bool = False) -> DenseNet:  # fmt: skip
    return _imagenet(264, num_classes, in_chans, memory_efficient)


@register(description="DenseNet-161 (torchvision's wide variant of Table 1): k = 48, "
          "96 stem channels, blocks of 6, 12, 36, 24 layers.", metrics=_tv(77.138, 93.560),
          deviations=("Not in Table 1: the k = 48 network released with the paper's code.",),
          )  # fmt: skip
def densenet161(*, num_classes: int = 1000, in_chans: int = 3,
                memory_efficient: bool = False) -> DenseNet:  # fmt: skip
    return _imagenet(161, num_classes, in_chans, memory_efficient)


@register(description="DenseNet-BC for CIFAR (Table 2): L = 100, k = 12, three dense blocks "
          "of 16 bottleneck layers, compression 0.5; about 0.8 M parameters.",
          input_size=(3, 32, 32),
          metrics=(Metric("CIFAR-10", 95.49, None,
                          "paper, Table 2: C10+ (trained with translation and mirroring), "
                          "4.51 % error", split="CIFAR-10 test", crops="full image"),))  # fmt: skip
def densenet_bc_100(*, num_classes: int = 10, in_chans: int = 3,
                    memory_efficient: bool = False) -> DenseNet:  # fmt: skip
    growth = 12
    return DenseNet(growth_rate=growth, block_layers=(16, 16, 16), stem_channels=2 * growth,
                    cifar_stem=True, memory_efficient=memory_efficient, num_classes=num_classes,
                    in_chans=in_chans)  # fmt: skip
