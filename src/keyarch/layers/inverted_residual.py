"""The inverted residual with a linear bottleneck (MobileNetV2, Sandler et al. 2018, Table 1),
the block MobileNetV2, MobileViT's MV2 blocks and EfficientNet-Lite are built from.

    input  h x w x k
    expansion   1x1 conv2d, BN, activation         -> h x w x (t k)     (left out when t = 1)
    depthwise   3x3 dwise conv2d stride s, BN, act -> h/s x w/s x (t k)
    projection  linear 1x1 conv2d, BN              -> h/s x w/s x k'
    + input, when s = 1 and k = k' (the shortcut joins the thin bottlenecks)
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from keyarch.errors import BadInput
from keyarch.layers.conv_norm_act import ConvNormAct


class InvertedResidual(nn.Module):
    """``expansion`` (absent when ``expansion_ratio`` is 1), ``depthwise``, ``projection``
    (no activation: the linear bottleneck); a shortcut when the shape is unchanged.

    ``activation`` is ReLU6 in MobileNetV2 and EfficientNet-Lite, SiLU in MobileViT;
    ``kernel_size`` is 3 or 5 (EfficientNet); ``bn_eps`` the released models' epsilon;
    ``padding="tf_same"`` pads the strided depthwise convolution as TensorFlow's "SAME"
    (for weights trained in TensorFlow, such as EfficientNet-Lite's).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        stride: int,
        expansion_ratio: float,
        kernel_size: int = 3,
        activation: Callable[[], nn.Module] = nn.ReLU6,
        bn_eps: float = 1e-5,
        padding: str = "symmetric",
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise BadInput(f"InvertedResidual: stride must be 1 or 2, got {stride}")
        if padding not in ("symmetric", "tf_same"):
            raise BadInput(
                f"InvertedResidual: padding must be 'symmetric' or 'tf_same', got {padding!r}"
            )
        hidden = round(in_channels * expansion_ratio)
        unit = {"batch_norm": True, "bn_eps": bn_eps}
        self.expansion = (
            ConvNormAct(in_channels, hidden, 1, activation=activation, **unit)
            if expansion_ratio != 1
            else None
        )
        self.depthwise = ConvNormAct(hidden, hidden, kernel_size, stride=stride, groups=hidden,
                                     activation=activation,
                                     padding="tf_same" if padding == "tf_same" else None,
                                     **unit)  # fmt: skip
        self.projection = ConvNormAct(hidden, out_channels, 1, activation=None, **unit)
        self.use_shortcut = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.expansion(x) if self.expansion is not None else x  # N x tk x H x W
        out = self.projection(self.depthwise(out))  # N x k' x H/s x W/s
        return x + out if self.use_shortcut else out
