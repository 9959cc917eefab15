"""ResNets from torchvision and SE-ResNets from timm to keyarch's: layer1..layer4 are the
paper's conv2_x..conv5_x, and a block's ``downsample`` (conv, bn) is its ``shortcut``."""

from keyarch.models.resnet import IMAGENET_TABLE


def _table(stem: dict[str, str]) -> dict[str, str]:
    table = dict(stem)
    for layer in range(1, 5):
        stage = f"conv{layer + 1}_x"
        table[f"layer{layer}"] = stage
        table[f"layer{layer}.0.downsample.0"] = f"{stage}.0.shortcut.conv"
        table[f"layer{layer}.0.downsample.1"] = f"{stage}.0.shortcut.bn"
    return table


def torchvision_tables() -> dict[str, dict[str, str]]:
    stem = {"conv1": "conv1", "bn1": "bn1", "fc": "fc"}
    return {f"resnet{depth}": _table(stem) for depth in IMAGENET_TABLE}


def timm_se_tables() -> dict[str, dict[str, str]]:
    """timm's ``legacy_seresnet50/101/152``: ``layer0`` is the stem, ``last_linear`` the fc."""
    stem = {"layer0.conv1": "conv1", "layer0.bn1": "bn1", "last_linear": "fc"}
    return {f"se_resnet{depth}": _table(stem) for depth in (50, 101, 152)}
