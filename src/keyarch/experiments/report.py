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
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

from keyarch.outputs import atomic_write

VERDICTS = ("reproduced", "partly reproduced", "not reproduced", "inconclusive at this budget")
# two-sided 95 % quantiles of Student's t for 1..10 degrees of freedom (then 1.96)
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228)


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


def interval(values: list[float], resolution: float = 0.0) -> tuple[float, float, float]:
    """(mean, low, high): the 95 % t-interval of the mean over seeds (one value: no spread
    is known, the interval is unbounded). ``resolution``: the finest step the measurement
    can show (a fifth of an epoch, one test image in N); the seeds' standard deviation is
    taken as at least that, so that readings that agree because they are coarse, or capped,
    do not pass for a spread of zero."""
    mean = statistics.mean(values)
    if len(values) < 2:
        return mean, float("-inf"), float("inf")
    t = _T95[len(values) - 2] if len(values) - 1 <= len(_T95) else 1.96
    half = t * max(statistics.stdev(values), resolution) / len(values) ** 0.5
    return mean, mean - half, mean + half


def direction(values: list[float], resolution: float = 0.0) -> int:
    """+1 when the 95 % interval of the mean lies above 0, -1 below, 0 within noise."""
    _, low, high = interval(values, resolution)
    return 1 if low > 0 else -1 if high < 0 else 0


def verdict_from(directions: list[int], parts: int | None = None) -> str:
    """The verdict from each part of a claim (+1 resolved in the claimed direction, -1
    resolved against it, 0 within noise): any part against, "not reproduced"; every part
    for, "reproduced"; some for and the rest within noise, "partly reproduced"; all within
    noise, "inconclusive at this budget". ``parts``: how many the whole claim has, when a
    profile judges fewer (the missing ones count as within noise)."""
    directions = list(directions) + [0] * max(0, (parts or 0) - len(directions))
    if any(d < 0 for d in directions):
        return "not reproduced"
    if directions and all(d > 0 for d in directions):
        return "reproduced"
    return "partly reproduced" if any(d > 0 for d in directions) else "inconclusive at this budget"


def describe(label: str, values: list[float], digits: int = 2, resolution: float = 0.0) -> str:
    """An effect over seeds in words: "label: +0.40 (95 % interval -2.08 to +2.89 over 3
    seeds)"."""
    mean, low, high = interval(values, resolution)
    if len(values) < 2:
        return f"{label}: {mean:+.{digits}f} (one seed, no spread)"
    return (f"{label}: {mean:+.{digits}f} (95 % interval {low:+.{digits}f} to "
            f"{high:+.{digits}f} over {len(values)} seeds)")  # fmt: skip


def judge(label: str, values: list[float], digits: int = 2,
          resolution: float = 0.0) -> tuple[int, str]:  # fmt: skip
    """One part of a claim, from its effect seed by seed, signed so that positive is the
    claimed direction: its direction (as ``direction``) and a sentence for the report,
    ``describe``'s followed by where the interval lies: "...: within noise"."""
    sign = direction(values, resolution)
    where = ("for the claim" if sign > 0 else "against the claim" if sign < 0
             else "within noise")  # fmt: skip
    return sign, f"{describe(label, values, digits, resolution)}: {where}"


def spread(values: list[float]) -> str:
    """'0.93 ± 0.02 (0.90-0.95)': mean, standard deviation and range over seeds."""
    if len(set(values)) == 1:  # one value, or the same every time: no spread to show
        return f"{values[0]:.3f}"
    return (
        f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f} "
        f"({min(values):.3f}-{max(values):.3f})"
    )


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
