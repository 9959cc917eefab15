"""What an experiment leaves behind: a report folder a person reads and a program parses.

``Report.write(DIR)`` writes ``DIR/report.md`` (the claim and its source, the setup, the
result with its spread over seeds, the verdict, the figures), ``DIR/results.csv`` (one row
per measurement) and ``DIR/report.json`` (everything, for docs/experiments.md); figures
are PNG files the experiment drew into the folder.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from keyarch.experiments.verdicts import (  # noqa: F401  (the report states verdicts)
    VERDICTS,
    describe,
    direction,
    interval,
    judge,
    spread,
    verdict_from,
)
from keyarch.outputs import atomic_write


@dataclass
class Report:
    name: str  # the experiment, e.g. "lstm-vs-rnn"
    claim: str  # what the paper or the seeds say, in one or two sentences
    source: str  # where it is said
    setup: str  # what was run here (markdown)
    profile: str  # "quick" or "full"
    seeds: int
    rows: list[dict[str, object]]  # one per measurement: the CSV
    result: str  # the measured effect with its spread (markdown)
    verdict: str  # one of VERDICTS
    reason: str  # why the verdict: the numbers against the bar, or the likely reason
    figures: list[str] = field(default_factory=list)  # PNG names in the folder
    command: str = ""
    wall_seconds: float = 0.0
    note: str = ""  # how the report came to be, when not simply by its command (markdown)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, got {self.verdict!r}")

    def markdown(self) -> str:
        lines = [f"# {self.name}", ""]
        lines += [f"> {self.note}", ""] if self.note else []
        lines += [
            f"**Claim.** {self.claim} ({self.source})",
            "",
            f"**Setup** (profile `{self.profile}`, {self.seeds} seed"
            f"{'s' * (self.seeds != 1)}, {self.wall_seconds:.0f} s wall): {self.setup}",
            "",
            "**Result.** " + self.result,
            "",
            f"**Verdict: {self.verdict}.** {self.reason}",
            "",
        ]
        lines += [f"![{name}]({name})" for name in self.figures]
        if self.command:
            lines += ["", "```bash", self.command, "```"]
        return "\n".join(lines) + "\n"

    def write(self, folder: str | Path) -> Path:
        """Write results.csv, report.json, the figures ``save_figure`` set aside, and
        report.md (last) into ``folder``, all at once: a failure (a full disk) leaves none
        of them, and the figures wait, set aside, for the next try."""
        from keyarch.outputs import staged_folder

        folder = Path(folder)
        columns = list(dict.fromkeys(key for row in self.rows for key in row))
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        pending = folder / PENDING
        with staged_folder(
            folder, overwrite=True, last=("report.md",), what=f"the report into {folder}"
        ) as scratch:
            for name in self.figures:
                if (pending / name).is_file():
                    shutil.copyfile(pending / name, scratch / name)
            (scratch / "results.csv").write_bytes(text.getvalue().encode())
            (scratch / "report.json").write_bytes(json.dumps(asdict(self), indent=2).encode())
            (scratch / "report.md").write_bytes(self.markdown().encode())
        shutil.rmtree(pending, ignore_errors=True)
        return folder / "report.md"


PENDING = ".figures-pending"  # where figures wait until their report is written with them


def save_figure(figure, folder: str | Path, name: str) -> str:
    """Set a matplotlib figure aside as PNG for ``folder``'s report (``Report.write`` moves
    it into ``folder`` with the report), close it, return ``name`` for ``Report.figures``."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    atomic_write(Path(folder) / PENDING / name, buffer.getvalue())
    return name


def pyplot():
    """matplotlib's pyplot on the file-only backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def rejudged(folder: str | Path, name: str, judged) -> Report:
    """The report of experiment ``name`` in ``folder`` (its report.json) with its result,
    verdict and reason made again by ``judged(report) -> (table lines, verdict, reason)``;
    the claim, setup, figures, command and wall time as they were, and a note saying so
    (a note written into report.md by hand before reports kept notes is carried over).
    Nothing is trained. Raises ``BadInput`` for a folder without a whole report of
    ``name``."""
    from keyarch.errors import BadInput

    folder = Path(folder)
    try:
        report = Report(**json.loads((folder / "report.json").read_text()))
        text = (folder / "report.md").read_text()
    except FileNotFoundError as error:
        raise BadInput(f"--rejudge: {folder} holds no whole report ({error.filename} is "
                       "missing)") from None  # fmt: skip
    except (ValueError, TypeError, OSError) as error:  # not JSON, not UTF-8, other fields
        raise BadInput(f"--rejudge: {folder / 'report.json'} is not a report: {error}") from None
    if report.name != name:
        raise BadInput(f"--rejudge: {folder} holds a report of {report.name!r}, not {name!r}")
    try:
        table, report.verdict, report.reason = judged(report)
    except (KeyError, TypeError, ValueError) as error:
        raise BadInput(f"--rejudge: the rows of {folder / 'report.json'} are not {name}'s "
                       f"as this version reads them: {error!r}") from None  # fmt: skip
    report.result = "\n\n" + "\n".join(table)
    if not report.note:
        head = text.split("**Claim.**", 1)[0].splitlines()
        report.note = " ".join(line[2:] for line in head if line.startswith("> "))
    again = (f"Result and verdict judged again from the rows by `keyarch experiment {name} "
             "--rejudge FOLDER`, with nothing trained again.")  # fmt: skip
    if again not in report.note:
        report.note = f"{report.note} {again}".strip()
    return report
