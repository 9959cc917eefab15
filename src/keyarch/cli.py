"""The ``keyarch`` command: a thin layer over the library.

Errors in what the user typed give one line on stderr and exit status 2; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import torch


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage block
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _input_size(text: str) -> tuple[int, int, int]:
    try:
        parts = tuple(int(p) for p in text.replace("x", ",").split(","))
    except ValueError:
        parts = ()
    if len(parts) != 3 or min(parts) < 1:
        raise argparse.ArgumentTypeError(f"expected C,H,W such as 3,224,224, got {text!r}")
    return parts  # type: ignore[return-value]


def _meta_model(name: str) -> torch.nn.Module:
    """The model on the meta device: shapes and counts without allocating weights."""
    from keyarch import create_model

    with torch.device("meta"):
        return create_model(name)


def _gmacs(macs: int) -> str:
    giga = macs / 1e9
    return f"{giga:.3f}" if giga >= 0.01 else f"{giga:.6f}"


def _model_counts(names: list[str]) -> dict[str, tuple[int, int]]:
    """(parameters, MACs at the default input) per model, cached in keyarch's cache keyed by
    the source of the models and layers, so that `keyarch list` is quick after the first run."""
    import hashlib
    import json

    from keyarch import model_card
    from keyarch.analysis import count_macs, count_parameters
    from keyarch.data.sources import cache_dir

    package = Path(__file__).parent
    digest = hashlib.sha1(torch.__version__.encode())
    for source in sorted([*package.glob("models/*.py"), *package.glob("layers/*.py")]):
        digest.update(source.read_bytes())
    path = cache_dir() / "model-counts" / f"{digest.hexdigest()[:16]}.json"
    try:
        counts = {k: tuple(v) for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError):
        counts = {}
    missing = [name for name in names if name not in counts]
    for name in missing:
        model = _meta_model(name)
        counts[name] = (count_parameters(model), count_macs(model, model_card(name).input_size))
    if missing:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(counts))
        except OSError:
            pass  # a read-only cache only costs time
    return counts


def cmd_list(args: argparse.Namespace) -> int:
    from keyarch import list_models, model_card

    names = list_models(args.pattern)
    if not names:
        raise ValueError(f"no model matches {args.pattern!r}; try `keyarch list` for all")
    header = ("name", "family", "year", "params", "GMACs", "input", "ImageNet top-1")
    counts = _model_counts(names)
    rows = []
    for name in names:
        card = model_card(name)
        parameters, macs = counts[name]
        top1 = f"{card.imagenet_top1:.3f}" if card.imagenet_top1 is not None else "-"
        rows.append(
            (name, card.family, str(card.year), f"{parameters:,}", _gmacs(macs),
             "x".join(str(d) for d in card.input_size), top1)
        )  # fmt: skip
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
    return 0


def _format_card(name: str) -> str:
    from keyarch.registry import builder_options, model_card
    from keyarch.train.recipes import PAPER_RECIPES, RECIPES

    card = model_card(name)

    def wrap(text: str, indent: str) -> list[str]:
        return textwrap.wrap(text, 92, initial_indent=indent, subsequent_indent=" " * len(indent))

    lines = [
        f"{card.name} ({card.family})",
        f"  Paper:       {card.title}",
        *wrap(card.authors, "  Authors:     "),
        f"  Year:        {card.year}",
        f"  Link:        {card.url}",
        f"  Input:       {'x'.join(str(d) for d in card.input_size)} (channels x height x width)",
        *wrap(card.description, "  What it is:  "),
        "  Main ideas:",
        *(line for idea in card.main_ideas for line in wrap(idea, "    - ")),
        *wrap(card.importance, "  Why it matters: "),
        "  Deviations from the paper:",
        *(line for d in card.deviations or ("none",) for line in wrap(d, "    - ")),
        "  Published results:",
        *(
            f"    - {m.dataset}: top-1 {m.top1} %"
            + (f", top-5 {m.top5} %" if m.top5 is not None else "")
            + f" ({m.source})"
            for m in card.metrics
        ),
        "  Options:     " + ", ".join(f"{k}={v!r}" for k, v in builder_options(name).items()),
    ]
    if not card.metrics:
        lines.insert(lines.index("  Published results:") + 1, "    - none recorded")
    if card.family in PAPER_RECIPES:
        recipe = RECIPES[PAPER_RECIPES[card.family]]
        source, *settings = recipe.describe()
        lines.append(
            f"  Paper recipe `{recipe.name}` (each field can be overridden on `keyarch train`):"
        )
        lines += wrap(source.removeprefix("source: "), "    ")
        lines += wrap("; ".join(settings), "    ")
    return "\n".join(lines)


def cmd_info(args: argparse.Namespace) -> int:
    from keyarch import model_card
    from keyarch.analysis import format_summary

    card = model_card(args.name)
    print(_format_card(args.name))
    if not args.no_summary:
        size = args.input_size or card.input_size
        model = _meta_model(args.name)
        model.check_input(torch.empty(1, *size, device="meta"))
        print()
        print(format_summary(model, size))
    return 0


def _load_weights(model: torch.nn.Module, path: Path) -> None:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError) as error:
        raise ValueError(f"{path} is not a readable safetensors file: {error}") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        first = str(error).splitlines()[0]
        raise ValueError(f"{path} does not hold weights of this model: {first}") from None


def cmd_visualize(args: argparse.Namespace) -> int:
    from keyarch import create_model
    from keyarch.analysis.visualize import save_visualisations
    from keyarch.data import load_image

    model = create_model(args.name)
    image = load_image(args.image, args.input_size or model.card.input_size)
    if args.weights:
        _load_weights(model, Path(args.weights))
    else:
        print("keyarch: no --weights given: showing randomly initialised filters", file=sys.stderr)
    for path in save_visualisations(model, image, args.out, layer=args.layer, top=args.top):
        print(path)
    return 0


_RECIPE_FIELDS = (
    ("epochs", int),
    ("batch_size", int),
    ("lr", float),
    ("momentum", float),
    ("weight_decay", float),
    ("optimizer", str),
    ("schedule", str),
    ("warmup_epochs", float),
    ("label_smoothing", float),
    ("clip_grad", float),
    ("augment", str),
    ("tta", str),
)


def cmd_train(args: argparse.Namespace) -> int:
    from keyarch.registry import model_card
    from keyarch.train import TrainConfig, default_recipe, get_recipe, train
    from keyarch.train.recipes import override

    card = model_card(args.name)
    dataset = args.dataset or ("mnist" if card.input_size[0] == 1 else "cifar10")
    recipe = get_recipe(args.recipe) if args.recipe else default_recipe(card.family, dataset)
    recipe = override(recipe, **{name: getattr(args, name) for name, _ in _RECIPE_FIELDS})
    config = TrainConfig(
        model=args.name,
        dataset=dataset,
        data_dir=args.data_dir,
        recipe=recipe,
        out=Path(args.out),
        run_name=args.run_name,
        seed=args.seed,
        amp=args.amp,
        channels_last=args.channels_last,
        compile=args.compile,
        deterministic=args.deterministic,
        workers=args.workers,
        checkpoint_every=args.checkpoint_every,
        resume=args.resume,
        train_limit=args.train_limit,
        test_limit=args.test_limit,
        download=not args.no_download,
        image_size=args.image_size,
        progress=not args.no_progress,
        device=args.device,
        # the embedded MNIST subset stands in only when the user named no data at all
        allow_embedded=args.dataset is None and args.data_dir is None,
    )
    train(config)
    return 0


def _load_trained(path: str):
    """The trained model of a run's weights file, its metadata and evaluation transform."""
    from keyarch import create_model
    from keyarch.data.transforms import eval_transform
    from keyarch.train.checkpoint import load_weights

    weights, meta = load_weights(path)
    if "model" not in meta:
        raise ValueError(f"{path} has no keyarch metadata; was it written by `keyarch train`?")
    model = create_model(meta["model"], num_classes=meta["num_classes"], in_chans=meta["in_chans"])
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as error:
        raise ValueError(
            f"{path} does not fit {meta['model']}: {str(error).splitlines()[0]}"
        ) from None
    transform = eval_transform(
        crop=meta["resize"],
        resize=meta["resize"],
        mean=meta["mean"],
        std=meta["std"],
        pad=meta["pad"],
    )  # the run's evaluation pipeline; callers take the centre crop of meta["crop"]
    return model.eval(), meta, transform


