"""From a ``keyarch bench`` folder: the Keras-Applications-style table of every model and
the report that checks Canziani et al.'s findings on the machine it was measured on.

Each finding is computed from the folder, set beside the paper's statement, and given a
verdict, "holds here" or "differs here", with the numbers that decide it; the thresholds
that turn numbers into verdicts are keyarch's (the paper gives none) and are printed.
"""

from __future__ import annotations

from pathlib import Path

import keyarch.analysis.findings as F
from keyarch.analysis.charts import (
    ACCURACY_NOTE,
    imagenet_models,
    plot_all,
    row_at,
    second_batch,
    setting_text,
    timed_batches,
)
from keyarch.analysis.timing import precise

PAPER = (
    'Canziani, Paszke and Culurciello (2016), "An analysis of deep neural network models '
    'for practical applications", arXiv 1605.07678'
)


def _ms(row: dict | None) -> str:
    """A step time to the precision its bootstrap interval allows."""
    if not row:
        return "-"
    low, high = row.get("infer_step_time_low"), row.get("infer_step_time_high")
    if low is None or high is None:
        return f"{row['infer_step_time']:.1f}"
    return precise(row["infer_step_time"], low, high)


def _train_ms(row: dict | None) -> str:
    if not row or row.get("train_step_time") is None:
        return "-"
    return precise(row["train_step_time"], row["train_step_time_low"], row["train_step_time_high"])


def model_table(document: dict) -> str:
    """Markdown: model, size, top-1, top-5, parameters, depth, operations, activations, ms
    per inference step at the smallest and largest measured batch sizes, and the training
    step, as Keras lists them."""
    models = sorted(document["models"], key=lambda m: m["model"])
    batches = timed_batches(models)
    low, high = min(batches), max(batches)
    trained = sorted({r["train_batch_size"] for m in models for r in m["rows"]
                      if r.get("train_batch_size")})  # fmt: skip
    where = document["machine"].get("gpu") or document["machine"]["cpu"]
    lines = [
        "| Model | Size (MB) | Top-1 | Top-5 | Parameters | Depth | GMACs | M activations "
        f"| ms/step, batch {low} | ms/step, batch {high} "
        + "".join(f"| train ms/step, batch {b} " for b in trained)
        + "|",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * len(trained),
    ]
    for m in models:
        top1 = f"{m['top1']:.1f} %" if m["top1"] is not None else "-"
        top5 = f"{m['top5']:.1f} %" if m["top5"] is not None else "-"
        lines.append(
            f"| {m['model']} | {m['size_mb']:.1f} | {top1} | {top5} | {m['params']:,} "
            f"| {m['depth']} | {m['infer_gmacs']:.3f} | {m.get('infer_macts', 0):.2f} "
            f"| {_ms(row_at(m, low))} | {_ms(row_at(m, high))} "
            + "".join(f"| {_train_ms(row_at(m, b))} " for b in trained)
            + "|"
        )
    notes = [
        "",
        f"Measured on {where} ({setting_text(document)}); median of the timed calls, printed "
        "to the precision its 95 % bootstrap interval allows. Size: the float32 weights and "
        f"buffers. {ACCURACY_NOTE[0].upper()}{ACCURACY_NOTE[1:]}"
        ' ("-": the card has no such number). Depth: layers with weights on the longest path '
        "from input to output (keyarch.analysis.complexity.count_depth). GMACs and "
        "activations (timm's infer_gmacs, infer_macts) per image at each model's input.",
    ]
    return "\n".join(lines + notes) + "\n"


def _timing(row: dict, batch_key: str = "infer") -> tuple[float, float, float]:
    t = row[f"{batch_key}_step_time"]
    return t, row.get(f"{batch_key}_step_time_low", t), row.get(f"{batch_key}_step_time_high", t)


def matrix_vector_share(m: dict) -> float:
    """The model's share of operations done as matrix-vector products at batch 1 (counted
    now on the meta device where the folder predates the column)."""
    if m.get("matrix_vector_share") is not None:
        return m["matrix_vector_share"]
    import torch

    from keyarch.analysis.complexity import count_macs, count_matrix_vector_macs
    from keyarch.registry import create_model

    size = (3, m["img_size"], m["img_size"])
    with torch.device("meta"):
        model = create_model(m["model"])
        return count_matrix_vector_macs(model, size) / count_macs(model, size)


