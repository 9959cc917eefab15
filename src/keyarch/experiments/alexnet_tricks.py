"""alexnet-tricks: AlexNet's design choices, one at a time, on CIFAR-10 (JPEG).

Krizhevsky, Sutskever and Hinton (2012) give an effect size for several of their choices:
overlapping pooling (z = 3, s = 2 against z = s = 2) "reduces the top-1 and top-5 error
rates by 0.4% and 0.3%" (section 3.4); PCA colour noise "reduces the top-1 error rate by
over 1%" (section 4.1); response normalisation reduces them "by 1.4% and 1.2%", and on
CIFAR-10 a four-layer CNN errs on 13 % without and 11 % with it (section 3.3); without
dropout "our network exhibits substantial overfitting" (section 4.2); at test time the
network averages its softmax over ten patches (section 4.1; no effect size given).

Here each choice is switched off alone in ``alexnet_cifar`` (the paper's layer pattern
scaled down to 32x32 images) trained by keyarch's engine with the paper's recipe adapted
to CIFAR (``alexnet-paper``'s SGD 0.01, momentum 0.9, weight decay 5e-4, batch 128; random
32x32 crops of images resized to 37 and flips, as 224 of 256; PCA colour noise), and the
effect is the change in test error against the full network, with its spread over seeds.
The 10-crop effect is read from the full network's own runs (centre crop against 10 crops).
"""

from __future__ import annotations

import statistics
from dataclasses import replace

from keyarch.experiments.frame import Claim, Trial, subset_phrase
from keyarch.experiments.report import Report, pyplot, save_figure
from keyarch.experiments.training import slug
from keyarch.experiments.verdicts import describe, judge, spread, verdict_from
from keyarch.train.recipes import get_recipe

CLAIM = Claim(
    name="alexnet-tricks",
    claim="Overlapping pooling (-0.4 points of top-1 error), PCA colour noise (over -1 "
    "point), local response normalisation (-1.4 points; 13 % -> 11 % on CIFAR-10) and "
    "dropout (against substantial overfitting) each help AlexNet; test-time averaging "
    "over 10 crops is used.",
    source="Krizhevsky, Sutskever and Hinton 2012, sections 3.3, 3.4, 4.1 and 4.2",
)

# variant -> (model options, recipe changes, the paper's reduction of top-1 error in points
# when the choice is used, where it gives one)
VARIANTS = {
    "AlexNet (all choices)": ({}, {}, None),
    "non-overlapping pooling": ({"overlapping": False}, {}, 0.4),
    "no dropout": ({"dropout": 0.0}, {}, None),
    "no PCA colour noise": ({}, {"augment": "alexnet-crops"}, 1.0),
    "no LRN": ({"lrn": False}, {}, 1.4),
}
PROFILES = {
    # quick: under a CI minute on one thread (2,000 and 1,000 images took 68 s)
    "quick": {"train_limit": 1200, "test_limit": 500, "epochs": 3, "seeds": 1,
              "variants": ("AlexNet (all choices)", "no dropout")},
    # full: 10,000 images, 8 epochs, 3 seeds (about 65 minutes on 2 CPU cores; assumed)
    "full": {"train_limit": 10000, "test_limit": None, "epochs": 8, "seeds": 3,
             "variants": tuple(VARIANTS)},
}  # fmt: skip


def recipe_for(epochs: int, **changes):
    """``alexnet-paper`` for a fixed budget: the rate divided by 10 once, after two thirds
    of the epochs (the paper divides on plateaus; a fixed step is assumed here)."""
    paper = get_recipe("alexnet-paper")
    return replace(paper, epochs=epochs, schedule="step", milestones=(round(2 * epochs / 3),),
                   **changes)  # fmt: skip


def dropout_part(effect: list[float], test: list[float], train: list[float]) -> tuple[int, str]:
    """Dropout's part of the claim, which is about overfitting ("without dropout, our network
    exhibits substantial overfitting"): judged on the test error only where the network
    without dropout overfits, its test error above its training error (the last epoch's
    running one, crops and flips included) beyond the seeds' spread; where it does not,
    there is nothing for dropout to prevent at this budget and the part is left within
    noise, whatever dropout does to the test error."""
    overfit, text = judge("without dropout: test error less training error (points)",
                          [t - r for t, r in zip(test, train, strict=True)])  # fmt: skip
    label = "no dropout: test error less the full network's (points)"
    if overfit > 0:
        sign, effect_text = judge(label, effect)
        return sign, f"{effect_text} ({text})"
    return 0, (f"{describe(label, effect)}, not judged: {text}, so at this budget there is no "
               "overfitting for dropout to prevent")  # fmt: skip


