"""Datasets, the papers' augmentations and image loading (imported on first use)."""

from __future__ import annotations

import importlib

_EXPORTS = {
    "IMAGENET_MEAN": "keyarch.data.images",
    "IMAGENET_STD": "keyarch.data.images",
    "load_image": "keyarch.data.images",
    "DATASETS": "keyarch.data.catalog",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'keyarch.data' has no attribute {name!r}")
