"""Canziani et al.'s findings as tests that can fail: numbers in, a statistic and a verdict
out. ``keyarch.analysis.bench_report`` feeds them a bench folder; the tests feed each one
data where its finding is false and see it say so.

Every rule here was fixed before the data it judges was measured, and is printed in the
report beside its verdict: "holds here", "differs here", or "inconclusive here" where the
data cannot decide (too few models; for the batching gain, intervals that overlap).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import numpy as np

HOLDS, DIFFERS, INCONCLUSIVE = "holds here", "differs here", "inconclusive here"

# operations predict time: every leave-one-out fit explains this much of the variance ...
R2_HOLDS = 0.9
# ... its typical error predicting the left-out model is at most this fraction of its time ...
LOO_ERROR_HOLDS = 0.25
# ... and the models' order by operations is nearly their order by time
RANK_HOLDS = 0.9
# memory: a model's measured curve is linear at large batches when a line explains this much
LINEAR_R2 = 0.98
# memory: flat at small batches when batch 2 needs at most this much more than batch 1
FLAT_GROWTH = 0.10


@dataclass(frozen=True)
class Fit:
    """y = slope * x + intercept, and the coefficient of determination."""

    slope: float
    intercept: float
    r2: float

    def __call__(self, x):
        return self.slope * np.asarray(x, float) + self.intercept


def linear_fit(x, y) -> Fit:
    x, y = np.asarray(x, float), np.asarray(y, float)
    slope, intercept = np.polyfit(x, y, 1)
    residual = ((y - (slope * x + intercept)) ** 2).sum()
    total = ((y - y.mean()) ** 2).sum()
    return Fit(float(slope), float(intercept), float(1 - residual / total) if total else 1.0)


def ranks(values) -> np.ndarray:
    """Ranks from 1, ties sharing their mean rank."""
    values = np.asarray(values, float)
    order = values.argsort(kind="stable")
    result = np.empty(len(values))
    result[order] = np.arange(1, len(values) + 1)
    for value in np.unique(values):
        tied = values == value
        result[tied] = result[tied].mean()
    return result


def spearman(x, y) -> float:
    """Spearman's rank correlation."""
    rx, ry = ranks(x), ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def bootstrap_spearman(x, y, *, seed: int = 0, resamples: int = 2000) -> tuple[float, float]:
    """95 % percentile bootstrap interval of Spearman's rho, resampling the models."""
    draw = random.Random(seed)
    n = len(x)
    x, y = np.asarray(x, float), np.asarray(y, float)
    values = []
    for _ in range(resamples):
        pick = [draw.randrange(n) for _ in range(n)]
        values.append(spearman(x[pick], y[pick]))
    values.sort()
    return values[int(0.025 * (resamples - 1))], values[int(math.ceil(0.975 * (resamples - 1)))]


@dataclass
class Verdict:
    """A finding judged: the verdict, the sentence of numbers that decides it, the rule."""

    verdict: str
    here: str
    rule: str
    details: dict = field(default_factory=dict)

    def text(self) -> str:
        return f"{self.verdict} ({self.rule})"


# --- operations predict inference time (Fig. 7) ------------------------------------------


def operations_predict_time(names: list[str], gmacs: list[float], ms: list[float]) -> Verdict:
    """Time predicted from operations by a least-squares line: each model's relative
    error, the rank correlation, and leave-one-out: every fit without one model (its r^2,
    the worst of them) and the left-out model's predicted time (its relative error). No
    single model (a leverage point) can then make the verdict."""
    x, y = np.asarray(gmacs, float), np.asarray(ms, float)
    n = len(x)
    if n < 4:
        return Verdict(INCONCLUSIVE, f"{n} models: too few to fit", "needs 4 models or more")
    fit = linear_fit(x, y)
    error = np.abs(fit(x) - y) / y
    left_out_r2, left_out_error = [], []
    for i in range(n):
        keep = np.arange(n) != i
        without = linear_fit(x[keep], y[keep])
        left_out_r2.append(without.r2)
        left_out_error.append(abs(float(without(x[i])) - y[i]) / y[i])
    worst = int(np.argmin(left_out_r2))
    rho = spearman(x, y)
    worst_error = int(np.argmax(error))
    median_loo = float(np.median(left_out_error))
    holds = min(left_out_r2) >= R2_HOLDS and median_loo <= LOO_ERROR_HOLDS and rho >= RANK_HOLDS
    here = (
        f"r^2 = {fit.r2:.2f} over {n} models; without {names[worst]} {left_out_r2[worst]:.2f} "
        f"(the lowest leave-one-out r^2; highest {max(left_out_r2):.2f}); time predicted from "
        f"operations: median error {np.median(error):.0%}, largest {error.max():.0%} "
        f"({names[worst_error]}), leave-one-out median {median_loo:.0%}; Spearman rho "
        f"{rho:.2f}"
    )
    rule = (
        f"holds when every leave-one-out r^2 >= {R2_HOLDS}, the leave-one-out median error "
        f"<= {LOO_ERROR_HOLDS:.0%} and rho >= {RANK_HOLDS}"
    )
    details = {
        "r2": fit.r2,
        "slope": fit.slope,
        "intercept": fit.intercept,
        "errors": dict(zip(names, error.tolist(), strict=True)),
        "left_out_r2": dict(zip(names, left_out_r2, strict=True)),
        "left_out_errors": dict(zip(names, left_out_error, strict=True)),
        "spearman": rho,
    }
    return Verdict(HOLDS if holds else DIFFERS, here, rule, details)


