"""Canziani et al.'s findings as verdicts that can fail: each verdict function is fed data
where its finding holds and data where it is false, and must tell them apart. And the
timing arithmetic behind them: the bootstrap interval, the precision of a printed figure,
the number of timed calls."""

import math

import numpy as np
import pytest
import torch

import keyarch
from keyarch.analysis import findings as F
from keyarch.analysis.timing import Timing, bootstrap_interval, planned_calls, precise

NAMES = [f"m{i}" for i in range(10)]


def test_operations_predict_time_holds_on_a_line_and_fails_on_a_leverage_point():
    gmacs = [0.5, 1, 1.5, 2, 3, 4, 5, 8, 11, 15]
    exact = F.operations_predict_time(NAMES, gmacs, [10 * g + 2 for g in gmacs])
    assert exact.verdict == F.HOLDS and exact.details["r2"] == pytest.approx(1)
    # nine models whose time has nothing to do with their operations, and one giant: the
    # giant alone makes r^2 high, leaving it out shows the rest are not predicted
    rng = np.random.default_rng(0)
    gmacs = [*rng.uniform(1, 5, 9), 60.0]
    times = [*rng.uniform(10, 50, 9), 600.0]
    levered = F.operations_predict_time(NAMES, gmacs, times)
    assert levered.details["r2"] > 0.9
    assert levered.verdict == F.DIFFERS
    assert "without m9" in levered.here
    # reversed: more operations, less time
    reversed_ = F.operations_predict_time(NAMES, gmacs[:9] + [1], sorted(times, reverse=True))
    assert reversed_.verdict == F.DIFFERS


def _gain(value, spread=0.02):
    return F.Gain(value, value * (1 - spread), value * (1 + spread))


def test_alexnet_gains_most_needs_its_interval_above_every_other_model():
    shares = {"alexnet": 0.08, "vgg16": 0.01, "resnet50": 0.0005, "a": 0.0, "b": 0.0, "c": 0.02}
    gains = {"alexnet": _gain(3.0), "vgg16": _gain(1.5), "resnet50": _gain(1.2),
             "a": _gain(1.1), "b": _gain(1.0), "c": _gain(1.8)}  # fmt: skip
    holds = F.alexnet_gains_most(gains, shares)
    assert holds.verdict == F.HOLDS and holds.details["rank"] == 1
    # another model gains more, clearly: the finding is false
    beaten = F.alexnet_gains_most({**gains, "b": _gain(4.0)}, shares)
    assert beaten.verdict == F.DIFFERS and beaten.details["rank"] == 2
    # another model's interval overlaps AlexNet's: neither first nor beaten
    close = F.alexnet_gains_most({**gains, "b": _gain(2.95, 0.1)}, shares)
    assert "inconclusive here that it gains most" in close.here
    # the mechanism reversed: the fully connected models gain least
    flipped = {n: 1 / (s + 0.01) for n, s in shares.items()}
    mechanism = F.alexnet_gains_most({n: _gain(v) for n, v in flipped.items()}, shares)
    assert mechanism.verdict == F.DIFFERS


def test_batching_gain_carries_both_timings_intervals():
    gain = F.batching_gain(1, 16, (10.0, 9.0, 11.0), (80.0, 78.0, 82.0))
    assert gain.value == pytest.approx(2.0)
    assert gain.low == pytest.approx(9 * 16 / 82) and gain.high == pytest.approx(11 * 16 / 78)


def _curve(function):
    return {str(b): function(b) for b in (1, 2, 4, 8, 16, 32, 64)}


def test_memory_flat_then_linear_fails_on_a_curve_that_bends_or_starts_steep():
    flat = {f"m{i}": _curve(lambda b, i=i: 200 + 10 * i + 3 * b) for i in range(5)}
    holds = F.memory_flat_then_linear(flat)
    assert holds.verdict == F.HOLDS
    assert F.memory_shape(flat["m0"]).knee == pytest.approx(200 / 3)
    bent = {**flat, "q": _curve(lambda b: 100 + 0.5 * b * b)}
    assert F.memory_flat_then_linear(bent).verdict == F.DIFFERS
    steep = {f"m{i}": _curve(lambda b: 5 + 40 * b) for i in range(5)}
    assert F.memory_flat_then_linear(steep).verdict == F.DIFFERS


