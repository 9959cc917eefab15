"""``keyarch train NAME``: train a model with its paper's recipe (every field overridable)."""

from __future__ import annotations

import argparse
import sys

from keyarch.cli.common import (
    choices_help,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)
from keyarch.data.catalog import DATASETS as IMAGE_DATASETS
from keyarch.data.catalog import SEQUENCE_DATASETS
from keyarch.train.recipes import (
    AUGMENTATIONS,
    NORMALISATIONS,
    OPTIMIZERS,
    RECIPES,
    SCHEDULES,
    TTA_MODES,
)

DATASETS = IMAGE_DATASETS + SEQUENCE_DATASETS  # what keyarch train trains on

# recipe fields a flag can override: (field, type, choices)
RECIPE_FLAGS = (
    ("epochs", positive_int, None),
    ("batch_size", positive_int, None),
    ("lr", positive_float, None),
    ("momentum", non_negative_float, None),
    ("weight_decay", non_negative_float, None),
    ("optimizer", str, OPTIMIZERS),
    ("schedule", str, SCHEDULES),
    ("patience", positive_int, None),
    ("max_drops", non_negative_int, None),
    ("warmup_epochs", non_negative_float, None),
    ("warmup_steps", non_negative_int, None),
    ("label_smoothing", non_negative_float, None),
    ("clip_grad", non_negative_float, None),
    ("augment", str, AUGMENTATIONS),
    ("tta", str, TTA_MODES),
    ("normalisation", str, NORMALISATIONS),
    ("freeze_encoder_epochs", non_negative_int, None),
    ("depthwise_weight_decay", non_negative_float, None),
    ("min_crop_area", positive_float, None),
    ("ema_decay", non_negative_float, None),
)

# recipe fields that are on or off: --NAME / --no-NAME
SWITCHES = {
    "ema_warmup": "warm the average's decay up as timm's ModelEmaV3 does (with --ema-decay)",
    "ema_result": "the averaged weights are the run's result (with --ema-decay)",
}


def add(commands) -> None:
    parser = commands.add_parser("train", help="train a model with its paper's recipe")
    parser.add_argument("name")
    parser.add_argument(
        "--dataset",
        choices=DATASETS,
        help=choices_help(
            "default: mnist for one-channel models, task-2c for the recurrent models, else cifar10",
            DATASETS,
        ),
    )
    parser.add_argument("--data-dir", help="where datasets are (then $KEYARCH_DATA, the cache)")
    add_run_options(parser)
    parser.add_argument("--image-size", type=positive_int, help="network input size")
    parser.add_argument("--no-download", action="store_true")
    parser.set_defaults(run=run)


def add_run_options(parser) -> None:
    """The recipe, its overrides and the run's own flags: ``keyarch train`` and
    ``keyarch caption train`` take the same ones."""
    parser.add_argument(
        "--recipe",
        choices=tuple(RECIPES),
        metavar="RECIPE",
        help=choices_help(
            "a named recipe (default: the family's paper recipe, see keyarch info NAME)", RECIPES
        ),
    )
    for name, kind, choices in RECIPE_FLAGS:
        parser.add_argument(
            "--" + name.replace("_", "-"),
            type=kind,
            choices=choices,
            help=choices_help("override the recipe", choices) if choices else "override the recipe",
        )
    for name, meaning in SWITCHES.items():
        parser.add_argument(
            "--" + name.replace("_", "-"),
            action=argparse.BooleanOptionalAction,
            help=f"override the recipe: {meaning}",
        )
    parser.add_argument("--out", default="runs", help="parent of the run directory")
    parser.add_argument("--run-name", help="default: MODEL-DATASET; a taken name gets -2, -3 ...")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run of the same name instead of keeping it",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue the run's checkpoint (same settings only)"
    )
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--amp", choices=("none", "bf16", "fp16"), default="none")
    parser.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        help="memory format (default: on for the CPU, and for GPUs with --amp)",
    )
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--deterministic", action="store_true", help="deterministic kernels")
    parser.add_argument(
        "--threads",
        type=positive_int,
        help="compute threads (default: the cores less the loader processes)",
    )
    parser.add_argument(
        "--workers",
        type=non_negative_int,
        help="loader processes (default: none for data held in memory, half "
        "the cores for folders of files)",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=non_negative_int,
        default=0,
        help="steps between checkpoints (0: after each epoch)",
    )
    parser.add_argument(
        "--train-limit", type=positive_int, help="train on a fixed random subset of N images"
    )
    parser.add_argument(
        "--test-limit", type=positive_int, help="test on a fixed random subset of N images"
    )
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 ... (default: auto)")


def run_options(args: argparse.Namespace, recipe) -> dict[str, object]:
    """``TrainConfig`` arguments of the flags ``add_run_options`` added, the recipe with
    its overrides applied."""
    from pathlib import Path

    from keyarch.train.recipes import override

    return dict(
        recipe=override(
            recipe,
            **{name: getattr(args, name) for name in (*(f[0] for f in RECIPE_FLAGS), *SWITCHES)},
        ),  # fmt: skip
        out=Path(args.out),
        run_name=args.run_name,
        overwrite=args.overwrite,
        seed=args.seed,
        amp=args.amp,
        channels_last=args.channels_last,
        compile=args.compile,
        deterministic=args.deterministic,
        threads=args.threads,
        workers=args.workers,
        checkpoint_every=args.checkpoint_every,
        resume=args.resume,
        train_limit=args.train_limit,
        test_limit=args.test_limit,
        progress=not args.no_progress,
        device=args.device,
        command=["keyarch", *args.argv] if args.argv is not None else ["keyarch", *sys.argv[1:]],
    )


def run(args: argparse.Namespace) -> int:
    from keyarch.registry import model_card
    from keyarch.train import TrainConfig, get_recipe, train
    from keyarch.train.tasks import default_task, task_class

    task = default_task(args.name)  # image or sequence classification, from the card
    asked = get_recipe(args.recipe) if args.recipe else None
    planned = task_class(task)(  # the task's default dataset and recipe, before the flags
        TrainConfig(model=args.name, dataset=args.dataset, recipe=asked, task=task),
        model_card(args.name),
    )
    config = TrainConfig(
        model=args.name,
        task=task,
        dataset=planned.dataset,
        data_dir=args.data_dir,
        download=not args.no_download,
        image_size=args.image_size,
        # the embedded MNIST subset stands in only when the user named no data at all
        allow_embedded=args.dataset is None and args.data_dir is None,
        **run_options(args, planned.recipe),
    )
    train(config)
    return 0
