"""``keyarch export``: a model, with a trained run's or published weights, as ONNX with a
dynamic batch, checked in onnxruntime."""

from __future__ import annotations

import argparse

from keyarch.cli.common import add_overwrite, input_size


def add(commands) -> None:
    parser = commands.add_parser("export", help="export a model to ONNX (dynamic batch)")
    parser.add_argument("name")
    parser.add_argument("-o", "--output", required=True, help="the .onnx file to write")
    parser.add_argument("--weights", help="model.safetensors of a run of this model")
    parser.add_argument("--pretrained", action="store_true", help="the published weights")
    parser.add_argument("--input-size", type=input_size, help="C,H,W (default: the model's)")
    parser.add_argument(
        "--no-check", action="store_true", help="do not compare onnxruntime's outputs"
    )
    add_overwrite(parser, "an existing -o file (and its .data)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:

    from keyarch.analysis.export import check_onnx, export_onnx
    from keyarch.analysis.inputs import check_input_size
    from keyarch.errors import BadInput
    from keyarch.extras import requires
    from keyarch.outputs import check_file
    from keyarch.registry import create_model, model_card

    card = model_card(args.name)
    if args.weights and args.pretrained:
        raise BadInput("give --weights FILE or --pretrained, not both")
    output = check_file(args.output, "-o", suffixes=(".onnx",), overwrite=args.overwrite,
                        companions=(".data",))  # fmt: skip
    requires("onnxscript", "keyarch export")
    requires("onnx", "keyarch export")
    if not args.no_check:
        requires("onnxruntime", "keyarch export's check (or give --no-check)")
    size = args.input_size or card.input_size
    if args.weights:
        from keyarch.train.trained import load_trained

        trained = load_trained(args.weights)
        if model_card(trained.meta["model"]).name != card.name:
            raise BadInput(
                f"--weights {args.weights} holds {trained.meta['model']}, not {card.name}"
            )
        model = trained.model
        size = args.input_size or (
            trained.meta["in_chans"],
            trained.meta["crop"],
            trained.meta["crop"],
        )
        source = f"the weights in {args.weights}"
    else:
        if args.input_size:  # before the weights are fetched
            check_input_size(card.name, size, batch=2)
        model = create_model(card.name, pretrained=args.pretrained)
        source = "published weights" if args.pretrained else "random weights (no --weights)"
    if args.input_size:
        check_input_size(card.name, size, batch=2, options=_options(model))
    path = export_onnx(model, output, tuple(size), overwrite=args.overwrite)
    line = f"{path}: {card.name} with {source}, input (batch, {', '.join(map(str, size))})"
    if not args.no_check:
        line += f"; onnxruntime matches PyTorch to {check_onnx(model, path, tuple(size)):.1e}"
    print(line)
    return 0


def _options(model) -> dict:
    """The builder options a model was made with that change its input (its channels)."""
    return {"in_chans": model.in_chans} if getattr(model, "in_chans", None) else {}
