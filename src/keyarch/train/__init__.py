"""Training, evaluation, checkpoints and the papers' recipes.

Names are imported on first use, so that ``keyarch --help`` does not wait for PyTorch.
"""

from __future__ import annotations

from keyarch.lazy import lazy_exports

_EXPORTS = {
    "TrainConfig": "keyarch.train.config",
    "TrainingDiverged": "keyarch.train.state",
    "TrainingInterrupted": "keyarch.train.state",
    "CheckpointNotWritten": "keyarch.train.state",
    "EpochStats": "keyarch.train.state",
    "train": "keyarch.train.engine",
    "ClassificationTask": "keyarch.train.tasks",
    "RECIPES": "keyarch.train.recipes",
    "Recipe": "keyarch.train.recipes",
    "default_recipe": "keyarch.train.recipes",
    "get_recipe": "keyarch.train.recipes",
}
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
