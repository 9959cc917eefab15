"""The verdict rule every experiment follows: a claim is decided by its spread over seeds.

An effect is measured once per seed; its 95 % interval (Student's t over the seeds) decides
its direction only where the interval clears the threshold (``direction``); the parts of a
claim decided together give the verdict (``verdict_from``): reproduced, partly reproduced,
not reproduced, or inconclusive at this budget.
"""

from __future__ import annotations

import statistics

VERDICTS = ("reproduced", "partly reproduced", "not reproduced", "inconclusive at this budget")
# two-sided 95 % quantiles of Student's t for 1..10 degrees of freedom (then 1.96)
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228)


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
