"""keyarch: the key deep-learning architectures, as their papers describe them.

>>> import keyarch
>>> model = keyarch.create_model("vgg16", num_classes=10)
>>> keyarch.model_card("lenet5").year
1998

Names are imported on first use, so that the ``keyarch`` command answers ``--help``
without loading PyTorch.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"
_EXPORTS = {
    "Metric": "keyarch.registry",
    "ModelCard": "keyarch.registry",
    "Paper": "keyarch.registry",
    "create_model": "keyarch.registry",
    "list_models": "keyarch.registry",
    "model_card": "keyarch.registry",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'keyarch' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
