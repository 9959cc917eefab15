"""Training, evaluation, checkpoints and the papers' recipes."""

from keyarch.train.engine import TrainConfig, TrainingDiverged, train
from keyarch.train.recipes import RECIPES, Recipe, default_recipe, get_recipe

__all__ = [
    "RECIPES",
    "Recipe",
    "TrainConfig",
    "TrainingDiverged",
    "default_recipe",
    "get_recipe",
    "train",
]
