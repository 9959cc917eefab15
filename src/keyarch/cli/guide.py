"""``keyarch guide --out DIR``: the seed guide, finished, as a static site (or markdown)."""

from __future__ import annotations

import argparse

from keyarch.cli.common import add_overwrite


def add(commands) -> None:
    parser = commands.add_parser(
        "guide", help="write the guide: a page per architecture, every number from a file"
    )
    parser.add_argument("--out", required=True, help="the folder to write the site into")
    parser.add_argument("--format", choices=("html", "markdown"), default="html")
    parser.add_argument(
        "--docs", help="the folder of committed results (default: the checkout's docs/)"
    )
    add_overwrite(parser, "pages already in --out")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from keyarch.guide import build_guide

    pages = build_guide(args.out, args.format, args.docs, overwrite=args.overwrite)
    print(f"{args.out}: {len(pages)} pages ({args.format})")
    print(f"open {pages[0]}", file=sys.stderr)
    return 0