def cmd_eval(args: argparse.Namespace) -> int:
    from keyarch.data.datasets import load_dataset
    from keyarch.train.data import Transformed
    from keyarch.train.distributed import Context, epoch_batches
    from keyarch.train.evaluate import evaluate

    model, meta, transform = _load_trained(args.checkpoint)
    dataset = load_dataset(args.dataset, "test", args.data_dir, download=not args.no_download)
    if tuple(dataset.classes) != tuple(meta["classes"]):
        raise ValueError(f"{args.checkpoint} was trained on other classes than {args.dataset}'s")
    test = Transformed(dataset, transform, seed=0, limit=args.limit)
    batches = epoch_batches(
        len(test),
        args.batch_size,
        seed=0,
        epoch=0,
        context=Context(),
        shuffle=False,
        drop_last=False,
    )
    import contextlib

    from torch.utils.data import DataLoader

    result = evaluate(
        model,
        DataLoader(test, batch_sampler=batches),
        crop=meta["crop"],
        tta=args.tta,
        device=torch.device("cpu"),
        autocast=contextlib.nullcontext,
        context=Context(),
    )
    print(
        f"{meta['model']} on {dataset.title} test ({len(test):,} images): "
        f"single crop {result['test_accuracy']:.4f}"
        + (f", {args.tta} {result['test_accuracy_' + args.tta]:.4f}" if args.tta != "none" else "")
    )
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from torchvision.transforms.v2 import functional as TF

    from keyarch.data.formats import decode_image

    model, meta, transform = _load_trained(args.checkpoint)
    for path in args.images:  # the evaluation pipeline of the run, image by image
        image = transform(decode_image(Path(path), "L" if meta["in_chans"] == 1 else "RGB"))
        batch = TF.center_crop(image, [meta["crop"], meta["crop"]]).unsqueeze(0)
        with torch.no_grad():
            probabilities = torch.softmax(model(batch), dim=1)[0]
        top = probabilities.topk(min(args.top_k, len(probabilities)))
        ranked = ", ".join(
            f"{meta['classes'][i]} {p:.3f}"
            for p, i in zip(top.values.tolist(), top.indices.tolist(), strict=True)
        )
        print(f"{path}: {ranked}")
    return 0


