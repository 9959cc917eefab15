"""``keyarch predict``: the top classes of image files, under a trained run's model
(``--checkpoint``) or a model with published ImageNet weights (``--model NAME --pretrained``)."""

from __future__ import annotations

import argparse
import sys

from keyarch.cli.common import positive_int


def add(commands) -> None:
    parser = commands.add_parser("predict", help="top-k classes of image files")
    parser.add_argument("images", nargs="+")
    parser.add_argument("--checkpoint", help="model.safetensors of a run")
    parser.add_argument("--model", help="a model name (with --pretrained), e.g. efficientnet_lite0")
    parser.add_argument(
        "--pretrained",
        action="store_true",
        help="use the model's published ImageNet weights and their preprocessing",
    )
    parser.add_argument("--top-k", type=positive_int, default=5)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from keyarch.errors import BadInput

    if args.checkpoint is not None and args.model is not None:
        raise BadInput("give either --checkpoint (a trained run) or --model NAME --pretrained")
    if args.model is not None:
        if not args.pretrained:
            raise BadInput(
                f"--model {args.model} needs --pretrained: an untrained model's classes mean "
                "nothing (or give --checkpoint of a run you trained)"
            )
        from keyarch.pretrained import classify_files
        from keyarch.registry import create_model

        model = create_model(args.model, pretrained=True)
        built = ", ".join(f"{k}={v!r}" for k, v in model.pretrained_cfg["builder_options"].items())
        if built:  # not keyarch's defaults: say so, on stderr beside the results
            print(f"{args.model}: built with {built}, as its pretrained weights "
                  f"({model.pretrained_weights.source}) were trained", file=sys.stderr)  # fmt: skip
        results = classify_files(model, args.images, args.top_k)
    elif args.checkpoint is not None:
        if args.pretrained:
            raise BadInput("--pretrained goes with --model NAME, not with --checkpoint")
        from keyarch.train.trained import load_trained, predict_files

        results = predict_files(load_trained(args.checkpoint), args.images, args.top_k)
    else:
        raise BadInput("give --checkpoint (a trained run) or --model NAME --pretrained")
    for path, ranked in results:
        print(f"{path}: " + ", ".join(f"{name} {p:.3f}" for name, p in ranked))
    return 0
