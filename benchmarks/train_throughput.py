"""Training throughput: ``keyarch.train`` against a plain PyTorch loop, in one process.

For each case both sides train the same ``keyarch.create_model`` network with the same
optimiser, batch size, data (held in memory as uint8) and number of compute threads; the
plain loop augments the way a short hand-written script does, with torchvision's v2
transforms applied to the whole batch (one random draw per batch, cheaper than keyarch's
per-image draws). The two are measured in turns (keyarch, plain, plain, keyarch, ...) and
the median of the rounds' ratios of images per second is printed (each round's pair ran
back to back, under the same load), with the lowest and highest: above 1.0, keyarch is
faster.

    python benchmarks/train_throughput.py --data-dir ../shared/datasets --threads 2

keyarch's figure is the training loop's own (``images_per_second`` of the epoch, set-up
and evaluation excluded); the plain loop is timed the same way, from its first step.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torchvision.transforms import v2

import keyarch
from keyarch.data.datasets import load_dataset
from keyarch.train import TrainConfig, default_recipe, get_recipe, train
from keyarch.train.data import NORMALISATION
from keyarch.train.recipes import override


@dataclass(frozen=True)
class Case:
    model: str
    dataset: str
    steps: int  # optimisation steps per measurement
    recipe: str | None = None  # default: the model's default recipe on the dataset
    changes: tuple = ()  # recipe overrides
    image_size: int | None = None


CASES = {
    "lenet5": Case("lenet5", "mnist", 400),
    "lenet5_modern": Case("lenet5_modern", "mnist", 400),
    "resnet20": Case("resnet20", "cifar10-jpeg", 30),
    "alexnet-64": Case(
        "alexnet",
        "cifar10-jpeg",
        16,
        recipe="cifar",
        changes=(("augment", "alexnet"),),
        image_size=64,
    ),
}


def recipe_of(case: Case):
    family = keyarch.model_card(case.model).family
    base = get_recipe(case.recipe) if case.recipe else default_recipe(family, case.dataset)
    return override(base, epochs=1, warmup_epochs=0, **dict(case.changes))


def keyarch_rate(case: Case, data_dir: str, out: Path, threads: int, round_: int) -> float:
    recipe = recipe_of(case)
    config = TrainConfig(
        model=case.model,
        dataset=case.dataset,
        data_dir=data_dir,
        recipe=recipe,
        out=out,
        run_name=f"{case.model}-{round_}",
        train_limit=case.steps * recipe.batch_size,
        test_limit=recipe.batch_size,
        image_size=case.image_size,
        threads=threads,
        progress=False,
        overwrite=True,
    )
    with contextlib.redirect_stdout(io.StringIO()):  # the run's own lines are not the table
        summary = train(config)
    return summary["train_images_per_second"]


def plain_transform(case: Case, native: int):
    """The batch-level pipeline a plain script would write for the recipe's augmentation."""
    recipe = recipe_of(case)
    mean, std = NORMALISATION[case.dataset]
    crop = case.image_size or (32 if native < 32 else native)
    steps = [v2.ToDtype(torch.float32, scale=True)]
    if recipe.augment in ("pad", "none") and native < crop:
        steps.insert(0, v2.CenterCrop(crop))  # pads, as LeNet-5's 28 -> 32 field
    elif recipe.augment == "crop-flip":
        steps[:0] = [v2.RandomCrop(crop, padding=4), v2.RandomHorizontalFlip()]
    elif recipe.augment == "alexnet":
        resize = round(crop * 8 / 7)
        steps[:0] = [
            v2.Resize(resize, antialias=True),
            v2.RandomCrop(crop),
            v2.RandomHorizontalFlip(),
        ]
    return v2.Compose([*steps, v2.Normalize(mean, std)])


def plain_rate(case: Case, images: torch.Tensor, labels: torch.Tensor, classes: int) -> float:
    recipe = recipe_of(case)
    model = keyarch.create_model(case.model, num_classes=classes, in_chans=images.shape[1])
    parameters = model.parameters()
    if recipe.optimizer == "adam":
        optimizer = torch.optim.Adam(parameters, lr=recipe.lr)
    else:
        optimizer = torch.optim.SGD(
            parameters,
            lr=recipe.lr,
            momentum=recipe.momentum,
            nesterov=recipe.nesterov,
            weight_decay=recipe.weight_decay,
        )
    transform = plain_transform(case, images.shape[-1])
    order = torch.randperm(len(images))
    batch = recipe.batch_size
    model.train()
    started = time.perf_counter()
    for step in range(case.steps):
        index = order[step * batch : (step + 1) * batch]
        x = transform(images[index])
        if recipe.augment == "alexnet":  # one PCA-like colour shift per batch
            x = x + 0.01 * torch.randn(1, x.shape[1], 1, 1)
        loss = F.cross_entropy(model(x), labels[index], label_smoothing=recipe.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return case.steps * batch / (time.perf_counter() - started)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, {args.rounds} rounds each")
    print(f"{'case':<15}{'keyarch img/s':>15}{'plain img/s':>14}{'ratio':>8}{'range':>14}")
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.cases:
            case = CASES[name]
            raw = load_dataset(case.dataset, "train", args.data_dir)
            images, labels = raw.images, raw.labels
            ours, theirs = [], []
            for round_ in range(args.rounds):
                sides = ("keyarch", "plain") if round_ % 2 == 0 else ("plain", "keyarch")
                for side in sides:  # in turns, so that a change in load hits both
                    if side == "keyarch":
                        ours.append(
                            keyarch_rate(case, args.data_dir, Path(scratch), args.threads, round_)
                        )
                    else:
                        theirs.append(plain_rate(case, images, labels, len(raw.classes)))
                    torch.set_num_threads(args.threads)
            mine, plain = statistics.median(ours), statistics.median(theirs)
            ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
            spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
            print(f"{name:<15}{mine:>15.0f}{plain:>14.0f}{statistics.median(ratios):>8.2f}"
                  f"{spread:>14}", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