def measured_memory(m: dict) -> dict[str, float]:
    return (m.get("measured_memory") or {}).get("measured_mb", {})


def checked_findings(document: dict) -> list[dict]:
    """The checked findings: claim, the paper's statement, what was measured, the verdict
    with the rule that decides it."""
    models = [m for m in document["models"] if m["rows"]]
    imagenet = imagenet_models(models)
    low, high = min(timed_batches(models)), second_batch(models)
    found = []

    # 1. operations predict inference time (Fig. 7), at batch 1 and 16 as the paper
    for batch in sorted({low, high}):
        timed = [m for m in imagenet if row_at(m, batch)]
        verdict = F.operations_predict_time(
            [m["model"] for m in timed],
            [m["infer_gmacs"] for m in timed],
            [row_at(m, batch)["infer_step_time"] for m in timed],
        )
        found.append(
            {
                "claim": f"Operations predict inference time, batch {batch} (Fig. 7)",
                "paper": '"the number of operations is a reliable estimate of the inference '
                'time": a linear relation at batch 1 and 16.',
                "result": verdict,
            }
        )

    # 2. fully connected layers gain most from batching (Fig. 3), over every model
    gains = {
        m["model"]: F.batching_gain(low, high, _timing(row_at(m, low)), _timing(row_at(m, high)))
        for m in imagenet
        if low != high and row_at(m, low) and row_at(m, high)
    }
    shares = {m["model"]: matrix_vector_share(m) for m in imagenet if m["model"] in gains}
    found.append(
        {
            "claim": f"Fully connected layers make AlexNet gain most from batching, batch {low} "
            f"to {high} (Fig. 3)",
            "paper": "AlexNet's time per image falls about 3x with batching thanks to its fully "
            "connected layers, inefficient for small batches; convolutional networks gain less.",
            "result": F.alexnet_gains_most(gains, shares),
        }
    )

    # 3. memory, measured: flat then linear (Fig. 5); against parameters (Fig. 6)
    curves = {m["model"]: measured_memory(m) for m in imagenet if len(measured_memory(m)) >= 4}
    how = {(m.get("measured_memory") or {}).get("how") for m in imagenet} - {None}
    found.append(
        {
            "claim": "Memory: flat at small batches, then linear (Fig. 5)",
            "paper": "memory use first stays at the model's static allocation, then grows "
            "linearly with the batch size.",
            "result": F.memory_flat_then_linear(curves),
            "note": f"measured: {', '.join(sorted(how)) or 'nothing'}",
        }
    )
    at_one = [m for m in imagenet if "1" in measured_memory(m)]
    found.append(
        {
            "claim": "Memory at batch 1 grows linearly with parameters (Fig. 6)",
            "paper": "at batch 1, memory grows linearly with the number of parameters.",
            "result": F.memory_follows_parameters(
                [m["model"] for m in at_one],
                [m["param_count"] for m in at_one],
                [measured_memory(m)["1"] for m in at_one],
            ),
        }
    )

    # 4. accuracy against throughput (Fig. 9): the bound and the hyperbola
    points = [
        (row_at(m, high)["infer_samples_per_sec"], m["top1"], m["model"])
        for m in models
        if m["top1"] is not None and row_at(m, high)
    ]
    found.append(
        {
            "claim": f"Accuracy against throughput: a straight upper bound, a hyperbolic "
            f"frontier, batch {high} (Fig. 9)",
            "paper": "accuracy and inference time are in a hyperbolic relationship: a little "
            "more accuracy costs a lot more time; no model lies above a linear upper bound.",
            "result": F.accuracy_bound(points),
        }
    )

    # 5. power is independent of batch size and architecture (Figs. 4 and 8), measured only
    # where the machine exposes an energy counter
    watts = {
        (m["model"], r["infer_batch_size"]): r["infer_energy_j"] / (r["infer_step_time"] / 1e3)
        for m in models
        for r in m["rows"]
        if r.get("infer_energy_j")
    }
    if watts:
        found.append(
            {
                "claim": "Power is independent of batch size and architecture (Figs. 4, 8)",
                "paper": "power consumption is independent of batch size and architecture: "
                "the device runs at full load whatever it computes.",
                "result": F.power_is_constant(watts),
            }
        )

    # 6. accuracy per parameter (Fig. 10)
    density = {m["model"]: m["top1"] / m["param_count"] for m in models if m["top1"] is not None}
    found.append(
        {
            "claim": "Accuracy per parameter: the compact networks lead by an order of "
            "magnitude (Fig. 10)",
            "paper": "ENet packs 13x AlexNet's and 24x VGG-19's accuracy per parameter; "
            "GoogLeNet leads the ImageNet winners (ENet is not in keyarch).",
            "result": F.parameter_efficiency(density, "googlenet", ["alexnet", "vgg16", "vgg19"]),
        }
    )
    return found


