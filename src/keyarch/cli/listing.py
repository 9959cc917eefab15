"""``keyarch list [PATTERN]``: the architectures with their counts."""

from __future__ import annotations

import argparse


def add(commands) -> None:
    parser = commands.add_parser("list", help="list the architectures with their counts")
    parser.add_argument("pattern", nargs="?", default="*", help="shell wildcard, e.g. 'vgg*'")
    parser.add_argument(
        "--task",
        choices=("image-classification", "sequence-classification"),
        help="only the models of one task (default: all)",
    )
    parser.add_argument(
        "--pretrained",
        action="store_true",
        help="only the models with published ImageNet weights (predict --pretrained, "
        "caption train --pretrained-encoder)",
    )
    parser.set_defaults(run=run)


def gmacs(macs: int) -> str:
    giga = macs / 1e9
    return f"{giga:.3f}" if giga >= 0.01 else f"{giga:.6f}"


def run(args: argparse.Namespace) -> int:
    from keyarch import list_models, model_card
    from keyarch.analysis.counts import model_counts
    from keyarch.errors import BadInput

    names = list_models(args.pattern, task=args.task)
    if args.pretrained:
        from keyarch.pretrained import available

        published = set(available())
        names = [n for n in names if n in published]
    if not names:
        raise BadInput(f"no model matches {args.pattern!r}; try `keyarch list` for all")
    # input: C x H x W of an image, T x F (time steps x features) of a sequence
    header = ("name", "family", "year", "params", "GMACs", "input", "ImageNet top-1", "task")
    counts = model_counts(names)
    rows = []
    for name in names:
        card = model_card(name)
        parameters, macs = counts[name]
        top1 = f"{card.imagenet_top1:.3f}" if card.imagenet_top1 is not None else "-"
        rows.append(
            (
                name,
                card.family,
                str(card.year),
                f"{parameters:,}",
                gmacs(macs),
                "x".join(str(d) for d in card.input_size),
                top1,
                card.task,
            )
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
    return 0
