"""The papers' claims as experiments anyone reruns: one module each, holding its ``CLAIM``,
its ``PROFILES`` and ``measure(trial) -> Report`` (``keyarch.experiments.frame``).

``keyarch experiment NAME [--profile quick|full] [--seeds N] --out DIR`` runs one and
writes its report folder (``keyarch.experiments.report``). ``quick`` profiles run in
seconds on a small setting and are what CI checks (the direction of the effect);
``full`` profiles are what ``docs/experiments.md`` reports.
"""

from __future__ import annotations

import importlib

from keyarch.errors import BadInput
from keyarch.experiments.report import Report

# name -> module; the order of the issue that asked for them
EXPERIMENTS = {
    "relu-vs-tanh": "keyarch.experiments.relu_vs_tanh",
    "depth-and-bypass": "keyarch.experiments.depth_and_bypass",
    "lenet5-mnist": "keyarch.experiments.lenet5_mnist",
    "lstm-vs-rnn": "keyarch.experiments.lstm_vs_rnn",
    "alexnet-tricks": "keyarch.experiments.alexnet_tricks",
    "captioning-end-to-end": "keyarch.experiments.captioning_end_to_end",
    "efficiency-frontier": "keyarch.experiments.efficiency_frontier",
}
PROFILES = ("quick", "full")


def list_experiments() -> list[str]:
    return list(EXPERIMENTS)


GENERATED = ("lstm-vs-rnn",)  # experiments whose data is generated, not read


def run_experiment(name: str, profile: str = "quick", seeds: int | None = None,
                   out=None, data_dir=None) -> Report:  # fmt: skip
    """Run experiment ``name``; with ``out``, its figures and training runs go into that
    folder (a rerun of the same command reads back the runs that finished and resumes
    the others). ``data_dir``: where the datasets are (as ``keyarch train --data-dir``)."""
    if profile not in PROFILES:
        raise BadInput(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    if seeds is not None and (isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1):
        raise BadInput(f"seeds must be a whole number of at least 1, got {seeds!r}")
    module = experiment_module(name)
    from keyarch.data.sources import check_data_dir

    check_data_dir(data_dir, must_exist=True)  # a typo must not fall back to embedded data
    if data_dir is not None and name in GENERATED:
        raise BadInput(f"--data-dir {data_dir}: {name} generates its data and reads no dataset; "
                       "drop --data-dir")  # fmt: skip
    from keyarch.experiments.frame import Trial

    return module.measure(Trial(module.CLAIM, module.PROFILES, profile, seeds, out, data_dir))


def experiment_module(name: str):
    """The module of experiment ``name``: its ``CLAIM``, ``PROFILES`` and ``measure``, and
    ``rejudge`` where it has one."""
    if name not in EXPERIMENTS:
        raise BadInput(f"unknown experiment {name!r}; expected one of {', '.join(EXPERIMENTS)}")
    return importlib.import_module(EXPERIMENTS[name])


__all__ = ["EXPERIMENTS", "Report", "experiment_module", "list_experiments", "run_experiment"]
