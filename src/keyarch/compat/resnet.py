"""torchvision's ResNets to keyarch's: layer1..layer4 are the paper's conv2_x..conv5_x, and
a block's ``downsample`` (conv, bn) is its projection ``shortcut``."""

from keyarch.models.resnet import IMAGENET_TABLE


def torchvision_tables() -> dict[str, dict[str, str]]:
    tables = {}
    for depth in IMAGENET_TABLE:
        table = {"conv1": "conv1", "bn1": "bn1", "fc": "fc"}
        for layer in range(1, 5):
            table[f"layer{layer}"] = f"conv{layer + 1}_x"
            table[f"layer{layer}.0.downsample.0"] = f"conv{layer + 1}_x.0.shortcut.conv"
            table[f"layer{layer}.0.downsample.1"] = f"conv{layer + 1}_x.0.shortcut.bn"
        tables[f"resnet{depth}"] = table
    return tables


def timm_se_tables() -> dict[str, dict[str, str]]:
    """timm's ``legacy_seresnet50/101/152``: ``layer0`` is the stem, ``last_linear`` the fc."""
    tables = {}
    for depth in (50, 101, 152):
        table = {"layer0.conv1": "conv1", "layer0.bn1": "bn1", "last_linear": "fc"}
        for layer in range(1, 5):
            table[f"layer{layer}"] = f"conv{layer + 1}_x"
            table[f"layer{layer}.0.downsample.0"] = f"conv{layer + 1}_x.0.shortcut.conv"
            table[f"layer{layer}.0.downsample.1"] = f"conv{layer + 1}_x.0.shortcut.bn"
        tables[f"se_resnet{depth}"] = table
    return tables
