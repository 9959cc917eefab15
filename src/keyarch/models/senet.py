"""SE-ResNet: Hu, Shen and Sun, "Squeeze-and-Excitation Networks", CVPR 2018 (arXiv 2017).
https://arxiv.org/abs/1709.01507

Main ideas: a squeeze-and-excitation block pools each channel globally, passes the result
through a small bottleneck (reduction ratio 16) and a sigmoid, and rescales the channels,
so the network models channel interdependencies at almost no cost; added to every ResNet
bottleneck (Figure 3) before the residual addition. Table 1 gives SE-ResNet-50's layout,
which is ResNet-50's with an SE block per bottleneck; deeper ones follow ResNet's Table 1.

As in the paper (and timm's ``legacy_seresnet``), the stride of a down-sampling
bottleneck is on its first 1x1 convolution, and the stem's max pool rounds up (Caffe).
The SE layer itself is :class:`keyarch.layers.SqueezeExcitation`, for any family.
"""

from __future__ import annotations

import torch
from torch import nn

from keyarch.layers import SqueezeExcitation
from keyarch.models.resnet import Bottleneck, ResNet
from keyarch.registry import Metric, Paper, model_registrar

PAPER = Paper(
    title="Squeeze-and-Excitation Networks",
    authors="Jie Hu, Li Shen, Gang Sun",
    year=2017,
    url="https://arxiv.org/abs/1709.01507",
    main_ideas=(
        "Squeeze: global average pooling gives each channel a descriptor of the whole image.",
        "Excitation: a two-layer bottleneck (ratio 16) and a sigmoid turn the descriptors "
        "into channel weights that rescale the feature map.",
        "Dropped into existing blocks (ResNet, Inception) for about 1 % more computation.",
    ),
    importance=(
        "Won ILSVRC-2017 classification (2.25 % top-5 error); channel attention became a "
        "standard ingredient (MobileNetV3, EfficientNet)."
    ),
)
register = model_registrar(family="SE-ResNet", paper=PAPER, input_size=(3, 224, 224))

# Where the paper lays the network out, and the names here that hold it (the guide
# shows them beside the layers keyarch builds from them).
PAPER_TABLES = {
    "Table 1 (ResNet-50's layout with an SE block per bottleneck)": ("SEBottleneck", "_se_resnet"),
}


class SEBottleneck(Bottleneck):
    """Figure 3 (right): a ResNet bottleneck whose residual is rescaled by an SE block
    before the shortcut is added."""

    def __init__(self, in_channels: int, width: int, stride: int, shortcut_kind: str,
                 stride_on: str = "1x1") -> None:  # fmt: skip
        super().__init__(in_channels, width, stride, shortcut_kind, stride_on)
        self.se_module = SqueezeExcitation(width * self.expansion, reduction=16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn3(self.conv3(self.relu(self.bn2(self.conv2(out)))))
        return self.relu(self.se_module(out) + self.shortcut(x))


def _se_resnet(depth: int, num_classes: int, in_chans: int) -> ResNet:
    return ResNet(depth, stride_on="1x1", num_classes=num_classes, in_chans=in_chans,
                  block=SEBottleneck, ceil_pool=True)  # fmt: skip


@register(description="SE-ResNet-50 (Table 1): ResNet-50 with an SE block (ratio 16) in "
          "every bottleneck; 28,088,024 parameters.",
          metrics=(Metric("ImageNet", 76.71, 93.38,
                          "paper, Table 2: single 224 crop, 23.29 / 6.62 % error",
                          split="ILSVRC-2012 val", crops="1 crop"),))  # fmt: skip
def se_resnet50(*, num_classes: int = 1000, in_chans: int = 3) -> nn.Module:
    return _se_resnet(50, num_classes, in_chans)


@register(description="SE-ResNet-101: ResNet-101 with SE blocks; 49,326,872 parameters.",
          metrics=(Metric("ImageNet", 77.62, 93.93,
                          "paper, Table 2: single 224 crop, 22.38 / 6.07 % error",
                          split="ILSVRC-2012 val", crops="1 crop"),))  # fmt: skip
def se_resnet101(*, num_classes: int = 1000, in_chans: int = 3) -> nn.Module:
    return _se_resnet(101, num_classes, in_chans)


@register(description="SE-ResNet-152: ResNet-152 with SE blocks; 66,821,848 parameters.",
          metrics=(Metric("ImageNet", 78.43, 94.27,
                          "paper, Table 2: single 224 crop, 21.57 / 5.73 % error",
                          split="ILSVRC-2012 val", crops="1 crop"),))  # fmt: skip
def se_resnet152(*, num_classes: int = 1000, in_chans: int = 3) -> nn.Module:
    return _se_resnet(152, num_classes, in_chans)
