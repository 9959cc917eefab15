"""Speed against the reference implementations, with the same weights, in one process.

``compare(name, source)`` builds torchvision's or timm's network of the same architecture,
copies its weights into keyarch's model (``keyarch.compat``), checks that both give the
same logits, and times them like for like, in rounds that visit every step once (several
calls back to back per visit, the order rotating from round to round): keyarch's eager
model against the reference in the same memory layout; ``keyarch.fuse(model)`` against the
reference in whichever layout is faster for it; and, asked, the compiled copies of both,
compiled the same way. A ratio is the reference's median time over keyarch's (above 1.0
keyarch is faster), with a bootstrap interval resampling whole rounds; every time a ratio
uses is kept, so the tables recompute from them.
"""

from __future__ import annotations

import math
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

import torch
from torch import nn

from keyarch.analysis.bench import DTYPES, training_step
from keyarch.analysis.timing import bootstrap_interval, precise
from keyarch.errors import BadInput

SOURCES = ("torchvision", "timm")

# keyarch name -> the reference's builder arguments where the name alone does not say it
_TORCHVISION = {
    "googlenet": (
        "googlenet",
        {"aux_logits": False, "transform_input": False, "init_weights": False},
    ),
    "inception_v3": (
        "inception_v3",
        {"aux_logits": False, "transform_input": False, "init_weights": False},
    ),
    **{
        f"mobilenet_v2_{w}": ("mobilenet_v2", {"width_mult": int(w) / 100})
        for w in ("035", "050", "075", "100", "140")
    },
}
_TIMM = {
    "xception": "legacy_xception",
    "se_resnet50": "legacy_seresnet50",
    "se_resnet101": "legacy_seresnet101",
    "se_resnet152": "legacy_seresnet152",
    "nasnet_a_large": "nasnetalarge",
    "efficientnet_lite0": "tf_efficientnet_lite0",
}
# timm's MobileNet v1 uses ReLU6 where the paper (and keyarch) use ReLU: not the same network.
_NOT_THE_SAME = {("timm", f"mobilenet_v1_{w}") for w in ("025", "050", "075", "100")}


def references(source: str) -> list[str]:
    """keyarch models that ``source`` has the same network of, with converted weights."""
    from keyarch.compat import supported

    if source not in SOURCES:
        raise BadInput(f"--against {source}: expected one of {', '.join(SOURCES)}")
    return [n for n in supported(source) if (source, n) not in _NOT_THE_SAME]


def reference_model(name: str, source: str) -> nn.Module:
    """The reference implementation's network for keyarch's ``name`` (random weights)."""
    if name not in references(source):
        raise BadInput(
            f"--against {source}: no {source} reference for {name}; models with one: "
            f"{', '.join(references(source))}"
        )
    if source == "torchvision":
        import torchvision

        builder, options = _TORCHVISION.get(name, (name, {}))
        return getattr(torchvision.models, builder)(**options)
    import timm

    return timm.create_model(_TIMM.get(name, name), pretrained=False)


def randomise_batch_norm(model: nn.Module) -> None:
    """Running statistics drawn at random (means in [-0.5, 0.5], variances in [0.5, 1.5]).
    With a fresh network's (0 and 1) some references' features shrink to nothing (timm's
    Inception-v4: about 1e-9), their logits are the classifier's bias alone, and comparing
    them would check nothing; with these a mismatched batch norm shows."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
                if module.running_mean is not None:
                    module.running_mean.uniform_(-0.5, 0.5)
                    module.running_var.uniform_(0.5, 1.5)


def paired_models(name: str, source: str) -> tuple[nn.Module, nn.Module]:
    """keyarch's model and the reference, with the reference's weights in both (its batch
    norms' running statistics randomised first)."""
    from keyarch.compat import convert_state_dict
    from keyarch.registry import create_model

    torch.manual_seed(0)
    reference = reference_model(name, source)
    randomise_batch_norm(reference)
    ours = create_model(name)
    ours.load_state_dict(convert_state_dict(name, reference.state_dict(), source), strict=True)
    return ours, reference


@dataclass
class Paired:
    """Seconds per call of two steps timed in the same rounds: the ratio of their medians
    (the reference's over keyarch's: above 1 keyarch is faster) and a bootstrap interval
    of it, resampling whole rounds so each round's pair stays together."""

    reference: list[float]
    ours: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.reference) / statistics.median(self.ours)

    def interval(self, seed: int = 0) -> tuple[float, float]:
        rounds = list(zip(self.reference, self.ours, strict=True))

        def ratio(sample):
            return statistics.median(r for r, _ in sample) / statistics.median(o for _, o in sample)

        return bootstrap_interval(rounds, ratio, seed=seed)

    def text(self) -> str:
        low, high = self.interval()
        return f"{precise(self.median, low, high)} ({low:.2f}-{high:.2f})"


