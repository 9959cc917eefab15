"""What a run reports: per epoch a CSV file, TensorBoard events and a PNG of the learning
curves; at the end the summary (``summary.json``)."""

from __future__ import annotations

import csv
import io
import json
import platform
import time
from dataclasses import asdict
from pathlib import Path

import torch

from keyarch.analysis.complexity import count_parameters
from keyarch.outputs import atomic_write


def write_csv(path: Path, history: list[dict[str, float]]) -> None:
    """The whole history, rewritten atomically (a resumed run rewrites what it inherited)."""
    columns = list(dict.fromkeys(key for row in history for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(history)
    atomic_write(path, buffer.getvalue().encode())


class TensorBoard:
    """Scalars per epoch under ``run_dir/tensorboard``; ``writer`` is None when tensorboard
    (the ``tensorboard`` extra) is not installed, which the run says."""

    def __init__(self, run_dir: Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            self.writer = None
        else:
            self.writer = SummaryWriter(str(run_dir / "tensorboard"))

    def log(self, row: dict[str, float]) -> None:
        if self.writer is None:
            return
        for key, value in row.items():
            if key != "epoch":
                self.writer.add_scalar(key.replace("_", "/", 1), value, int(row["epoch"]))
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def plot_curves(path: Path, history: list[dict[str, float]], title: str) -> None:
    """Loss and accuracy (or BLEU) against epoch, training and evaluation, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = [row["epoch"] for row in history]
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(10, 4))
    for key in [k for k in history[-1] if k.endswith("_loss")]:
        label = key.removesuffix("_loss")
        loss_axis.plot(epochs, [row[key] for row in history], marker="o", label=label)
    scores = [k for k in history[-1] if any(m in k for m in ("_top", "accuracy", "_bleu"))]
    if any("bleu" in k for k in scores):  # captioning: the headline scores, not all eleven
        shown = ("word_accuracy", "bleu4", "relation_accuracy", "exact_match")
        scores = [k for k in history[-1] if k.endswith(shown)]
    for key in scores:
        values = [100 * row.get(key, float("nan")) for row in history]
        accuracy_axis.plot(epochs, values, marker="o", label=key.replace("_", " "))
    loss_axis.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    bleu = any("bleu" in k for k in scores)
    accuracy_axis.set(xlabel="epoch", ylabel="score (%)" if bleu else "accuracy (%)",
                      title="word accuracy and BLEU" if bleu else "accuracy")  # fmt: skip
    for axis in (loss_axis, accuracy_axis):
        axis.grid(alpha=0.3)
        axis.legend(fontsize="small")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    atomic_write(path, buffer.getvalue())


def report_epoch(directory: Path, history: list[dict], board, title: str) -> None:
    write_csv(directory / "metrics.csv", history)
    plot_curves(directory / "curves.png", history, title)
    board.log(history[-1])


def final_scores(row: dict, evaluated: str, average_kept: bool) -> dict:
    """The last epoch's test scores for the summary. The unprefixed ones (``test_top1``)
    are those of the saved weights: with the average kept (recipe ``ema_result``), the
    average's, and the trained weights' move to ``trained_test_*``; ``ema_test_*`` are the
    average's in either case. ``saved_weights`` says which model.safetensors holds."""
    trained = {k: v for k, v in row.items() if k.startswith(f"{evaluated}_")}
    averaged = {k: v for k, v in row.items() if k.startswith(f"ema_{evaluated}_")}
    if not averaged:
        return trained
    if not average_kept:
        return trained | averaged | {"saved_weights": "trained"}
    return (
        {k.removeprefix("ema_"): v for k, v in averaged.items()}
        | averaged
        | {f"trained_{k}": v for k, v in trained.items()}
        | {"saved_weights": "average"}
    )


def run_summary(run, started: float, train_seconds: float) -> dict:
    """What ``summary.json`` holds: the data, the recipe, the final scores, the speed, the
    arguments, the versions and where the run computed."""
    import torchvision

    from keyarch import __version__

    config, recipe, data, progress = run.config, run.task.recipe, run.task.data, run.progress
    model, context, objective = run.model, run.context, run.objective
    final = progress["history"][-1] if progress["history"] else {}
    arguments = {k: v for k, v in asdict(config).items() if k not in ("log", "recipe")}
    summary = {
        "model": config.model,
        "task": config.task,
        "dataset": data.title,
        "data": {
            "name": run.task.dataset,
            "provenance": data.provenance,
            "embedded": data.embedded,
            "train_images": len(data.train),
            f"{objective.evaluated}_images": len(data.test),
        },
        "recipe": asdict(recipe),
        "epochs": recipe.epochs,
        **final_scores(final, objective.evaluated, run.average is not None and recipe.ema_result),
        "train_images_per_second": sum(r["images_per_second"] for r in progress["history"])
        / max(len(progress["history"]), 1),
        "wall_seconds": round(time.time() - started, 2),
        "train_seconds_this_process": round(train_seconds, 2),
        "parameters": count_parameters(model),
        "arguments": arguments,
        "versions": {
            "keyarch": __version__,
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "python": platform.python_version(),
        },
        "device": str(context.device),
        "world_size": context.world_size,
        "threads": run.threads,
        "channels_last": run.channels_last,
        "loader_processes": data.workers,
        "seed": config.seed,
    }
    return json.loads(json.dumps(summary, default=str))  # what summary.json holds


def opening_line(run) -> str:
    """What the run says before its first step."""
    config, recipe, data, context = run.config, run.recipe, run.task.data, run.context
    loaders = (f"{data.workers} loader process{'es' * (data.workers > 1)}" if data.workers
               else f"batches {'augmented' if run.task.images else 'made'} on the device, no "
               "loader process")  # fmt: skip
    return (
        f"training {config.model} ({count_parameters(run.model):,} parameters) on "
        f"{data.title} with recipe {recipe.name}: {recipe.epochs} epochs of "
        f"{run.steps_per_epoch} steps, batch {recipe.batch_size}, on {context.device}"
        + (f" x {context.world_size} processes" if context.distributed else "")
        + f"; {run.threads} compute thread{'s' * (run.threads > 1)}, {loaders}"
        + ("; channels-last" if run.channels_last else "")
        + f"; run directory {run.directory}"
    )
