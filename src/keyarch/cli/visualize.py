"""``keyarch visualize NAME``: filters, strongest maps and deconvnet projections."""

from __future__ import annotations

import argparse
import sys

from keyarch.cli.common import input_size, positive_int


def add(commands) -> None:
    parser = commands.add_parser(
        "visualize", help="save first-layer filters, strongest maps and deconvnet projections"
    )
    parser.add_argument("name")
    parser.add_argument("--image", required=True, help="an image file")
    parser.add_argument("--weights", help="a .safetensors file of the model's weights")
    parser.add_argument("--layer", help="a convolution, e.g. conv5 (default: the last)")
    parser.add_argument("--top", type=positive_int, default=9, help="how many maps (default 9)")
    parser.add_argument("--input-size", type=input_size, help="C,H,W (default: the model's)")
    parser.add_argument("--out", default="visualisations", help="output folder")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from keyarch import create_model
    from keyarch.analysis.visualize import save_visualisations
    from keyarch.data import load_image
    from keyarch.train.checkpoint import load_model_weights

    model = create_model(args.name)
    image = load_image(args.image, args.input_size or model.card.input_size)
    if args.weights:
        load_model_weights(model, args.weights)
    else:
        print("keyarch: no --weights given: showing randomly initialised filters", file=sys.stderr)
    for path in save_visualisations(model, image, args.out, layer=args.layer, top=args.top):
        print(path)
    return 0
