"""``keyarch draw NAME -o FILE.svg|png``: the block diagram of a model, as papers draw it."""

from __future__ import annotations

import argparse

from keyarch.cli.common import add_overwrite, input_size


def add(commands) -> None:
    parser = commands.add_parser(
        "draw", help="draw a model's block diagram (stages, repeated blocks, shapes) to SVG/PNG"
    )
    parser.add_argument("name", help="a model, as `keyarch list` names it")
    parser.add_argument("-o", "--output", required=True, help="the .svg or .png file to write")
    parser.add_argument("--input-size", type=input_size, help="C,H,W (default: the model's)")
    add_overwrite(parser, "an existing -o file")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:

    from keyarch.analysis.draw import SUFFIXES
    from keyarch.outputs import check_file
    from keyarch.registry import model_card

    card = model_card(args.name)
    output = check_file(args.output, "-o", suffixes=SUFFIXES, overwrite=args.overwrite)

    import torch

    from keyarch.analysis.diagram import architecture_diagram
    from keyarch.analysis.draw import save_diagram
    from keyarch.analysis.inputs import check_input_size
    from keyarch.registry import create_model

    options = {}
    if args.input_size and args.input_size[0] != card.input_size[0]:
        options["in_chans"] = args.input_size[0]  # grey images for an RGB network, say
    if args.input_size:
        check_input_size(card.name, args.input_size, options=options, memory=False)
    with torch.device("meta"):  # shapes and counts only: nothing is allocated
        model = create_model(card.name, **options)
    diagram = architecture_diagram(model, args.input_size)
    path = save_diagram(diagram, output, overwrite=args.overwrite)
    size = "x".join(str(v) for v in diagram.input_size)
    print(f"{path}: the block diagram of {card.name} ({len(diagram.boxes)} boxes, input {size})")
    return 0
