"""The charts of Canziani, Paszke and Culurciello (2016), drawn from a ``keyarch bench``
folder: PNG and SVG files a person reads.

Fig. 2   top-1 against operations, parameters as bubble size
Fig. 3   inference time per image against batch size
Fig. 5   memory against batch size, with the knee where activations overtake the weights
Fig. 6   memory against parameters, with the linear fit and its r^2
Fig. 7   operations against inference time at batch 1 and 16, linear fits and their r^2
Fig. 9   top-1 against images per second
Fig. 10  top-1 per million parameters (accuracy density)

Their Figs. 4 and 8 plot power, which keyarch cannot read on a general machine: left out.
Accuracy is never measured here: it is each model card's published single-crop ILSVRC-2012
validation top-1, and every chart that shows it says so. Timings, memory and operations
are of the machine and settings the folder was measured with, named in each title.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

ACCURACY_NOTE = (
    "top-1: published single-crop ILSVRC-2012 val accuracy from each model's "
    "card, not measured here"
)
IMAGENET_SIZE = 200  # models whose default input is at least this wide are ImageNet models


@dataclass(frozen=True)
class Fit:
    """y = slope * x + intercept, and the coefficient of determination."""

    slope: float
    intercept: float
    r2: float


def linear_fit(x, y) -> Fit:
    x, y = np.asarray(x, float), np.asarray(y, float)
    slope, intercept = np.polyfit(x, y, 1)
    residual = ((y - (slope * x + intercept)) ** 2).sum()
    total = ((y - y.mean()) ** 2).sum()
    return Fit(float(slope), float(intercept), float(1 - residual / total) if total else 1.0)


def memory_knee(curve: dict) -> float:
    """The batch size at which the activations reach the size of everything else (weights
    and the fixed part), from the straight line through the curve's two largest batches."""
    batches = sorted(int(b) for b in curve)
    (b1, m1), (b2, m2) = [(b, curve[str(b)]) for b in batches[-2:]]
    per_image = (m2 - m1) / (b2 - b1)
    fixed = m2 - per_image * b2
    return fixed / per_image if per_image > 0 else float("inf")


def imagenet_models(models: list[dict]) -> list[dict]:
    """The ImageNet-size models, which the timing and memory charts compare (small-input
    models would sit in one corner); all models when none is ImageNet-size."""
    large = [m for m in models if m["img_size"] >= IMAGENET_SIZE]
    return large or models


def row_at(figures: dict, batch: int) -> dict | None:
    return next((r for r in figures["rows"] if r["infer_batch_size"] == batch), None)


def timed_batches(models: list[dict]) -> list[int]:
    return sorted({r["infer_batch_size"] for m in models for r in m["rows"]})


def second_batch(models: list[dict], wanted: int = 16) -> int:
    """Canziani's second batch size (16), or the largest measured when 16 was not."""
    batches = timed_batches(models)
    return wanted if wanted in batches else max(batches)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _plain_ticks(axis) -> None:
    """Log-scale ticks as plain numbers (0.3, 1, 10), not powers of ten."""
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def _label(ax, x, y, text) -> None:
    ax.annotate(text, (x, y), xytext=(3, 3), textcoords="offset points", fontsize=6.5, color="0.2")


def _save(fig, folder: Path, stem: str) -> list[Path]:
    paths = []
    for suffix in ("png", "svg"):
        path = folder / f"{stem}.{suffix}"
        fig.savefig(path, dpi=150, bbox_inches="tight")
        paths.append(path)
    _plt().close(fig)
    return paths


def _footer(fig, text: str) -> None:
    fig.text(0.01, -0.01, text, fontsize=7, color="0.35", ha="left", va="top", wrap=True)