AGAINST_KINDS = (
    ("eager", "ours_ms", "reference_ms", "keyarch eager / reference eager, same layout"),
    ("fused", "fused_ms", "fused_reference_ms",
     "keyarch.fuse (channels-last) / reference eager in its faster layout"),
    ("compiled", "compiled_ms", "reference_compiled_ms",
     "keyarch fuse(compile=True) / reference compiled the same way"),
    ("train", "train_ours_ms", "train_reference_ms", "training step, same layout"),
)  # fmt: skip
AGAINST_TARGETS = {"eager": 1.0, "fused": 1.3}


def _ratio(row: dict, ours: str, reference: str) -> float | None:
    """The ratio recomputed from the stored times: the reference's over keyarch's."""
    if not row.get(ours) or not row.get(reference):
        return None
    return float(row[reference]) / float(row[ours])


def _fell_back(row: dict) -> bool:
    return "True" in (row.get("compiled_eager"), row.get("reference_compiled_eager"))


def against_means(rows: list[dict]) -> dict[str, tuple[float, float, float, int]]:
    """Per comparison: the geometric mean of the ratios recomputed from the stored times,
    its 95 % bootstrap interval over rows, and the number of rows (compiled: without the
    rows where a frozen graph was refused)."""
    from keyarch.analysis.against import log_mean_interval

    means = {}
    for kind, ours, reference, _ in AGAINST_KINDS:
        ratios = [
            _ratio(r, ours, reference)
            for r in rows
            if _ratio(r, ours, reference) and not (kind == "compiled" and _fell_back(r))
        ]
        if ratios:
            means[kind] = (*log_mean_interval(ratios), len(ratios))
    return means


def _mean_text(kind: str, mean: tuple[float, float, float, int]) -> str:
    value, low, high, count = mean
    text = f"{kind} {precise(value, low, high)} ({low:.2f}-{high:.2f}, {count} rows)"
    if kind in AGAINST_TARGETS:
        target = AGAINST_TARGETS[kind]
        met = "met" if low >= target else "not met" if high < target else "not decided"
        text += f", target >= {target}: {met}"
    return text


def against_section(results: Path) -> list[str]:
    """Markdown of the ``against-*.csv`` files in ``results`` (``keyarch bench --against``):
    every model and batch size, and the three comparisons' geometric means with their
    intervals, every ratio recomputed from the times stored beside it."""
    import csv

    lines, everything = [], []
    for path in sorted(results.glob("against-*.csv")):
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
        source = path.stem.removeprefix("against-")
        if "fused_reference_ms" not in (reader.fieldnames or []):
            lines += [f"### Against {source}", "", f"`{path.name}` was measured before the "
                      "comparisons were like for like (the reference always NCHW, compiled "
                      "against eager); its ratios are not reported. Rerun: `keyarch bench "
                      f"--all --against {source} --compiled --out {results}`.", ""]  # fmt: skip
            continue
        if not rows:
            continue
        everything += rows
        compiled = any(r.get("compiled_ms") for r in rows)
        lines += [
            f"### Against {source}",
            "",
            "| Model | Batch | keyarch ms | reference ms | eager | fused ms | fused "
            + ("| compiled ms | compiled " if compiled else "")
            + "| train | max diff |",
            "|---|---:|---:|---:|---:|---:|---:|"
            + ("---:|---:|" if compiled else "")
            + "---:|---:|",
        ]
        for r in rows:
            cells = [r["model"], r["batch"], f"{float(r['ours_ms']):.1f}",
                     f"{float(r['reference_ms']):.1f}", _ratio_text(r, "eager"),
                     f"{float(r['fused_ms']):.1f}",
                     f"{_ratio_text(r, 'fused')} ({r['fused_reference_layout']})"]  # fmt: skip
            if compiled:
                label = " (a frozen graph refused: eager, left out)" if _fell_back(r) else ""
                cells += [f"{float(r['compiled_ms']):.1f}" if r.get("compiled_ms") else "-",
                          _ratio_text(r, "compiled") + label]  # fmt: skip
            cells += [_ratio_text(r, "train"), r["max_difference"]]
            lines.append("| " + " | ".join(cells) + " |")
        means = against_means(rows)
        lines += ["", f"Geometric means over {len({r['model'] for r in rows})} models and "
                  f"batch sizes {', '.join(sorted({r['batch'] for r in rows}, key=int))}: "
                  + "; ".join(_mean_text(k, v) for k, v in means.items()) + ".", ""]  # fmt: skip
    sources = {r["source"] for r in everything}
    if len(sources) > 1:
        means = against_means(everything)
        lines += [
            f"Over all {len({r['model'] for r in everything})} models with a reference "
            f"({' and '.join(sorted(sources))}): "
            + "; ".join(_mean_text(k, v) for k, v in means.items())
            + ".",
            "",
        ]
    if lines:
        lines = [
            "## Speed against the reference implementations",
            "",
            "Ratio: the reference's median time over keyarch's for the same network with the "
            "same weights, threads and dtype, timed in the same interleaved rounds (several "
            "calls back to back per visit), with a 95 % bootstrap interval over rounds; above "
            "1, keyarch is faster. Three comparisons, each like for like: "
            + "; ".join(f"*{k}*: {text}" for k, _, _, text in AGAINST_KINDS)
            + ". *max diff*: the largest difference of keyarch's logits (eager and fused) "
            "from the reference's, relative to their scale, in float64. Every ratio here is "
            "recomputed from the two times stored in the CSV; the JSON beside it keeps every "
            "round's seconds.",
            "",
            *lines,
        ]
    return lines


