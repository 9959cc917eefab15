"""The frame every experiment shares, so that a module holds only its claim, its settings and
its analysis.

An experiment names its ``Claim`` (what the paper says and where), its ``PROFILES`` (the
settings of ``quick`` and ``full``, each with its number of seeds) and ``measure(trial)``.
``run_experiment`` opens the ``Trial``: it has chosen the profile's settings and seeds,
reads finished training runs back (``trial.runs``), and turns the rows and the
experiment's judgement (table lines, verdict, reason: the verdict rule of
``keyarch.experiments.verdicts``) into the ``Report``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from keyarch.experiments.report import Report, rejudged


@dataclass(frozen=True)
class Claim:
    name: str  # the experiment, e.g. "lstm-vs-rnn"
    claim: str  # what the paper says, in one or two sentences
    source: str  # where it says it


class Trial:
    """One run of an experiment: its settings, seeds, rows, runs and figures."""

    def __init__(self, claim: Claim, profiles: dict[str, dict], profile: str,
                 seeds: int | None, out: str | Path | None = None,
                 data_dir: str | Path | None = None) -> None:  # fmt: skip
        self.claim, self.profile, self.out, self.data_dir = claim, profile, out, data_dir
        self.settings = profiles[profile]
        self.seeds = seeds or self.settings["seeds"]
        self.started = time.perf_counter()
        self._runs = None

    @property
    def runs(self):
        """Where the trial's training runs go (``OUT/runs``), read back when finished."""
        if self._runs is None:
            from keyarch.experiments.training import Runs

            self._runs = Runs(self.out, self.data_dir)
        return self._runs

    def report(self, setup: str, rows: list[dict[str, object]],
               judged: tuple[list[str], str, str], figures: list[str]) -> Report:  # fmt: skip
        """The report: the claim, ``setup``, the ``rows`` (one per measurement), ``judged``
        (the result's table lines, the verdict and its reason) and the ``figures``."""
        table, verdict, reason = judged
        if self._runs is not None:  # the threads the runs used, the runs read back
            setup += self._runs.note()
        return Report(name=self.claim.name, claim=self.claim.claim, source=self.claim.source,
                      setup=setup, profile=self.profile, seeds=self.seeds, rows=rows,
                      result="\n\n" + "\n".join(table), verdict=verdict, reason=reason,
                      figures=figures,
                      wall_seconds=time.perf_counter() - self.started)  # fmt: skip


def subset_phrase(limit: int | None) -> str:
    """What a setup says of a training subset (empty for the whole training set)."""
    return f", a fixed subset of {limit:,} training images" if limit else ""


def rejudge_rows(claim: Claim, folder: str | Path, judged) -> Report:
    """The report in ``folder`` judged again by ``judged(rows) -> (table, verdict, reason)``
    from its rows, nothing trained again."""
    return rejudged(folder, claim.name, lambda report: judged(report.rows))
