"""Timings and their uncertainty, as the careful benchmarking tools take them.

A timed step is warmed up first (its first calls pay for allocations and kernel choice),
then called back to back in *visits* spread over several passes, so that what a
measurement sees is the step and not the moment it ran in: the spread over calls says how
far its median can be trusted (``Timing.interval``: a bootstrap interval of the median),
and ``precise`` prints a figure to that precision and no further.

``peak_macs_per_second`` measures the machine's roofline: the multiply-accumulates per
second of a large matrix product in the dtype and threads of a run.
"""

from __future__ import annotations

import math
import os
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

BOOTSTRAP_RESAMPLES = 2000


@dataclass
class Timing:
    """Seconds of the timed calls of one step, in the order they ran."""

    seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def interval(self, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
        """Percentile bootstrap interval of the median (a single call: that call)."""
        return bootstrap_interval(self.seconds, statistics.median, level=level, seed=seed)


def bootstrap_interval(
    values: list[float],
    statistic: Callable[[list[float]], float],
    *,
    level: float = 0.95,
    seed: int = 0,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> tuple[float, float]:
    """The ``level`` percentile bootstrap interval of ``statistic`` over ``values``:
    resample with replacement, recompute, take the central quantiles. Seeded: the same
    values give the same interval."""
    if not values:
        raise ValueError("bootstrap_interval needs at least one value")
    if len(values) == 1:
        return values[0], values[0]
    draw = random.Random(seed)
    estimates = sorted(statistic(draw.choices(values, k=len(values))) for _ in range(resamples))
    tail = (1 - level) / 2
    low = estimates[int(math.floor(tail * (resamples - 1)))]
    high = estimates[int(math.ceil((1 - tail) * (resamples - 1)))]
    return low, high


def precise(value: float, low: float, high: float, *, unit: str = "") -> str:
    """``value`` to the precision its interval allows: rounded at the decimal place of the
    first significant digit of the interval's half-width (1.2184 between 1.0 and 1.4 prints
    1.2, between 1.16 and 1.29 prints 1.22), never to more than three significant digits."""
    half = (high - low) / 2
    digits = 2 - math.floor(math.log10(abs(value))) if value else 0
    if half > 0:
        digits = min(digits, -math.floor(math.log10(half)))
    digits = max(digits, 0)
    return f"{value:.{digits}f}{unit}"


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def warm_up(
    step: Callable[[], object], calls: int, device: torch.device, budget: float = 1.0
) -> float:
    """Call ``step`` up to ``calls`` times, stopping once ``budget`` seconds have passed
    after the first; returns the last call's seconds (the estimate the repeats are planned
    from)."""
    last, started = 0.0, time.perf_counter()
    for done in range(max(calls, 1)):
        begin = time.perf_counter()
        step()
        synchronise(device)
        last = time.perf_counter() - begin
        if done and time.perf_counter() - started >= budget:
            break
    return last


def planned_calls(seconds: float, *, repeats: int, min_time: float, passes: int, most: int) -> int:
    """Timed calls a step gets over a run: at least ``repeats``, and more to fill
    ``min_time`` seconds (at most ``most``); where ``repeats`` calls would take longer than
    ``min_time``, enough to fill it, but never fewer than one per pass."""
    fill = math.ceil(min_time / max(seconds, 1e-9))
    if repeats * seconds <= min_time:
        return min(most, max(repeats, fill))
    return max(passes, fill)


def timed_visit(step: Callable[[], object], calls: int, device: torch.device) -> list[float]:
    """``calls`` timed calls back to back: seconds of each."""
    seconds = []
    for _ in range(calls):
        begin = time.perf_counter()
        step()
        synchronise(device)
        seconds.append(time.perf_counter() - begin)
    return seconds


def load_average() -> list[float] | None:
    """The machine's 1, 5 and 15 minute load averages (None where the system has none)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def peak_macs_per_second(
    dtype: torch.dtype, device: torch.device, *, size: int = 2048, calls: int = 5
) -> float:
    """The machine's measured peak: multiply-accumulates per second of ``size`` x ``size``
    matrix products (the fastest of ``calls``, after one to warm up), in this dtype and
    with the process's current threads."""
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    with torch.inference_mode():
        torch.mm(a, b)
        synchronise(device)
        fastest = math.inf
        for _ in range(calls):
            begin = time.perf_counter()
            torch.mm(a, b)
            synchronise(device)
            fastest = min(fastest, time.perf_counter() - begin)
    return size**3 / fastest
