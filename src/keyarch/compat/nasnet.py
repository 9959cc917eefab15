"""timm's ``nasnetalarge`` (a port of the TF-slim NASNet-A Large) to keyarch's NASNet-A.

Both keep the checkpoint's cell names (``cell_stem_0``, ``cell_0`` ... ``cell_17``,
``reduction_cell_0``); inside a cell timm numbers the blocks ``comb_iter_0`` ... ``_4``
with ``_left``/``_right`` operations, calls h_i's 1x1 ``conv_1x1`` and h_{i-1}'s adjustment
``conv_prev_1x1`` or ``path_1``/``path_2``/``final_path_bn`` (the factorised reduction);
keyarch names them after the paper: ``block1`` ... ``block5``, ``conv_h_i``,
``adjust_h_prev``.
"""

from __future__ import annotations

import torch

from keyarch.models.nasnet import FactorizedReduction, SeparableOperation


def _timm_table(name: str) -> dict[str, str]:
    import keyarch

    with torch.device("meta"):
        model = keyarch.create_model(name)
    table = {"conv0": "conv0", "last_linear": "fc"}
    for cell_name, cell in model.cells.items():
        ours = f"cells.{cell_name}"
        table[f"{cell_name}.conv_1x1"] = f"{ours}.conv_h_i"
        if isinstance(cell.adjust_h_prev, FactorizedReduction):
            table[f"{cell_name}.path_1.conv"] = f"{ours}.adjust_h_prev.path1_conv"
            table[f"{cell_name}.path_2.conv"] = f"{ours}.adjust_h_prev.path2_conv"
            table[f"{cell_name}.final_path_bn"] = f"{ours}.adjust_h_prev.bn"
        else:
            table[f"{cell_name}.conv_prev_1x1"] = f"{ours}.adjust_h_prev"
        for number in range(1, len(cell.spec.blocks) + 1):
            for side in ("left", "right"):
                operation = getattr(getattr(cell, f"block{number}"), side)
                if not isinstance(operation, SeparableOperation):
                    continue  # pooling and identity hold no weights
                theirs = f"{cell_name}.comb_iter_{number - 1}_{side}"
                mine = f"{ours}.block{number}.{side}"
                for layer in (1, 2):
                    table[f"{theirs}.separable_{layer}.depthwise_conv2d"] = (
                        f"{mine}.separable{layer}.depthwise"
                    )
                    table[f"{theirs}.separable_{layer}.pointwise_conv2d"] = (
                        f"{mine}.separable{layer}.pointwise"
                    )
                    table[f"{theirs}.bn_sep_{layer}"] = f"{mine}.bn{layer}"
    return table


def timm_tables() -> dict[str, dict[str, str]]:
    return {"nasnet_a_large": _timm_table("nasnet_a_large")}
