"""efficiency-frontier: accuracy against operations and parameters, Canziani et al.'s chart
measured on CIFAR-10 (JPEG) for a 32x32 member of nine families, beside the published
ImageNet one.

Canziani, Paszke and Culurciello (2016), "An Analysis of Deep Neural Network Models for
Practical Applications", Figure 2: top-1 accuracy against operations, with the parameter
count as the size of each blob (Figure 1 lists the accuracies). Their reading: accuracy
rises with operations, but each step buys less (their "hyperbolic" relation of accuracy
and time), and operations alone do not decide it: VGG spends the most operations and
parameters for accuracy that later, smaller designs match or beat.

Here each family's member for 32x32 images (``keyarch info NAME`` for its adaptation, in
its card's deviations) is trained with one recipe (keyarch's ``cifar`` preset: SGD with
Nesterov momentum 0.9, 0.05 with one warm-up epoch and a cosine decay, weight decay 5e-4,
crops and flips, batch 128) for the same number of images seen (Li, Yumer and Ramanan,
"Budgeted Training", ICLR 2020: the schedule fitted to the budget), and its test accuracy
is drawn against the multiply-adds of one 32x32 image and the parameters, both counted
(``keyarch.analysis``), with the training throughput measured on this machine beside them
(accuracy, operations, parameters and time side by side: Dehghani et al. 2022, "The
Efficiency Misnomer"). The published chart beside it is drawn from keyarch's model cards:
each family's ImageNet member, its published top-1 (one crop) and its counted
multiply-adds at its own input size.

The verdict is decided by parts fixed before the runs, on the frontier (the members no
cheaper member is as accurate as, in multiply-adds), each by its difference seed by seed
and the one rule of ``keyarch.experiments.report`` (resolved only outside the seeds'
spread): operations buy accuracy (the most accurate member against the cheapest); the
returns diminish (accuracy per doubling of multiply-adds is smaller on the frontier's last
step than on its first); VGG-11 is dominated by a design of its year or later (fewer
multiply-adds, fewer parameters, more accurate). A profile that leaves a part out (the
quick one trains two members) cannot say more than "partly reproduced". The agreement of
the CIFAR-10 order with the ImageNet order (Spearman's rank correlation) is reported beside
the verdict, not part of it.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, replace

import torch

from keyarch.analysis import count_macs, count_parameters
from keyarch.experiments.frame import Claim, Trial, subset_phrase
from keyarch.experiments.report import Report, pyplot, save_figure
from keyarch.experiments.training import slug
from keyarch.experiments.verdicts import judge, spread, verdict_from
from keyarch.registry import create_model, model_card
from keyarch.train.recipes import Recipe, get_recipe

CLAIM = Claim(
    name="efficiency-frontier",
    claim="Accuracy rises with operations, each step buying less, and operations alone "
    "do not decide it: VGG spends the most operations and parameters for accuracy that "
    "later, smaller designs match or beat.",
    source="Canziani, Paszke and Culurciello 2016, Figure 2 (Figure 1's accuracies)",
)

CIFAR_INPUT = (3, 32, 32)
VGG = "VGG-11"  # the member Canziani et al. single out


@dataclass(frozen=True)
class Member:
    label: str
    model: str  # the registered 32x32 network
    imagenet: str | None  # the family's registered ImageNet network, for the published chart


MEMBERS = (
    Member("LeNet-5 (modern)", "lenet5_modern", None),  # trained with 3 input channels
    Member("AlexNet", "alexnet_cifar", "alexnet"),
    Member("VGG-11", "vgg11_cifar", "vgg11"),
    Member("GoogLeNet", "googlenet_cifar", "googlenet"),
    Member("ResNet-20", "resnet20", "resnet18"),
    Member("DenseNet-BC-100", "densenet_bc_100", "densenet121"),
    Member("MobileNet v1", "mobilenet_v1_cifar", "mobilenet_v1_100"),
    Member("MobileNet v2", "mobilenet_v2_cifar", "mobilenet_v2_100"),
    Member("MobileViT-XXS", "mobilevit_xxs_cifar", "mobilevit_xxs"),
)
PROFILES = {
    # quick: the direction only: the residual network against LeNet-5 at a tiny budget
    "quick": {"train_limit": 2000, "test_limit": 1000, "epochs": 4, "seeds": 1,
              "members": ("LeNet-5 (modern)", "ResNet-20")},
    # full: 5,000 images x 6 epochs = 30,000 images seen per run, 5,000 test images
    # (assumed: what fits every member twice into about 90 minutes of a 2-core CPU: 5,333 s
    # measured, half of it DenseNet-BC-100's at about 41 images a second)
    "full": {"train_limit": 5000, "test_limit": 5000, "epochs": 6, "seeds": 2,
             "members": tuple(m.label for m in MEMBERS)},
}  # fmt: skip


def recipe_for(epochs: int) -> Recipe:
    """keyarch's ``cifar`` preset with its cosine decay fitted to ``epochs``."""
    return replace(get_recipe("cifar"), epochs=epochs)


