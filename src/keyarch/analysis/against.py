"""Speed against the reference implementations, with the same weights, in one process.

``compare(name, source)`` builds torchvision's or timm's network of the same architecture,
copies its weights into keyarch's model (``keyarch.compat``), checks that both give the
same logits, and times, in turns (keyarch, reference, keyarch fused, then the next round
in another order), the inference step at each batch size and a training step, with the
same threads, dtype and memory layout. A ratio is the reference's time over keyarch's:
above 1.0 keyarch is faster. Each round's ratio comes from calls made back to back, under
the same load; the median over rounds is reported with the lowest and highest.
"""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from keyarch.analysis.bench import DTYPES, geometric_mean, training_step
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
class Ratios:
    """Per-round ratios (reference time / keyarch time) of one measurement."""

    rounds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.rounds)

    def text(self) -> str:
        return f"{self.median:.2f} ({min(self.rounds):.2f}-{max(self.rounds):.2f})"


@dataclass
class Comparison:
    model: str
    source: str
    batch: int
    ours_ms: float  # median step time, milliseconds
    reference_ms: float
    fused_ms: float
    unfused: Ratios
    fused: Ratios
    train: Ratios | None
    max_difference: float  # of the logits, relative to their scale
    compiled_ms: float | None = None  # fuse(compile=True), when asked
    compiled: Ratios | None = None
    compiled_difference: float | None = None  # its logits against the eager model's (float32)
    compiled_eager: bool = False  # the frozen graph differed: fuse ran that shape eagerly


def logit_difference(reference: nn.Module, ours: nn.Module, x: torch.Tensor) -> float:
    """Largest difference of keyarch's logits, eager and fused, from the reference's,
    relative to their scale, in float64 (the fused copy folded in float64 too): a randomly
    initialised deep network (SE-ResNet-152: logits near 10,000) amplifies float32 rounding
    to several percent, which would hide a real mismatch or invent one."""
    import copy

    from keyarch.analysis.fuse import fuse

    x = x.double()
    with torch.inference_mode():
        expected = copy.deepcopy(reference).double()(x)
        scale = max(expected.abs().max().item(), 1.0)
        ours = copy.deepcopy(ours).double()
        worst = max((model(x) - expected).abs().max().item() for model in (ours, fuse(ours)))
    return worst / scale


def _calls_for(step: Callable[[], object], target: float = 0.05) -> int:
    """How many calls make one timed sample of about ``target`` seconds."""
    begin = time.perf_counter()
    step()
    return max(1, round(target / max(time.perf_counter() - begin, 1e-6)))


