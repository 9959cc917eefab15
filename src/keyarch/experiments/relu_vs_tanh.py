"""relu-vs-tanh: AlexNet's Figure 1. A four-layer convolutional network on CIFAR-10 reaches
25 % training error about six times faster with ReLUs than with tanh units.

Krizhevsky, Sutskever and Hinton (2012), section 3.1 and Figure 1: "A four-layer
convolutional neural network with ReLUs (solid line) reaches a 25% training error rate on
CIFAR-10 six times faster than an equivalent network with tanh neurons (dashed line). The
learning rates for each network were chosen independently to make training as fast as
possible. No regularization of any kind was employed."

The paper does not print the network. The one used here is cuda-convnet's CIFAR-10 example
of that time, ``layers-80sec.cfg`` (assumed to be the figure's): three 5x5 convolutions of
32, 32 and 64 maps, each followed by its nonlinearity and a 3x3 pooling of stride 2 (max,
then average, average), and a fully connected layer of 10: four layers with weights. No
normalisation, dropout, weight decay or augmentation. The same network, seeds and batches
run with ``relu`` and with ``tanh``; each activation's learning rate is chosen from a grid by
the lowest training error after a short run (the paper tuned "to make training as fast as
possible"). Training error is the running error over each fifth of an epoch (as
cuda-convnet reported it per data batch of 10,000 images), so the epochs to the threshold
are read to a fifth of an epoch.
"""

from __future__ import annotations

import math
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from keyarch.experiments.report import Report, pyplot, save_figure, spread
from keyarch.experiments.training import cifar10_images

PAPER_SPEEDUP = 6.0  # "six times faster" (Figure 1: about 6 epochs against about 36)
THRESHOLD = 25.0  # % training error
WINDOWS = 5  # error readings per epoch
ACTIVATIONS = ("relu", "tanh")
PROFILES = {
    # quick: a 5,000-image subset, a bar any working network passes in a few epochs
    "quick": {"train_limit": 5000, "threshold": 60.0, "max_epochs": 6, "tune_epochs": 1,
              "rates": (0.01,), "seeds": 1},
    # full: 0.1 joined the grid after both activations chose the first grid's top, 0.03
    "full": {"train_limit": None, "threshold": THRESHOLD, "max_epochs": 40, "tune_epochs": 2,
             "rates": (0.003, 0.01, 0.03, 0.1), "seeds": 2},
}  # fmt: skip
BATCH = 128  # assumed (cuda-convnet's example used 128)
MOMENTUM = 0.9  # assumed


class FourLayerNet(nn.Module):
    """cuda-convnet's ``layers-80sec``: conv 5x5 32, max pool 3/2; conv 5x5 32, avg pool
    3/2; conv 5x5 64, avg pool 3/2; fc 10. ``activation``: "relu" or "tanh"."""

    def __init__(self, activation: str) -> None:
        super().__init__()
        act = {"relu": nn.ReLU, "tanh": nn.Tanh}[activation]
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 5, padding=2), act(),  # N x 32 x 32 x 32
            nn.MaxPool2d(3, 2, ceil_mode=True),  # N x 32 x 16 x 16
            nn.Conv2d(32, 32, 5, padding=2), act(),
            nn.AvgPool2d(3, 2, ceil_mode=True),  # N x 32 x 8 x 8
            nn.Conv2d(32, 64, 5, padding=2), act(),
            nn.AvgPool2d(3, 2, ceil_mode=True),  # N x 64 x 4 x 4
        )  # fmt: skip
        self.fc = nn.Linear(64 * 4 * 4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).flatten(1))


def load_images(data_dir, limit: int | None) -> tuple[torch.Tensor, torch.Tensor, str]:
    """The training images (a fixed subset of ``limit`` when given), standardised, in
    channels-last memory (faster convolutions on CPUs), labels, and a description."""
    x, labels, title = cifar10_images(data_dir, limit)
    x = x.contiguous(memory_format=torch.channels_last)
    return x, labels, f"{title}, {len(labels):,} training images"


def train_curve(activation: str, rate: float, seed: int, x: torch.Tensor, y: torch.Tensor,
                epochs: int, stop_below: float | None = None) -> list[float]:  # fmt: skip
    """Running training error (%) of each fifth of an epoch; stops early once a reading is
    at or below ``stop_below``."""
    torch.manual_seed(seed)
    model = FourLayerNet(activation).to(memory_format=torch.channels_last)  # faster on CPUs
    optimiser = torch.optim.SGD(model.parameters(), lr=rate, momentum=MOMENTUM)
    steps = math.ceil(len(y) / BATCH)
    bounds = [round(steps * (w + 1) / WINDOWS) for w in range(WINDOWS)]
    curve = []
    for epoch in range(epochs):
        order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed * 1000 + epoch))
        wrong = seen = 0
        for step in range(steps):
            batch = order[step * BATCH : (step + 1) * BATCH]
            logits = model(x[batch])
            loss = F.cross_entropy(logits, y[batch])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            if not math.isfinite(loss.item()):
                return curve + [100.0] * (WINDOWS * epochs - len(curve))  # diverged
            wrong += (logits.argmax(1) != y[batch]).sum().item()
            seen += len(batch)
            if step + 1 in bounds:
                curve.append(100 * wrong / seen)
                wrong = seen = 0
                if stop_below is not None and curve[-1] <= stop_below:
                    return curve
    return curve


def epochs_to(curve: list[float], threshold: float) -> float | None:
    """The first reading at or below ``threshold``, in epochs (fifths), or None."""
    for index, error in enumerate(curve):
        if error <= threshold:
            return (index + 1) / WINDOWS
    return None


