"""depth-and-bypass: what depth does to the gradients of plain and residual networks, and
the degradation problem.

The seeds tell the vanishing-gradient story: backpropagated through many layers, the
gradient reaching the first layers shrinks, so deep plain networks stop learning there;
bypass (shortcut) connections carry it back unchanged. He, Zhang, Ren and Sun (2015),
section 4.2 and Figure 6, report the degradation problem on CIFAR-10: the 56-layer plain
network has higher *training* error than the 20-layer one, while ResNet-56 trains better
than ResNet-20. They add that with batch normalisation the plain networks' gradients
"exhibit healthy norms", so the difficulty "is unlikely to be caused by vanishing
gradients" (section 4.1). This experiment measures both.

Part A: the gradient norm of every weighted layer's weights at initialisation, on one batch
of 128 CIFAR-10 (JPEG) training images, for plain and residual networks of depth 20, 56
and 110 (``plain20`` ... ``resnet110``, the paper's option A shortcuts), and again after
training for the networks of part B. Part B: ``plain20``, ``plain56``, ``resnet20`` and
``resnet56`` trained by keyarch's engine with the paper's recipe (``resnet-cifar-paper``:
SGD 0.1, momentum 0.9, weight decay 1e-4, batch 128, crops and flips) for a budget of
epochs at the paper's first learning rate (0.1, before its first drop at epoch 82): the
start of Figure 6.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from keyarch.experiments.frame import Claim, Trial
from keyarch.experiments.report import Report, pyplot, save_figure
from keyarch.experiments.training import cifar10_images, slug
from keyarch.experiments.verdicts import judge, spread, verdict_from
from keyarch.outputs import atomic_write
from keyarch.registry import create_model
from keyarch.train.checkpoint import load_model_weights
from keyarch.train.recipes import get_recipe

CLAIM = Claim(
    name="depth-and-bypass",
    claim="Deeper plain networks are harder to optimise: plain-56 has higher training "
    "error than plain-20, while ResNet-56 trains better than ResNet-20 (the degradation "
    "problem); the seeds attribute it to gradients vanishing on their way back, He et "
    "al. to optimisation difficulty with healthy gradient norms.",
    source="He, Zhang, Ren and Sun 2015, sections 4.1-4.2 and Figure 6",
)

PROFILES = {
    # quick: gradients at depth 20 and 56, no training (training plain-56 long enough to
    # show the degradation takes more than a CI minute: one epoch of 2,500 images left
    # plain-20 at 86.9 % and plain-56 at 87.8 % training error, too near chance to assert);
    # full: 3 epochs of all 50,000 images (1,170 steps, the first 3 of Figure 6's 164
    # epochs, before its plot starts; an assumed budget: the most that 3 seeds of four
    # networks fit in about 80 minutes of 2 CPU cores)
    "quick": {"depths": (20, 56), "trained": (), "epochs": 1, "train_limit": None,
              "test_limit": None, "seeds": 1},
    "full": {"depths": (20, 56, 110), "trained": ("plain20", "plain56", "resnet20", "resnet56"),
             "epochs": 3, "train_limit": None, "test_limit": None, "seeds": 3},
}  # fmt: skip
BATCH = 128


def probe_batch(data_dir) -> tuple[torch.Tensor, torch.Tensor, str]:
    """128 fixed training images, standardised with the training set's channel statistics
    (as ``keyarch train`` does), and their labels."""
    return cifar10_images(data_dir, BATCH)


def gradient_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """The Frobenius norm of the loss gradient of every convolution's and fully connected
    layer's weight, in the order the forward pass uses them (the model in training mode:
    batch statistics, as during training)."""
    order: list[nn.Module] = []
    hooks = [
        module.register_forward_hook(lambda m, *_: order.append(m))
        for module in model.modules()
        if isinstance(module, (nn.Conv2d, nn.Linear))
    ]
    model.train()
    model.zero_grad(set_to_none=True)
    try:
        F.cross_entropy(model(x), y).backward()
    finally:
        for hook in hooks:
            hook.remove()
    return [module.weight.grad.norm().item() for module in order]


def first_to_last(norms: list[float]) -> float:
    """The first weighted layer's gradient norm over the last convolution's (the layer
    before the classifier): below 1, the gradient shrinks on its way back."""
    return norms[0] / norms[-2]


def trained_gradient_norms(name: str, folder, x: torch.Tensor, y: torch.Tensor,
                           probe: str) -> list[float]:  # fmt: skip
    """``gradient_norms`` of a trained run's weights on the probe batch (``x``, ``y``, named
    ``probe``), kept beside them in ``gradient_norms.json`` so that the report can be
    rebuilt from the run folder without its weights (which the committed copies leave out);
    norms saved for another probe are measured again, or refused without the weights."""
    from keyarch.errors import BadInput

    saved, weights = Path(folder) / "gradient_norms.json", Path(folder) / "model.safetensors"
    if saved.is_file():
        kept = json.loads(saved.read_text())
        if kept.get("probe") == probe:
            return [float(n) for n in kept["gradient_norms"]]
        if not weights.is_file():
            raise BadInput(f"{saved} holds gradient norms on {kept.get('probe')!r}, not on "
                           f"{probe!r}, and the run's weights are not there to measure "
                           "again")  # fmt: skip
    model = create_model(name, num_classes=10)
    load_model_weights(model, weights)
    norms = gradient_norms(model, x, y)
    atomic_write(saved, json.dumps({"probe": probe, "gradient_norms": norms}).encode())
    return norms


def measure(trial: Trial) -> Report:
    settings, seeds, out, data_dir = trial.settings, trial.seeds, trial.out, trial.data_dir
    x, y, title = probe_batch(data_dir)
    rows, initial, trained_norms, curves, errors = [], {}, {}, {}, {}
    for depth in settings["depths"]:
        for kind in ("plain", "resnet"):
            name = f"{kind}{depth}"
            ratios = []
            for seed in range(seeds):
                torch.manual_seed(seed)
                norms = gradient_norms(create_model(name, num_classes=10), x, y)
                initial.setdefault(name, norms)
                ratios.append(first_to_last(norms))
                rows.append({"part": "A", "model": name, "seed": seed, "when": "initialisation",
                             "first_to_last": round(ratios[-1], 4),
                             "gradient_norms": " ".join(f"{n:.3e}" for n in norms)})  # fmt: skip
    runs = trial.runs
    recipe = replace(get_recipe("resnet-cifar-paper"), epochs=settings["epochs"],
                     schedule="constant", milestones=())  # fmt: skip
    for name in settings["trained"]:
        for seed in range(seeds):
            result = runs.train(slug(name, seed), name, recipe, dataset="cifar10-jpeg",
                                seed=seed, train_limit=settings["train_limit"],
                                test_limit=settings["test_limit"])  # fmt: skip
            curves[name, seed] = [100 * (1 - e["train_top1"]) for e in result.epochs]
            errors.setdefault(name, []).append(
                (curves[name, seed][-1], 100 * (1 - float(result.summary["test_top1"])))
            )
            norms = trained_gradient_norms(name, result.folder, x, y,
                                           f"{BATCH} fixed training images of {title}")  # fmt: skip
            trained_norms.setdefault(name, norms)
            rows.append({"part": "B", "model": name, "seed": seed,
                         "when": f"after {settings['epochs']} epochs",
                         "first_to_last": round(first_to_last(norms), 4),
                         "train_error_percent": round(errors[name][-1][0], 2),
                         "test_error_percent": round(errors[name][-1][1], 2),
                         "gradient_norms": " ".join(f"{n:.3e}" for n in norms),
                         "run": str(result.folder.relative_to(runs.root.parent))})  # fmt: skip

    def ratio(name: str, when: str = "initialisation") -> float:
        values = [r["first_to_last"] for r in rows if r["model"] == name and r["when"] == when]
        return statistics.mean(values)

    deepest = max(settings["depths"])
    lines = [
        "Part A: first layer's gradient norm / last convolution's, at initialisation "
        "(below 1: the gradient shrinks on its way back)",
        "",
        "| depth | plain | residual |",
        "|---:|---:|---:|",
        *(
            f"| {d} | {ratio(f'plain{d}'):.3g} | {ratio(f'resnet{d}'):.3g} |"
            for d in settings["depths"]
        ),  # fmt: skip
    ]
    if settings["trained"]:
        lines += [
            "",
            f"Part B: after {settings['epochs']} epoch(s) at lr 0.1 (running training error "
            "of the last epoch; test error of the final weights)",
            "",
            "| network | training error % | test error % | first / last gradient after |",
            "|---|---:|---:|---:|",
            *(
                f"| {n} | {spread([e[0] for e in errors[n]])} | "
                f"{spread([e[1] for e in errors[n]])} | "
                f"{ratio(n, 'after ' + str(settings['epochs']) + ' epochs'):.3g} |"
                for n in settings["trained"]
            ),
        ]  # fmt: skip
    plain_shrinks = ratio(f"plain{deepest}") < ratio("plain20")
    plain, residual = ratio(f"plain{deepest}"), ratio(f"resnet{deepest}")
    # the seeds' gradient story, as the bypass changes it: without shortcuts the first
    # layer's gradient drifts away from the last's by orders of magnitude as depth grows
    # (with batch norm it grows, rather than vanishes); with them it stays far nearer
    spread_plain, spread_residual = abs(math.log10(plain)), abs(math.log10(residual))
    gradients = (
        f"At initialisation plain-{deepest}'s first layer gets {plain:.3g} of its last "
        f"convolution's gradient norm (plain-20 {ratio('plain20'):.3g}, ResNet-{deepest} "
        f"{residual:.3g}): the shortcuts "
        f"{'keep' if spread_residual < spread_plain else 'do not keep'} the first layer's "
        f"gradient nearer the last's (10^{spread_residual:.1f} apart against "
        f"10^{spread_plain:.1f} without them)"
        + (
            ", and the gradient shrinks with depth in the plain networks"
            if plain_shrinks
            else "; with batch normalisation the plain networks' gradients do not vanish "
            "here (as He et al. say): they "
            + ("grow toward the input, the more the deeper the network (they explode)"
               if plain > 10 * ratio("plain20") else "stay of one size")
        )
        + ". "
    )  # fmt: skip
    # the claim, judged seed by seed on the training error of the last epoch: each part's
    # effect signed so that positive is He et al.'s direction
    parts = []
    if {"plain20", "plain56", "resnet20", "resnet56"} <= set(errors):

        def gap(kind: str) -> list[float]:  # 56 layers' training error less 20's, per seed
            return [deep[0] - shallow[0] for deep, shallow in
                    zip(errors[f"{kind}56"], errors[f"{kind}20"], strict=True)]  # fmt: skip

        parts = [
            judge("plain-56's training error less plain-20's (points)", gap("plain")),
            judge("the plain gap less the residual one (points; degradation is a plain-network "
                  "effect)", [p - r for p, r in zip(gap("plain"), gap("resnet"), strict=True)]),
            judge("ResNet-20's training error less ResNet-56's (points)",
                  [-g for g in gap("resnet")]),
        ]  # fmt: skip
    verdict = verdict_from([sign for sign, _ in parts], parts=3)
    reason = (
        "; ".join(text for _, text in parts) + ". "
        if parts
        else "The degradation problem was not measured (no training in this profile). "
    ) + gradients
    if trial.profile == "quick":
        reason += " (quick profile: gradients only; the full profile trains the networks)"
    figures = []
    if out is not None:
        figures = [_plot_gradients(out, initial, trained_norms, settings["epochs"])]
        if curves:
            figures.append(_plot_training(out, curves))
    setup = (
        f"{title}. Part A: Frobenius norm of each weighted layer's weight gradient on "
        f"one batch of {BATCH} fixed training images, networks in training mode, "
        f"PyTorch/keyarch initialisation, depths {', '.join(map(str, settings['depths']))}."
        + (
            f" Part B: `keyarch train` with `resnet-cifar-paper` (SGD 0.1, momentum 0.9, "
            f"weight decay 1e-4, batch 128, 4-pixel crops and flips) for "
            f"{settings['epochs']} epoch(s) at the constant rate 0.1 (the paper's rate "
            f"before its first drop at epoch 82)"
            + (f", {settings['train_limit']:,} training images" if settings["train_limit"] else "")
            + "; each run is a run folder under `runs/`."
            if settings["trained"]
            else " No training in this profile."
        )
    )
    return trial.report(setup, rows, (lines, verdict, reason), figures)


def _plot_gradients(out, initial, trained, epochs: int) -> str:
    figure, axes = pyplot().subplots(1, 2, figsize=(11, 4), sharey=True)
    for axis, kind in zip(axes, ("plain", "resnet"), strict=True):
        for index, (name, norms) in enumerate(n for n in initial.items() if n[0].startswith(kind)):
            depth = [(i + 1) / len(norms) for i in range(len(norms))]
            axis.plot(depth, norms, color=f"C{index}", label=f"{name} at initialisation")
            if name in trained:
                axis.plot(depth, trained[name], "--", color=f"C{index}",
                          label=f"{name} after {epochs} epoch(s)")  # fmt: skip
        title = {"plain": "plain networks", "resnet": "residual networks"}[kind]
        axis.set(yscale="log", xlabel="layer position (first = 0, classifier = 1)", title=title)
        axis.grid(alpha=0.3, which="both")
        axis.legend(fontsize=8)
    axes[0].set_ylabel("|gradient of the layer's weight|")
    return save_figure(figure, out, "gradient_norms.png")


def _plot_training(out, curves) -> str:
    kinds = [k for k in ("plain", "resnet") if any(n.startswith(k) for n, _ in curves)]
    figure, axes = pyplot().subplots(1, len(kinds), figsize=(5.5 * len(kinds), 4),
                                     sharey=True, squeeze=False)  # fmt: skip
    titles = {"plain": "plain (Fig. 6 left)", "resnet": "ResNet (Fig. 6 middle)"}
    for axis, kind in zip(axes[0], kinds, strict=True):
        for (name, seed), curve in curves.items():
            if name.startswith(kind):
                deep = "56" in name  # one colour per network, every seed drawn
                axis.plot(range(1, len(curve) + 1), curve, "-" if deep else "--", marker="o",
                          color="C3" if deep else "C0",
                          label=f"{name} (each seed)" if seed == 0 else None)  # fmt: skip
        axis.set(xlabel="epoch", title=titles[kind])
        axis.grid(alpha=0.3)
        axis.legend()
    axes[0][0].set_ylabel("training error (%)")
    return save_figure(figure, out, "training_error.png")
