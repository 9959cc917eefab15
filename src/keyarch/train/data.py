"""The data side of a run: datasets, sizes, transforms, batches and loaders.

Augmentation is seeded per sample from (seed, epoch, index), so the images a run sees do
not depend on worker processes or on where it was interrupted and resumed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch.utils.data import DataLoader, Dataset

from keyarch.data.datasets import ImageDataset, load_dataset
from keyarch.data.images import IMAGENET_MEAN, IMAGENET_STD
from keyarch.data.transforms import eval_transform, fit_pca_lighting, train_transform
from keyarch.train.distributed import Context, epoch_batches

NORMALISATION = {
    "mnist": ((0.1307,), (0.3081,)),
    "fashion-mnist": ((0.2860,), (0.3530,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar10-jpeg": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}


class Transformed(Dataset):
    """``base`` with ``transform`` applied; a ``random`` transform is seeded per (seed, epoch,
    index), and the caller's random state is left as it was."""

    def __init__(
        self, base: Dataset, transform, seed: int, limit: int | None = None, random: bool = True
    ) -> None:
        self.base, self.transform, self.seed, self.epoch = base, transform, seed, 0
        self.random = random
        self.indices: list[int] | None = None
        if limit and limit < len(base):  # a fixed random subset, whatever the order on disk
            chosen = torch.randperm(len(base), generator=torch.Generator().manual_seed(0))[:limit]
            self.indices = sorted(chosen.tolist())
        self.length = len(self.indices) if self.indices is not None else len(base)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image, label = self.base[self.indices[index] if self.indices is not None else index]
        if not self.random:
            return self.transform(image), label
        state = torch.get_rng_state()  # cheaper than fork_rng, which also handles devices
        torch.manual_seed((self.seed * 1_000_003 + self.epoch) * 10_000_019 + index)
        try:
            return self.transform(image), label
        finally:
            torch.set_rng_state(state)


@dataclass
class RunData:
    title: str
    provenance: str
    classes: tuple[str, ...]
    channels: int
    crop: int  # network input size
    resize: int  # shorter side before cropping
    pad: bool  # small images centred in a larger field (LeNet-5)
    mean: tuple[float, ...]
    std: tuple[float, ...]
    train: Transformed
    test: Transformed
    batch_size: int
    seed: int
    context: Context
    workers: int
    notes: list[str] = field(default_factory=list)

    def train_batches(self, epoch: int, start: int) -> list[list[int]]:
        batches = epoch_batches(
            len(self.train),
            self.batch_size,
            seed=self.seed,
            epoch=epoch,
            context=self.context,
            shuffle=True,
            drop_last=True,
        )
        return batches[start:]

    def test_batches(self) -> list[list[int]]:
        return epoch_batches(
            len(self.test),
            self.batch_size,
            seed=0,
            epoch=0,
            context=self.context,
            shuffle=False,
            drop_last=False,
        )

    def loader(self, dataset: Dataset, batches: list[list[int]]) -> DataLoader:
        return DataLoader(
            dataset,
            batch_sampler=batches,
            num_workers=self.workers,
            persistent_workers=False,
            pin_memory=torch.cuda.is_available(),
        )

    def weights_metadata(self, model: str) -> dict[str, object]:
        """What ``keyarch eval`` and ``predict`` need to rebuild the model and its input."""
        return {
            "model": model,
            "num_classes": len(self.classes),
            "in_chans": self.channels,
            "classes": list(self.classes),
            "dataset": self.title,
            "crop": self.crop,
            "resize": self.resize,
            "pad": self.pad,
            "mean": list(self.mean),
            "std": list(self.std),
        }


def input_sizes(
    model_card, model_min: int, fixed: bool, native: int, augment: str, image_size: int | None
) -> tuple[int, int, bool]:
    """(crop, resize, pad): the network's input size, the size images are brought to first,
    and whether small images are centred in a larger field instead of scaled."""
    if fixed:
        return model_min, model_min, native < model_min
    if image_size:
        crop = image_size
    elif native <= 64:  # small-image datasets keep their resolution where the model allows
        crop = max(native, model_min)
    else:
        crop = model_card.input_size[1]
    if crop < model_min:
        raise ValueError(
            f"{model_card.name} needs inputs of at least {model_min} pixels, not {crop}"
        )
    resize = round(crop * 8 / 7) if augment in ("alexnet", "vgg") or native > 64 else crop
    return crop, resize, False


def prepare_data(config, card, dataset: str, recipe, context: Context) -> RunData:
    notes = []
    train_raw: ImageDataset = load_dataset(
        dataset,
        "train",
        config.data_dir,
        download=config.download,
        allow_embedded=config.allow_embedded,
    )
    test_raw = load_dataset(
        dataset,
        "test",
        config.data_dir,
        download=config.download,
        allow_embedded=config.allow_embedded,
    )
    notes += [f"data: {train_raw.provenance}", f"data: {test_raw.provenance}"]
    sample, _ = train_raw[0]
    channels, native = sample.shape[0], min(sample.shape[1:])
    from keyarch.registry import create_model

    with torch.device("meta"):
        probe = create_model(card.name, in_chans=channels)
    crop, resize, pad = input_sizes(
        card,
        probe.min_input_size,
        probe.fixed_input_size,
        native,
        recipe.augment,
        config.image_size,
    )
    mean, std = NORMALISATION.get(dataset, (IMAGENET_MEAN, IMAGENET_STD))
    if channels == 1 and len(mean) == 3:
        mean, std = (0.5,), (0.5,)
    pca = None
    if recipe.augment in ("alexnet", "vgg") and channels == 3:
        images = train_raw.images
        if images is None:  # files read on demand: estimate from the first thousand
            images = torch.stack([train_raw[i][0] for i in range(min(1000, len(train_raw)))])
        pca = fit_pca_lighting(images)
        notes.append(
            f"PCA colour augmentation: eigenvalues {[round(v, 5) for v in pca[0].tolist()]}"
        )
    augment = "none" if recipe.augment == "pad" else recipe.augment
    train_tf = train_transform(
        augment, crop=crop, resize=resize, mean=mean, std=std, pca=pca, pad=pad
    )
    test_tf = eval_transform(crop=resize, resize=resize, mean=mean, std=std, pad=pad)
    return RunData(
        title=train_raw.title,
        provenance=train_raw.provenance,
        classes=train_raw.classes,
        channels=channels,
        crop=crop,
        resize=resize,
        pad=pad,
        mean=tuple(mean),
        std=tuple(std),
        train=Transformed(
            train_raw,
            train_tf,
            config.seed,
            config.train_limit,
            random=augment not in ("none", "pad"),
        ),
        test=Transformed(test_raw, test_tf, config.seed, config.test_limit, random=False),
        batch_size=recipe.batch_size,
        seed=config.seed,
        context=context,
        workers=config.workers,
        notes=notes,
    )
