"""Squeeze-and-Excitation (Hu, Shen and Sun 2017), a layer any family can add to a block."""

from __future__ import annotations

import torch
from torch import nn

from keyarch.errors import BadInput


class SqueezeExcitation(nn.Module):
    """Reweight channels by their global context (Figure 1 of the paper).

    Squeeze: global average pooling to one value per channel. Excitation: a bottleneck of
    two fully connected layers (here 1x1 convolutions, ``fc1`` and ``fc2``) with reduction
    ratio ``reduction``, ReLU between and a sigmoid after. Scale: multiply each channel of
    the input by its weight.
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        if channels % reduction:
            raise BadInput(f"{channels} channels do not divide by reduction {reduction}")
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = x.mean((2, 3), keepdim=True)  # squeeze: N x C x 1 x 1
        weights = torch.sigmoid(self.fc2(self.relu(self.fc1(weights))))  # excitation
        return x * weights  # scale