def _timed(step: Callable[[], object], calls: int) -> float:
    begin = time.perf_counter()
    for _ in range(calls):
        step()
    return (time.perf_counter() - begin) / calls


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
    """Interleaved timings of keyarch (eager and fused) against the reference, per batch;
    with ``compiled``, then ``fuse(model, compile=True)`` against the reference in rounds of
    their own, compiled afresh for each batch size (a static graph per shape) after all
    the eager rounds, its outputs checked against the eager fused model's."""
    from keyarch.analysis.fuse import fuse
    from keyarch.registry import model_card

    ours, reference = paired_models(name, source)
    kind = DTYPES[dtype]
    layout = torch.channels_last if channels_last else torch.contiguous_format
    ours, reference = (m.to(kind, memory_format=layout).eval() for m in (ours, reference))
    fused = fuse(ours, channels_last=True)
    size = model_card(name).input_size
    difference = logit_difference(reference, ours, torch.randn(2, *size))
    results = []
    for batch in batch_sizes:
        x = torch.randn(batch, *size, dtype=kind).contiguous(memory_format=layout)

        def infer(model, x=x):
            with torch.inference_mode():
                model(x)

        steps = {
            "ours": lambda: infer(ours),
            "reference": lambda: infer(reference),
            "fused": lambda: infer(fused),
        }
        times = _interleaved(steps, rounds)
        train_ratios = None
        if train and batch >= 2:
            labels = torch.randint(0, 1000, (batch,))
            ours.train(), reference.train()
            train_steps = {
                "ours": training_step(ours, x, labels),
                "reference": training_step(reference, x, labels),
            }
            train_times = _interleaved(train_steps, max(3, rounds // 2))
            ours.eval(), reference.eval()
            train_ratios = Ratios(
                [r / o for r, o in zip(train_times["reference"], train_times["ours"], strict=True)]
            )
        results.append(
            Comparison(
                model=name,
                source=source,
                batch=batch,
                ours_ms=statistics.median(times["ours"]) * 1e3,
                reference_ms=statistics.median(times["reference"]) * 1e3,
                fused_ms=statistics.median(times["fused"]) * 1e3,
                unfused=Ratios(
                    [r / o for r, o in zip(times["reference"], times["ours"], strict=True)]
                ),
                fused=Ratios(
                    [r / f for r, f in zip(times["reference"], times["fused"], strict=True)]
                ),
                train=train_ratios,
                max_difference=difference,
            )
        )
    # The compiled copies come last, after every eager measurement: once one exists, its
    # frozen constants and inductor's own OpenMP threads stay in the process and were seen
    # to slow the eager models beside it unevenly (MobileViT-XXS at batch 8: keyarch's
    # eager model 0.79x timm's alone, 0.66x with a compiled copy interleaved).
    for result in results if compiled else []:
        x = torch.randn(result.batch, *size, dtype=kind).contiguous(memory_format=layout)
        step, result.compiled_difference, result.compiled_eager = _compiled_step(ours, x)

        def reference_step(x=x) -> None:
            with torch.inference_mode():
                reference(x)

        times = _interleaved({"reference": reference_step, "compiled": step}, rounds)
        result.compiled_ms = statistics.median(times["compiled"]) * 1e3
        result.compiled = Ratios(
            [r / c for r, c in zip(times["reference"], times["compiled"], strict=True)]
        )
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


def _compiled_step(ours: nn.Module, x: torch.Tensor) -> tuple[Callable[[], object], float, bool]:
    """One call of ``fuse(ours, compile=True)`` on ``x``, compiled now; the largest
    difference of the frozen graph's logits from the eager fused model's relative to their
    scale, in float32 (reported beside the ratio: deep random networks amplify float32
    rounding); and whether fuse refused the frozen graph and runs this shape eagerly."""
    from keyarch.analysis.fuse import fuse

    # Dynamo keeps at most torch._dynamo.config.cache_size_limit graphs per code object,
    # and every fused model runs the same FusedModel.forward: past that many (model, batch)
    # pairs in one process it would run the rest eagerly, silently. The earlier graphs are
    # not needed again.
    torch._dynamo.reset()
    compiled = fuse(ours, compile=True)
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reported in the row instead
        compiled(x)
    key = (tuple(x.shape), x.dtype)

    def step() -> None:
        with torch.inference_mode():
            compiled(x)

    return step, compiled.differences[key], key in compiled.eager_shapes


def _interleaved(steps: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """Seconds per call of each step, per round; the order rotates every round."""
    names = list(steps)
    for step in steps.values():  # warm-up (allocator, kernels' first-call set-up)
        step()
    calls = {n: _calls_for(steps[n]) for n in names}
    calls = dict.fromkeys(names, min(calls.values()))  # the same number of calls each
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        if r % 2:
            order.reverse()
        for n in order:
            times[n].append(_timed(steps[n], calls[n]))
    return times


def summary(comparisons: list[Comparison]) -> dict[str, float]:
    """Geometric means of the median ratios over every model and batch size."""
    result = {
        "unfused": geometric_mean(c.unfused.median for c in comparisons),
        "fused": geometric_mean(c.fused.median for c in comparisons),
    }
    if comparisons and all(c.compiled for c in comparisons):
        result["compiled"] = geometric_mean(c.compiled.median for c in comparisons)
    trained = [c.train.median for c in comparisons if c.train]
    if trained:
        result["train"] = geometric_mean(trained)
    return result
