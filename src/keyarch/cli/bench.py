"""``keyarch bench``: measure models on this machine (Canziani et al. 2016), chart and report
the results, and time keyarch against torchvision or timm with the same weights."""

from __future__ import annotations

import argparse
from functools import partial

from keyarch.cli.common import (
    add_overwrite,
    choices_help,
    non_negative_int,
    positive_float,
    positive_int,
)

DEVICES = ("cpu", "cuda")
DTYPES = ("float32", "bfloat16", "float16")
SOURCES = ("torchvision", "timm")


def batch_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected batch sizes such as 1,8,32, got {text!r}")
    return sorted(set(sizes))


def add(commands) -> None:
    parser = commands.add_parser(
        "bench",
        help="parameters, operations, memory, latency and throughput on this machine",
        description="Measure models (NAMES or --all) into --out DIR, resumable; chart "
        "(--plot DIR), report the Canziani et al. findings (--report DIR), or time keyarch "
        "against torchvision/timm with the same weights (--against).",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="models to measure")
    parser.add_argument("--all", action="store_true", help="every registered model")
    parser.add_argument("--out", help="results folder (a run continues one of the same settings)")
    parser.add_argument(
        "--batch-sizes",
        type=batch_sizes,
        default=[1, 2, 4, 8, 16, 32, 64],
        help="comma-separated (default 1,2,4,8,16,32,64)",
    )
    parser.add_argument("--device", default="cpu", help=choices_help("device", DEVICES))
    parser.add_argument("--dtype", default="float32", choices=DTYPES)
    parser.add_argument(
        "--amp",
        action="store_true",
        help="autocast (bfloat16 on the CPU, float16 on CUDA), as timm's benchmark",
    )
    parser.add_argument(
        "--img-size",
        type=positive_int,
        help="square input side for every model (default: each model's own)",
    )
    parser.add_argument("--channels-last", action="store_true", help="NHWC memory format")
    parser.add_argument(
        "--fused",
        action="store_true",
        help="time inference on keyarch.fuse(model) (batch norms folded; NCHW unless "
        "--channels-last); training steps time the unfused model",
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
        help="compute threads (default: the cores this process may run on)",
    )
    parser.add_argument("--no-train", action="store_true", help="skip the training step")
    parser.add_argument(
        "--train-batch-sizes",
        type=batch_sizes,
        default=[8],
        help="batch sizes a training step is timed at (default 8; among --batch-sizes)",
    )
    parser.add_argument(
        "--warmup",
        type=non_negative_int,
        default=3,
        help="untimed calls before a step is timed (default 3)",
    )
    parser.add_argument(
        "--repeats",
        type=positive_int,
        default=10,
        help="timed calls per step at least (default 10), unless they take longer than "
        "--min-time: then as many as fill it, at least one per pass",
    )
    parser.add_argument(
        "--min-time",
        type=positive_float,
        default=1.0,
        help="seconds of timed calls per step at least (default 1)",
    )
    parser.add_argument(
        "--max-repeats",
        type=positive_int,
        default=200,
        help="timed calls per step at most (default 200)",
    )
    parser.add_argument(
        "--passes",
        type=positive_int,
        default=5,
        help="passes over every model and batch size in a random order; each step's timed "
        "calls are spread over them (default 5)",
    )
    parser.add_argument(
        "--no-memory",
        action="store_true",
        help="skip measuring each model's memory in a fresh process",
    )
    parser.add_argument("--plot", metavar="DIR", help="draw the charts of a results folder")
    parser.add_argument(
        "--report",
        metavar="DIR",
        help="write report.md (findings, charts, table) for a results folder",
    )
    parser.add_argument("--table", metavar="DIR", help="write the models table (markdown)")
    parser.add_argument("--to", help="where --plot/--report/--table write (default: DIR)")
    add_overwrite(parser, "a report, table or charts already in --to")
    parser.add_argument(
        "--against", choices=SOURCES, help="time keyarch against this library's implementation"
    )
    parser.add_argument(
        "--rounds",
        type=positive_int,
        default=7,
        help="interleaved rounds for --against (default 7)",
    )
    parser.add_argument(
        "--compiled",
        action="store_true",
        help="with --against: also time keyarch.fuse(model, compile=True) (compiled per "
        "batch size first: seconds to a minute per model)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from keyarch.errors import BadInput

    outputs = [flag for flag in ("plot", "report", "table") if getattr(args, flag)]
    if outputs:
        if args.names or args.all or args.against:
            raise BadInput(f"--{outputs[0]} reads a results folder; give no model names with it")
        return _publish(args)
    if args.to:
        raise BadInput("--to goes with --plot, --report or --table")
    if args.compiled and not args.against:
        raise BadInput("--compiled goes with --against")
    if args.against == "timm":
        from keyarch.extras import requires

        requires("timm", "bench --against timm")
    names = _names(args)
    _set_threads(args)
    if not args.out and not args.against:
        raise BadInput("give --out DIR: the folder the measurements go to (resumable)")
    _check_sizes(args, names)
    if args.out:
        from keyarch.outputs import check_folder

        check_folder(args.out, "--out")
    if args.against:
        return _against(args, names)
    return _measure(args, names)


def _check_sizes(args, names: list[str]) -> None:
    """Every model takes --img-size, and its largest batch fits in memory (training: the
    largest --train-batch-sizes), before anything is timed: one meta pass per model."""
    from keyarch.analysis.inputs import needs
    from keyarch.registry import model_card

    on_cpu = args.device == "cpu"  # a GPU's memory is the GPU's: left to each cell
    for name in names:
        card = model_card(name)
        size = (card.input_size[0], args.img_size, args.img_size) if args.img_size else \
            card.input_size  # fmt: skip
        flag = "--img-size" if args.img_size else "--batch-sizes"
        shown = str(args.img_size) if args.img_size else ",".join(map(str, args.batch_sizes))
        found = needs(name, size, flag, shown=shown)
        if on_cpu:
            found.check_memory(max(args.batch_sizes), flag, shown)
        if on_cpu and not args.no_train:
            sizes = ",".join(map(str, args.train_batch_sizes))
            found.check_memory(max(args.train_batch_sizes), "--train-batch-sizes", sizes,
                               training=True)  # fmt: skip


def _names(args) -> list[str]:
    from keyarch.errors import BadInput
    from keyarch.registry import list_models, model_card

    if args.all and args.names:
        raise BadInput("give model names or --all, not both")
    if args.all:
        if args.against:
            from keyarch.analysis.against import references

            return references(args.against)
        return list_models(task="image-classification")
    if not args.names:
        raise BadInput("give model names (keyarch list) or --all")
    cards = [model_card(name) for name in args.names]
    others = [f"{c.name} ({c.task})" for c in cards if c.task != "image-classification"]
    if others:
        raise BadInput(f"keyarch bench measures image classifiers, not {', '.join(others)}")
    return [c.name for c in cards]


def _set_threads(args) -> None:
    import torch

    from keyarch.analysis.inputs import check_threads
    from keyarch.errors import BadInput
    from keyarch.train.devices import usable_cores

    check_threads(args.threads)
    args.threads = args.threads or usable_cores()
    torch.set_num_threads(args.threads)
    if args.device not in DEVICES and not args.device.startswith("cuda:"):
        raise BadInput(f"--device {args.device}: expected one of {', '.join(DEVICES)}")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise BadInput(f"--device {args.device}: PyTorch sees no CUDA device on this machine")


def _measure(args, names: list[str]) -> int:
    import shlex
    import sys

    from keyarch.analysis.bench import BenchSettings, run_bench

    settings = BenchSettings(
        device=args.device,
        dtype=args.dtype,
        amp=args.amp,
        img_size=args.img_size,
        channels_last=args.channels_last,
        fused=args.fused,
        threads=args.threads,
        train=not args.no_train,
        train_batch_sizes=tuple(args.train_batch_sizes),
        warmup=args.warmup,
        repeats=args.repeats,
        min_time=args.min_time,
        max_repeats=args.max_repeats,
        passes=args.passes,
        measure_memory=not args.no_memory,
    )
    print(
        f"bench: {len(names)} models, batch sizes {','.join(map(str, args.batch_sizes))}, "
        f"{args.device} {args.dtype}, {args.threads} threads"
        f"{', amp' if args.amp else ''}"
        f"{', channels-last' if args.channels_last else ''}{', fused' if args.fused else ''}"
        f", {args.passes} passes -> {args.out}",
        flush=True,
    )
    command = "keyarch " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    measured, failed = run_bench(names, args.batch_sizes, settings, args.out, command=command)
    print(
        f"bench: {len(measured)} completed now; tables: {args.out}/bench.csv, "
        f"{args.out}/bench.json; charts and report: keyarch bench --report {args.out}"
    )
    for name, error in failed.items():
        print(f"keyarch: {name} was not measured: {error}", file=sys.stderr)
    return 1 if failed else 0


def _publish(args) -> int:
    import json
    from pathlib import Path

    from keyarch.analysis.bench import BenchFolder
    from keyarch.errors import BadInput
    from keyarch.outputs import check_folder, staged_folder

    source = Path(args.plot or args.report or args.table)
    for flag in ("plot", "report", "table"):
        given = getattr(args, flag)
        if given and Path(given) != source:
            raise BadInput("--plot, --report and --table read one results folder; give it once")
    path = source / "bench.json"
    if not path.is_file():
        raise BadInput(
            f"{source}: no bench.json; measure first: keyarch bench --all --out {source}"
        )
    try:
        document = json.loads(path.read_text())
        document["models"], document["settings"]  # noqa: B018 - checks the shape
    except (ValueError, KeyError, TypeError):
        raise BadInput(f"{path}: not a keyarch bench results file") from None
    if "passes" not in document["settings"]:
        raise BadInput(
            f"{path}: measured by an earlier keyarch (no timing passes recorded); measure "
            f"again into a new folder: keyarch bench --all --out NEW"
        )
    to = Path(args.to or source)
    names = (
        ["report.md", "figures/*.png", "figures/*.svg"]
        if args.report
        else ["figures/*.png", "figures/*.svg"]
        if args.plot
        else []
    )
    names += ["models.md"] if args.table or args.report else []  # fmt: skip
    given = "report" if args.report else "plot" if args.plot else "table"
    flag = "--to" if args.to else f"--{given}"
    check_folder(to, flag, names=names, overwrite=args.overwrite)
    try:
        BenchFolder(source).write_tables()  # the tables, rebuilt from the model files
    except OSError:
        pass  # a results folder one cannot write to: its tables are read as they are
    document = json.loads(path.read_text())
    document["models"] = [m for m in document["models"] if m.get("rows")]
    if not document["models"]:
        raise BadInput(f"{path}: no model measured yet")
    written = []
    with staged_folder(to, flag, overwrite=args.overwrite, last=("report.md",)) as scratch:
        if args.report:
            from keyarch.analysis.bench_report import write_report

            written.append(write_report(document, scratch, results=source,
                                        command=f"keyarch bench --report {source}"))  # fmt: skip
        elif args.plot:
            from keyarch.analysis.charts import plot_all

            written += [p for p in plot_all(document, scratch / "figures") if p.suffix == ".png"]
        if args.table or args.report:
            from keyarch.analysis.bench_report import model_table

            (scratch / "models.md").write_text("# keyarch's models, measured\n\n"
                                               + model_table(document))  # fmt: skip
            written.append(scratch / "models.md")
        written = [to / p.relative_to(scratch) for p in written]
    for item in written:
        print(item)
    return 0


def _against(args, names: list[str]) -> int:
    import sys
    from pathlib import Path

    from keyarch.analysis.against import compare, compare_isolated, references, summary
    from keyarch.errors import BadInput

    available = references(args.against)
    missing = [n for n in names if n not in available]
    if missing:
        raise BadInput(
            f"--against {args.against}: no reference for {', '.join(missing)}; "
            f"models with one: {', '.join(available)}"
        )
    if args.device != "cpu":
        raise BadInput("--against times on the CPU only (--device cpu)")
    layout = "channels-last" if args.channels_last else "NCHW"
    print(
        f"keyarch against {args.against}, {args.threads} threads, {args.dtype}; ratio = "
        "reference median time / keyarch's (95 % bootstrap interval over rounds), above 1 "
        f"keyarch is faster. eager: both {layout}; fused: keyarch.fuse (channels-last) "
        "against the reference in its faster layout"
        + ("; compiled: both compiled with inductor and frozen weights" if args.compiled else ""),
        flush=True,
    )
    print(
        f"{'model':<20} {'batch':>5} {'ours ms':>9} {'ref ms':>9} {'fused ms':>9} "
        f"{'eager':>17} {'fused':>17} {'train':>17}"
        + (f" {'compiled':>17}" if args.compiled else "")
        + "  max |diff|"
    )
    rows = []
    for name in names:
        # the compiled path runs each model in its own process (see compare_isolated)
        measure = partial(compare_isolated, threads=args.threads) if args.compiled else compare
        for c in measure(
            name,
            args.against,
            args.batch_sizes,
            dtype=args.dtype,
            channels_last=args.channels_last,
            rounds=max(args.rounds, 3),
            train=not args.no_train,
            compiled=args.compiled,
        ):
            rows.append(c)
            train = c.train.text() if c.train else "-"
            compiled = ""
            if c.compiled:
                refused = [who for who, flag in (("keyarch's", c.compiled_eager),
                           ("the reference's", c.reference_compiled_eager)) if flag]  # fmt: skip
                compiled = f" {c.compiled.text():>17} ({c.compiled_difference:.0e}" + (
                    f", {' and '.join(refused)} frozen graph refused: ran eagerly)"
                    if refused
                    else ")"
                )
            print(
                f"{c.model:<20} {c.batch:>5} {c.ours_ms:>9.2f} {c.reference_ms:>9.2f} "
                f"{c.fused_ms:>9.2f} {c.eager.text():>17} {c.fused.text():>17} "
                f"{train:>17}{compiled}  {c.max_difference:.1e}",
                flush=True,
            )
        if args.out:  # after every model: an interrupted --all keeps what it measured
            write_against(Path(args.out), args, [r for r in rows if r.model == name])
    means = summary(rows)
    print(
        "geometric mean over models and batch sizes (95 % interval over them): "
        + ", ".join(f"{k} {v:.2f} ({lo:.2f}-{hi:.2f})" for k, (v, lo, hi) in means.items())
        + (
            "; compiled leaves out rows where a frozen graph was refused"
            if "compiled" in means
            else ""
        )
    )
    if args.out:
        print(f"written: {Path(args.out) / f'against-{args.against}.csv'} (and .json)",
              file=sys.stderr)  # fmt: skip
    return 0


AGAINST_COLUMNS = (
    "model", "source", "batch", "layout", "threads", "dtype", "rounds", "calls_per_visit",
    "ours_ms", "reference_ms", "eager_ratio", "eager_low", "eager_high",
    "fused_ms", "fused_reference_ms", "fused_reference_layout", "reference_other_ms",
    "fused_ratio", "fused_low", "fused_high",
    "train_ours_ms", "train_reference_ms", "train_ratio", "train_low", "train_high",
    "compiled_ms", "reference_compiled_ms", "compiled_ratio", "compiled_low", "compiled_high",
    "compiled_eager", "reference_compiled_eager", "compiled_difference",
    "max_difference", "measured_at",
)  # fmt: skip
AGAINST_KEY = ("model", "batch", "layout", "threads", "dtype")


def _pair_columns(prefix: str, pair, ours: str, reference: str) -> dict:
    """A paired timing's medians (ms) and ratio with its interval, or blanks."""
    import statistics

    if pair is None:
        return dict.fromkeys((ours, reference, f"{prefix}_ratio", f"{prefix}_low",
                              f"{prefix}_high"), "")  # fmt: skip
    low, high = pair.interval()
    return {
        ours: f"{statistics.median(pair.ours) * 1e3:.4f}",
        reference: f"{statistics.median(pair.reference) * 1e3:.4f}",
        f"{prefix}_ratio": f"{pair.median:.4f}",
        f"{prefix}_low": f"{low:.4f}",
        f"{prefix}_high": f"{high:.4f}",
    }


def against_row(c, args) -> dict:
    """One CSV row: every time the ratios use, the ratios and their intervals."""
    return {
        "model": c.model, "source": c.source, "batch": str(c.batch), "layout": c.layout,
        "threads": str(args.threads), "dtype": args.dtype, "rounds": str(len(c.eager.ours)),
        "calls_per_visit": str(c.calls_per_visit),
        **_pair_columns("eager", c.eager, "ours_ms", "reference_ms"),
        **_pair_columns("fused", c.fused, "fused_ms", "fused_reference_ms"),
        "fused_reference_layout": c.fused_reference_layout,
        "reference_other_ms": f"{c.reference_other_ms:.4f}",
        **_pair_columns("train", c.train, "train_ours_ms", "train_reference_ms"),
        **_pair_columns("compiled", c.compiled, "compiled_ms", "reference_compiled_ms"),
        "compiled_eager": str(c.compiled_eager) if c.compiled else "",
        "reference_compiled_eager": str(c.reference_compiled_eager) if c.compiled else "",
        "compiled_difference": f"{c.compiled_difference:.2e}" if c.compiled else "",
        "max_difference": f"{c.max_difference:.2e}", "measured_at": c.measured_at,
    }  # fmt: skip


def write_against(folder, args, comparisons) -> object:
    """``FOLDER/against-SOURCE.csv`` and ``.json`` (the same rows with every round's
    seconds): the rows measured now replace those of the same model, batch and settings;
    every other row already there is kept."""
    import csv
    import io
    import json

    from keyarch.outputs import atomic_write

    path = folder / f"against-{args.against}.csv"
    new = [against_row(c, args) for c in comparisons]
    rounds = {
        tuple(against_row(c, args)[k] for k in AGAINST_KEY): {
            name: [round(t, 7) for t in seconds]
            for pair_name in ("eager", "fused", "train", "compiled")
            if (pair := getattr(c, pair_name)) is not None
            for name, seconds in ((f"{pair_name}_ours", pair.ours),
                                  (f"{pair_name}_reference", pair.reference))
        }
        for c in comparisons
    }  # fmt: skip
    replaced = set(rounds)
    kept, kept_rounds = [], {}
    if path.is_file():
        with path.open(newline="") as handle:
            # rows of the earlier, unlike-for-like format (no layout) are dropped: remeasured
            kept = [r for r in csv.DictReader(handle) if r.get("fused_reference_ms")
                    and tuple(r.get(k) for k in AGAINST_KEY) not in replaced]  # fmt: skip
    json_path = path.with_suffix(".json")
    if json_path.is_file():
        for entry in json.loads(json_path.read_text()).get("rows", []):
            key = tuple(entry["row"].get(k) for k in AGAINST_KEY)
            if key not in replaced:
                kept_rounds[key] = entry
    rows = sorted(kept + new, key=lambda r: (r["model"], int(r["batch"])))
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=AGAINST_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in AGAINST_COLUMNS})
    atomic_write(path, text.getvalue().encode())
    entries = [kept_rounds.get(tuple(r.get(k) for k in AGAINST_KEY)) or
               {"row": r, "seconds_per_call": rounds.get(tuple(r.get(k) for k in AGAINST_KEY), {})}
               for r in rows]  # fmt: skip
    atomic_write(json_path, (json.dumps({"rows": entries}, indent=1) + "\n").encode())
    return path