# --- batching gain (Fig. 3) ----------------------------------------------------------------


@dataclass(frozen=True)
class Gain:
    """Time per image at the small batch over that at the large one, with the interval
    the two timings' intervals allow."""

    value: float
    low: float
    high: float


def batching_gain(small: int, large: int, t_small, t_large) -> Gain:
    """``t_small``/``t_large``: (median, low, high) step times at the two batch sizes."""
    (m1, l1, h1), (m2, l2, h2) = t_small, t_large
    per = large / small
    return Gain(m1 * per / m2, l1 * per / h2, h1 * per / l2)


def alexnet_gains_most(
    gains: dict[str, Gain], matrix_vector_share: dict[str, float], subject: str = "alexnet"
) -> Verdict:
    """Two parts. Whether ``subject`` gains the most from batching of every model: holds
    when its interval lies above every other model's, differs when another model's lies
    above its own. And the mechanism: whether the models that do more of their work as
    matrix-vector products at batch 1 (fully connected layers) gain more, by the rank
    correlation of that share with the gain over every model (its bootstrap interval
    clear of 0 decides)."""
    rule = (
        f"{subject} first: its interval above every other model's; mechanism: the 95 % "
        "bootstrap interval of Spearman's rho (matrix-vector share, gain) above 0"
    )
    if subject not in gains or len(gains) < 3:
        return Verdict(INCONCLUSIVE, f"needs {subject} and two other models timed", rule)
    ordered = sorted(gains, key=lambda n: -gains[n].value)
    ours = gains[subject]
    others = {n: g for n, g in gains.items() if n != subject}
    rank = ordered.index(subject) + 1
    if all(ours.low > g.high for g in others.values()):
        first = HOLDS
    elif any(g.low > ours.high for g in others.values()):
        first = DIFFERS
    else:
        first = INCONCLUSIVE
    names = [n for n in gains if n in matrix_vector_share]
    shares = [matrix_vector_share[n] for n in names]
    values = [gains[n].value for n in names]
    rho = spearman(shares, values)
    low, high = bootstrap_spearman(shares, values)
    mechanism = HOLDS if low > 0 else DIFFERS if high < 0 else INCONCLUSIVE
    verdict = (
        first
        if first == mechanism
        else DIFFERS
        if DIFFERS in (first, mechanism)
        else (INCONCLUSIVE)
    )
    top = ", ".join(f"{n} {gains[n].value:.2f}x" for n in ordered[:3])
    here = (
        f"{subject} gains {ours.value:.2f}x ({ours.low:.2f}-{ours.high:.2f}), rank {rank} of "
        f"{len(gains)} (first: {top}); {first} that it gains most. Matrix-vector share "
        f"against gain over {len(names)} models: rho {rho:.2f} ({low:.2f} to {high:.2f}); "
        f"{mechanism} that fully connected layers are why"
    )
    details = {"rank": rank, "spearman": rho, "interval": (low, high), "order": ordered}
    return Verdict(verdict, here, rule, details)


# --- memory (Figs. 5 and 6) ------------------------------------------------------------------


