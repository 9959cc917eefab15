"""Building blocks shared by several families."""

from keyarch.layers.attention import MultiHeadSelfAttention, TransformerEncoderLayer
from keyarch.layers.channels import round_channels
from keyarch.layers.conv_norm_act import ConvNormAct, inception_conv
from keyarch.layers.init import fan_out_normal_
from keyarch.layers.inverted_residual import InvertedResidual
from keyarch.layers.normalization import LocalResponseNorm
from keyarch.layers.padding import TFSamePad2d
from keyarch.layers.separable import SeparableConv2d
from keyarch.layers.squeeze_excitation import SqueezeExcitation

__all__ = [
    "ConvNormAct",
    "InvertedResidual",
    "LocalResponseNorm",
    "MultiHeadSelfAttention",
    "SeparableConv2d",
    "SqueezeExcitation",
    "TFSamePad2d",
    "TransformerEncoderLayer",
    "fan_out_normal_",
    "inception_conv",
    "round_channels",
]
