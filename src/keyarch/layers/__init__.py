"""Building blocks shared by several families."""

from keyarch.layers.conv_norm_act import ConvNormAct, inception_conv
from keyarch.layers.inverted_residual import InvertedResidual
from keyarch.layers.normalization import LocalResponseNorm
from keyarch.layers.separable import SeparableConv2d
from keyarch.layers.squeeze_excitation import SqueezeExcitation

__all__ = [
    "ConvNormAct",
    "InvertedResidual",
    "LocalResponseNorm",
    "SeparableConv2d",
    "SqueezeExcitation",
    "inception_conv",
]