@dataclass(frozen=True)
class MemoryShape:
    """A measured memory curve read as fixed + per-image * batch at large batches."""

    fixed: float  # MB, the line's value at batch 0
    per_image: float  # MB per image
    linear_r2: float  # of the line over the batches from ``large_from`` on
    growth_1_to_2: float  # memory at batch 2 over batch 1, minus 1

    @property
    def knee(self) -> float:
        """The batch at which the activations reach the fixed part."""
        return self.fixed / self.per_image if self.per_image > 0 else math.inf

    @property
    def linear(self) -> bool:
        return self.linear_r2 >= LINEAR_R2

    @property
    def flat(self) -> bool:
        return self.growth_1_to_2 <= FLAT_GROWTH


def memory_shape(curve: dict, large_from: int = 8) -> MemoryShape:
    batches = sorted(int(b) for b in curve)
    large = [b for b in batches if b >= large_from]
    if len(large) < 3:
        large = batches[-3:]
    fit = linear_fit(large, [curve[str(b)] for b in large])
    growth = curve["2"] / curve["1"] - 1 if "1" in curve and "2" in curve else math.nan
    return MemoryShape(fit.intercept, fit.slope, fit.r2, growth)


def memory_flat_then_linear(curves: dict[str, dict]) -> Verdict:
    """Each model's measured curve: linear at large batches (a line explains >= LINEAR_R2),
    flat at small ones (batch 2 within FLAT_GROWTH of batch 1). Holds when every curve is
    linear and most are flat first; differs when a curve is not linear or most are not
    flat."""
    shapes = {n: memory_shape(c) for n, c in curves.items()}
    rule = (
        f"holds when every measured curve is linear from batch 8 (r^2 >= {LINEAR_R2}) and "
        f"most grow by <= {FLAT_GROWTH:.0%} from batch 1 to 2"
    )
    if not shapes or all(math.isnan(s.growth_1_to_2) for s in shapes.values()):
        return Verdict(INCONCLUSIVE, "no memory measured at batches 1 and 2", rule)
    bent = [n for n, s in shapes.items() if not s.linear]
    flat = [n for n, s in shapes.items() if s.flat]
    knees = sorted(s.knee for s in shapes.values())
    holds = not bent and len(flat) > len(shapes) / 2
    here = (
        f"{len(shapes) - len(bent)} of {len(shapes)} measured curves linear from batch 8"
        + (f" (not: {', '.join(bent[:5])})" if bent else "")
        + f"; {len(flat)} flat from batch 1 to 2; knee (activations reach the fixed part) "
        f"median batch {knees[len(knees) // 2]:.1f}, from {knees[0]:.1f} to {knees[-1]:.0f}"
    )
    return Verdict(HOLDS if holds else DIFFERS, here, rule, {"shapes": shapes})


def memory_follows_parameters(names: list[str], params_m: list[float], mb: list[float]) -> Verdict:
    """Measured memory at batch 1 against parameters: linear when every leave-one-out fit
    explains R2_HOLDS of the variance."""
    x, y = np.asarray(params_m, float), np.asarray(mb, float)
    rule = f"holds when every leave-one-out r^2 >= {R2_HOLDS}"
    if len(x) < 4:
        return Verdict(INCONCLUSIVE, f"{len(x)} models: too few to fit", rule)
    fit = linear_fit(x, y)
    left = [linear_fit(np.delete(x, i), np.delete(y, i)).r2 for i in range(len(x))]
    worst = int(np.argmin(left))
    here = (
        f"{fit.slope:.2f} MB per million parameters + {fit.intercept:.0f} MB, r^2 = "
        f"{fit.r2:.3f} over {len(x)} models; lowest leave-one-out r^2 {left[worst]:.3f} "
        f"(without {names[worst]})"
    )
    verdict = HOLDS if min(left) >= R2_HOLDS else DIFFERS
    return Verdict(verdict, here, rule, {"fit": fit, "left_out_r2": left})


# --- accuracy against throughput (Fig. 9) ------------------------------------------------