@dataclass
class Comparison:
    """One model at one batch size against its reference; every time in milliseconds is
    the median over rounds of the times the ratios are computed from."""

    model: str
    source: str
    batch: int
    layout: str  # of keyarch's eager model and the reference it is compared with
    eager: Paired  # reference eager / keyarch eager, the same layout
    fused: Paired  # reference eager in its faster layout / keyarch.fuse (channels-last)
    fused_reference_layout: str  # that faster layout
    reference_other_ms: float  # the reference in the other layout
    train: Paired | None
    max_difference: float  # of the logits, relative to their scale
    calls_per_visit: int = 1
    compiled: Paired | None = None  # reference compiled / keyarch compiled, same rounds
    compiled_difference: float | None = None  # keyarch compiled against its eager (float32)
    compiled_eager: bool = False  # keyarch's frozen graph refused: that shape ran eagerly
    reference_compiled_eager: bool = False  # the reference's frozen graph refused
    measured_at: str = ""

    @property
    def ours_ms(self) -> float:
        return statistics.median(self.eager.ours) * 1e3

    @property
    def reference_ms(self) -> float:
        return statistics.median(self.eager.reference) * 1e3

    @property
    def fused_ms(self) -> float:
        return statistics.median(self.fused.ours) * 1e3


def logit_difference(reference: nn.Module, ours: nn.Module, x: torch.Tensor) -> float:
    """Largest difference of keyarch's logits, eager and fused, from the reference's,
    relative to their scale, in float64 (the fused copy folded in float64 too): a randomly
    initialised deep network (SE-ResNet-152: logits near 10,000) amplifies float32 rounding
    to several percent, which would hide a real mismatch or invent one."""
    import copy

    from keyarch.models.fuse import fuse

    x = x.double()
    with torch.inference_mode():
        expected = copy.deepcopy(reference).double()(x)
        scale = max(expected.abs().max().item(), 1.0)
        ours = copy.deepcopy(ours).double()
        worst = max((model(x) - expected).abs().max().item() for model in (ours, fuse(ours)))
    return worst / scale


def _calls_for(step: Callable[[], object], target: float = 0.05, least: int = 3) -> int:
    """How many back-to-back calls make one visit of about ``target`` seconds (at least
    ``least``, so that the switch from another model is not what a visit measures)."""
    begin = time.perf_counter()
    step()
    return max(least, round(target / max(time.perf_counter() - begin, 1e-6)))


def _timed(step: Callable[[], object], calls: int) -> float:
    begin = time.perf_counter()
    for _ in range(calls):
        step()
    return (time.perf_counter() - begin) / calls


def _layout_name(channels_last: bool) -> str:
    return "channels-last" if channels_last else "NCHW"


