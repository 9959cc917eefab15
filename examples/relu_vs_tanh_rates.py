"""The learning rates behind relu-vs-tanh, measured: the figures its report and its quick
profile cite without a run of their own.

    python examples/relu_vs_tanh_rates.py --data-dir ../shared/datasets \
        --out docs/experiments/relu-vs-tanh-full/rates.json

Writes (1) ``full``: tanh at 0.1, one rate above the full profile's grid, on the full
profile's setting (all 50,000 images, batch 128, seed 0): its training error after the
grid's 2 epochs, the figure the full grid chose 0.03 by (the report's tuning rows give the
grid's own); (2) ``quick``: every rate of the grid for both activations on the quick
profile's setting (5,000 images, batch 32, seed 0), the training error after 5 epochs, by
which the quick profile's fixed rates were chosen. The threads used are in the file.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from keyarch.cli.common import positive_int
from keyarch.experiments.relu_vs_tanh import (
    ACTIVATIONS,
    GRID,
    PROFILES,
    WINDOWS,
    load_images,
    train_curve,
)
from keyarch.train.checkpoint import atomic_write


def error_after(activation: str, rate: float, x, y, epochs: int, batch: int) -> float:
    """The running training error (%) over the last epoch of ``epochs``, seed 0."""
    curve = train_curve(activation, rate, 0, x, y, epochs, batch_size=batch)
    return round(statistics.mean(curve[-WINDOWS:]), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="where cifar10-jpeg is")
    parser.add_argument("--out", required=True, help="the JSON file to write")
    parser.add_argument("--threads", type=positive_int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    full, quick = PROFILES["full"], PROFILES["quick"]
    x, y, _ = load_images(args.data_dir, full["train_limit"])
    tanh_01 = error_after("tanh", 0.1, x, y, full["tune_epochs"], full["batch"])
    print(f"full setting, tanh at 0.1: {tanh_01} % after {full['tune_epochs']} epochs")
    x, y, _ = load_images(args.data_dir, quick["train_limit"])
    grid = {
        activation: {f"{rate:g}": error_after(activation, rate, x, y, 5, quick["batch"])
                     for rate in GRID}
        for activation in ACTIVATIONS
    }  # fmt: skip
    print(f"quick setting, error after 5 epochs: {grid}")
    result = {
        "full": {"activation": "tanh", "lr": 0.1, "epochs": full["tune_epochs"],
                 "batch": full["batch"], "seed": 0,
                 "train_error_percent_last_epoch": tanh_01},
        "quick": {"train_limit": quick["train_limit"], "batch": quick["batch"], "epochs": 5,
                  "seed": 0, "train_error_percent_last_epoch": grid},
        "threads": args.threads,
        "seconds": round(time.perf_counter() - started, 1),
    }  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write(Path(args.out), (json.dumps(result, indent=2) + "\n").encode())


if __name__ == "__main__":
    main()
