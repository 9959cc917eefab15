"""``keyarch predict``: the top classes of image files under a trained run's model."""

from __future__ import annotations

import argparse

from keyarch.cli.common import positive_int


def add(commands) -> None:
    parser = commands.add_parser("predict", help="top-k classes of image files")
    parser.add_argument("images", nargs="+")
    parser.add_argument("--checkpoint", required=True, help="model.safetensors of a run")
    parser.add_argument("--top-k", type=positive_int, default=5)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from keyarch.train.trained import load_trained, predict_files

    trained = load_trained(args.checkpoint)
    for path, ranked in predict_files(trained, args.images, args.top_k):
        print(f"{path}: " + ", ".join(f"{name} {p:.3f}" for name, p in ranked))
    return 0
