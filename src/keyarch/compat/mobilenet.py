"""timm's MobileNet v1 and torchvision's MobileNetV2 to keyarch's names.

timm builds MobileNet v1 with its EfficientNet class: ``conv_stem``/``bn1``, then
``blocks.S.J`` with ``conv_dw``, ``bn1``, ``conv_pw``, ``bn2``, where a new stage S starts at
each stride-2 layer of Table 1; keyarch numbers the 13 separable layers in order.
torchvision's MobileNetV2 numbers everything in ``features`` (0: the first convolution, 1-17:
the inverted residuals as ``conv.K``, 18: the last 1x1 convolution) and calls the linear
layer ``classifier.1``; keyarch groups the inverted residuals by Table 2's rows.
"""

from __future__ import annotations

import torch

V1_WIDTHS = {"100": 1.0, "075": 0.75, "050": 0.5, "025": 0.25}
V2_WIDTHS = {"140": 1.4, "100": 1.0, "075": 0.75, "050": 0.5, "035": 0.35}


def _timm_v1_table(alpha: float) -> dict[str, str]:
    from keyarch.models.mobilenet import MobileNetV1

    with torch.device("meta"):
        model = MobileNetV1(alpha=alpha)
    table = {"conv_stem": "features.conv1.conv", "bn1": "features.conv1.bn", "classifier": "fc"}
    stage, index = -1, 0
    for name, layer in model.features.named_children():
        if not name.startswith("separable"):
            continue
        if layer.depthwise.conv.stride[0] == 2 or stage < 0:
            stage, index = stage + 1, 0
        theirs, ours = f"blocks.{stage}.{index}", f"features.{name}"
        table |= {f"{theirs}.conv_dw": f"{ours}.depthwise.conv",
                  f"{theirs}.bn1": f"{ours}.depthwise.bn",
                  f"{theirs}.conv_pw": f"{ours}.pointwise.conv",
                  f"{theirs}.bn2": f"{ours}.pointwise.bn"}  # fmt: skip
        index += 1
    return table


def _torchvision_v2_table(width: float) -> dict[str, str]:
    from keyarch.models.mobilenetv2 import MobileNetV2

    with torch.device("meta"):
        model = MobileNetV2(width_multiplier=width)
    table = {"features.0.0": "features.conv1.conv", "features.0.1": "features.conv1.bn",
             "classifier.1": "classifier"}  # fmt: skip
    number = 0
    for name, row in model.features.named_children():
        if not name.startswith("bottleneck"):
            continue
        for index, block in enumerate(row):
            number += 1
            theirs, ours = f"features.{number}.conv", f"features.{name}.{index}"
            # torchvision: [expansion (ConvBNReLU)], depthwise (ConvBNReLU), conv, bn
            parts = ["expansion"] if block.expansion is not None else []
            parts.append("depthwise")
            for k, part in enumerate(parts):
                table[f"{theirs}.{k}.0"] = f"{ours}.{part}.conv"
                table[f"{theirs}.{k}.1"] = f"{ours}.{part}.bn"
            table[f"{theirs}.{len(parts)}"] = f"{ours}.projection.conv"
            table[f"{theirs}.{len(parts) + 1}"] = f"{ours}.projection.bn"
    last = number + 1
    table |= {f"features.{last}.0": "features.conv2.conv",
              f"features.{last}.1": "features.conv2.bn"}  # fmt: skip
    return table


def timm_tables() -> dict[str, dict[str, str]]:
    """timm's ``mobilenetv1_100`` (and the same network at other widths) per keyarch name."""
    return {f"mobilenet_v1_{suffix}": _timm_v1_table(a) for suffix, a in V1_WIDTHS.items()}


def torchvision_tables() -> dict[str, dict[str, str]]:
    """torchvision's ``mobilenet_v2(width_mult=w)`` per keyarch name."""
    return {f"mobilenet_v2_{suffix}": _torchvision_v2_table(w) for suffix, w in V2_WIDTHS.items()}


def timm_builder_options() -> dict[str, dict[str, object]]:
    """The builder options timm's MobileNet v1 weights need: they were trained with ReLU6
    (timm's ``mobilenetv1_*``), where keyarch's default is the paper's ReLU."""
    return {f"mobilenet_v1_{suffix}": {"activation": "relu6"} for suffix in V1_WIDTHS}
