"""lenet5-mnist: the paper's LeNet-5 on MNIST against its reported test error, with the
paper's distortions, with a fully connected C3 instead of Table I, and the modern variant.

LeCun, Bottou, Bengio and Haffner (1998), section III-C: LeNet-5 trained for 20 passes
over the 60,000 training digits reaches 0.95 % test error; trained on distorted copies
(540,000 more images made by planar affine transformations) 0.8 %. Section II-B explains
C3's partial connections (Table I): fewer connections, and "a break of symmetry" that makes
the maps learn different features; the paper gives no error for a full C3, so that row is
a measurement without a claim. All four networks are keyarch's registered ones, trained by
keyarch's engine with the recipe ``lenet5-paper`` (Adam in place of the paper's stochastic
diagonal Levenberg-Marquardt: see the recipe's source); distortions are drawn afresh every
epoch (``--augment distort``) instead of the paper's fixed 540,000.
"""

from __future__ import annotations

import statistics
from dataclasses import replace

from keyarch.experiments.frame import Claim, Trial
from keyarch.experiments.report import Report, pyplot, save_figure
from keyarch.experiments.training import slug
from keyarch.experiments.verdicts import judge, spread, verdict_from
from keyarch.train.recipes import get_recipe

PAPER_ERROR = 0.95  # % test error, section III-C, no distortions
PAPER_DISTORTED_ERROR = 0.80  # % with distortions
TOLERANCE = 0.2  # points of test error within which the paper's figure counts as reproduced


def variants():
    """name -> (model, recipe): the paper's recipe for all, changed in one thing each."""
    paper = get_recipe("lenet5-paper")
    return {
        "LeNet-5 (paper)": ("lenet5", paper),
        "LeNet-5 + distortions": ("lenet5", replace(paper, augment="distort")),
        "LeNet-5, full C3": ("lenet5", replace(paper, model_options=(("c3", "full"),))),
        "LeNet-5 modern": ("lenet5_modern", paper),
    }


CLAIM = Claim(
    name="lenet5-mnist",
    claim=f"LeNet-5 reaches {PAPER_ERROR} % test error on MNIST after 20 passes, "
    f"{PAPER_DISTORTED_ERROR} % when trained on distorted copies as well.",
    source="LeCun, Bottou, Bengio and Haffner 1998, section III-C and Table I",
)

PROFILES = {
    # the full MNIST for the recipe's 20 epochs; quick: 5,000 digits (the embedded subset
    # when no full copy is found), 3 epochs, the paper's network and the modern one
    "quick": {"train_limit": 5000, "test_limit": 1000, "epochs": 3, "seeds": 1,
              "variants": ("LeNet-5 (paper)", "LeNet-5 modern")},
    "full": {"train_limit": None, "test_limit": None, "epochs": None, "seeds": 3,
             "variants": tuple(variants())},
}  # fmt: skip


def _plot(out, curves, labels) -> str:
    figure, axis = pyplot().subplots(figsize=(6.5, 4))
    for label in labels:
        runs = [curve for (name, _), curve in curves.items() if name == label]
        epochs = range(1, len(runs[0]) + 1)
        axis.plot(epochs, [statistics.mean(v) for v in zip(*runs, strict=True)],
                  marker=".", label=label)  # fmt: skip
    axis.axhline(PAPER_ERROR, color="gray", linestyle="--", label=f"paper {PAPER_ERROR} %")
    axis.axhline(PAPER_DISTORTED_ERROR, color="gray", linestyle=":",
                 label=f"paper, distortions {PAPER_DISTORTED_ERROR} %")  # fmt: skip
    axis.set(xlabel="epoch", ylabel="test error (%), mean over seeds", yscale="log",
             title="LeNet-5 on MNIST")  # fmt: skip
    from matplotlib.ticker import FormatStrFormatter

    for axis_ in (axis.yaxis,):  # plain numbers on the log scale: 0.8, 1, 2 ...
        axis_.set_major_formatter(FormatStrFormatter("%g"))
        axis_.set_minor_formatter(FormatStrFormatter("%g"))
    axis.grid(alpha=0.3, which="both")
    axis.legend()
    return save_figure(figure, out, "test_error.png")


