"""Shared fixtures: models are built once per session, and on the meta device where only
shapes and counts matter.

The suite runs in pytest-xdist workers (``-n 2`` in pyproject.toml). Each worker is pinned
to a core of its own with one compute thread, and the processes it starts inherit the
pin: two workers never run more threads than the machine has cores, whatever a test asks
for (``keyarch train`` sizes its threads and loader processes from the cores it may use).
"""

from __future__ import annotations

import os

import pytest
import torch

import keyarch
from keyarch.analysis.against import randomise_batch_norm


def pin_worker_to_one_core() -> bool:
    """In an xdist worker ``gwN``, keep this process (and its children) to the N-th usable
    core, one compute thread, when there are at least as many cores as workers."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if not worker.startswith("gw") or not hasattr(os, "sched_setaffinity"):
        return False
    cores = sorted(os.sched_getaffinity(0))
    if count > len(cores):
        return False
    os.sched_setaffinity(0, {cores[int(worker[2:]) % len(cores)]})
    os.environ["OMP_NUM_THREADS"] = "1"
    return True


PINNED = pin_worker_to_one_core()


@pytest.fixture(autouse=True)
def one_thread_per_worker():
    """A test that sets its own thread count (``threads=2``) leaves the next test at one."""
    yield
    if PINNED:
        torch.set_num_threads(1)


if PINNED:
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def meta_models() -> dict[str, torch.nn.Module]:
    """Every registered model on the meta device (no memory, no initialisation cost)."""
    with torch.device("meta"):
        names = keyarch.list_models(task="image-classification")
        return {name: keyarch.create_model(name) for name in names}


def converted_model(
    reference: torch.nn.Module, name: str, source: str, **options
) -> torch.nn.Module:
    """keyarch's ``name`` holding ``reference``'s converted weights (its batch-norm
    statistics randomised first)."""
    from keyarch.compat import convert_state_dict

    randomise_batch_norm(reference)
    with torch.device("meta"):
        ours = keyarch.create_model(name, **options)
    state = convert_state_dict(name, reference.state_dict(), source)
    ours.load_state_dict(state, strict=True, assign=True)
    return ours


def converted_logit_difference(
    reference: torch.nn.Module, name: str, source: str, size: int
) -> float:
    """Max |logit difference| between ``reference`` and keyarch's ``name`` loaded with its
    converted weights (eval mode, two random images of ``size`` pixels)."""
    ours = converted_model(reference, name, source)
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        return (reference.eval()(x) - ours.eval()(x)).abs().max().item()


def embedded_train_args(out, name: str, model: str = "lenet5_modern", *extra: str) -> list[str]:
    """``keyarch train`` on a small fixed subset of the MNIST digits shipped in the package
    (later flags in ``extra`` override these)."""
    from keyarch.data.datasets import _embedded_mnist

    return ["train", model, "--dataset", "mnist", "--data-dir", str(_embedded_mnist()),
            "--out", str(out), "--run-name", name, "--train-limit", "256", "--test-limit", "64",
            "--epochs", "1", "--batch-size", "32", "--no-progress", *extra]  # fmt: skip


def cli_status(capsys, argv) -> tuple[int, str, str]:
    """Run ``keyarch ARGV`` in this process: (exit status, stdout, stderr)."""
    from keyarch.cli import main

    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err