def _ratio_text(row: dict, kind: str) -> str:
    _, ours, reference, _ = next(k for k in AGAINST_KINDS if k[0] == kind)
    ratio = _ratio(row, ours, reference)
    if ratio is None:
        return "-"
    low, high = row.get(f"{kind}_low"), row.get(f"{kind}_high")
    if not low or not high:
        return f"{ratio:.2f}"
    return f"{precise(ratio, float(low), float(high))} ({float(low):.2f}-{float(high):.2f})"


def _runs_text(document: dict) -> list[str]:
    """The commands that filled the folder, as they were run, with the load and peak of
    each run."""
    lines = []
    for run in document.get("runs", []):
        load = lambda v: "-" if not v else f"{v[0]:.2f}"  # noqa: E731 - one-minute load
        lines.append(
            f"- `{run.get('command') or '(command not recorded)'}`: started "
            f"{run['started']}, {run.get('models', '?')} models, batch sizes "
            f"{','.join(map(str, run.get('batch_sizes', [])))}; load {load(run.get('load_start'))}"
            f" at start, {load(run.get('load_end'))} at the end; peak "
            f"{run['peak_macs_per_sec'] / 1e9:.0f} GMAC/s"
        )
    return lines


def memory_table(document: dict, batches=(1, 8, 64)) -> list[str]:
    """Counted against measured memory, per model and batch size, in MB."""
    models = [m for m in document["models"] if measured_memory(m)]
    batches = [b for b in batches if any(str(b) in measured_memory(m) for m in models)]
    if not models or not batches:
        return []
    how = {(m.get("measured_memory") or {}).get("how") for m in models}
    lines = [
        "| Model | " + " | ".join(f"batch {b}: counted | measured | ratio" for b in batches) + " |",
        "|---|" + "---:|---:|---:|" * len(batches),
    ]
    ratios = []
    for m in sorted(models, key=lambda m: m["model"]):
        cells = []
        for b in batches:
            counted, measured = m["memory_mb"].get(str(b)), measured_memory(m).get(str(b))
            if counted is None or measured is None:
                cells.append("- | - | -")
                continue
            ratios.append(measured / counted)
            cells.append(f"{counted:.0f} | {measured:.0f} | {measured / counted:.2f}")
        lines.append(f"| {m['model']} | " + " | ".join(cells) + " |")
    ratios.sort()
    return [
        "## Memory: counted and measured",
        "",
        "Counted: the weights, the input and the forward pass's peak of tensors "
        "(`keyarch.analysis.memory`, on the meta device). Measured "
        f"({', '.join(sorted(h for h in how if h))}): in a fresh process per model, the "
        "growth of the resident set from before the model was built to the peak of one "
        "forward pass in inference mode at that batch (`keyarch.analysis.rss`), which adds "
        "what the count leaves out: the C allocator's rounding and the memory it keeps, "
        "oneDNN's scratch space and reordered weights, PyTorch's own state. Ratio: measured "
        f"over counted, median {ratios[len(ratios) // 2]:.2f} (from {ratios[0]:.2f} to "
        f"{ratios[-1]:.2f}) over {len(ratios)} cells.",
        "",
        *lines,
        "",
    ]