def measure(trial: Trial) -> Report:
    settings, seeds, out = trial.settings, trial.seeds, trial.out
    runs = trial.runs
    rows, curves, dataset = [], {}, ""
    for label in settings["variants"]:
        model, recipe = variants()[label]
        if settings["epochs"]:
            recipe = replace(recipe, epochs=settings["epochs"])
        for seed in range(seeds):
            result = runs.train(
                slug(label, seed), model, recipe, dataset="mnist", seed=seed,
                train_limit=settings["train_limit"], test_limit=settings["test_limit"],
                allow_embedded=trial.profile == "quick",
            )  # fmt: skip
            dataset = str(result.summary["dataset"])
            rows.append({
                "model": label, "network": model, "seed": seed,
                "test_error_percent": round(100 * (1 - float(result.summary["test_top1"])), 3),
                "train_error_percent": round(100 * (1 - result.epochs[-1]["train_top1"]), 3),
                "parameters": result.summary["parameters"],
                "seconds": result.summary["wall_seconds"],
                "run": str(result.folder.relative_to(runs.root.parent)),
            })  # fmt: skip
            curves[label, seed] = [100 * (1 - e["test_top1"]) for e in result.epochs]

    def errors(label: str) -> list[float]:
        return [r["test_error_percent"] for r in rows if r["model"] == label]

    table = [
        "| network | test error % | paper | parameters | seconds per run |",
        "|---|---:|---:|---:|---:|",
    ]
    paper_figure = {"LeNet-5 (paper)": f"{PAPER_ERROR}", "LeNet-5 + distortions":
                    f"{PAPER_DISTORTED_ERROR}"}  # fmt: skip
    for label in settings["variants"]:
        mine = [r for r in rows if r["model"] == label]
        table.append(
            f"| {label} | {spread(errors(label))} | {paper_figure.get(label, '-')} | "
            f"{mine[0]['parameters']:,} | {statistics.mean(r['seconds'] for r in mine):.0f} |"
        )
    # the claim, part by part and seed by seed, each signed so that positive is the paper's
    # side: the error no more than TOLERANCE above the paper's (below it counts: the claim
    # is what LeNet-5 reaches), and lower with distortions
    faithful = errors("LeNet-5 (paper)")
    parts = [judge(f"LeNet-5: the paper's {PAPER_ERROR} % plus {TOLERANCE} points less its "
                   f"test error here ({spread(faithful)} %)",
                   [PAPER_ERROR + TOLERANCE - e for e in faithful])]  # fmt: skip
    if "LeNet-5 + distortions" in settings["variants"]:
        distorted = errors("LeNet-5 + distortions")
        parts.append(judge(f"distortions: test error without less with (points; the paper "
                           f"{PAPER_ERROR - PAPER_DISTORTED_ERROR:.2f}; with: "
                           f"{spread(distorted)} %)",
                           [f - d for f, d in zip(faithful, distorted, strict=True)]))  # fmt: skip
    reason = "; ".join(text for _, text in parts)
    if "LeNet-5, full C3" in settings["variants"]:
        reason += (f"; a full C3 {spread(errors('LeNet-5, full C3'))} % (no figure in the "
                   "paper: Table I is argued for by cost and symmetry breaking)")  # fmt: skip
    reason += "."
    verdict = verdict_from([sign for sign, _ in parts], parts=2)  # the error, distortions
    if trial.profile == "quick":
        reason += " (quick profile: a few epochs on a subset; the full profile is the test)"
    figures = [_plot(out, curves, settings["variants"])] if out is not None else []
    setup = (
        f"{dataset}; keyarch's `lenet5` (scaled tanh, trainable subsampling, Table I's C3, "
        "RBF output) and `lenet5_modern`, trained by `keyarch train` with the recipe "
        "`lenet5-paper` (Adam 0.004, batch 128, cosine, 20 epochs; the paper's SDLM "
        "optimiser replaced, see `keyarch info lenet5`)"
        + (f", {settings['epochs']} epochs" if settings["epochs"] else "")
        + ". *+ distortions*: `--augment distort` (random translation, scaling, squeezing "
        "and shearing, drawn afresh each epoch; the paper used 540,000 fixed distorted "
        "copies). *full C3*: `lenet5(c3='full')`, every C3 map connected to all six S2 "
        "maps. Test error of the final weights, mean ± sd (range) over seeds; each run "
        "is a run folder under `runs/`."
    )
    return trial.report(setup, rows, (table, verdict, reason), figures)
