"""The ``keyarch`` command: a thin layer over the library, one module per subcommand.

Bad input (what keyarch raises on purpose, ``keyarch.errors.KeyarchError``) gives one line
on stderr and exit status 2; a training run that stops (divergence, Ctrl-C, a full disk)
says why in one line; anything else is a bug in keyarch and says so. ``--debug`` shows
tracebacks. PyTorch is imported only by the command that runs, so ``--help`` is instant.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence

from keyarch.cli import (
    bench,
    caption,
    draw,
    evaluate,
    experiment,
    export,
    guide,
    info,
    listing,
    predict,
    train,
    visualize,
)
from keyarch.cli.common import Parser

COMMANDS = (
    listing,
    info,
    visualize,
    train,
    evaluate,
    predict,
    export,
    bench,
    draw,
    caption,
    experiment,
    guide,
)


def build_parser() -> Parser:
    from keyarch import __version__

    parser = Parser(
        prog="keyarch",
        description="The key deep-learning architectures, as their papers describe them: "
        "list, explain, train, evaluate and visualise them.",
    )
    parser.add_argument("--version", action="version", version=f"keyarch {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS:
        command.add(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(argv) if argv is not None else None
    from keyarch.errors import KeyarchError, RunStopped

    try:
        return args.run(args)
    except KeyarchError as error:
        if args.debug:
            raise
        print(f"keyarch: error: {error}", file=sys.stderr)
        return 2
    except RunStopped as error:
        if args.debug:
            raise
        interrupted = error.exit_status == 130
        print(f"keyarch: {'' if interrupted else 'training stopped: '}{error}", file=sys.stderr)
        return error.exit_status
    except BrokenPipeError:  # `keyarch info vgg16 | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("keyarch: interrupted", file=sys.stderr)
        return 130
    except Exception:
        if args.debug:
            raise
        traceback.print_exc()
        print(
            "keyarch: internal error: this is a bug in keyarch, not a problem with your input; "
            "please report it with the traceback above",
            file=sys.stderr,
        )
        return 1