def test_memory_follows_parameters_is_not_decided_by_one_model():
    params = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert F.memory_follows_parameters(NAMES, params, [4 * p + 20 for p in params]).verdict == (
        F.HOLDS
    )
    rng = np.random.default_rng(1)
    memory = [*rng.uniform(20, 60, 9), 2000]
    levered = F.memory_follows_parameters(NAMES, [*rng.uniform(1, 10, 9), 500], memory)
    assert levered.details["fit"].r2 > 0.9 and levered.verdict == F.DIFFERS


def test_the_accuracy_bound_and_hyperbola_fail_when_accuracy_is_cheap():
    # a hyperbola: each point of top-1 near the top costs much more time
    ips = [1000, 500, 250, 120, 60, 30, 15]
    top1 = [60, 66, 70, 73, 75, 76.5, 77.5]
    points = list(zip(ips, top1, NAMES, strict=False))
    holds = F.accuracy_bound(points + [(400, 55, "m8"), (20, 70, "m9")])
    assert holds.verdict == F.HOLDS
    assert holds.details["bound"].slope < 0
    # cheap accuracy: the last points cost less than the first (not a hyperbola)
    cheap = list(zip(ips, [60, 61, 62, 63, 70, 75, 80], NAMES, strict=False))
    assert F.accuracy_bound(cheap).verdict == F.DIFFERS
    # faster is more accurate: no falling bound
    rising = list(zip(ips, [80, 75, 70, 65, 60, 55, 50], NAMES, strict=False))
    assert F.accuracy_bound(rising).verdict in (F.DIFFERS, F.INCONCLUSIVE)


def test_parameter_efficiency_needs_an_order_of_magnitude():
    density = {"googlenet": 10.0, "alexnet": 0.9, "vgg16": 0.5}
    assert F.parameter_efficiency(density, "googlenet", ["alexnet", "vgg16"]).verdict == F.HOLDS
    density["alexnet"] = 2.0
    result = F.parameter_efficiency(density, "googlenet", ["alexnet", "vgg16"])
    assert result.verdict == F.DIFFERS and "5.0x alexnet's" in result.here


def test_spearman_ranks_ties_and_order():
    assert F.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1)
    assert F.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1)
    assert list(F.ranks([5, 1, 5, 3])) == [3.5, 1, 3.5, 2]


def test_the_bootstrap_interval_of_the_median_widens_with_the_spread():
    steady = Timing([0.100, 0.101, 0.099, 0.100, 0.102, 0.100, 0.099, 0.101, 0.100, 0.100])
    noisy = Timing([0.08, 0.12, 0.10, 0.15, 0.09, 0.11, 0.07, 0.13, 0.10, 0.12])
    low, high = steady.interval()
    assert low <= steady.median <= high and high - low <= 0.002
    low2, high2 = noisy.interval()
    assert high2 - low2 > 5 * (high - low)
    assert bootstrap_interval([3.0], np.median) == (3.0, 3.0)
    assert steady.interval() == steady.interval()  # seeded


def test_a_figure_is_printed_to_the_precision_its_interval_allows():
    assert precise(1.2184, 1.0, 1.4) == "1.2"
    assert precise(1.2184, 1.16, 1.29) == "1.22"  # +-0.065: the hundredths
    assert precise(1.2184, 1.218, 1.219) == "1.22"  # never more than 3 significant digits
    assert precise(153.7, 140, 170) == "154"
    assert precise(153.7, 100, 200) == "154"  # hundreds place: still the integer
    assert precise(0.01234, 0.0122, 0.0125) == "0.0123"


