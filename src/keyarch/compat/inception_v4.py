"""timm's Inception-v4 (``features.N``) to keyarch's stages named after Figure 9."""

STAGES = (["stem.conv1", "stem.conv2", "stem.conv3", "stem.mixed_3a", "stem.mixed_4a",
           "stem.mixed_5a"] + [f"inception_a.{i}" for i in range(4)] + ["reduction_a"]
          + [f"inception_b.{i}" for i in range(7)] + ["reduction_b"]
          + [f"inception_c.{i}" for i in range(3)])  # fmt: skip

TIMM: dict[str, dict[str, str]] = {
    "inception_v4": {
        **{f"features.{index}": ours for index, ours in enumerate(STAGES)},
        "last_linear": "fc",
    }
}


def _inception_resnet_v2_table() -> dict[str, str]:
    """timm's flat names (repeat, repeat_1, repeat_2, block8, conv2d) to keyarch's stages."""
    stem = ("conv2d_1a", "conv2d_2a", "conv2d_2b", "conv2d_3b", "conv2d_4a", "mixed_5b")
    table = {name: f"stem.{name}" for name in stem}
    table.update(mixed_6a="reduction_a", mixed_7a="reduction_b", conv2d_7b="conv2d_7b",
                 classif="fc")  # fmt: skip
    blocks = [(f"repeat.{i}", f"inception_resnet_a.{i}") for i in range(10)]
    blocks += [(f"repeat_1.{i}", f"inception_resnet_b.{i}") for i in range(20)]
    blocks += [(f"repeat_2.{i}", f"inception_resnet_c.{i}") for i in range(9)]
    blocks += [("block8", "inception_resnet_c.9")]
    for theirs, ours in blocks:
        table[theirs] = ours
        table[f"{theirs}.conv2d"] = f"{ours}.projection"
    return table


TIMM["inception_resnet_v2"] = _inception_resnet_v2_table()