def plot_all(document: dict, folder: str | Path) -> list[Path]:
    """Every chart of ``document`` (a bench.json) into ``folder``; returns the files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    models = [m for m in document["models"] if m["rows"]]
    setting = setting_text(document)
    paths: list[Path] = []
    for chart in (_fig2, _fig3, _fig5, _fig6, _fig7, _fig9, _fig10):
        paths += chart(models, folder, setting)
    return paths


def setting_text(document: dict) -> str:
    s, machine = document["settings"], document["machine"]
    where = machine.get("gpu") or f"{machine['cpu']}, {s['threads']} threads"
    layout = ", channels-last" if s["channels_last"] else ""
    fused = ", fused" if s["fused"] else ""
    return f"{s['device']} ({where}), {s['dtype']}{layout}{fused}, torch {machine['torch']}"


def _fig2(models, folder, setting):
    plt = _plt()
    rated = [m for m in models if m["top1"] is not None]
    fig, ax = plt.subplots(figsize=(9, 6))
    if rated:
        params = np.array([m["param_count"] for m in rated])
        ax.scatter(
            [m["gmacs"] for m in rated],
            [m["top1"] for m in rated],
            s=params * 8 + 10,
            alpha=0.45,
            c=range(len(rated)),
            cmap="tab20",
            edgecolors="0.3",
        )
        for m in rated:
            _label(ax, m["gmacs"], m["top1"], m["model"])
        for size in (5, 25, 100):
            ax.scatter([], [], s=size * 8 + 10, c="0.8", edgecolors="0.3", label=f"{size} M")
        ax.legend(
            title="parameters", loc="lower right", labelspacing=1.6, borderpad=1.2, fontsize=8
        )
    ax.set_xscale("log")
    _plain_ticks(ax.xaxis)
    ax.set_xlabel("operations per image [G multiply-accumulates] (log scale)")
    ax.set_ylabel("top-1 accuracy [%]")
    ax.set_title("Top-1 accuracy against operations, bubble size: parameters (Canziani Fig. 2)")
    ax.grid(alpha=0.3)
    _footer(fig, f"{ACCURACY_NOTE}. Operations counted by keyarch at each model's default input.")
    return _save(fig, folder, "fig2_accuracy_vs_operations")


def _per_image_ms(row) -> float:
    return row["infer_step_time"] / row["infer_batch_size"]


def _batch_axes(ax, ylabel: str, title: str) -> None:
    """Log-log axes over batch sizes with one legend entry per model, outside the plot."""
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    _plain_ticks(ax.xaxis)
    _plain_ticks(ax.yaxis)
    ax.set_xlabel("batch size (log scale)")
    ax.set_ylabel(f"{ylabel} (log scale)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=6, ncol=2, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def _fig3(models, folder, setting):
    plt = _plt()
    chosen = imagenet_models(models)
    fig, ax = plt.subplots(figsize=(9, 6))
    cycle = plt.get_cmap("tab20").colors
    for i, m in enumerate(sorted(chosen, key=lambda m: -_per_image_ms(m["rows"][0]))):
        rows = sorted(m["rows"], key=lambda r: r["infer_batch_size"])
        ax.plot(
            [r["infer_batch_size"] for r in rows],
            [_per_image_ms(r) for r in rows],
            marker="o",
            ms=3,
            lw=1,
            color=cycle[i % 20],
            ls=("-", "--", ":")[i // 20 % 3],
            label=m["model"],
        )
    _batch_axes(
        ax,
        "inference time per image [ms]",
        f"Inference time per image against batch size (Canziani Fig. 3)\n{setting}",
    )
    _footer(
        fig,
        "Median of the timed calls per batch; ImageNet-size models, legend in order "
        "of time at the smallest batch.",
    )
    return _save(fig, folder, "fig3_time_vs_batch")


def _fig5(models, folder, setting):
    plt = _plt()
    chosen = imagenet_models(models)
    fig, ax = plt.subplots(figsize=(9, 6))
    cycle = plt.get_cmap("tab20").colors
    for i, m in enumerate(sorted(chosen, key=lambda m: -m["memory_mb"]["1"])):
        batches = sorted(int(b) for b in m["memory_mb"])
        memory = [m["memory_mb"][str(b)] for b in batches]
        color, style = cycle[i % 20], ("-", "--", ":")[i // 20 % 3]
        ax.plot(batches, memory, lw=1, color=color, ls=style, label=m["model"])
        knee = memory_knee(m["memory_mb"])
        if batches[0] <= knee <= batches[-1]:
            ax.plot([knee], [np.interp(knee, batches, memory)], "o", ms=4, color=color)
    _batch_axes(
        ax,
        "inference memory [MB]",
        f"Memory against batch size, dots: the knee (Canziani Fig. 5)\n{setting}",
    )
    _footer(
        fig,
        "Memory: weights + input + the forward pass's peak of activations, counted "
        "tensor by tensor (no allocator cache, no library workspace). Knee: the batch at "
        "which the activations reach the size of the weights.",
    )
    return _save(fig, folder, "fig5_memory_vs_batch")


def _scatter_with_fit(ax, names: list[str], x, y, describe) -> None:
    """Named points and, from two points on, their least-squares line, with ``describe(fit)``
    in the legend."""
    ax.scatter(x, y, s=16, color="tab:blue")
    for name, xi, yi in zip(names, x, y, strict=True):
        _label(ax, xi, yi, name)
    if len(names) >= 2:
        fit = linear_fit(x, y)
        line = np.linspace(0, max(x) * 1.05, 50)
        ax.plot(line, fit.slope * line + fit.intercept, color="tab:red", lw=1, label=describe(fit))
        ax.legend(fontsize=8, loc="upper left")


def _fig6(models, folder, setting):
    plt = _plt()
    chosen = imagenet_models(models)
    x = [m["param_count"] for m in chosen]
    y = [m["memory_mb"]["1"] for m in chosen]
    fig, ax = plt.subplots(figsize=(9, 6))
    _scatter_with_fit(
        ax,
        [m["model"] for m in chosen],
        x,
        y,
        lambda fit: (
            f"{fit.slope:.2f} MB per M parameters + {fit.intercept:.0f} MB, r$^2$ = {fit.r2:.3f}"
        ),
    )
    ax.set_xlabel("parameters [millions]")
    ax.set_ylabel("inference memory at batch 1 [MB]")
    ax.set_title("Memory at batch 1 against parameters (Canziani Fig. 6)")
    ax.grid(alpha=0.3)
    _footer(
        fig,
        "Memory counted as in Fig. 5 (weights, input and the forward pass's peak of "
        "activations); a float32 parameter takes 4 bytes, 3.81 MB per million.",
    )
    return _save(fig, folder, "fig6_memory_vs_parameters")


def _fig7(models, folder, setting):
    plt = _plt()
    chosen = imagenet_models(models)
    batches = [min(timed_batches(chosen)), second_batch(chosen)]
    fig, axes = plt.subplots(1, len(batches), figsize=(12, 5.5), squeeze=False)
    for ax, batch in zip(axes[0], batches, strict=True):
        points = [(m, row_at(m, batch)) for m in chosen if row_at(m, batch)]
        x = [m["gmacs"] for m, _ in points]
        y = [r["infer_step_time"] for _, r in points]
        _scatter_with_fit(
            ax,
            [m["model"] for m, _ in points],
            x,
            y,
            lambda fit: (
                f"{fit.slope:.1f} ms per GMAC + {fit.intercept:.1f} ms, r$^2$ = {fit.r2:.3f}"
            ),
        )
        ax.set_xlabel("operations per image [G multiply-accumulates]")
        ax.set_ylabel(f"inference step time at batch {batch} [ms]")
        ax.set_title(f"batch {batch}")
        ax.grid(alpha=0.3)
    fig.suptitle(f"Operations against inference time (Canziani Fig. 7)\n{setting}", fontsize=10)
    _footer(fig, "One step: a forward pass of the whole batch; median of the timed calls.")
    return _save(fig, folder, "fig7_operations_vs_time")


def _fig9(models, folder, setting):
    plt = _plt()
    batch = second_batch(models)
    rated = [(m, row_at(m, batch)) for m in models if m["top1"] is not None and row_at(m, batch)]
    fig, ax = plt.subplots(figsize=(9, 6))
    x = [r["infer_samples_per_sec"] for _, r in rated]
    y = [m["top1"] for m, _ in rated]
    ax.scatter(x, y, s=18, color="tab:green")
    for (m, _), xi, yi in zip(rated, x, y, strict=True):
        _label(ax, xi, yi, m["model"])
    ax.set_xscale("log")
    _plain_ticks(ax.xaxis)
    ax.set_xlabel(f"images per second at batch {batch} (log scale)")
    ax.set_ylabel("top-1 accuracy [%]")
    ax.set_title(
        f"Top-1 accuracy against inferences per second (Canziani Fig. 9)\n{setting}", fontsize=10
    )
    ax.grid(alpha=0.3, which="both")
    _footer(fig, f"{ACCURACY_NOTE}.")
    return _save(fig, folder, "fig9_accuracy_vs_throughput")


def _fig10(models, folder, setting):
    plt = _plt()
    rated = sorted(
        (m for m in models if m["top1"] is not None),
        key=lambda m: m["top1"] / m["param_count"],
        reverse=True,
    )
    fig, ax = plt.subplots(figsize=(9, max(4, 0.22 * len(rated) + 1.5)))
    density = [m["top1"] / m["param_count"] for m in rated]
    ax.barh(range(len(rated)), density, color="tab:purple", alpha=0.7)
    ax.set_yticks(
        range(len(rated)), [f"{m['model']} ({m['top1']:.1f} %)" for m in rated], fontsize=7
    )
    ax.invert_yaxis()
    if rated:
        ax.set_xscale("log")
        _plain_ticks(ax.xaxis)
    else:
        ax.text(
            0.5,
            0.5,
            "no measured model has a published ImageNet top-1",
            ha="center",
            transform=ax.transAxes,
        )
    ax.set_xlabel("top-1 accuracy per million parameters [% / M] (log scale)")
    ax.set_title("Accuracy density: top-1 per parameter (Canziani Fig. 10)")
    ax.grid(alpha=0.3, axis="x", which="both")
    _footer(fig, f"{ACCURACY_NOTE}.")
    return _save(fig, folder, "fig10_accuracy_density")
