"""keyarch: the key deep-learning architectures, as their papers describe them.

>>> import keyarch
>>> model = keyarch.create_model("vgg16", num_classes=10)
>>> keyarch.model_card("lenet5").year
1998
"""

from keyarch.registry import Metric, ModelCard, Paper, create_model, list_models, model_card

__version__ = "0.1.0"
__all__ = ["Metric", "ModelCard", "Paper", "create_model", "list_models", "model_card"]