def roofline_table(document: dict) -> list[str]:
    """Each model's achieved multiply-accumulates per second as a fraction of the
    measured peak, at the smallest and largest batch, with its arithmetic intensity."""
    models = [m for m in document["models"] if m["rows"]]
    peak = document.get("peak_macs_per_sec")
    if not models or not peak:
        return []
    batches = timed_batches(models)
    low, high = min(batches), max(batches)
    lines = [
        f"| Model | GMACs | intensity, batch {low} | intensity, batch {high} "
        f"| of peak, batch {low} | of peak, batch {high} |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    ordered = sorted(models, key=lambda m: -(row_at(m, high) or {}).get("infer_peak_fraction", 0))
    for m in ordered:
        a, b = row_at(m, low), row_at(m, high)
        if not (a and b):
            continue
        lines.append(
            f"| {m['model']} | {m['infer_gmacs']:.2f} | {a['infer_intensity']:.0f} "
            f"| {b['infer_intensity']:.0f} | {a['infer_peak_fraction']:.1%} "
            f"| {b['infer_peak_fraction']:.1%} |"
        )
    return [
        "## The roofline",
        "",
        f"Peak: {peak / 1e9:.0f} GMAC/s, the fastest of five 2048 x 2048 matrix products in "
        "the run's dtype and threads (measured once per run). A model's fraction: its "
        "multiply-accumulates per second (operations per image x batch / median step time) "
        "over that peak. Intensity: multiply-accumulates per byte of weights and activations "
        "(the elements convolutions and matrix products write, timm's infer_macts) the step "
        "moves at least once; below the machine's balance point (peak over memory bandwidth) "
        "a model cannot reach the peak whatever its code. ![roofline](figures/roofline.png)",
        "",
        *lines,
        "",
    ]


def write_report(
    document: dict, folder: str | Path, command: str = "", results: Path | None = None
) -> Path:
    """``report.md`` and the charts it shows, into ``folder``; with ``results`` (the
    bench folder) the ratios against the references measured into it too."""
    from keyarch.analysis.energy import unavailable_reason

    folder = Path(folder)
    charts = plot_all(document, folder / "figures")
    settings = document["settings"]
    lines = [
        "# Canziani et al. (2016), checked on this machine",
        "",
        f"Paper: {PAPER}.",
        "",
        f"Measured: {setting_text(document)}; {len(document['models'])} models. Each cell "
        f"(model, batch size, step) warmed up with up to {settings.get('warmup', '?')} calls, "
        f"then at least {settings.get('repeats', '?')} timed calls or "
        f"{settings.get('min_time', '?')} s, spread over {settings.get('passes', '?')} passes "
        "in which every cell of the run is visited once, in a new random order each pass. "
        "The commands that filled the folder:",
        "",
        *_runs_text(document),
    ]
    if command:
        lines += ["", f"This report: `{command}`."]
    lines += [
        "",
        "| Finding | The paper | Here | Verdict (keyarch's rule, fixed before measuring) |",
        "|---|---|---|---|",
    ]
    for f in checked_findings(document):
        result = f["result"]
        note = f" ({f['note']})" if f.get("note") else ""
        lines.append(
            f"| {f['claim']} | {f['paper']} | {result.here}{note} | **{result.verdict}**: "
            f"{result.rule} |"
        )
    energy = [m for m in document["models"] for r in m["rows"] if r.get("infer_energy_j")]
    lines += [
        "",
        "Energy (the paper's Figs. 4 and 8): "
        + (
            "joules per step are in bench.csv (`infer_energy_j`)."
            if energy
            else f"not measured: {unavailable_reason(settings['device'])}."
        ),
        "",
    ]
    lines += memory_table(document)
    lines += roofline_table(document)
    lines += ["## Charts", ""]
    for path in charts:
        if path.suffix == ".png" and path.stem != "roofline":
            lines += [f"![{path.stem}](figures/{path.name})", ""]
    if results is not None:
        lines += against_section(Path(results))
    lines += ["## Models", "", model_table(document)]
    path = folder / "report.md"
    path.write_text("\n".join(lines))
    return path
