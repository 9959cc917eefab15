"""Per-epoch metrics: a CSV file, TensorBoard events and a PNG of the learning curves."""

from __future__ import annotations

import csv
import io
from pathlib import Path

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
