"""One module per family; importing this package registers every model."""

from keyarch.models import alexnet, googlenet, inception, lenet, vgg, xception, zfnet  # noqa: F401
from keyarch.models.base import ImageClassifier

__all__ = ["ImageClassifier"]
