"""``keyarch eval``: a trained run's top-1 and top-5, with test-time augmentation, written
to a results file."""

from __future__ import annotations

import argparse

from keyarch.cli.common import add_overwrite, choices_help, positive_int
from keyarch.data.catalog import DATASETS
from keyarch.train.recipes import TTA_MODES


def add(commands) -> None:
    parser = commands.add_parser("eval", help="evaluate a trained model, with TTA")
    parser.add_argument("--checkpoint", required=True, help="model.safetensors of a run")
    parser.add_argument(
        "--dataset",
        choices=DATASETS,
        required=True,
        help=choices_help("the test split of", DATASETS),
    )
    parser.add_argument("--data-dir")
    parser.add_argument(
        "--tta",
        choices=TTA_MODES,
        help=choices_help("test-time augmentation (default: the run's recipe's)", TTA_MODES),
    )
    parser.add_argument("--batch-size", type=positive_int, default=100)
    parser.add_argument("--limit", type=positive_int, help="a fixed random subset of N images")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 ...")
    parser.add_argument("--amp", choices=("none", "bf16", "fp16"), default="none")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument(
        "--results",
        help="the JSON results file (default: eval-DATASET.json beside the "
        "weights; a taken name gets -2, -3 ...)",
    )
    parser.add_argument("--no-download", action="store_true")
    add_overwrite(parser, "a taken --results file (default: write NAME-2.json beside it)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from keyarch.outputs import check_file
    from keyarch.train.trained import evaluate_trained, write_results

    target = (
        Path(args.results)
        if args.results
        else (Path(args.checkpoint).parent / f"eval-{args.dataset}.json")
    )
    # a taken name is not replaced: the results go to NAME-2.json (see --results)
    check_file(target, "--results", overwrite=True)
    results = evaluate_trained(
        args.checkpoint,
        args.dataset,
        args.data_dir,
        tta=args.tta,
        device=args.device,
        amp=args.amp,
        channels_last=args.channels_last,
        batch_size=args.batch_size,
        limit=args.limit,
        download=not args.no_download,
    )
    written = write_results(results, target, overwrite=args.overwrite)
    shown = ", ".join(
        f"{'single crop' if mode == 'none' else mode} top-1 {r['top1']:.4f} top-5 {r['top5']:.4f}"
        for mode, r in results["results"].items()
    )
    print(
        f"{results['model']} on {results['dataset']} test ({results['images']:,} images): "
        f"{shown}; results in {written}"
    )
    return 0
