"""What a training run refuses before any data is read, beyond what its task refuses."""

from __future__ import annotations

import os

import torch

from keyarch.errors import BadInput
from keyarch.train.devices import usable_cores


def check_before_work(config, task) -> None:
    """What can be refused before any data is read (the task has refused what it cannot
    train): threads and loader processes beyond the cores, an input the network cannot
    take or this machine cannot hold, a --out folder keyarch cannot write."""
    from keyarch.analysis.inputs import check_input_size, check_threads
    from keyarch.outputs import check_folder

    if config.workers is not None and config.workers > usable_cores():
        raise BadInput(f"--workers {config.workers}: more loader processes than the "
                       f"{usable_cores()} cores this process may run on")  # fmt: skip
    check_threads(config.threads, workers=config.workers or 0)
    shape = task.input_shape()
    if shape is not None:
        on_cpu = config.device == "cpu" or (config.device == "auto"
                                            and not torch.cuda.is_available())  # fmt: skip
        check_input_size(task.card.name, shape, "--image-size", shown=str(shape[-1]),
                         batch=task.recipe.batch_size, training=True, memory=on_cpu)  # fmt: skip
    if os.environ.get("RANK", "0") == "0":  # the main process writes the run
        check_folder(config.out, "--out")
