"""timm's ``legacy_xception`` (the Keras model's weights) to keyarch's Xception.

timm keeps the flat names of the Keras port (conv1, bn1, block1..block12 with ``rep.N``,
``skip``/``skipbn``, conv3/conv4); keyarch groups them into Figure 5's entry, middle and exit
flows and names the parts of a separable convolution. The ``rep`` indices are the same, as
the blocks list their layers in the same order.
"""

from __future__ import annotations

import torch
from torch import nn

from keyarch.layers import SeparableConv2d


def _timm_table() -> dict[str, str]:
    from keyarch.models.xception import Xception

    with torch.device("meta"):
        model = Xception()
    table = {
        "conv1": "entry_flow.conv1.conv", "bn1": "entry_flow.conv1.bn",
        "conv2": "entry_flow.conv2.conv", "bn2": "entry_flow.conv2.bn",
        "conv3.conv1": "exit_flow.conv3.depthwise", "conv3.pointwise": "exit_flow.conv3.pointwise",
        "bn3": "exit_flow.bn3",
        "conv4.conv1": "exit_flow.conv4.depthwise", "conv4.pointwise": "exit_flow.conv4.pointwise",
        "bn4": "exit_flow.bn4", "fc": "fc",
    }  # fmt: skip
    for flow in ("entry_flow", "middle_flow", "exit_flow"):
        for name, block in getattr(model, flow).named_children():
            if not name.startswith("block"):
                continue
            table[f"{name}.skip"] = f"{flow}.{name}.shortcut.conv"
            table[f"{name}.skipbn"] = f"{flow}.{name}.shortcut.bn"
            for index, layer in enumerate(block.layers):
                ours = f"{flow}.{name}.layers.{index}"
                if isinstance(layer, SeparableConv2d):
                    table[f"{name}.rep.{index}.conv1"] = f"{ours}.depthwise"
                    table[f"{name}.rep.{index}.pointwise"] = f"{ours}.pointwise"
                elif isinstance(layer, nn.BatchNorm2d):
                    table[f"{name}.rep.{index}"] = ours
    return table


def timm_tables() -> dict[str, dict[str, str]]:
    return {"xception": _timm_table()}
