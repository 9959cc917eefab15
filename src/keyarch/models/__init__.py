"""One module per family; importing this package registers every model."""

from keyarch.models import (  # noqa: F401
    alexnet,
    bn_inception,
    densenet,
    efficientnet,
    googlenet,
    inception,
    inception_resnet,
    inception_v4,
    lenet,
    mobilenet,
    mobilenetv2,
    mobilevit,
    nasnet,
    resnet,
    rnn,
    senet,
    vgg,
    xception,
    zfnet,
)
from keyarch.models.base import ImageClassifier

__all__ = ["ImageClassifier"]