def test_timed_calls_are_at_least_ten_or_fill_the_minimum_time():
    plan = lambda t: planned_calls(t, repeats=10, min_time=1.0, passes=5, most=200)  # noqa: E731
    assert plan(0.001) == 200  # 1 s would be 1000 calls: capped
    assert plan(0.02) == 50  # fills 1 s
    assert plan(0.1) == 10
    assert plan(0.15) == 7  # ten would take 1.5 s: enough for 1 s
    assert plan(3.0) == 5  # never fewer than one per pass
    assert math.isfinite(plan(0.0))


def test_activations_are_counted_as_timm_reports_them():
    # timm's benchmark (infer_macts, fvcore's count) gives ResNet-18 2.48 M, ResNet-50 11.11 M
    from keyarch.analysis.complexity import count_activations, count_matrix_vector_macs

    with torch.device("meta"):
        assert (
            round(count_activations(keyarch.create_model("resnet18"), (3, 224, 224)) / 1e6, 2)
            == 2.48
        )
        resnet50 = keyarch.create_model("resnet50")
        assert round(count_activations(resnet50, (3, 224, 224)) / 1e6, 2) == 11.11
        # ResNet-50's one fully connected layer: 2048 x 1000 multiply-accumulates per image
        assert count_matrix_vector_macs(resnet50, (3, 224, 224)) == 2048 * 1000
        alexnet = keyarch.create_model("alexnet")
        assert count_matrix_vector_macs(alexnet, (3, 224, 224)) == (
            9216 * 4096 + 4096 * 4096 + 4096 * 1000
        )


def test_power_is_constant_fails_when_a_model_draws_more():
    flat = {("a", 1): 100.0, ("a", 16): 104.0, ("b", 1): 97.0, ("c", 16): 101.0}
    assert F.power_is_constant(flat).verdict == F.HOLDS
    assert F.power_is_constant({**flat, ("d", 1): 60.0}).verdict == F.DIFFERS


def test_rapl_counters_are_read_and_their_wrap_undone(tmp_path, monkeypatch):
    from keyarch.analysis import energy

    package = tmp_path / "intel-rapl:0"
    package.mkdir()
    (package / "energy_uj").write_text("999000000\n")
    (package / "max_energy_range_uj").write_text("1000000000\n")
    (tmp_path / "intel-rapl:0:0").mkdir()  # a sub-domain (the cores): not counted twice
    monkeypatch.setattr(energy, "POWERCAP", tmp_path)
    meter = energy.EnergyMeter.for_device(torch.device("cpu"))
    before = meter.read()
    (package / "energy_uj").write_text("2000000\n")  # wrapped past 1000 J
    assert meter.difference(before, meter.read()) == pytest.approx(3.0)
    monkeypatch.setattr(energy, "POWERCAP", tmp_path / "none")
    assert energy.EnergyMeter.for_device(torch.device("cpu")) is None
    assert "exposes no RAPL energy counter" in energy.unavailable_reason("cpu")


def test_a_visit_warms_up_first_and_rewarms_a_fresh_or_fast_step():
    from keyarch.analysis.bench import BenchSettings, visit

    calls = []
    settings = BenchSettings(warmup=2, repeats=4, min_time=1.0, passes=2, max_repeats=4)
    record: dict = {}
    cpu = torch.device("cpu")
    visit(lambda: calls.append(1), record, settings, cpu)
    assert len(calls) == 2 + 2  # two warm-up calls, then half of the four planned
    assert record["planned"] == 4 and len(record["visits"][0]["seconds"]) == 2
    visit(lambda: calls.append(1), record, settings, cpu)
    assert len(calls) == 4 + 1 + 2  # a fast step: one untimed call first
    slow = {"planned": 2, "estimate": 5.0, "visits": [{"at": "", "seconds": [5.0]}]}
    visit(lambda: calls.append(1), slow, BenchSettings(passes=2), cpu)
    assert len(calls) == 7 + 1  # a slow step is timed at once ...
    visit(lambda: calls.append(1), slow, BenchSettings(passes=2), cpu, fresh=True)
    assert len(calls) == 8 + 2  # ... unless its model is fresh
