"""The charts of Canziani, Paszke and Culurciello (2016), drawn from a ``keyarch bench``
folder: PNG and SVG files a person reads.

Fig. 1   top-1 (and top-5) per network
Fig. 2   top-1 against operations, parameters as bubble size
Fig. 3   inference time per image against batch size, small multiples by family
Fig. 5   measured memory against batch size (counted memory dashed), knees marked
Fig. 6   measured memory at batch 1 against parameters, the linear fit and its r^2
Fig. 7   time per image against operations at batch 1 and 16, fits and their r^2
Fig. 9   top-1 against images per second, blob size: operations; the upper bound shaded
Fig. 10  top-1 per million parameters (accuracy density), as dots
roofline achieved multiply-accumulates per second against arithmetic intensity
Figs. 4, 8  power against batch size, energy against operations: where energy was read

Every chart gives a family one colour and each of its models a marker of its own, the same
in every figure; it names a chosen few models beside their points (the paper's networks
and the extremes) and the rest in the legend. Accuracy is never measured here: it is each
model card's published single-crop ILSVRC-2012 validation top-1, and every chart that
shows it says so. SVGs keep their text as text and carry no date.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keyarch.analysis.findings import Fit, linear_fit, memory_shape, pareto_frontier

__all__ = ["Fit", "linear_fit", "plot_all", "setting_text"]

ACCURACY_NOTE = (
    "top-1: published single-crop ILSVRC-2012 val accuracy from each model's "
    "card, not measured here"
)
IMAGENET_SIZE = 200  # models whose default input is at least this wide are ImageNet models
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p")
# the networks of the paper's figures, named beside their points wherever they appear
PAPER_MODELS = (
    "alexnet",
    "googlenet",
    "vgg16",
    "vgg19",
    "resnet18",
    "resnet50",
    "resnet152",
    "inception_v3",
    "inception_v4",
    "bn_inception",
)


def memory_knee(curve: dict) -> float:
    """The batch at which the activations reach the fixed part, from the straight line
    through the curve at large batches."""
    return memory_shape(curve).knee


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


class Style:
    """A colour per family and a marker per model, shared by every chart of a folder."""

    def __init__(self, models: list[dict]) -> None:
        import matplotlib

        families = sorted({m["family"] for m in models})
        palette = matplotlib.colormaps["tab20"].colors
        self.colour = {f: palette[i % len(palette)] for i, f in enumerate(families)}
        self.marker = {}
        for family in families:
            members = sorted(m["model"] for m in models if m["family"] == family)
            for i, name in enumerate(members):
                self.marker[name] = MARKERS[i % len(MARKERS)]
        self.family = {m["model"]: m["family"] for m in models}

    def of(self, name: str) -> dict:
        return {"color": self.colour[self.family[name]], "marker": self.marker[name]}

    def legend(self, ax, names: list[str], **options) -> None:
        """Families as colours, models as markers, outside the plot on the right."""
        from matplotlib.lines import Line2D

        handles = []
        for family in sorted({self.family[n] for n in names}):
            handles.append(Line2D([], [], ls="", label=f"{family}:", color="none"))
            for name in sorted(n for n in names if self.family[n] == family):
                handles.append(
                    Line2D([], [], ls="", ms=5, mec="0.25", mew=0.4, label=name, **self.of(name))
                )
        ax.legend(
            handles=handles,
            fontsize=5.5,
            ncol=2 if len(handles) > 40 else 1,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            handletextpad=0.2,
            borderaxespad=0.0,
            **options,
        )


def chosen_labels(names: list[str], xs, ys, extra: int = 2) -> set[str]:
    """The paper's networks and, beside them, the ``extra`` lowest and highest on each
    axis: the points a chart names in place."""
    chosen = {n for n in names if n in PAPER_MODELS}
    for values in (xs, ys):
        order = np.argsort(values)
        chosen |= {names[i] for i in order[:extra]} | {names[i] for i in order[-extra:]}
    return chosen


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


def _labels(ax, names, xs, ys, chosen: set[str]) -> None:
    """Name the chosen points, nudging each label off the ones already placed."""
    placed: list[tuple[float, float]] = []
    for name, x, y in sorted(zip(names, xs, ys, strict=True), key=lambda p: p[1]):
        if name not in chosen:
            continue
        px, py = ax.transData.transform((x, y))
        dy = 3
        while any(abs(px - qx) < 60 and abs(py + dy - qy) < 8 for qx, qy in placed):
            dy += 8
        placed.append((px, py + dy))
        ax.annotate(
            name,
            (x, y),
            xytext=(4, dy),
            textcoords="offset points",
            fontsize=6.5,
            color="0.15",
            arrowprops={"arrowstyle": "-", "lw": 0.3, "color": "0.5"} if dy > 11 else None,
        )


def _scatter(ax, style: Style, names, xs, ys, sizes=None) -> None:
    for i, name in enumerate(names):
        ax.scatter(
            [xs[i]],
            [ys[i]],
            s=18 if sizes is None else sizes[i],
            alpha=0.8 if sizes is None else 0.45,
            edgecolors="0.25",
            linewidths=0.4,
            zorder=3,
            **style.of(name),
        )


def _save(fig, folder: Path, stem: str) -> list[Path]:
    import matplotlib

    paths = []
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "keyarch"}):
        for suffix in ("png", "svg"):
            path = folder / f"{stem}.{suffix}"
            metadata = {"Date": None} if suffix == "svg" else None
            fig.savefig(path, dpi=150, bbox_inches="tight", metadata=metadata)
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
    style = Style(models)
    setting = setting_text(document)
    peak = document.get("peak_macs_per_sec")
    paths: list[Path] = []
    for chart in (_fig1, _fig2, _fig3, _fig5, _fig6, _fig7, _fig9, _fig10):
        paths += chart(models, folder, setting, style)
    if peak:
        paths += _roofline(models, folder, setting, style, peak)
    if any(r.get("infer_energy_j") for m in models for r in m["rows"]):
        paths += _power(models, folder, setting, style)
    return paths


def setting_text(document: dict) -> str:
    s, machine = document["settings"], document["machine"]
    where = machine.get("gpu") or f"{machine['cpu']}, {s['threads']} threads"
    layout = ", channels-last" if s["channels_last"] else ""
    fused = ", fused" if s["fused"] else ""
    amp = ", autocast" if s.get("amp") else ""
    return f"{s['device']} ({where}), {s['dtype']}{amp}{layout}{fused}, torch {machine['torch']}"


def _rated(models) -> list[dict]:
    return [m for m in models if m["top1"] is not None]


def _fig1(models, folder, setting, style):
    plt = _plt()
    rated = sorted(_rated(models), key=lambda m: m["top1"])
    fig, ax = plt.subplots(figsize=(8, max(3.5, 0.2 * len(rated) + 1.5)))
    y = np.arange(len(rated))
    colours = [style.colour[m["family"]] for m in rated]
    top5 = [m["top5"] if m["top5"] is not None else np.nan for m in rated]
    ax.barh(y, top5, color=colours, alpha=0.3, label="top-5")
    ax.barh(y, [m["top1"] for m in rated], color=colours, alpha=0.9, label="top-1")
    ax.set_yticks(y, [f"{m['model']} ({m['top1']:.1f} %)" for m in rated], fontsize=6.5)
    ax.set_xlim(40, 100)
    ax.set_xlabel("accuracy [%] (top-1 dark, top-5 light)")
    ax.set_title("Top-1 and top-5 accuracy per network (Canziani Fig. 1)", fontsize=10)
    ax.grid(alpha=0.3, axis="x")
    _footer(fig, f"{ACCURACY_NOTE}; colour: family.")
    return _save(fig, folder, "fig1_accuracy_per_network")


def _fig2(models, folder, setting, style):
    plt = _plt()
    rated = _rated(models)
    fig, ax = plt.subplots(figsize=(9, 6))
    if rated:
        names = [m["model"] for m in rated]
        xs, ys = [m["infer_gmacs"] for m in rated], [m["top1"] for m in rated]
        _scatter(ax, style, names, xs, ys, [m["param_count"] * 6 + 10 for m in rated])
        ax.set_xscale("log")
        _labels(ax, names, xs, ys, chosen_labels(names, xs, ys))
        style.legend(ax, names, title="bubble area: parameters", title_fontsize=6)
    _plain_ticks(ax.xaxis)
    ax.set_xlabel("operations per image [G multiply-accumulates] (log scale)")
    ax.set_ylabel("top-1 accuracy [%]")
    ax.set_title("Top-1 accuracy against operations, bubble area: parameters (Canziani Fig. 2)")
    ax.grid(alpha=0.3)
    _footer(fig, f"{ACCURACY_NOTE}. Operations counted by keyarch at each model's input.")
    return _save(fig, folder, "fig2_accuracy_vs_operations")


def _per_image_ms(row) -> float:
    return row["infer_step_time"] / row["infer_batch_size"]


def _families_grid(plt, models, per_panel: int = 12):
    """Small multiples: one panel per family (large families split), at most
    ``per_panel`` series each."""
    panels: list[tuple[str, list[dict]]] = []
    for family in sorted({m["family"] for m in models}):
        members = sorted((m for m in models if m["family"] == family), key=lambda m: m["model"])
        for start in range(0, len(members), per_panel):
            panels.append((family, members[start : start + per_panel]))
    columns = 4
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(14, 2.9 * rows), sharex=True, sharey=True, squeeze=False
    )
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    return fig, list(zip(axes.flat, panels, strict=False))


def _batch_panel(ax, family: str, legend: str) -> None:
    """One family's panel: log-log over batch sizes, its models in the legend."""
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    _plain_ticks(ax.xaxis)
    _plain_ticks(ax.yaxis)
    ax.set_title(family, fontsize=8)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=5.5, loc=legend)


