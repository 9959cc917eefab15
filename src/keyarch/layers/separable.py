"""Depthwise separable convolution: a per-channel spatial convolution, then a 1x1 one."""

from __future__ import annotations

from torch import nn


class SeparableConv2d(nn.Module):
    """``depthwise`` (groups = channels) then ``pointwise`` (1x1); no biases, since a batch
    norm follows in every network that uses it (Xception, MobileNet, BN-Inception's stem).
    ``depth_multiplier`` spatial filters per input channel (TensorFlow's term): the depthwise
    step gives ``in_channels * depth_multiplier`` maps."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int = 3, *, stride: int = 1,
        padding: int = 1, depth_multiplier: int = 1,
    ) -> None:  # fmt: skip
        super().__init__()
        middle = in_channels * depth_multiplier
        self.depthwise = nn.Conv2d(in_channels, middle, kernel_size, stride=stride,
                                   padding=padding, groups=in_channels, bias=False)  # fmt: skip
        self.pointwise = nn.Conv2d(middle, out_channels, 1, bias=False)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))
