"""TensorFlow's "SAME" padding, for weights trained in TensorFlow (EfficientNet-Lite).

A strided convolution with TF "SAME" padding covers ``ceil(size / stride)`` output pixels
and, when the padding it needs is odd, puts the extra row and column at the bottom and
right; PyTorch's symmetric ``padding=k // 2`` puts them on both sides, which shifts every
window by one pixel and changes the outputs of converted weights. At stride 1 with an odd
kernel the two agree, so only strided convolutions need this module.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from keyarch.errors import BadInput


def same_padding_amount(size, kernel_size: int, stride: int):
    """Total padding of one side-pair that TF "SAME" needs for ``size`` input pixels:
    ``max((ceil(size / stride) - 1) * stride + kernel_size - size, 0)``, written with
    ``%`` only (no ``max``, no ``ceil``) so that torch.fx can trace it; valid for
    ``kernel_size >= stride``."""
    return kernel_size - stride + (stride - size % stride) % stride


class TFSamePad2d(nn.Module):
    """Zero-pads the input as TensorFlow's "SAME" does before a ``kernel_size`` convolution
    with ``stride``: half the padding (rounded down) top and left, the rest bottom and right.
    """

    def __init__(self, kernel_size: int, stride: int) -> None:
        super().__init__()
        if kernel_size < stride:
            raise BadInput(
                f"TFSamePad2d: kernel_size ({kernel_size}) must be at least the stride ({stride})"
            )
        self.kernel_size = kernel_size
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad_h = same_padding_amount(x.shape[-2], self.kernel_size, self.stride)
        pad_w = same_padding_amount(x.shape[-1], self.kernel_size, self.stride)
        return F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"
