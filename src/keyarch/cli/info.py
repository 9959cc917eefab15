"""``keyarch info NAME``: a model's card, its paper recipe and per-layer summary."""

from __future__ import annotations

import argparse
import textwrap

from keyarch.cli.common import input_size


def add(commands) -> None:
    parser = commands.add_parser("info", help="a model's card and per-layer summary")
    parser.add_argument("name")
    parser.add_argument(
        "--input-size", type=input_size, help="C,H,W of an image model (default: the model's)"
    )
    parser.add_argument("--no-summary", action="store_true", help="only the card")
    parser.set_defaults(run=run)


def _format_metric(metric) -> str:
    """'ImageNet top-1 74.8 %, top-5 92.2 %; ILSVRC-2012 val, 1 crop; source'."""
    accuracies = ", ".join(
        f"top-{k} {value} %"
        for k, value in ((1, metric.top1), (5, metric.top5))
        if value is not None
    )
    return f"{metric.dataset} {accuracies}; {metric.split}, {metric.crops}; {metric.source}"


def _format_card(name: str) -> str:
    from keyarch.registry import model_card
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
        f"  Task:        {card.task}",
        f"  Input:       {card.input_description}",
        *wrap(card.description, "  What it is:  "),
        "  Main ideas:",
        *(line for idea in card.main_ideas for line in wrap(idea, "    - ")),
        *wrap(card.importance, "  Why it matters: "),
        "  Deviations from the paper:",
        *(line for d in card.deviations or ("none",) for line in wrap(d, "    - ")),
        "  Published results (accuracy; split, views of each image; source):",
        *(
            [line for metric in card.metrics for line in wrap(_format_metric(metric), "    - ")]
            or ["    - none recorded"]
        ),
        "  Options:     " + ", ".join(f"{k}={v!r}" for k, v in _options(name, card).items()),
    ]
    if card.family in PAPER_RECIPES:
        recipe = RECIPES[PAPER_RECIPES[card.family]]
        source, *settings = recipe.describe()
        lines.append(
            f"  Paper recipe `{recipe.name}` (each field can be overridden on `keyarch train`):"
        )
        lines += wrap(source.removeprefix("source: "), "    ")
        lines += wrap("; ".join(settings), "    ")
    return "\n".join(lines)


def _options(name: str, card) -> dict:
    from keyarch.registry import IMAGE_CAPTIONING, builder_options

    if card.task == IMAGE_CAPTIONING:
        from dataclasses import asdict

        from keyarch.models.captioning import CaptionerConfig

        return asdict(CaptionerConfig())
    return builder_options(name)


def run(args: argparse.Namespace) -> int:
    import torch

    from keyarch import model_card
    from keyarch.analysis import format_summary
    from keyarch.analysis.counts import meta_model

    card = model_card(args.name)
    print(_format_card(args.name))
    if card.task == "image-captioning":
        print("\n  Trained with `keyarch caption train --encoder NAME` (recipes show-and-tell, "
              "show-and-tell-synthetic); docs/captioning.md")  # fmt: skip
        return 0
    if not args.no_summary:
        size = args.input_size or card.input_size
        model = meta_model(args.name)
        model.check_input(torch.empty(1, *size, device="meta"))
        print()
        print(format_summary(model, size))
    return 0