def counted(model_name: str, input_size: tuple[int, int, int], **options) -> tuple[int, int]:
    """(parameters, multiply-adds of one image) of a registered network, built on the meta
    device (no memory, no initialisation)."""
    with torch.device("meta"):
        model = create_model(model_name, **options)
    return count_parameters(model), count_macs(model, input_size)


def spearman(xs: list[float], ys: list[float]) -> float:
    """Spearman's rank correlation (average ranks for ties)."""

    def ranks(values: list[float]) -> list[float]:
        order = sorted(range(len(values)), key=values.__getitem__)
        result = [0.0] * len(values)
        start = 0
        while start < len(order):
            end = start
            while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
                end += 1
            for index in order[start : end + 1]:
                result[index] = (start + end) / 2
            start = end + 1
        return result

    rx, ry = ranks(xs), ranks(ys)
    mx, my = statistics.mean(rx), statistics.mean(ry)
    covariance = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    scale = (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5
    return covariance / scale if scale else 0.0


def measure(trial: Trial) -> Report:
    settings, seeds, out = trial.settings, trial.seeds, trial.out
    runs = trial.runs
    members = [m for m in MEMBERS if m.label in settings["members"]]
    rows = []
    for member in members:
        # as the engine builds it for the data: 3 input channels, 10 classes
        parameters, macs = counted(member.model, CIFAR_INPUT, in_chans=3, num_classes=10)
        for seed in range(seeds):
            result = runs.train(slug(member.label, seed), member.model,
                                recipe_for(settings["epochs"]), dataset="cifar10-jpeg",
                                seed=seed, train_limit=settings["train_limit"],
                                test_limit=settings["test_limit"])  # fmt: skip
            summary = result.summary
            rows.append({
                "member": member.label, "model": member.model, "seed": seed,
                "parameters": parameters, "macs": macs,
                "test_top1_percent": round(100 * float(summary["test_top1"]), 2),
                "test_top1_flip_percent": round(
                    100 * float(summary.get("test_top1_flip", "nan")), 2),
                "train_top1_percent": round(100 * result.epochs[-1]["train_top1"], 2),
                "train_images_per_second": round(float(summary["train_images_per_second"]), 1),
                "threads": summary.get("arguments", {}).get("threads"),
                "seconds": summary["wall_seconds"],
                "run": str(result.folder.relative_to(runs.root.parent)),
            })  # fmt: skip

    def accuracies(label: str) -> list[float]:
        return [r["test_top1_percent"] for r in rows if r["member"] == label]

    published = {}
    for member in members:
        # the card's first single-crop ILSVRC-2012 validation top-1
        top1 = None if member.imagenet is None else model_card(member.imagenet).imagenet_top1
        if top1 is not None:
            size = model_card(member.imagenet).input_size
            parameters, macs = counted(member.imagenet, size)
            published[member.label] = (member.imagenet, top1, parameters, macs)

    first = {m.label: next(r for r in rows if r["member"] == m.label) for m in members}
    mean_accuracy = {m.label: statistics.mean(accuracies(m.label)) for m in members}
    table = [
        "| member | network | parameters | M mult-adds (32x32) | test top-1 % | "
        "training img/s | ImageNet counterpart | its top-1 % | its G mult-adds |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for member in members:
        row = first[member.label]
        speeds = [r["train_images_per_second"] for r in rows if r["member"] == member.label]
        counterpart = published.get(member.label)
        table.append(
            f"| {member.label} | `{member.model}` | {row['parameters']:,} | "
            f"{row['macs'] / 1e6:.1f} | {spread(accuracies(member.label))} | "
            f"{statistics.mean(speeds):.0f} | "
            + (f"`{counterpart[0]}` | {counterpart[1]:.1f} | {counterpart[3] / 1e9:.2f} |"
               if counterpart else "- | - | - |")
        )  # fmt: skip

    macs = {m.label: first[m.label]["macs"] for m in members}
    frontier = pareto_frontier(macs, mean_accuracy)
    table += ["", "Frontier (no cheaper member as accurate): " + " -> ".join(
        f"{label} ({mean_accuracy[label]:.1f} %)" for label in frontier)]  # fmt: skip
    parameters = {m.label: first[m.label]["parameters"] for m in members}
    years = {m.label: model_card(m.model).year for m in members}
    per_seed = {m.label: accuracies(m.label) for m in members}
    verdict, reason = judge_claim(macs, parameters, per_seed, years)
    paired = [label for label in mean_accuracy if label in published]
    if len(paired) >= 3:
        rho = spearman([mean_accuracy[label] for label in paired],
                       [published[label][1] for label in paired])  # fmt: skip
        reason += (f" Beside the verdict: the order by CIFAR-10 accuracy here against the "
                   f"ImageNet counterparts' published top-1, Spearman {rho:+.2f} over "
                   f"{len(paired)} members.")  # fmt: skip
    reason += (" At a budget this short the order also measures how fast each design "
               "learns, not only how far it gets.")  # fmt: skip
    figures = []
    if out is not None:
        figures = [_plot(out, members, first, mean_accuracy, rows, published, frontier)]
        reason += " The hollow markers are the papers' CIFAR-10 figures after full training."
    images = settings["epochs"] * (settings["train_limit"] or 50000)
    threads = sorted({r["threads"] for r in rows if r["threads"]})
    setup = (
        "CIFAR-10 (JPEG)"
        + subset_phrase(settings["train_limit"])
        + (f", {settings['test_limit']:,} test images" if settings["test_limit"] else "")
        + "; each family's 32x32 member (adaptations in each card's deviations), "
        "keyarch's `cifar` recipe (SGD, Nesterov 0.9, 0.05 with one warm-up epoch and a "
        "cosine decay, weight decay 5e-4, crops and flips, batch 128) for "
        f"{settings['epochs']} epochs: {images:,} images seen by every member. "
        "Multiply-adds and parameters counted; images per second measured in training "
        f"on this machine ({'/'.join(map(str, threads)) or '?'} compute threads). "
        "Accuracy: mean ± sd (range) over seeds, centre view. The published side: each "
        "family's ImageNet network from keyarch's cards (published single-crop top-1, "
        "multiply-adds counted at its own input size). Each run is a run folder under "
        "`runs/`."
    )
    return trial.report(setup, rows, (table, verdict, reason), figures)


def judge_claim(macs: dict[str, int], parameters: dict[str, int],
                accuracy: dict[str, list[float]],
                years: dict[str, int]) -> tuple[str, str]:  # fmt: skip
    """The verdict and its reason from each member's mult-adds, parameters, accuracy seed
    by seed and paper year, each part decided by ``keyarch.experiments.report``'s rule on
    its per-seed difference: operations buy accuracy (the most accurate member against the
    cheapest); the returns diminish along the frontier (its first step's points per
    doubling of mult-adds against its last's); VGG-11 is dominated by a design of its year
    or later (fewer mult-adds and parameters: for when one of them is more accurate beyond
    the spread, against when all are less accurate beyond it). A part the members do not
    allow is left out, and without all three the verdict is at most "partly reproduced"."""
    mean = {label: statistics.mean(values) for label, values in accuracy.items()}
    frontier = pareto_frontier(macs, mean)
    parts: list[tuple[int, str]] = []

    def differences(a: str, b: str) -> list[float]:  # a's accuracy less b's, seed by seed
        return [x - y for x, y in zip(accuracy[a], accuracy[b], strict=True)]

    if len(accuracy) >= 2:
        cheapest = min(macs, key=macs.get)
        best = max(mean, key=mean.get)
        if best == cheapest:  # nothing bought: the cheapest is ahead of all the rest
            second = max((label for label in mean if label != cheapest), key=mean.get)
            sign, text = judge(f"operations buy accuracy: {second} (the next most "
                                    f"accurate) less {cheapest} (the cheapest), points",
                                    differences(second, cheapest))  # fmt: skip
        else:
            sign, text = judge(f"operations buy accuracy: {best} ({mean[best]:.1f} %, "
                                    f"{macs[best] / 1e6:.1f} M mult-adds) less {cheapest} "
                                    f"({mean[cheapest]:.1f} %, {macs[cheapest] / 1e6:.2f} M), "
                                    "points", differences(best, cheapest))  # fmt: skip
        parts.append((sign, text))
    if len(frontier) >= 3:
        first, last = frontier[:2], frontier[-2:]

        def slope(pair: list[str]) -> list[float]:
            return [d / math.log2(macs[pair[1]] / macs[pair[0]]) for d in differences(*pair[::-1])]

        parts.append(judge(
            f"the returns diminish: points per doubling of mult-adds on the frontier's first "
            f"step ({' -> '.join(first)}) less on its last ({' -> '.join(last)})",
            [a - b for a, b in zip(slope(first), slope(last), strict=True)]))  # fmt: skip
    if VGG in accuracy:
        cheaper = [label for label in accuracy if label != VGG
                   and years[label] >= years[VGG]
                   and macs[label] < macs[VGG] and parameters[label] < parameters[VGG]]  # fmt: skip
        judged = [judge(f"{label} less {VGG}, points", differences(label, VGG))
                  for label in cheaper]  # fmt: skip
        signs = [sign for sign, _ in judged]
        sign = 1 if 1 in signs else -1 if signs and all(s < 0 for s in signs) else 0
        if not cheaper:
            sign = -1
        parts.append((sign, f"{VGG} dominated by a design of its year or later with fewer "
                            "mult-adds and parameters: " + (
                                "; ".join(text for _, text in judged) if judged
                                else "there is none")))  # fmt: skip
    verdict = verdict_from([sign for sign, _ in parts])
    reason = "; ".join(text for _, text in parts) + "."
    if len(parts) < 3:
        reason += f" Only {len(parts)} of the 3 parts could be judged with these members."
        if verdict == "reproduced":
            verdict = "partly reproduced"
    return verdict, reason


def pareto_frontier(cost: dict[str, float], accuracy: dict[str, float]) -> list[str]:
    """The members, cheapest first, that are more accurate than every cheaper member."""
    frontier: list[str] = []
    for label in sorted(cost, key=lambda name: (cost[name], -accuracy[name])):
        if not frontier or accuracy[label] > accuracy[frontier[-1]]:
            frontier.append(label)
    return frontier


def _plot(out, members, first, mean_accuracy, rows, published, frontier) -> str:
    figure, (left, right) = pyplot().subplots(1, 2, figsize=(13, 5.2))
    largest = max(first[m.label]["parameters"] for m in members)
    largest_published = max((p[2] for p in published.values()), default=1)
    for index, member in enumerate(members):
        row, colour = first[member.label], f"C{index % 10}"
        offset = (6, 5) if index % 2 == 0 else (6, -12)  # neighbours' labels apart
        macs = row["macs"] / 1e6
        area = 30 + 1500 * row["parameters"] / largest
        values = [r["test_top1_percent"] for r in rows if r["member"] == member.label]
        left.scatter([macs], [mean_accuracy[member.label]], s=area, color=colour, alpha=0.6,
                     edgecolor="black", zorder=3, label=member.label)  # fmt: skip
        left.plot([macs, macs], [min(values), max(values)], color="black", lw=1, zorder=4)
        for metric in model_card(member.model).metrics:
            if metric.dataset == "CIFAR-10" and metric.top1:
                left.scatter([macs], [metric.top1], s=area, facecolor="none", edgecolor=colour,
                             lw=1.5, zorder=3)  # fmt: skip
        if member.label in published:
            name, top1, parameters, imagenet_macs = published[member.label]
            area = 30 + 1500 * parameters / largest_published
            right.scatter([imagenet_macs / 1e9], [top1], s=area, color=colour, alpha=0.6,
                          edgecolor="black", zorder=3)  # fmt: skip
            right.annotate(name, (imagenet_macs / 1e9, top1), fontsize=8,
                           xytext=offset, textcoords="offset points")  # fmt: skip
        left.annotate(member.label, (macs, mean_accuracy[member.label]), fontsize=8,
                      xytext=offset, textcoords="offset points")  # fmt: skip
    left.plot([first[label]["macs"] / 1e6 for label in frontier],
              [mean_accuracy[label] for label in frontier], ":", color="gray", zorder=2,
              label="frontier")  # fmt: skip
    left.set(xscale="log", xlabel="multiply-adds per 32x32 image (millions, log scale)",
             ylabel="CIFAR-10 test top-1 (%)",
             title="Measured here: one budget (blob: parameters; bar: seed range;\n"
                   "hollow: the paper's CIFAR-10 figure after full training)")  # fmt: skip
    right.set(xscale="log", xlabel="multiply-adds per image at the network's input size "
              "(billions, log scale)", ylabel="ImageNet top-1 (%), published, one crop",
              title="Published: each family's ImageNet network (keyarch's cards)")  # fmt: skip
    from matplotlib.ticker import FuncFormatter, NullFormatter

    for axis in (left, right):
        axis.grid(alpha=0.3, which="both")
        axis.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axis.xaxis.set_minor_formatter(NullFormatter())
    right.set_xticks([0.2, 0.5, 1, 2, 5, 10, 20])
    return save_figure(figure, out, "accuracy_vs_macs.png")