def _plot(out, rows, labels) -> str:
    figure, axis = pyplot().subplots(figsize=(7, 3.8))
    for index, label in enumerate(labels):
        errors = [r["test_error_percent"] for r in rows if r["variant"] == label]
        axis.scatter([statistics.mean(errors)], [index], color="C0", zorder=3)
        axis.plot([min(errors), max(errors)], [index, index], color="C0")
    axis.set_yticks(range(len(labels)), labels)
    axis.invert_yaxis()
    axis.set(xlabel="test error (%): mean and range over seeds",
             title="AlexNet's choices, one switched off at a time")  # fmt: skip
    axis.grid(alpha=0.3, axis="x")
    return save_figure(figure, out, "test_error.png")


def measure(trial: Trial) -> Report:
    settings, seeds, out = trial.settings, trial.seeds, trial.out
    runs = trial.runs
    rows = []
    for label in settings["variants"]:
        options, changes, _ = VARIANTS[label]
        recipe = recipe_for(settings["epochs"], **changes)
        recipe = replace(recipe, model_options=tuple(sorted(options.items())))
        for seed in range(seeds):
            result = runs.train(slug(label, seed), "alexnet_cifar", recipe,
                                dataset="cifar10-jpeg", seed=seed,
                                train_limit=settings["train_limit"],
                                test_limit=settings["test_limit"])  # fmt: skip
            summary, last = result.summary, result.epochs[-1]
            rows.append({
                "variant": label, "seed": seed,
                "test_error_percent": round(100 * (1 - float(summary["test_top1"])), 2),
                "tencrop_error_percent": round(
                    100 * (1 - float(summary.get("test_top1_tencrop", "nan"))), 2),
                "train_error_percent": round(100 * (1 - last["train_top1"]), 2),
                "train_loss": round(last["train_loss"], 4),
                "seconds": summary["wall_seconds"],
                "run": str(result.folder.relative_to(runs.root.parent)),
            })  # fmt: skip

    def values(label: str, key: str = "test_error_percent") -> list[float]:
        return [r[key] for r in rows if r["variant"] == label]

    base = "AlexNet (all choices)"
    table = [
        "| network | test error % | effect of the choice (points) | paper | training error % |",
        "|---|---:|---:|---:|---:|",
    ]
    effects = {}
    for label in settings["variants"]:
        paper = VARIANTS[label][2]
        if label == base:
            effect = "-"
        else:  # seed by seed: the same data order and initial weights apart from the change
            differences = [v - b for v, b in zip(values(label), values(base), strict=True)]
            effects[label] = differences
            effect = spread(differences)
        table.append(
            f"| {label} | {spread(values(label))} | {effect} | "
            f"{'-' if paper is None else f'{paper:g}'} | "
            f"{spread(values(label, 'train_error_percent'))} |"
        )
    crops = [c - t for c, t in zip(values(base, "tencrop_error_percent"), values(base),
                                   strict=True)]  # fmt: skip
    table += ["", f"10 crops against the centre crop (full network): {spread(crops)} points "
              "of test error (negative: 10 crops better)"]  # fmt: skip
    # the claim, part by part, each effect seed by seed and signed so that positive is the
    # paper's direction: switching a choice off raises the test error; 10 crops lower it
    parts = [judge(f"{label}: test error less the full network's (points)", d)
             for label, d in effects.items() if label != "no dropout"]  # fmt: skip
    if "no dropout" in effects:
        parts.append(dropout_part(effects["no dropout"], values("no dropout"),
                                  values("no dropout", "train_error_percent")))  # fmt: skip
    if all(c == c for c in crops):  # NaN: a run scored without 10 crops
        parts.append(judge("10 crops: centre-crop test error less the 10-crop one (points)",
                           [-c for c in crops]))  # fmt: skip
    else:
        parts.append((0, "10 crops: not judged, a run was scored without them"))
    # the whole claim has a part per choice switched off and one for 10 crops
    verdict = verdict_from([sign for sign, _ in parts], parts=len(VARIANTS))
    reason = "; ".join(text for _, text in parts) + "."
    if trial.profile == "quick":
        reason += " (quick profile: a few epochs on a subset)"
    figures = [_plot(out, rows, settings["variants"])] if out is not None else []
    setup = (
        "CIFAR-10 (JPEG)"
        + subset_phrase(settings["train_limit"])
        + f"; `alexnet_cifar` (`keyarch info alexnet_cifar`), recipe `alexnet-paper` "
        f"for {settings['epochs']} epochs with the rate divided by 10 after two thirds "
        "(assumed for the budget), crops of 32 from 37 and flips, PCA colour noise, "
        "10-crop testing beside the centre crop. One change per row; its effect is the "
        "test error minus the full network's, seed by seed; mean ± sd (range) over "
        "seeds. Each run is a run folder under `runs/`."
    )
    return trial.report(setup, rows, (table, verdict, reason), figures)