def _add_train_parser(commands) -> None:
    from keyarch.data.datasets import DATASETS

    parser = commands.add_parser("train", help="train a model with its paper's recipe")
    parser.add_argument("name")
    parser.add_argument("--dataset", choices=DATASETS, help="default: mnist for one-channel models")
    parser.add_argument("--data-dir", help="where datasets are (then $KEYARCH_DATA, the cache)")
    parser.add_argument("--recipe", help="a named recipe (keyarch info NAME shows the default)")
    for name, kind in _RECIPE_FIELDS:
        parser.add_argument("--" + name.replace("_", "-"), type=kind, help="override the recipe")
    parser.add_argument("--out", default="runs", help="parent of the run directory")
    parser.add_argument("--run-name", help="default: MODEL-DATASET")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--amp", choices=("none", "bf16", "fp16"), default="none")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--deterministic", action="store_true", help="deterministic kernels")
    parser.add_argument("--workers", type=int, default=2, help="data loader processes")
    parser.add_argument("--checkpoint-every", type=int, default=0, help="steps (0: each epoch)")
    parser.add_argument("--resume", action="store_true", help="continue the run's checkpoint")
    parser.add_argument(
        "--train-limit", type=int, help="train on a fixed random subset of N images"
    )
    parser.add_argument("--test-limit", type=int, help="test on a fixed random subset of N images")
    parser.add_argument("--image-size", type=int, help="network input size")
    parser.add_argument("--no-download", action="store_true")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 ... (default: auto)")
    parser.set_defaults(run=cmd_train)

    evaluation = commands.add_parser("eval", help="evaluate a trained model, with TTA")
    evaluation.add_argument("--checkpoint", required=True, help="model.safetensors of a run")
    evaluation.add_argument("--dataset", choices=DATASETS, required=True)
    evaluation.add_argument("--data-dir")
    evaluation.add_argument(
        "--tta", choices=("none", "flip", "tencrop", "multiscale"), default="tencrop"
    )
    evaluation.add_argument("--batch-size", type=int, default=100)
    evaluation.add_argument("--limit", type=int, help="a fixed random subset of N test images")
    evaluation.add_argument("--no-download", action="store_true")
    evaluation.set_defaults(run=cmd_eval)

    predict = commands.add_parser("predict", help="top-k classes of image files")
    predict.add_argument("images", nargs="+")
    predict.add_argument("--checkpoint", required=True, help="model.safetensors of a run")
    predict.add_argument("--top-k", type=int, default=5)
    predict.set_defaults(run=cmd_predict)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="keyarch", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    listing = commands.add_parser("list", help="list the architectures with their counts")
    listing.add_argument("pattern", nargs="?", default="*", help="shell wildcard, e.g. 'vgg*'")
    listing.set_defaults(run=cmd_list)

    info = commands.add_parser("info", help="a model's card and per-layer summary")
    info.add_argument("name")
    info.add_argument("--input-size", type=_input_size, help="C,H,W (default: the model's)")
    info.add_argument("--no-summary", action="store_true", help="only the card")
    info.set_defaults(run=cmd_info)

    visualize = commands.add_parser(
        "visualize", help="save first-layer filters, strongest maps and deconvnet projections"
    )
    visualize.add_argument("name")
    visualize.add_argument("--image", required=True, help="an image file")
    visualize.add_argument("--weights", help="a .safetensors file of the model's weights")
    visualize.add_argument("--layer", help="a convolution, e.g. conv5 (default: the last)")
    visualize.add_argument("--top", type=int, default=9, help="how many maps (default 9)")
    visualize.add_argument("--input-size", type=_input_size, help="C,H,W (default: the model's)")
    visualize.add_argument("--out", default="visualisations", help="output folder")
    visualize.set_defaults(run=cmd_visualize)
    _add_train_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, TypeError, FileNotFoundError) as error:
        if args.debug:
            raise
        print(f"keyarch: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `keyarch info vgg16 | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except RuntimeError as error:  # a run that failed (diverged), not bad input
        from keyarch.train import TrainingDiverged

        if args.debug or not isinstance(error, TrainingDiverged):
            raise
        print(f"keyarch: training stopped: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
