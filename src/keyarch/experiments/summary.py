"""The table of docs/experiments.md, made from the report folders so that it cannot say
other than they do.

    python -m keyarch.experiments.summary docs/experiments

prints one row per experiment (in ``EXPERIMENTS`` order) read from
``docs/experiments/NAME-full/report.json``: the claim's source, the verdict, the seeds, the
command that wrote the report. tests/test_docs.py checks that docs/experiments.md holds
exactly this table between its markers.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from keyarch.experiments import EXPERIMENTS

BEGIN = "<!-- begin: python -m keyarch.experiments.summary docs/experiments -->"
END = "<!-- end of the generated table -->"


def table(folder: str | Path) -> str:
    """The markdown table of the full reports in ``folder``."""
    lines = [
        BEGIN,
        "| Experiment | Source | Verdict | Seeds | Command |",
        "|---|---|---|---:|---|",
    ]
    for name in EXPERIMENTS:
        path = Path(folder) / f"{name}-full" / "report.json"
        if not path.is_file():
            lines.append(f"| {name} | | not run | | |")
            continue
        report = json.loads(path.read_text())
        lines.append(
            f"| [{name}](experiments/{name}-full/report.md) | {report['source']} | "
            f"{report['verdict']} | {report['seeds']} | `{report['command']}` |"
        )
    return "\n".join([*lines, END])


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not Path(args[0]).is_dir():
        print("usage: python -m keyarch.experiments.summary DIR (the report folders)",
              file=sys.stderr)  # fmt: skip
        return 2
    print(table(args[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
