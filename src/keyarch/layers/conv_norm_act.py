"""Convolution, optional batch norm, optional activation: the unit most CNNs are built from."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from keyarch.layers.padding import TFSamePad2d


class ConvNormAct(nn.Sequential):
    """``conv`` -> ``bn`` (when ``batch_norm``) -> ``act`` (when ``activation`` is given).

    With batch norm the convolution has no bias, as the norm's shift replaces it, unless
    ``conv_bias`` says otherwise (torchvision's VGG-BN keeps it). The
    children are named ``conv``, ``bn`` and ``act`` so that state-dict keys read
    ``conv1_1.conv.weight``, ``conv1_1.bn.running_mean``. ``padding="tf_same"`` pads as
    TensorFlow's "SAME" (asymmetric at stride 2: a ``pad`` child before ``conv``), for
    weights trained in TensorFlow.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        *,
        stride: int = 1,
        padding: int | tuple[int, int] | str | None = None,
        groups: int = 1,
        batch_norm: bool = False,
        conv_bias: bool | None = None,
        bn_eps: float = 1e-5,
        activation: Callable[[], nn.Module] | None = nn.ReLU,
    ) -> None:
        super().__init__()
        if padding == "tf_same":  # TensorFlow's "SAME": see layers/padding.py
            padding = None
            if stride != 1:
                self.pad = TFSamePad2d(kernel_size, stride)
                padding = 0
        if padding is None:  # "same" padding for odd kernels at stride 1
            padding = (
                tuple(k // 2 for k in kernel_size)
                if isinstance(kernel_size, tuple)
                else kernel_size // 2
            )
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            groups=groups,
            bias=not batch_norm if conv_bias is None else conv_bias,
        )
        if batch_norm:
            self.bn = nn.BatchNorm2d(out_channels, eps=bn_eps)
        if activation is not None:
            # The activation overwrites its input, which only it reads (the output of the
            # convolution or norm before it): no copy, as torchvision's and timm's layers
            # do. ReLU's gradient is computed from its output; SiLU's and hard swish's need
            # the input, which autograd then keeps in training, so training is unchanged,
            # and inference saves a tensor allocation per layer (MobileViT-S, batch 8:
            # SiLU 4x faster in place).
            in_place = activation in (nn.ReLU, nn.ReLU6, nn.SiLU, nn.Hardswish)
            self.act = activation(inplace=True) if in_place else activation()


def inception_conv(in_channels: int, out_channels: int, kernel_size, **options) -> ConvNormAct:
    """The Inception family's unit since v2: convolution without padding unless given,
    batch norm with eps 1e-3 (the released TensorFlow models'), ReLU."""
    options.setdefault("padding", 0)
    return ConvNormAct(in_channels, out_channels, kernel_size, batch_norm=True, bn_eps=1e-3,
                       **options)  # fmt: skip
