"""Datasets, the papers' augmentations and image loading (imported on first use)."""

from __future__ import annotations

from keyarch.lazy import lazy_exports

_EXPORTS = {
    "IMAGENET_MEAN": "keyarch.data.images",
    "IMAGENET_STD": "keyarch.data.images",
    "load_image": "keyarch.data.images",
    "DATASETS": "keyarch.data.catalog",
}
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