def run(profile: str = "quick", seeds: int | None = None, out=None, data_dir=None) -> Report:
    settings = PROFILES[profile]
    seeds = seeds or settings["seeds"]
    threshold, cap = settings["threshold"], settings["max_epochs"]
    started = time.perf_counter()
    x, y, data = load_images(data_dir, settings["train_limit"])
    rows, chosen, curves = [], {}, {}
    for activation in ACTIVATIONS:
        tuning = {}
        for rate in settings["rates"]:
            if len(settings["rates"]) == 1:
                break
            curve = train_curve(activation, rate, 0, x, y, settings["tune_epochs"])
            tuning[rate] = statistics.mean(curve[-WINDOWS:])
            rows.append({"activation": activation, "phase": "tuning", "lr": rate, "seed": 0,
                         "epochs_to_threshold": "", "final_error_percent":
                         round(tuning[rate], 2)})  # fmt: skip
        chosen[activation] = min(tuning, key=tuning.get) if tuning else settings["rates"][0]
        for seed in range(seeds):
            begin = time.perf_counter()
            curve = train_curve(activation, chosen[activation], seed, x, y, cap, threshold)
            curves[activation, seed] = curve
            reached = epochs_to(curve, threshold)
            rows.append({"activation": activation, "phase": "run", "lr": chosen[activation],
                         "seed": seed, "epochs_to_threshold": reached if reached else "",
                         "final_error_percent": round(curve[-1], 2),
                         "seconds": round(time.perf_counter() - begin, 1)})  # fmt: skip

    def reached(activation: str) -> list[float]:
        # a run that never got there counts as the cap: a lower bound on its epochs
        return [
            r["epochs_to_threshold"] or float(cap)
            for r in rows
            if r["activation"] == activation and r["phase"] == "run"
        ]

    relu, tanh = statistics.mean(reached("relu")), statistics.mean(reached("tanh"))
    speedup = tanh / relu
    capped = any(r["phase"] == "run" and not r["epochs_to_threshold"] for r in rows)
    table = [
        f"| activation | learning rate | epochs to {threshold:g} % training error |",
        "|---|---:|---:|",
        *(f"| {a} | {chosen[a]:g} | {spread(reached(a))} |" for a in ACTIVATIONS),
        "",
        f"Speed-up (tanh epochs / ReLU epochs, means): **{speedup:.1f}x**"
        + (f" (a run capped at {cap} epochs counts as {cap}: a lower bound)" if capped else ""),
    ]
    if speedup >= PAPER_SPEEDUP / 2:
        verdict = "reproduced"
        reason = f"ReLU reaches {threshold:g} % training error {speedup:.1f}x faster than tanh"
    elif speedup > 1.2:
        verdict = "partly reproduced"
        reason = (f"ReLU is faster, {speedup:.1f}x, but well short of the paper's "
                  f"{PAPER_SPEEDUP:g}x")  # fmt: skip
    else:
        verdict = "not reproduced"
        reason = f"ReLU is not clearly faster here ({speedup:.1f}x)"
    reason += (f" (paper: about {PAPER_SPEEDUP:g}x); epochs to {threshold:g} %: ReLU "
               f"{relu:.1f}, tanh {tanh:.1f}")  # fmt: skip
    figures = [_plot(out, curves, chosen, threshold)] if out is not None else []
    return Report(
        name="relu-vs-tanh",
        claim="A four-layer CNN on CIFAR-10 reaches 25 % training error six times faster "
        "with ReLUs than with tanh units (learning rates tuned for each, no regularisation).",
        source="Krizhevsky, Sutskever and Hinton 2012, section 3.1 and Figure 1",
        setup=(
            f"{data}; cuda-convnet's four-layer CIFAR-10 network (`layers-80sec`: conv 5x5 "
            "32, max pool 3/2, conv 5x5 32, avg pool 3/2, conv 5x5 64, avg pool 3/2, fc 10; "
            "assumed to be the figure's), PyTorch's default initialisation, inputs "
            f"standardised per channel, SGD momentum {MOMENTUM}, batch {BATCH}, constant "
            "learning rate, no weight decay, dropout or augmentation. Learning rate per "
            f"activation: the lowest training error after {settings['tune_epochs']} epoch(s) "
            f"among {', '.join(f'{r:g}' for r in settings['rates'])} (seed 0). Training error: "
            f"running error over each fifth of an epoch; runs stop at {threshold:g} % or "
            f"after {cap} epochs."
        ),
        profile=profile,
        seeds=seeds,
        rows=rows,
        result="\n\n" + "\n".join(table),
        verdict=verdict,
        reason=reason,
        figures=figures,
        wall_seconds=time.perf_counter() - started,
    )


def _plot(out, curves, chosen, threshold: float) -> str:
    figure, axis = pyplot().subplots(figsize=(6, 4))
    styles = {"relu": "-", "tanh": "--"}
    for (activation, seed), curve in curves.items():
        epochs = [(i + 1) / WINDOWS for i in range(len(curve))]
        label = f"{activation} (lr {chosen[activation]:g})" if seed == 0 else None
        color = "C0" if activation == "relu" else "C3"
        axis.plot(epochs, curve, styles[activation], color=color, label=label)
    axis.axhline(threshold, color="gray", linewidth=0.8)
    axis.set(xlabel="epochs", ylabel="training error rate (%)", ylim=(0, 100),
             title="Figure 1 of AlexNet, rerun: ReLU (solid) against tanh (dashed)")  # fmt: skip
    axis.grid(alpha=0.3)
    axis.legend()
    return save_figure(figure, out, "training_error.png")
