"""torchvision's VGG to keyarch's conv{stage}_{index} and fc6..fc8.

torchvision numbers the layers of ``features`` in order: each convolution, its batch norm
(in the ``_bn`` models) and its ReLU take one index each, and each stage's max pool one
more. The table is derived from Table 1 (``VGG_CONFIGS``) by walking the same order.
"""

from __future__ import annotations

from keyarch.models.vgg import VGG_CONFIGS

# keyarch name -> Table 1 column; torchvision publishes A, B, D and E.
TORCHVISION_MODELS = {"vgg11": "A", "vgg13": "B", "vgg16": "D", "vgg19": "E"}


def _table(config: str, batch_norm: bool) -> dict[str, str]:
    table: dict[str, str] = {}
    index = 0
    for stage, specs in enumerate(VGG_CONFIGS[config], start=1):
        for position, _spec in enumerate(specs, start=1):
            ours = f"features.conv{stage}_{position}"
            table[f"features.{index}"] = f"{ours}.conv"
            if batch_norm:
                table[f"features.{index + 1}"] = f"{ours}.bn"
            index += 3 if batch_norm else 2  # conv, (bn), relu
        index += 1  # max pool
    table.update(
        {"classifier.0": "classifier.fc6", "classifier.3": "classifier.fc7",
         "classifier.6": "classifier.fc8"}
    )  # fmt: skip
    return table


def torchvision_tables() -> dict[str, dict[str, str]]:
    """One table for each torchvision VGG, with and without batch norm."""
    tables = {}
    for name, config in TORCHVISION_MODELS.items():
        tables[name] = _table(config, batch_norm=False)
        tables[f"{name}_bn"] = _table(config, batch_norm=True)
    return tables
