"""``keyarch bench``: measure models on this machine (Canziani et al. 2016), chart and report
the results, and time keyarch against torchvision or timm with the same weights."""

from __future__ import annotations

import argparse
from functools import partial

from keyarch.cli.common import choices_help, positive_float, positive_int

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
        "--warmup", type=int, default=3, help="untimed calls before a step is timed (default 3)"
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
    names = _names(args)
    _set_threads(args)
    if args.against:
        return _against(args, names)
    if not args.out:
        raise BadInput("give --out DIR: the folder the measurements go to (resumable)")
    return _measure(args, names)


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

    from keyarch.errors import BadInput
    from keyarch.train.data import usable_cores

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
    document["models"] = [m for m in document["models"] if m.get("rows")]
    if not document["models"]:
        raise BadInput(f"{path}: no model measured yet")
    BenchFolder(source).write_tables()
    to = Path(args.to or source)
    written = []
    if args.report:
        from keyarch.analysis.bench_report import write_report

        written.append(
            write_report(document, to, command=f"keyarch bench --report {source}", results=source)
        )
    elif args.plot:
        from keyarch.analysis.charts import plot_all

        written += [p for p in plot_all(document, to / "figures") if p.suffix == ".png"]
    if args.table or args.report:
        from keyarch.analysis.bench_report import model_table

        to.mkdir(parents=True, exist_ok=True)
        (to / "models.md").write_text("# keyarch's models, measured\n\n" + model_table(document))
        written.append(to / "models.md")
    for item in written:
        print(item)
    return 0


def _against(args, names: list[str]) -> int:
    import sys
    from pathlib import Path

    from keyarch.analysis.against import compare, compare_isolated, references, summary

    available = references(args.against)
    missing = [n for n in names if n not in available]
    if missing:
        from keyarch.errors import BadInput

        raise BadInput(
            f"--against {args.against}: no reference for {', '.join(missing)}; "
            f"models with one: {', '.join(available)}"
        )
    if args.device != "cpu":
        from keyarch.errors import BadInput

        raise BadInput("--against times on the CPU only (--device cpu)")
    print(
        f"keyarch against {args.against}, {args.threads} threads, {args.dtype}"
        f"{', channels-last' if args.channels_last else ''}; ratio = reference time / "
        "keyarch time, median of interleaved rounds (lowest-highest); above 1 keyarch is "
        "faster",
        flush=True,
    )
    header = (
        f"{'model':<20} {'batch':>5} {'ours ms':>9} {'ref ms':>9} {'fused ms':>9} "
        f"{'unfused':>17} {'fused':>17} {'train':>17}"
        + (f" {'compiled':>17}" if args.compiled else "")
        + "  max |diff|"
    )
    print(header)
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
            compiled = (
                f" {c.compiled.text():>17} ({c.compiled_difference:.0e}"
                + (", frozen graph refused: ran eagerly)" if c.compiled_eager else ")")
                if c.compiled
                else ""
            )
            print(
                f"{c.model:<20} {c.batch:>5} {c.ours_ms:>9.2f} {c.reference_ms:>9.2f} "
                f"{c.fused_ms:>9.2f} {c.unfused.text():>17} {c.fused.text():>17} "
                f"{train:>17}{compiled}  {c.max_difference:.1e}",
                flush=True,
            )
        if args.out:  # after every model: an interrupted --all keeps what it measured
            write_against(Path(args.out), args, [r for r in rows if r.model == name])
    means = summary(rows)
    print(
        "geometric mean over models and batch sizes: "
        + ", ".join(f"{k} {v:.2f}" for k, v in means.items())
    )
    if args.out:
        print(f"written: {Path(args.out) / f'against-{args.against}.csv'}", file=sys.stderr)
    return 0


AGAINST_COLUMNS = ("model", "source", "batch", "ours_ms", "reference_ms", "fused_ms",
                   "unfused_ratio", "fused_ratio", "train_ratio", "max_difference", "threads",
                   "dtype", "channels_last", "compiled_ms", "compiled_ratio",
                   "compiled_difference", "compiled_eager")  # fmt: skip


def write_against(folder, args, comparisons) -> object:
    """``FOLDER/against-SOURCE.csv``: the rows measured now replace those of the same model,
    batch and settings; every other row already in the file is kept."""
    import csv
    import io

    from keyarch.train.checkpoint import atomic_write

    path = folder / f"against-{args.against}.csv"
    new = [
        {"model": c.model, "source": c.source, "batch": str(c.batch),
         "ours_ms": f"{c.ours_ms:.3f}", "reference_ms": f"{c.reference_ms:.3f}",
         "fused_ms": f"{c.fused_ms:.3f}", "unfused_ratio": f"{c.unfused.median:.3f}",
         "fused_ratio": f"{c.fused.median:.3f}",
         "train_ratio": f"{c.train.median:.3f}" if c.train else "",
         "max_difference": f"{c.max_difference:.2e}", "threads": str(args.threads),
         "dtype": args.dtype, "channels_last": str(args.channels_last),
         "compiled_ms": f"{c.compiled_ms:.3f}" if c.compiled else "",
         "compiled_ratio": f"{c.compiled.median:.3f}" if c.compiled else "",
         "compiled_difference": f"{c.compiled_difference:.2e}" if c.compiled else "",
         "compiled_eager": str(c.compiled_eager) if c.compiled else ""}
        for c in comparisons
    ]  # fmt: skip
    key = ("model", "batch", "threads", "dtype", "channels_last")
    replaced = {tuple(row[k] for k in key) for row in new}
    kept = []
    if path.is_file():
        with path.open(newline="") as handle:
            kept = [
                r for r in csv.DictReader(handle) if tuple(r.get(k) for k in key) not in replaced
            ]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=AGAINST_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in sorted(kept + new, key=lambda r: (r["model"], int(r["batch"]))):
        writer.writerow({k: row.get(k, "") for k in AGAINST_COLUMNS})
    atomic_write(path, text.getvalue().encode())
    return path
