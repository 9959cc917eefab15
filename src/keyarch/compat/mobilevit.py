"""timm's ``mobilevit_xxs``, ``mobilevit_xs`` and ``mobilevit_s`` (ported from the authors'
apple/ml-cvnets weights) to keyarch's MobileViT.

timm builds MobileViT with its generic ByobNet: ``stem``, ``stages.0`` .. ``stages.4`` of
``BottleneckBlock`` (an MV2 block: ``conv1_1x1``, ``conv2_kxk``, ``conv3_1x1``) and
``MobileVitBlock`` (``conv_kxk``, ``conv_1x1``, ``transformer`` of ViT ``Block``\\ s,
``norm``, ``conv_proj``, ``conv_fusion``), ``final_conv`` and ``head.fc``. keyarch names
the stages ``layer1`` .. ``layer5`` as in Table 4 and the parts with the paper's words;
the block indices inside a stage are the same.
"""

from __future__ import annotations

import torch

_MV2 = {"conv1_1x1": "expansion", "conv2_kxk": "depthwise", "conv3_1x1": "projection"}
_MOBILEVIT = {
    "conv_kxk": "local_nxn",
    "conv_1x1": "local_1x1",
    "norm": "norm",
    "conv_proj": "projection",
    "conv_fusion": "fusion",
}
_ENCODER_LAYER = {
    "norm1": "norm1",
    "attn.qkv": "attention.qkv",
    "attn.proj": "attention.projection",
    "norm2": "norm2",
    "mlp.fc1": "mlp.fc1",
    "mlp.fc2": "mlp.fc2",
}


def _timm_table(variant: str) -> dict[str, str]:
    from keyarch.models.mobilevit import CONFIGS, MobileViT, MobileViTBlock

    with torch.device("meta"):
        model = MobileViT(CONFIGS[variant])
    table = {"stem": "stem", "final_conv": "final_conv", "head.fc": "fc"}
    for stage in range(5):
        ours_stage = f"layer{stage + 1}"
        for index, block in enumerate(getattr(model, ours_stage)):
            theirs, ours = f"stages.{stage}.{index}", f"{ours_stage}.{index}"
            if isinstance(block, MobileViTBlock):
                for source, target in _MOBILEVIT.items():
                    table[f"{theirs}.{source}"] = f"{ours}.{target}"
                for layer in range(len(block.transformer)):
                    for source, target in _ENCODER_LAYER.items():
                        table[f"{theirs}.transformer.{layer}.{source}"] = (
                            f"{ours}.transformer.{layer}.{target}"
                        )
            else:
                for source, target in _MV2.items():
                    table[f"{theirs}.{source}"] = f"{ours}.{target}"
    return table


def timm_tables() -> dict[str, dict[str, str]]:
    return {f"mobilevit_{variant}": _timm_table(variant) for variant in ("xxs", "xs", "s")}
