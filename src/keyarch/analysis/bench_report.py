"""From a ``keyarch bench`` folder: the Keras-Applications-style table of every model and
the report that checks Canziani et al.'s findings on the machine it was measured on.

Each finding is computed from the folder, set beside the paper's statement, and given a
verdict, "holds here" or "differs here", with the numbers that decide it; the thresholds
that turn numbers into verdicts are keyarch's (the paper gives none) and are printed.
"""

from __future__ import annotations

import math
from pathlib import Path

from keyarch.analysis.charts import (
    ACCURACY_NOTE,
    imagenet_models,
    linear_fit,
    memory_knee,
    plot_all,
    row_at,
    second_batch,
    setting_text,
    timed_batches,
)

PAPER = (
    'Canziani, Paszke and Culurciello (2016), "An analysis of deep neural network models '
    'for practical applications", arXiv 1605.07678'
)
R2_HOLDS = 0.9  # keyarch's threshold for "operations predict inference time"


def _ms(row: dict | None) -> str:
    return f"{row['infer_step_time']:.1f}" if row else "-"


def model_table(document: dict) -> str:
    """Markdown: model, size, top-1, top-5, parameters, depth, ms per inference step at the
    smallest and largest measured batch sizes (and training step), as Keras lists them."""
    models = sorted(document["models"], key=lambda m: m["model"])
    batches = timed_batches(models)
    low, high = min(batches), max(batches)
    where = document["machine"].get("gpu") or document["machine"]["cpu"]
    lines = [
        "| Model | Size (MB) | Top-1 | Top-5 | Parameters | Depth | GMACs "
        f"| ms/step, batch {low} | ms/step, batch {high} | train ms/step, batch {high} |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in models:
        top1 = f"{m['top1']:.1f} %" if m["top1"] is not None else "-"
        top5 = f"{m['top5']:.1f} %" if m["top5"] is not None else "-"
        high_row = row_at(m, high)
        train = (
            f"{high_row['train_step_time']:.0f}"
            if high_row and high_row.get("train_step_time")
            else "-"
        )
        lines.append(
            f"| {m['model']} | {m['size_mb']:.1f} | {top1} | {top5} | {m['params']:,} "
            f"| {m['depth']} | {m['gmacs']:.3f} | {_ms(row_at(m, low))} | {_ms(high_row)} "
            f"| {train} |"
        )
    notes = [
        "",
        f"Measured on {where} ({setting_text(document)}); median of the timed calls. "
        f"Size: the float32 weights and buffers. {ACCURACY_NOTE[0].upper()}{ACCURACY_NOTE[1:]}"
        ' ("-": the card has no such number). Depth: layers with weights on the longest path '
        "from input to output (keyarch.analysis.complexity.count_depth). GMACs at each "
        "model's default input.",
    ]
    return "\n".join(lines + notes) + "\n"


def _speedup(m: dict, low: int, high: int) -> float | None:
    a, b = row_at(m, low), row_at(m, high)
    if not (a and b):
        return None
    return (a["infer_step_time"] / low) / (b["infer_step_time"] / high)


def findings(document: dict) -> list[dict]:
    """The checked findings: claim, the paper's statement, what was measured, verdict."""
    models = [m for m in document["models"] if m["rows"]]
    imagenet = imagenet_models(models)
    by_name = {m["model"]: m for m in models}
    low, high = min(timed_batches(models)), second_batch(models)
    found = []

    # 1. operations predict inference time (Fig. 7)
    r2 = {}
    for batch in (low, high):
        points = [
            (m["gmacs"], row_at(m, batch)["infer_step_time"]) for m in imagenet if row_at(m, batch)
        ]
        if len(points) >= 3:
            r2[batch] = linear_fit(*zip(*points, strict=True)).r2
    holds = bool(r2) and min(r2.values()) >= R2_HOLDS
    found.append(
        {
            "claim": "Operations predict inference time (Fig. 7)",
            "paper": '"the number of operations is a reliable estimate of the inference time": '
            "a linear relation at batch 1 and 16.",
            "here": "; ".join(
                f"r^2 = {v:.3f} at batch {b} over {len(imagenet)} ImageNet models"
                for b, v in r2.items()
            )
            or "not enough models timed",
            "verdict": ("holds here" if holds else "differs here")
            + f" (keyarch calls r^2 >= {R2_HOLDS} a reliable linear estimate)",
        }
    )

    # 2. fully connected layers gain most from batching (Fig. 3)
    speedups = {
        n: _speedup(by_name[n], low, high)
        for n in ("alexnet", "vgg16", "resnet50")
        if n in by_name and _speedup(by_name[n], low, high)
    }
    if low == high or "alexnet" not in speedups:
        here, verdict = f"needs alexnet timed at two batch sizes (measured: {low}..{high})", "-"
    else:
        here = ", ".join(f"{n} {s:.2f}x" for n, s in speedups.items())
        here = f"time per image, batch {low} over batch {high}: {here}"
        others = [s for n, s in speedups.items() if n != "alexnet"]
        largest = all(speedups["alexnet"] > s for s in others)
        verdict = "holds here" if largest else "differs here"
        verdict += (
            " (AlexNet gains the most from batching)"
            if largest
            else " (AlexNet does not gain the most from batching here)"
        )
    found.append(
        {
            "claim": "Fully connected layers make AlexNet speed up most with batching (Fig. 3)",
            "paper": "AlexNet's time per image falls about 3x from batch 1 to larger batches "
            "thanks to its fully connected layers, which are inefficient for small "
            "batches; convolutional networks gain less.",
            "here": here,
            "verdict": verdict,
        }
    )

    # 3. the memory knee (Fig. 5) and memory against parameters (Fig. 6)
    knees = sorted((memory_knee(m["memory_mb"]), m["model"]) for m in imagenet)
    fit = linear_fit([m["param_count"] for m in imagenet], [m["memory_mb"]["1"] for m in imagenet])
    if knees:
        low_knee, high_knee = knees[0], knees[-1]
        median_knee = knees[len(knees) // 2]
        here = (
            f"knee (activations reach the weights) from batch {low_knee[0]:.1f} "
            f"({low_knee[1]}) to {high_knee[0]:.0f} ({high_knee[1]}), median "
            f"{median_knee[0]:.1f} ({median_knee[1]}); memory at batch 1 against "
            f"parameters: {fit.slope:.2f} MB per million + {fit.intercept:.0f} MB, "
            f"r^2 = {fit.r2:.3f}"
        )
        flat = [n for k, n in knees if k >= 8]
        verdict = ("holds here" if flat else "differs here") + (
            f": {len(flat)} of {len(knees)} models stay within twice their weights' memory "
            "up to batch 8 (flat, then linear), the rest are activation-bound from batch 1"
        )
    else:
        here, verdict = "no ImageNet model measured", "-"
    found.append(
        {
            "claim": "Memory: flat at small batches, then linear, with a knee (Figs. 5, 6)",
            "paper": "memory use first stays at the model's static allocation, then grows "
            "linearly with the batch size; at batch 1 it grows linearly with the "
            "number of parameters.",
            "here": here + " (tensors counted by keyarch, no allocator cache or CUDA context: "
            "the paper's fixed overhead of the framework is not in these numbers)",
            "verdict": verdict,
        }
    )

    # 4. accuracy per parameter (Fig. 10)
    rated = sorted(
        (m for m in models if m["top1"] is not None),
        key=lambda m: m["top1"] / m["param_count"],
        reverse=True,
    )
    if rated:
        best = ", ".join(f"{m['model']} {m['top1'] / m['param_count']:.1f}" for m in rated[:3])
        worst = ", ".join(f"{m['model']} {m['top1'] / m['param_count']:.2f}" for m in rated[-3:])
        vgg_last = all(m["family"] in ("VGG", "AlexNet", "ZFNet") for m in rated[-3:])
        here = f"top-1 per million parameters: best {best}; worst {worst}"
        verdict = ("holds here" if vgg_last else "differs here") + (
            ": the fully connected giants (VGG, AlexNet) use their parameters worst"
            if vgg_last
            else ": the worst are not only VGG and AlexNet"
        )
    else:
        here, verdict = "no model with a published top-1 measured", "-"
    found.append(
        {
            "claim": "Accuracy per parameter (Fig. 10)",
            "paper": "networks differ by an order of magnitude in accuracy per parameter; the "
            "compact ones (ENet, GoogLeNet) lead and VGG trails (ENet is not in keyarch).",
            "here": here + f" ({ACCURACY_NOTE})",
            "verdict": verdict,
        }
    )

    # 5. accuracy against inference time (Fig. 9)
    timed = sorted(
        (row_at(m, high)["infer_step_time"] / high, m["top1"], m["model"])
        for m in models
        if m["top1"] is not None and row_at(m, high)
    )
    frontier, best_top1 = [], -math.inf
    for ms, top1, name in timed:
        if top1 > best_top1:
            frontier.append((ms, top1, name))
            best_top1 = top1
    if len(frontier) >= 3:
        (t0, a0, n0), (t1, a1, n1), (t2, a2, n2) = frontier[0], frontier[-2], frontier[-1]
        here = (
            f"Pareto frontier of {len(frontier)} models: {n0} {a0:.1f} % at {t0:.1f} ms "
            f"per image ... {n1} {a1:.1f} % at {t1:.1f} ms, {n2} {a2:.1f} % at {t2:.1f} ms: "
            f"the last {a2 - a1:.1f} points of top-1 cost {t2 / t1:.1f}x the time, the "
            f"first {a1 - a0:.1f} points {t1 / t0:.1f}x"
        )
        per_point_first = math.log(t1 / t0) / max(a1 - a0, 1e-9)
        per_point_last = math.log(t2 / t1) / max(a2 - a1, 1e-9)
        holds = per_point_last > per_point_first
        verdict = ("holds here" if holds else "differs here") + (
            ": each further point of accuracy costs more time near the top"
            if holds
            else ": the last points were not dearer than the first"
        )
    else:
        here, verdict = "fewer than three models on the frontier", "-"
    found.append(
        {
            "claim": "Accuracy and inference time are in a hyperbolic relation (Fig. 9)",
            "paper": "a little more accuracy costs a lot more computational time.",
            "here": here + f" (batch {high})",
            "verdict": verdict,
        }
    )
    return found


def against_section(results: Path) -> list[str]:
    """Markdown of the ``against-*.csv`` files in ``results`` (``keyarch bench --against``):
    every model and batch size, and the geometric means the targets are stated in."""
    import csv

    from keyarch.analysis.bench import geometric_mean

    lines, everything = [], []
    for path in sorted(results.glob("against-*.csv")):
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        if not rows:
            continue
        everything += rows
        source = path.stem.removeprefix("against-")
        compiled = all(r.get("compiled_ratio") for r in rows)
        lines += [
            f"### Against {source} (`keyarch bench --all --against {source} --batch-sizes "
            f"1,8 --threads {rows[0]['threads']}{' --compiled' if compiled else ''}`)",
            "",
            "| Model | Batch | keyarch ms | fused ms | reference ms | unfused | fused "
            + ("| compiled | compiled diff " if compiled else "")
            + "| train | max diff |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if compiled else ""),
        ]
        for r in rows:
            lines.append(
                f"| {r['model']} | {r['batch']} | {float(r['ours_ms']):.1f} "
                f"| {float(r['fused_ms']):.1f} | {float(r['reference_ms']):.1f} "
                f"| {r['unfused_ratio']} | {r['fused_ratio']} "
                + (f"| {r['compiled_ratio']} | {r['compiled_difference']} " if compiled else "")
                + f"| {r['train_ratio'] or '-'} | {r['max_difference']} |"
            )
        kinds = ("unfused_ratio", "fused_ratio") + (("compiled_ratio",) if compiled else ())
        means = {
            k: geometric_mean(float(r[k]) for r in rows if r[k]) for k in (*kinds, "train_ratio")
        }
        by_batch = {
            (k, b): geometric_mean(float(r[k]) for r in rows if r["batch"] == b)
            for k in kinds[1:]
            for b in sorted({r["batch"] for r in rows}, key=int)
        }
        lines += [
            "",
            f"Geometric means over {len({r['model'] for r in rows})} models and both batch "
            f"sizes: unfused {means['unfused_ratio']:.2f}, fused {means['fused_ratio']:.2f}, "
            + (f"fused and compiled {means['compiled_ratio']:.2f}, " if compiled else "")
            + f"training step {means['train_ratio']:.2f}; by batch size: "
            + ", ".join(
                f"{k.removesuffix('_ratio')} batch {b} {v:.2f}" for (k, b), v in by_batch.items()
            )
            + ".",
            "",
        ]
    sources = {r["source"] for r in everything}
    if len(sources) > 1:
        kinds = ("unfused_ratio", "fused_ratio") + (
            ("compiled_ratio",) if all(r.get("compiled_ratio") for r in everything) else ()
        )
        overall = {k: geometric_mean(float(r[k]) for r in everything) for k in kinds}
        lines += [
            f"Over all {len({r['model'] for r in everything})} models with a reference "
            f"({' and '.join(sorted(sources))}), both batch sizes: "
            + ", ".join(f"{k.removesuffix('_ratio')} {v:.2f}" for k, v in overall.items())
            + ".",
            "",
        ]
    if lines:
        lines = [
            "## Speed against the reference implementations",
            "",
            "Ratio: the reference's time over keyarch's for the same network with the same "
            "weights, threads, dtype and layout (NCHW; `keyarch.fuse` runs channels-last), "
            "median of interleaved rounds; above 1, keyarch is faster. *max diff*: the "
            "largest difference of keyarch's logits (eager and fused) from the reference's, "
            "relative to their scale, in float64. *compiled*: `keyarch.fuse(model, "
            "compile=True)` (inductor, weights frozen), compiled per batch size before its "
            "rounds, each model in its own process; *compiled diff*: the largest difference "
            "of its float32 logits from the eager model's, relative to their scale.",
            "",
            *lines,
        ]
    return lines


def write_report(
    document: dict, folder: str | Path, command: str = "", results: Path | None = None
) -> Path:
    """``report.md`` and the charts it shows, into ``folder``; with ``results`` (the
    bench folder) the ratios against the references measured into it too."""
    folder = Path(folder)
    charts = plot_all(document, folder / "figures")
    lines = [
        "# Canziani et al. (2016), checked on this machine",
        "",
        f"Paper: {PAPER}.",
        "",
        f"Measured: {setting_text(document)}; {len(document['models'])} models; started "
        f"{document.get('started', '?')}.",
    ]
    if command:
        lines += ["", "```", command, "```"]
    lines += ["", "| Finding | The paper | Here | Verdict |", "|---|---|---|---|"]
    for f in findings(document):
        lines.append(f"| {f['claim']} | {f['paper']} | {f['here']} | **{f['verdict']}** |")
    lines += [
        "",
        "Power (the paper's Figs. 4 and 8) is not measured: keyarch reads no power meter, and "
        "none is available to it on a general machine.",
        "",
        "## Charts",
        "",
    ]
    for path in charts:
        if path.suffix == ".png":
            lines += [f"![{path.stem}](figures/{path.name})", ""]
    if results is not None:
        lines += against_section(Path(results))
    lines += ["## Models", "", model_table(document)]
    path = folder / "report.md"
    path.write_text("\n".join(lines))
    return path