def _grid_titles(fig, ylabel: str, title: str) -> None:
    fig.supxlabel("batch size (log scale)", fontsize=9)
    fig.supylabel(f"{ylabel} (log scale)", fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()


def _fig3(models, folder, setting, style):
    plt = _plt()
    chosen = imagenet_models(models)
    fig, grid = _families_grid(plt, chosen)
    for ax, (family, members) in grid:
        for m in members:
            rows = sorted(m["rows"], key=lambda r: r["infer_batch_size"])
            batches = [r["infer_batch_size"] for r in rows]
            per_image = [_per_image_ms(r) for r in rows]
            low = [r.get("infer_step_time_low", r["infer_step_time"]) / b for r, b in
                   zip(rows, batches, strict=True)]  # fmt: skip
            high = [r.get("infer_step_time_high", r["infer_step_time"]) / b for r, b in
                    zip(rows, batches, strict=True)]  # fmt: skip
            look = style.of(m["model"])
            ax.plot(batches, per_image, lw=1, ms=3, label=m["model"], **look)
            ax.fill_between(batches, low, high, color=look["color"], alpha=0.25, lw=0)
        _batch_panel(ax, family, "upper right")
    _grid_titles(
        fig,
        "inference time per image [ms]",
        f"Inference time per image against batch size (Canziani Fig. 3)\n{setting}",
    )
    _footer(
        fig,
        "Median of the timed calls; band: the 95 % bootstrap interval of the median. "
        "ImageNet-size models, one panel per family.",
    )
    return _save(fig, folder, "fig3_time_vs_batch")


def _measured(m) -> dict:
    return (m.get("measured_memory") or {}).get("measured_mb", {})


def _fig5(models, folder, setting, style):
    plt = _plt()
    chosen = [m for m in imagenet_models(models) if len(_measured(m)) >= 3] or imagenet_models(
        models
    )
    fig, grid = _families_grid(plt, chosen)
    for ax, (family, members) in grid:
        for m in members:
            look = style.of(m["model"])
            curve = _measured(m) or m["memory_mb"]
            batches = sorted(int(b) for b in curve)
            memory = [curve[str(b)] for b in batches]
            ax.plot(batches, memory, lw=1, ms=3, label=m["model"], **look)
            counted = [m["memory_mb"][str(b)] for b in batches if str(b) in m["memory_mb"]]
            if len(counted) == len(batches):
                ax.plot(batches, counted, lw=0.8, ls="--", color=look["color"])
            knee = memory_shape(curve).knee
            if batches[0] <= knee <= batches[-1]:
                ax.plot([knee], [np.interp(knee, batches, memory)], "o", ms=6, mfc="none",
                        mec=look["color"])  # fmt: skip
        _batch_panel(ax, family, "upper left")
    _grid_titles(
        fig,
        "inference memory [MB]",
        "Memory against batch size: measured (solid), counted (dashed), circle: the knee "
        f"(Canziani Fig. 5)\n{setting}",
    )
    _footer(
        fig,
        "Measured: growth of the resident set of a fresh process from before the model was "
        "built to the peak of one forward pass. Counted: weights, input and the peak of "
        "tensors. Knee: where the measured line at large batches says the activations reach "
        "the fixed part.",
    )
    return _save(fig, folder, "fig5_memory_vs_batch")


def _scatter_with_fit(ax, style: Style, names, xs, ys, legend: str) -> None:
    """The models' points, their least-squares line (``legend`` formatted with the fit's
    slope, intercept and r2) and the chosen few named."""
    _scatter(ax, style, names, xs, ys)
    if len(names) >= 2:
        fit = linear_fit(xs, ys)
        line = np.linspace(0, max(xs) * 1.05, 50)
        label = legend.format(slope=fit.slope, intercept=fit.intercept, r2=fit.r2)
        ax.plot(line, fit(line), color="0.3", lw=1, label=label)
        ax.legend(fontsize=8, loc="upper left")
    _labels(ax, names, xs, ys, chosen_labels(names, xs, ys))


def _fig6(models, folder, setting, style):
    plt = _plt()
    chosen = [m for m in imagenet_models(models) if "1" in _measured(m)]
    measured = bool(chosen)
    chosen = chosen or imagenet_models(models)
    names = [m["model"] for m in chosen]
    xs = [m["param_count"] for m in chosen]
    ys = [(_measured(m) or m["memory_mb"])["1"] for m in chosen]
    fig, ax = plt.subplots(figsize=(9, 6))
    _scatter_with_fit(ax, style, names, xs, ys, "{slope:.2f} MB per M parameters + "
                      "{intercept:.0f} MB, r$^2$ = {r2:.3f}")  # fmt: skip
    ax.set_xlabel("parameters [millions]")
    ax.set_ylabel(f"{'measured' if measured else 'counted'} inference memory at batch 1 [MB]")
    ax.set_title("Memory at batch 1 against parameters (Canziani Fig. 6)")
    ax.grid(alpha=0.3)
    _footer(fig, "Memory measured as in Fig. 5; a float32 parameter takes 4 bytes, 3.81 MB/M.")
    return _save(fig, folder, "fig6_memory_vs_parameters")


def _fig7(models, folder, setting, style):
    plt = _plt()
    chosen = imagenet_models(models)
    batches = sorted({min(timed_batches(chosen)), second_batch(chosen)})
    fig, axes = plt.subplots(1, len(batches), figsize=(12, 5.5), squeeze=False)
    for ax, batch in zip(axes[0], batches, strict=True):
        points = [(m, row_at(m, batch)) for m in chosen if row_at(m, batch)]
        names = [m["model"] for m, _ in points]
        xs = [m["infer_gmacs"] for m, _ in points]
        ys = [_per_image_ms(r) for _, r in points]
        _scatter_with_fit(ax, style, names, xs, ys, "{slope:.1f} ms per GMAC + "
                          "{intercept:.2f} ms, r$^2$ = {r2:.3f}")  # fmt: skip
        ax.set_xlabel("operations per image [G multiply-accumulates]")
        ax.set_ylabel(f"inference time per image at batch {batch} [ms]")
        ax.set_title(f"batch {batch}")
        ax.grid(alpha=0.3)
    fig.suptitle(f"Operations against inference time (Canziani Fig. 7)\n{setting}", fontsize=10)
    _footer(fig, "Time per image: the median step time over the batch size.")
    return _save(fig, folder, "fig7_operations_vs_time")


def _fig9(models, folder, setting, style):
    plt = _plt()
    batch = second_batch(models)
    rated = [(m, row_at(m, batch)) for m in _rated(models) if row_at(m, batch)]
    fig, ax = plt.subplots(figsize=(9, 6))
    if rated:
        names = [m["model"] for m, _ in rated]
        xs = [r["infer_samples_per_sec"] for _, r in rated]
        ys = [m["top1"] for m, _ in rated]
        _scatter(ax, style, names, xs, ys, [m["infer_gmacs"] * 25 + 8 for m, _ in rated])
        ax.set_xscale("log")
        frontier = pareto_frontier(list(zip(xs, ys, names, strict=True)))
        ax.plot([p[0] for p in frontier], [p[1] for p in frontier], color="0.4", lw=0.8, ls=":")
        if len(frontier) >= 3:
            from keyarch.analysis.findings import accuracy_bound

            bound = accuracy_bound(list(zip(xs, ys, names, strict=True))).details["bound"]
            line = np.geomspace(min(xs) / 1.3, max(xs) * 1.3, 50)
            top = bound(np.log10(line))
            ax.plot(line, top, color="0.3", lw=1, ls="--", label="upper bound")
            ax.fill_between(line, top, 100, color="0.85", alpha=0.6, lw=0, label="no model")
            ax.set_ylim(min(ys) - 3, max(ys) + 4)
        _labels(ax, names, xs, ys, chosen_labels(names, xs, ys) | {p[2] for p in frontier})
        style.legend(ax, names, title="blob area: operations", title_fontsize=6)
    _plain_ticks(ax.xaxis)
    ax.set_xlabel(f"images per second at batch {batch} (log scale)")
    ax.set_ylabel("top-1 accuracy [%]")
    ax.set_title(
        f"Top-1 accuracy against inferences per second (Canziani Fig. 9)\n{setting}", fontsize=10
    )
    ax.grid(alpha=0.3, which="both")
    _footer(
        fig,
        f"{ACCURACY_NOTE}. Dotted: the Pareto frontier; dashed: the straight upper bound fitted "
        "to it and raised until no model lies above it; shaded: where no model is.",
    )
    return _save(fig, folder, "fig9_accuracy_vs_throughput")


def _fig10(models, folder, setting, style):
    plt = _plt()
    rated = sorted(_rated(models), key=lambda m: m["top1"] / m["param_count"])
    fig, ax = plt.subplots(figsize=(8, max(3.5, 0.2 * len(rated) + 1.5)))
    for i, m in enumerate(rated):
        ax.plot([m["top1"] / m["param_count"]], [i], ms=5, ls="", mec="0.25", mew=0.4,
                **style.of(m["model"]))  # fmt: skip
    ax.set_yticks(
        range(len(rated)), [f"{m['model']} ({m['top1']:.1f} %)" for m in rated], fontsize=6.5
    )
    if rated:
        ax.set_xscale("log")
        _plain_ticks(ax.xaxis)
    ax.set_xlabel("top-1 accuracy per million parameters [% / M] (log scale)")
    ax.set_title("Accuracy density: top-1 per parameter (Canziani Fig. 10)", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    _footer(fig, f"{ACCURACY_NOTE}; colour: family.")
    return _save(fig, folder, "fig10_accuracy_density")


def _roofline(models, folder, setting, style, peak):
    plt = _plt()
    chosen = imagenet_models(models)
    batches = timed_batches(chosen)
    low, high = min(batches), max(batches)
    fig, ax = plt.subplots(figsize=(9, 6))
    names, xs, ys = [], [], []
    for m in chosen:
        a, b = row_at(m, low), row_at(m, high)
        if not (a and b):
            continue
        look = style.of(m["model"])
        ax.plot(
            [a["infer_intensity"], b["infer_intensity"]],
            [a["infer_gmacs_per_sec"], b["infer_gmacs_per_sec"]],
            color=look["color"],
            lw=0.7,
            alpha=0.6,
        )
        ax.plot([a["infer_intensity"]], [a["infer_gmacs_per_sec"]], ls="", ms=4, mfc="none",
                mec=look["color"], marker=look["marker"])  # fmt: skip
        ax.plot([b["infer_intensity"]], [b["infer_gmacs_per_sec"]], ls="", ms=5, mec="0.25",
                mew=0.4, **look)  # fmt: skip
        names.append(m["model"])
        xs.append(b["infer_intensity"])
        ys.append(b["infer_gmacs_per_sec"])
    ax.axhline(peak / 1e9, color="0.2", lw=1, ls="--")
    ax.text(min(xs or [1]), peak / 1e9 * 1.05, f"measured peak {peak / 1e9:.0f} GMAC/s",
            fontsize=7)  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_ticks(ax.xaxis)
    _plain_ticks(ax.yaxis)
    if names:
        _labels(ax, names, xs, ys, chosen_labels(names, xs, ys))
        style.legend(ax, names)
    ax.set_xlabel("arithmetic intensity [MACs per byte of weights and activations] (log scale)")
    ax.set_ylabel("achieved [G multiply-accumulates per second] (log scale)")
    ax.set_title(f"The roofline: batch {low} (hollow) to batch {high} (filled)\n{setting}",
                 fontsize=10)  # fmt: skip
    ax.grid(alpha=0.3, which="both")
    _footer(
        fig,
        "Peak: the fastest of five 2048 x 2048 matrix products, same dtype and threads. "
        "Intensity: operations over the bytes of the weights and the activations "
        "convolutions and matrix products write, at that batch.",
    )
    return _save(fig, folder, "roofline")


def _power(models, folder, setting, style):
    """Figs. 4 and 8 where energy was measured: power against batch size, and energy per
    image against operations."""
    plt = _plt()
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5))
    names, xs, ys = [], [], []
    for m in imagenet_models(models):
        rows = sorted((r for r in m["rows"] if r.get("infer_energy_j")),
                      key=lambda r: r["infer_batch_size"])  # fmt: skip
        if not rows:
            continue
        look = style.of(m["model"])
        watts = [r["infer_energy_j"] / (r["infer_step_time"] / 1e3) for r in rows]
        left.plot([r["infer_batch_size"] for r in rows], watts, lw=0.8, ms=3, **look)
        names.append(m["model"])
        xs.append(m["infer_gmacs"])
        ys.append(rows[-1]["infer_energy_j"] / rows[-1]["infer_batch_size"])
    left.set_xscale("log", base=2)
    _plain_ticks(left.xaxis)
    left.set_xlabel("batch size (log scale)")
    left.set_ylabel("power [W]")
    left.set_title("Power against batch size (Canziani Fig. 4)", fontsize=9)
    left.grid(alpha=0.3)
    _scatter(right, style, names, xs, ys)
    _labels(right, names, xs, ys, chosen_labels(names, xs, ys))
    right.set_xlabel("operations per image [G multiply-accumulates]")
    right.set_ylabel("energy per image at the largest batch [J]")
    right.set_title("Energy against operations (Canziani Fig. 8)", fontsize=9)
    right.grid(alpha=0.3)
    style.legend(right, names)
    fig.suptitle(setting, fontsize=9)
    _footer(fig, "Energy read from the machine's counter (RAPL or NVML) around the timed calls.")
    return _save(fig, folder, "fig4_fig8_power")
