"""``keyarch caption train|predict|eval``: Show and Tell, a CNN and an LSTM trained together.

* ``train --encoder NAME``: a run as ``keyarch train`` makes one (progress, checkpoints,
  ``--resume``, metrics.csv, curves.png, summary.json) on the synthetic captions (default),
  Flickr8k or COCO (``--dataset``, ``--data-dir``);
* ``predict IMAGE... --weights F``: one caption per image (``--beam-size``);
* ``eval --weights F --split test``: corpus BLEU-1..4 on a split and, on the synthetic set,
  what the captions say (object, colour, size, relation accuracy, exact match), beside the
  blind, reversed-relation and oracle baselines; the captions and scores in a JSON file
  (``--out``), a PNG grid of images with their captions (``--grid``).
"""

from __future__ import annotations

import argparse

from keyarch.cli.common import Parser, add_overwrite, non_negative_float, positive_int

DATASETS = ("synthetic", "flickr8k", "coco")
SPLITS = ("train", "val", "test", "novel")


def add(commands) -> None:
    parser = commands.add_parser(
        "caption", help="image captioning: a CNN and an LSTM trained end to end (Show and Tell)"
    )
    sub = parser.add_subparsers(dest="caption_command", required=True, parser_class=Parser)
    _add_train(sub)
    _add_predict(sub)
    _add_eval(sub)


def _add_train(sub) -> None:
    from keyarch.cli.train import add_run_options

    parser = sub.add_parser("train", help="train a captioner (default: on the synthetic set)")
    parser.add_argument("--encoder", required=True, help="any keyarch image model, e.g. resnet18")
    parser.add_argument("--dataset", choices=DATASETS, default="synthetic")
    parser.add_argument("--data-dir", help="the Flickr8k or COCO folder (--dataset)")
    parser.add_argument(
        "--pretrained-encoder",
        action="store_true",
        help="start the encoder from its ImageNet weights (keyarch list --pretrained "
        "names the models that have them)",
    )
    parser.add_argument(
        "--freeze-encoder",
        action="store_true",
        help="train the LSTM only: the CNN is a fixed feature extractor",
    )
    parser.add_argument(
        "--encoder-lr-scale",
        type=non_negative_float,
        help="the encoder's learning rate over the decoder's (default 0.1)",
    )
    for flag, what in (("embed-size", "word and image embedding (default 512)"),
                       ("hidden-size", "LSTM memory (default 512)"),
                       ("layers", "stacked LSTM layers (default 1)"),
                       ("min-count", "words seen fewer times become <unk> (default: "
                                     "im2txt's 4)"),
                       ("max-length", "words a generated caption may have (default 20)"),
                       ("beam-size", "the final evaluation's beam (default 3)"),
                       ("image-size", "image side in pixels (default 64)")):  # fmt: skip
        parser.add_argument("--" + flag, type=positive_int, help=what)
    parser.add_argument("--dropout", type=non_negative_float, help="LSTM dropout (default 0.3)")
    parser.add_argument("--length-penalty", type=non_negative_float, help="beam ranking (0)")
    add_run_options(parser)
    parser.set_defaults(run=run_train)


def _add_predict(sub) -> None:
    parser = sub.add_parser("predict", help="caption image files with a trained captioner")
    parser.add_argument("images", nargs="+")
    parser.add_argument("--weights", required=True, help="model.safetensors of a caption run")
    parser.add_argument("--beam-size", type=positive_int, default=3)
    parser.add_argument("--length-penalty", type=non_negative_float, default=0.0)
    parser.set_defaults(run=run_predict)


def _add_eval(sub) -> None:
    parser = sub.add_parser(
        "eval", help="BLEU and what the captions say, beside baselines, on a split"
    )
    parser.add_argument("--weights", required=True, help="model.safetensors of a caption run")
    parser.add_argument("--split", choices=SPLITS, default="test")
    parser.add_argument(
        "--dataset", choices=DATASETS, help="default: the one the model was trained on"
    )
    parser.add_argument("--data-dir", help="the Flickr8k or COCO folder")
    parser.add_argument("--limit", type=positive_int, help="the first N images of the split")
    parser.add_argument("--beam-size", type=positive_int, default=3)
    parser.add_argument("--length-penalty", type=non_negative_float, default=0.0)
    parser.add_argument("--out", help="write scores and every caption to this JSON file")
    parser.add_argument("--grid", help="write a PNG grid of images with their captions")
    parser.add_argument("--threads", type=positive_int, help="compute threads")
    add_overwrite(parser, "an existing --out or --grid file")
    parser.set_defaults(run=run_eval)


