"""The tasks the training engine runs, one module each (``keyarch.train.tasks.base`` says
what a task is): a new task is a new module and a line here.

* ``classification``: image classifiers on image datasets (``keyarch train NAME``);
* ``captioning``: a Show and Tell captioner on a caption dataset (``keyarch caption train``);
* ``sequence-classification``: the recurrent models on a generated sequence dataset
  (``keyarch train lstm``).
"""

from __future__ import annotations

import importlib

from keyarch.errors import BadInput
from keyarch.train.tasks.base import Objective, Task
from keyarch.train.tasks.classification import ClassificationTask

# name -> "module:class"
TASKS = {
    "classification": "keyarch.train.tasks.classification:Classification",
    "captioning": "keyarch.train.tasks.captioning:Captioning",
    "sequence-classification": "keyarch.train.tasks.sequences:SequenceClassification",
}
# the task that trains a model of each card task (ModelCard.task), by default
FOR_MODELS = {"image-classification": "classification",
              "sequence-classification": "sequence-classification"}  # fmt: skip


def task_class(name: str) -> type[Task]:
    if name not in TASKS:
        raise BadInput(f"task must be one of {', '.join(TASKS)}, got {name!r}")
    module, _, cls = TASKS[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def default_task(model: str) -> str:
    """The task that trains ``model`` (``keyarch train NAME`` picks it from the card)."""
    from keyarch.registry import model_card

    return FOR_MODELS[model_card(model).task]


__all__ = ["TASKS", "ClassificationTask", "Objective", "Task", "default_task", "task_class"]
