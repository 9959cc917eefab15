"""Building blocks shared by several families."""

from keyarch.layers.conv_norm_act import ConvNormAct, inception_conv
from keyarch.layers.normalization import LocalResponseNorm
from keyarch.layers.separable import SeparableConv2d

__all__ = ["ConvNormAct", "LocalResponseNorm", "SeparableConv2d", "inception_conv"]
