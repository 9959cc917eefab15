"""Building blocks shared by several families."""

from keyarch.layers.conv_norm_act import ConvNormAct
from keyarch.layers.normalization import LocalResponseNorm

__all__ = ["ConvNormAct", "LocalResponseNorm"]
