"""What the subcommands share: the parser class and argument types that name the flag.

Nothing here imports PyTorch: building the parser (and so ``--help``) stays instant.
"""

from __future__ import annotations

import argparse


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage block
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _number(kind, low, text: str, what: str):
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or value != value or value < low or value in (float("inf"),):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    return _number(int, 1, text, "a whole number of at least 1")


def non_negative_int(text: str) -> int:
    return _number(int, 0, text, "a whole number of at least 0")


def positive_float(text: str) -> float:
    value = _number(float, 0.0, text, "a positive number")
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    return _number(float, 0.0, text, "a number of at least 0")


def input_size(text: str) -> tuple[int, int, int]:
    try:
        parts = tuple(int(p) for p in text.replace("x", ",").split(","))
    except ValueError:
        parts = ()
    if len(parts) != 3 or min(parts) < 1:
        raise argparse.ArgumentTypeError(f"expected C,H,W such as 3,224,224, got {text!r}")
    return parts  # type: ignore[return-value]


def add_overwrite(parser, what: str) -> None:
    """``--overwrite``: without it, a command never replaces a file that was there before."""
    parser.add_argument(
        "--overwrite", action="store_true", help=f"replace {what} (default: refuse)"
    )


def choices_help(text: str, choices) -> str:
    return f"{text} ({', '.join(choices)})"
