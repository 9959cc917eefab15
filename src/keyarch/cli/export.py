"""``keyarch export``: a model, with a trained run's or published weights, as ONNX with a
dynamic batch, checked in onnxruntime."""

from __future__ import annotations

import argparse

from keyarch.cli.common import input_size


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
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from keyarch.analysis.export import check_onnx, export_onnx
    from keyarch.errors import BadInput
    from keyarch.registry import create_model, model_card

    card = model_card(args.name)
    if args.weights and args.pretrained:
        raise BadInput("give --weights FILE or --pretrained, not both")
    if Path(args.output).exists():
        raise BadInput(f"-o {args.output} exists; keyarch does not overwrite it")
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
        model = create_model(card.name, pretrained=args.pretrained)
        source = "published weights" if args.pretrained else "random weights (no --weights)"
    path = export_onnx(model, args.output, tuple(size))
    line = f"{path}: {card.name} with {source}, input (batch, {', '.join(map(str, size))})"
    if not args.no_check:
        line += f"; onnxruntime matches PyTorch to {check_onnx(model, path, tuple(size)):.1e}"
    print(line)
    return 0
