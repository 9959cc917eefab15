"""The table of docs/experiments.md, made from the report folders so that it cannot say
other than they do.

    .venv/bin/python -m keyarch.experiments.summary docs/experiments

prints (``--write docs/experiments.md``: writes between the file's markers) one row per
experiment (in ``EXPERIMENTS`` order) read from
``docs/experiments/NAME-full/report.json``: the claim and its source, the verdict, the seeds, the
command that wrote the report. tests/test_experiments.py checks that docs/experiments.md
holds exactly this table between its markers.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from keyarch.experiments import EXPERIMENTS
from keyarch.outputs import atomic_write

BEGIN = "<!-- begin: python -m keyarch.experiments.summary docs/experiments -->"
END = "<!-- end of the generated table -->"


def table(folder: str | Path) -> str:
    """The markdown table of the full reports in ``folder``."""
    lines = [
        BEGIN,
        "| Experiment | Claim (source) | Verdict | Seeds | Command |",
        "|---|---|---|---:|---|",
    ]
    for name in EXPERIMENTS:
        path = Path(folder) / f"{name}-full" / "report.json"
        if not path.is_file():
            lines.append(f"| {name} | | not run | | |")
            continue
        report = json.loads(path.read_text())
        lines.append(
            f"| [{name}](experiments/{name}-full/report.md) | {report['claim']} "
            f"({report['source']}) | "
            f"{report['verdict']} | {report['seeds']} | `{report['command']}` |"
        )
    return "\n".join([*lines, END])


def main(argv: list[str] | None = None) -> int:
    """``DIR``: print the table; ``DIR --write FILE``: put it between FILE's markers."""
    args = sys.argv[1:] if argv is None else argv
    usage = "usage: python -m keyarch.experiments.summary DIR [--write FILE]"
    if len(args) not in (1, 3) or not Path(args[0]).is_dir():
        print(f"{usage} (DIR: the report folders)", file=sys.stderr)
        return 2
    made = table(args[0])
    if len(args) == 1:
        print(made)
        return 0
    path = Path(args[2])
    if args[1] != "--write":
        print(f"{usage} (unknown option {args[1]!r})", file=sys.stderr)
        return 2
    text = path.read_text() if path.is_file() else ""
    if BEGIN not in text or END not in text:
        print(f"{usage} (FILE must exist and hold the table's markers)", file=sys.stderr)
        return 2
    before, rest = text.split(BEGIN, 1)
    try:
        atomic_write(path, (before + made + rest.split(END, 1)[1]).encode())
    except OSError as error:
        print(f"cannot write {path}: {error.strerror or error}", file=sys.stderr)
        return 2
    print(f"written: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
