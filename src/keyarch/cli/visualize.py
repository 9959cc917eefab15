"""``keyarch visualize NAME``: filters, strongest maps and deconvnet projections."""

from __future__ import annotations

import argparse
import sys

from keyarch.cli.common import add_overwrite, input_size, positive_int


def add(commands) -> None:
    parser = commands.add_parser(
        "visualize", help="save first-layer filters, strongest maps and deconvnet projections"
    )
    parser.add_argument("name")
    parser.add_argument("--image", required=True, help="an image file")
    parser.add_argument("--weights", help="a .safetensors file of the model's weights")
    parser.add_argument("--layer", help="a convolution, e.g. conv5 (default: the last)")
    parser.add_argument("--top", type=positive_int,
                        help="how many maps (default 9, or all of a layer with fewer)")  # fmt: skip
    parser.add_argument("--input-size", type=input_size, help="C,H,W (default: the model's)")
    parser.add_argument("--out", default="visualisations", help="output folder")
    add_overwrite(parser, "pictures already in --out")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from keyarch import create_model, model_card
    from keyarch.analysis.inputs import check_input_size
    from keyarch.analysis.visualize import save_visualisations
    from keyarch.data import load_image
    from keyarch.errors import BadInput
    from keyarch.outputs import check_folder
    from keyarch.train.checkpoint import load_model_weights

    card = model_card(args.name)
    if card.task != "image-classification":
        raise BadInput(f"{card.name} is a {card.task} model: keyarch visualize shows the "
                       "filters and feature maps of image models")  # fmt: skip
    check_folder(args.out, "--out", empty=True, overwrite=args.overwrite)
    size = args.input_size or card.input_size
    if args.input_size:
        check_input_size(card.name, size)
    model = create_model(card.name)
    image = load_image(args.image, size)
    if args.weights:
        load_model_weights(model, args.weights)
    paths = save_visualisations(model, image, args.out, layer=args.layer, top=args.top,
                                overwrite=args.overwrite)  # fmt: skip
    if not args.weights:
        print("keyarch: no --weights given: showing randomly initialised filters", file=sys.stderr)
    for path in paths:
        print(path)
    return 0
