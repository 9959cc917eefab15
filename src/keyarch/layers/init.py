"""Weight initialisers the papers' TensorFlow code uses, where PyTorch's differ.

TensorFlow's variance scaling by fan-out (TF-slim's ``variance_scaling_initializer(mode=
'FAN_OUT')``, Keras' ``VarianceScaling(2.0, 'fan_out')``, He et al.'s initialisation for
the backward pass) draws a convolution's weights from N(0, 2 / fan_out), where fan-out is
the kernel's height x width x output channels *per input channel*. For an ordinary
convolution that is PyTorch's ``kaiming_normal_(mode="fan_out")``. For a depthwise
convolution it is not: TensorFlow's depthwise kernel is (k, k, C, 1), one filter per
input channel, so its fan-out is k x k; PyTorch stores it as (C, 1, k, k) and counts
C x k x k, which starts the filters sqrt(C) times smaller.
"""

from __future__ import annotations

import math

from torch import nn


def fan_out_normal_(conv: nn.Conv2d) -> None:
    """Weights from N(0, 2 / fan_out) with fan-out = k_h x k_w x output channels per group
    (k x k for a depthwise convolution, as TensorFlow counts it); a bias is zeroed."""
    out_per_group = conv.out_channels // conv.groups
    fan_out = out_per_group * conv.kernel_size[0] * conv.kernel_size[1]
    nn.init.normal_(conv.weight, std=math.sqrt(2.0 / fan_out))
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)