def run_train(args: argparse.Namespace) -> int:
    from keyarch.cli.train import run_options
    from keyarch.errors import BadInput
    from keyarch.registry import model_card
    from keyarch.train import TrainConfig, default_recipe, get_recipe, train
    from keyarch.train.tasks.captioning import CaptionSettings

    card = model_card(args.encoder)  # an unknown name is named here, with suggestions
    if card.task != "image-classification":
        raise BadInput(f"--encoder {card.name}: a {card.task} model; the encoder is an image "
                       "model (keyarch list --task image-classification)")  # fmt: skip
    recipe = get_recipe(args.recipe) if args.recipe else default_recipe("captioning", args.dataset)
    given = {
        "embed_size": args.embed_size,
        "hidden_size": args.hidden_size,
        "num_layers": args.layers,
        "dropout": args.dropout,
        "freeze_encoder": args.freeze_encoder or None,
        "encoder_lr_scale": args.encoder_lr_scale,
        "pretrained_encoder": args.pretrained_encoder or None,
        "min_count": args.min_count,
        "max_length": args.max_length,
        "beam_size": args.beam_size,
        "length_penalty": args.length_penalty,
        "image_size": args.image_size,
    }
    settings = CaptionSettings(**{k: v for k, v in given.items() if v is not None})
    config = TrainConfig(
        model=args.encoder,
        task="captioning",
        caption=settings,
        dataset=args.dataset,
        data_dir=args.data_dir,
        **run_options(args, recipe),
    )
    train(config)
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from keyarch.train.trained_captioner import caption_files, load_captioner

    model, vocabulary, metadata = load_captioner(args.weights)
    for path, words in caption_files(
        model, vocabulary, metadata, args.images, args.beam_size, args.length_penalty
    ):
        print(f"{path}: {words}")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    import json
    import sys
    from pathlib import Path

    import torch

    from keyarch.analysis.inputs import check_threads
    from keyarch.outputs import atomic_write, check_file
    from keyarch.train.trained_captioner import evaluate_weights

    for flag, path in (("--out", args.out), ("--grid", args.grid)):
        if path is not None:
            check_file(path, flag, overwrite=args.overwrite)
    if args.threads:
        check_threads(args.threads)
        torch.set_num_threads(args.threads)
    result = evaluate_weights(
        args.weights,
        split=args.split,
        dataset=args.dataset,
        data_dir=args.data_dir,
        limit=args.limit,
        beam_size=args.beam_size,
        length_penalty=args.length_penalty,
        grid=args.grid,
    )
    from keyarch.metrics.captions import final_split_line
    from keyarch.metrics.scenes import SCORES as SCENE_SCORES

    scores = result["scores"]
    print(
        f"{result['dataset']} {args.split} ({result['images']} images, beam {args.beam_size}): "
        + ", ".join(f"BLEU-{n} {scores[f'bleu{n}']:.4f}" for n in range(1, 5))
    )
    if "exact_match" in scores:
        print("  what the captions say: " + ", ".join(
            f"{k.replace('_', ' ')} {scores[k]:.3f}" for k in SCENE_SCORES))  # fmt: skip
    flat = {f"{args.split}_{k}": v for k, v in scores.items()} | result["baselines"]
    print("  beside its baselines: " + final_split_line(flat, args.split, args.beam_size))
    print(f"  blind caption: {result['blind_caption']!r}")
    if args.out:
        atomic_write(Path(args.out), json.dumps(result, indent=2).encode(), "--out")
        print(f"written: {args.out}", file=sys.stderr)
    if args.grid:
        print(f"written: {args.grid}", file=sys.stderr)
    return 0