def compare(
    name: str,
    source: str,
    batch_sizes: list[int],
    *,
    dtype: str = "float32",
    channels_last: bool = False,
    rounds: int = 7,
    train: bool = True,
    compiled: bool = False,
) -> list[Comparison]:
    """Interleaved timings of keyarch against the reference, per batch, like for like:

    - eager: keyarch's model against the reference in the same layout (``channels_last``);
    - fused: ``keyarch.fuse(model)`` (channels-last) against the reference in whichever
      layout is faster for it, both timed in the same rounds;
    - compiled (with ``compiled``): ``fuse(model, compile=True)`` against the reference
      compiled the same way (``compile_frozen``: inductor, freezing, channels-last), in
      rounds of their own after all eager rounds, compiled afresh per batch size.
    """
    import copy

    from keyarch.models.fuse import compile_frozen, fuse
    from keyarch.registry import model_card

    ours, reference = paired_models(name, source)
    kind = DTYPES[dtype]
    layout = torch.channels_last if channels_last else torch.contiguous_format
    other = torch.contiguous_format if channels_last else torch.channels_last
    ours, reference = (m.to(kind, memory_format=layout).eval() for m in (ours, reference))
    reference_other = copy.deepcopy(reference).to(memory_format=other)
    fused = fuse(ours, channels_last=True)
    size = model_card(name).input_size
    difference = logit_difference(reference, ours, torch.randn(2, *size))
    results = []
    for batch in batch_sizes:
        x = torch.randn(batch, *size, dtype=kind).contiguous(memory_format=layout)
        x_other = x.contiguous(memory_format=other)

        def infer(model, x):
            with torch.inference_mode():
                model(x)

        steps = {
            "ours": lambda x=x: infer(ours, x),
            "reference": lambda x=x: infer(reference, x),
            "reference_other": lambda x=x_other: infer(reference_other, x),
            "fused": lambda x=x: infer(fused, x),
        }
        times, calls = _interleaved(steps, rounds)
        best = min(("reference", "reference_other"), key=lambda k: statistics.median(times[k]))
        train_pair = None
        if train and batch >= 2:
            labels = torch.randint(0, 1000, (batch,))
            ours.train(), reference.train()
            train_steps = {
                "ours": training_step(ours, x, labels),
                "reference": training_step(reference, x, labels),
            }
            train_times, _ = _interleaved(train_steps, max(3, rounds // 2), least=1)
            ours.eval(), reference.eval()
            train_pair = Paired(train_times["reference"], train_times["ours"])
        results.append(
            Comparison(
                model=name,
                source=source,
                batch=batch,
                layout=_layout_name(channels_last),
                eager=Paired(times["reference"], times["ours"]),
                fused=Paired(times[best], times["fused"]),
                fused_reference_layout=_layout_name(channels_last == (best == "reference")),
                reference_other_ms=statistics.median(times["reference_other"]) * 1e3,
                train=train_pair,
                max_difference=difference,
                calls_per_visit=calls,
                measured_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            )
        )
    # The compiled copies come last, after every eager measurement: once one exists, its
    # frozen constants and inductor's own OpenMP threads stay in the process and were seen
    # to slow the eager models beside it unevenly (MobileViT-XXS at batch 8: keyarch's
    # eager model 0.79x timm's alone, 0.66x with a compiled copy interleaved).
    for result in results if compiled else []:
        x = torch.randn(result.batch, *size, dtype=kind).contiguous(memory_format=layout)
        step, result.compiled_difference, result.compiled_eager = _compiled_step(
            lambda: fuse(ours, compile=True), x
        )
        reference_step, _, result.reference_compiled_eager = _compiled_step(
            lambda: compile_frozen(reference, channels_last=True), x
        )
        times, _ = _interleaved({"reference": reference_step, "compiled": step}, rounds)
        result.compiled = Paired(times["reference"], times["compiled"])
    return results


def compare_isolated(
    name: str, source: str, batch_sizes: list[int], *, threads: int, **options
) -> list[Comparison]:
    """``compare`` in a fresh process (spawned, ``threads`` compute threads), for the
    compiled path: a frozen compiled copy's constants and prepacked weights stay alive in
    the process that compiled it, whatever is reset (measured: VGG-11 at batch 1, resident
    memory 1.8 -> 2.9 -> 3.9 GB over three compiles with ``torch._dynamo.reset()``, the
    code cache cleared and a collection between them), so ``--all --compiled`` in one
    process ran out of memory after 22 models. One process per model frees everything."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        job = pool.submit(_compare_with_threads, threads, name, source, batch_sizes, options)
        try:
            return job.result()
        except BrokenProcessPool as error:
            raise RuntimeError(
                f"{name}: the process timing it against {source} died (out of memory?)"
            ) from error


def _compare_with_threads(
    threads: int, name: str, source: str, batch_sizes: list[int], options: dict
) -> list[Comparison]:
    import logging

    # inductor's one-line "No CUDA runtime is found" warning, once per process, per model
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
    torch.set_num_threads(threads)
    return compare(name, source, batch_sizes, **options)


def _compiled_step(
    build: Callable[[], nn.Module], x: torch.Tensor
) -> tuple[Callable[[], object], float, bool]:
    """One call of the compiled model ``build()`` returns, compiled now on ``x``; the
    largest difference of the frozen graph's logits from the eager model's relative to
    their scale, in float32 (reported beside the ratio: deep random networks amplify
    float32 rounding); and whether the frozen graph was refused and the shape runs
    eagerly."""
    # Dynamo keeps at most torch._dynamo.config.cache_size_limit graphs per code object,
    # and every fused model runs the same FusedModel.forward: past that many (model, batch)
    # pairs in one process it would run the rest eagerly, silently. The earlier graphs are
    # not needed again.
    torch._dynamo.reset()
    compiled = build()
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reported in the row instead
        compiled(x)
    key = (tuple(x.shape), x.dtype)

    def step() -> None:
        with torch.inference_mode():
            compiled(x)

    differences = getattr(compiled, "differences", {})
    return step, differences.get(key, 0.0), key in getattr(compiled, "eager_shapes", set())


def _interleaved(
    steps: dict[str, Callable[[], object]], rounds: int, least: int = 3
) -> tuple[dict[str, list[float]], int]:
    """Seconds per call of each step, per round, and the calls per visit: each round
    visits every step once, for the same number of back-to-back calls (at least
    ``least``), in an order that rotates and reverses from round to round."""
    names = list(steps)
    for step in steps.values():  # warm-up (allocator, kernels' first-call set-up)
        step()
    calls = min(_calls_for(steps[n], least=least) for n in names)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        if (r // len(names)) % 2:  # (with two steps a rotation alone would undo a reversal)
            order.reverse()
        for n in order:
            times[n].append(_timed(steps[n], calls))
    return times, calls


def log_mean_interval(ratios: list[float], seed: int = 0) -> tuple[float, float, float]:
    """Geometric mean of ``ratios`` and its 95 % bootstrap interval, resampling the rows
    (models and batch sizes)."""
    logs = [math.log(r) for r in ratios]
    mean = statistics.fmean

    low, high = bootstrap_interval(logs, mean, seed=seed)
    return math.exp(mean(logs)), math.exp(low), math.exp(high)


def summary(comparisons: list[Comparison]) -> dict[str, tuple[float, float, float]]:
    """The three comparisons, each a geometric mean over models and batch sizes with its
    interval: eager against eager, fused against the reference's best eager layout,
    compiled against compiled (rows where either frozen graph was refused left out); and
    the training step."""
    result = {
        "eager": log_mean_interval([c.eager.median for c in comparisons]),
        "fused": log_mean_interval([c.fused.median for c in comparisons]),
    }
    compiled = [c.compiled.median for c in comparisons if c.compiled and not _fell_back(c)]
    if compiled:
        result["compiled"] = log_mean_interval(compiled)
    trained = [c.train.median for c in comparisons if c.train]
    if trained:
        result["train"] = log_mean_interval(trained)
    return result


def _fell_back(c: Comparison) -> bool:
    return c.compiled_eager or c.reference_compiled_eager