def pareto_frontier(points: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """(images per second, top-1, name): the models no other beats on both, fastest
    first."""
    frontier, best = [], -math.inf
    for ips, top1, name in sorted(points, key=lambda p: (-p[0], -p[1])):
        if top1 > best:
            frontier.append((ips, top1, name))
            best = top1
    return frontier


def accuracy_bound(points: list[tuple[float, float, str]]) -> Verdict:
    """Fig. 9's upper bound and the hyperbola. The bound: a straight line in top-1
    against log images per second, fitted to the Pareto frontier and raised until no
    model lies above it. The hyperbola: along the frontier, a point of top-1 costs more
    time in its upper half than in its lower half (log time per point of top-1, each half
    from the frontier's middle model to its end). Holds when the bound falls (faster costs
    accuracy) and the upper half is dearer; the farthest frontier model's distance below
    the bound is reported, not judged."""
    rule = (
        "holds when the bound falls and the upper half of the frontier costs more log time "
        "per point of top-1 than the lower half"
    )
    frontier = pareto_frontier(points)
    if len(frontier) < 3:
        return Verdict(INCONCLUSIVE, f"{len(frontier)} models on the frontier", rule)
    x = np.log10([p[0] for p in frontier])
    y = np.array([p[1] for p in frontier])
    fit = linear_fit(x, y)
    all_x = np.log10([p[0] for p in points])
    all_y = np.array([p[1] for p in points])
    lift = float((all_y - fit(all_x)).max())
    bound = Fit(fit.slope, fit.intercept + lift, fit.r2)
    gaps = bound(x) - y
    middle = len(frontier) // 2
    (t0, a0, n0), (tm, am, nm), (t1, a1, n1) = frontier[0], frontier[middle], frontier[-1]
    lower = math.log(t0 / tm) / max(am - a0, 1e-9)
    upper = math.log(tm / t1) / max(a1 - am, 1e-9)
    holds = fit.slope < 0 and upper > lower
    here = (
        f"bound: top-1 = {bound.intercept:.1f} {bound.slope:+.1f} x log10(images/s); "
        f"{len(frontier)} models on the frontier, the farthest {gaps.max():.1f} points below "
        f"the bound ({frontier[int(gaps.argmax())][2]}); a point of top-1 costs "
        f"{lower:.2f} in log time from {n0} to {nm}, {upper:.2f} from {nm} to {n1} "
        f"({upper / lower if lower > 0 else math.inf:.1f}x)"
    )
    return Verdict(HOLDS if holds else DIFFERS, here, rule, {"bound": bound, "frontier": frontier})


# --- parameter efficiency (Fig. 10) ------------------------------------------------------


def parameter_efficiency(density: dict[str, float], leader: str, others: list[str]) -> Verdict:
    """Top-1 per million parameters: ``leader``'s over each of ``others``'. The paper's
    densest network, ENet (not in keyarch), packs 13x AlexNet's and 24x VGG-19's accuracy
    per parameter, and GoogLeNet leads the ImageNet winners; an order of magnitude is
    the finding: holds when the leader beats each of ``others`` tenfold or more."""
    rule = f"holds when {leader}'s density is >= 10x each of {', '.join(others)}'"
    missing = [n for n in (leader, *others) if n not in density]
    if missing:
        return Verdict(INCONCLUSIVE, f"not measured: {', '.join(missing)}", rule)
    ratios = {n: density[leader] / density[n] for n in others}
    here = f"{leader} {density[leader]:.2f} % per million parameters: " + ", ".join(
        f"{r:.1f}x {n}'s" for n, r in ratios.items()
    )
    verdict = HOLDS if min(ratios.values()) >= 10 else DIFFERS
    return Verdict(verdict, here, rule, {"ratios": ratios})


# --- power (Figs. 4 and 8) ------------------------------------------------------------------

POWER_SPREAD = 0.15  # "independent": every model and batch within this of the median power


def power_is_constant(watts: dict[tuple[str, int], float]) -> Verdict:
    """The paper's first finding: power is independent of batch size and architecture
    (the device runs flat out). Holds when every (model, batch) power lies within
    POWER_SPREAD of their median; differs otherwise."""
    rule = f"holds when every model and batch size draws within {POWER_SPREAD:.0%} of the median"
    if len(watts) < 3:
        return Verdict(INCONCLUSIVE, f"{len(watts)} powers measured", rule)
    median = float(np.median(list(watts.values())))
    worst = max(watts, key=lambda k: abs(watts[k] / median - 1))
    spread = abs(watts[worst] / median - 1)
    here = (
        f"median {median:.1f} W over {len(watts)} models and batch sizes; the farthest "
        f"{worst[0]} at batch {worst[1]}, {watts[worst]:.1f} W ({spread:+.0%})"
    )
    return Verdict(HOLDS if spread <= POWER_SPREAD else DIFFERS, here, rule, {"median": median})
