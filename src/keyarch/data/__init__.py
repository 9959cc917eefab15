"""Datasets, the papers' augmentations and image loading."""

from keyarch.data.images import IMAGENET_MEAN, IMAGENET_STD, load_image

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "load_image"]
