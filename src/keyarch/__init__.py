"""keyarch: the key deep-learning architectures, as their papers describe them.

>>> import keyarch
>>> model = keyarch.create_model("vgg16", num_classes=10)
>>> keyarch.model_card("lenet5").year
1998

Names are imported on first use, so that the ``keyarch`` command answers ``--help``
without loading PyTorch.
"""

from __future__ import annotations

from keyarch.lazy import lazy_exports

__version__ = "0.1.0"
_EXPORTS = {
    "Metric": "keyarch.registry",
    "ModelCard": "keyarch.registry",
    "Paper": "keyarch.registry",
    "create_model": "keyarch.registry",
    "fuse": "keyarch.models.fuse",
    "list_models": "keyarch.registry",
    "model_card": "keyarch.registry",
}
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
