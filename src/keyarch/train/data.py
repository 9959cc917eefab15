"""The data side of a run: datasets, sizes, augmentation, batches and loaders.

Two paths, chosen by the data:

* datasets held in memory as uint8 (MNIST, Fashion-MNIST, CIFAR, small image folders) are
  indexed a batch at a time, moved to the training device and augmented there, a whole
  batch at once (``keyarch.data.batch_augment``), with no loader process;
* folders of larger images are decoded image by image in loader processes, each image's
  random transform seeded from (seed, epoch, index).

Either way the images a run sees depend only on the seed, the epoch and the position in it:
not on the number of loader processes or training processes, nor on where a run was
interrupted and resumed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from torch.utils.data import DataLoader, Dataset

from keyarch.data.batch_augment import BatchAugment
from keyarch.data.datasets import ImageDataset, load_dataset
from keyarch.data.images import IMAGENET_MEAN, IMAGENET_STD
from keyarch.data.transforms import eval_transform, fit_pca_lighting, train_transform
from keyarch.errors import BadInput
from keyarch.train.devices import usable_cores
from keyarch.train.distributed import Context, epoch_batches
from keyarch.train.recipes import LENET_MEAN, LENET_STD

NORMALISATION = {
    "mnist": ((0.1307,), (0.3081,)),
    "fashion-mnist": ((0.2860,), (0.3530,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar10-jpeg": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}
PCA_SAMPLE_IMAGES = 2000  # images read across a folder to estimate the RGB covariance


def subset_indices(length: int, limit: int | None) -> list[int] | None:
    """A fixed random subset of ``limit`` indices (sorted), whatever the order on disk."""
    if not limit or limit >= length:
        return None
    chosen = torch.randperm(length, generator=torch.Generator().manual_seed(0))[:limit]
    return sorted(chosen.tolist())


class Transformed(Dataset):
    """``base`` with a per-image ``transform``; a ``random`` transform is seeded per (seed,
    epoch, index), and the caller's random state is left as it was."""

    def __init__(
        self, base: Dataset, transform, seed: int, limit: int | None = None, random: bool = True
    ) -> None:
        self.base, self.transform, self.seed, self.epoch = base, transform, seed, 0
        self.random = random
        self.indices = subset_indices(len(base), limit)
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


def batch_generator(seed: int, epoch: int, batch: int) -> torch.Generator:
    """The generator of one global batch's augmentation parameters."""
    return torch.Generator().manual_seed((seed * 1_000_003 + epoch) * 100_003 + batch)


@dataclass
class Split:
    """One split of a run's data: in memory (``images``, uint8 on the training device) or
    a per-image dataset read by loader processes (``files``)."""

    labels: torch.Tensor
    images: torch.Tensor | None = None
    files: Transformed | None = None

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class RunData:
    title: str
    provenance: str
    embedded: bool  # the MNIST subset shipped in the package
    classes: tuple[str, ...]
    channels: int
    crop: int  # network input size
    resize: int  # shorter side before cropping
    pad: bool  # small images centred in a larger field (LeNet-5)
    mean: tuple[float, ...]
    std: tuple[float, ...]
    train: Split
    test: Split
    augment: BatchAugment
    batch_size: int
    seed: int
    context: Context
    device: torch.device
    workers: int  # loader processes (0 for data in memory)
    notes: list[str] = field(default_factory=list)

    @property
    def in_memory(self) -> bool:
        return self.train.images is not None

    def steps_per_epoch(self) -> int:
        return len(self.train) // self.batch_size

    def _order(self, epoch: int) -> list[list[int]]:
        return epoch_batches(
            len(self.train),
            self.batch_size,
            seed=self.seed,
            epoch=epoch,
            context=self.context,
            shuffle=True,
            drop_last=True,
        )

    def train_batches(self, epoch: int, start: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """This process's augmented batches of ``epoch`` from batch ``start`` on, on the
        training device."""
        order = self._order(epoch)[start:]
        if not self.in_memory:
            self.train.files.epoch = epoch
            yield from self._loaded(self.train.files, order)
            return
        share = (self.context.rank, self.context.world_size)
        for number, indices in enumerate(order, start):
            index = torch.tensor(indices, device=self.train.images.device)
            images = self.augment(
                self.train.images[index], batch_generator(self.seed, epoch, number), share
            )
            yield images, self.train.labels[index]

    def test_batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """This process's share of the test set at evaluation size (not yet cropped)."""
        # evaluation keeps no activations for backward: 32-pixel inputs (MNIST, CIFAR at
        # their size) go in larger batches, fewer and larger operations; others as trained
        batch = max(self.batch_size, 1024) if self.crop <= 32 else self.batch_size
        batch -= batch % self.context.world_size
        order = epoch_batches(
            len(self.test),
            batch,
            seed=0,
            epoch=0,
            context=self.context,
            shuffle=False,
            drop_last=False,
        )
        if not self.in_memory:
            yield from self._loaded(self.test.files, order)
            return
        for indices in order:
            index = torch.tensor(indices, device=self.test.images.device)
            yield self.augment.evaluation(self.test.images[index]), self.test.labels[index]

    def _loaded(self, dataset: Dataset, order: list[list[int]]):
        loader = DataLoader(
            dataset,
            batch_sampler=order,
            num_workers=self.workers,
            pin_memory=self.device.type == "cuda",
        )
        for images, labels in loader:
            yield (
                images.to(self.device, non_blocking=True),
                labels.to(self.device, non_blocking=True),
            )

    def weights_metadata(self, model: str, tta: str) -> dict[str, object]:
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
            "tta": tta,
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
        raise BadInput(
            f"{model_card.name} needs inputs of at least {model_min} pixels, not {crop} "
            "(--image-size)"
        )
    resize = (
        round(crop * 8 / 7)
        if augment in ("alexnet", "alexnet-crops", "vgg") or native > 64
        else crop
    )
    return crop, resize, False


def fit_pca(dataset: ImageDataset, indices: list[int] | None) -> tuple[torch.Tensor, torch.Tensor]:
    """AlexNet's PCA of RGB values "throughout the training set": every image in memory,
    or pixels of ``PCA_SAMPLE_IMAGES`` images spread over a folder of files (any sizes)."""
    pool = indices if indices is not None else range(len(dataset))
    if dataset.images is not None:
        images = dataset.images if indices is None else dataset.images[indices]
        return fit_pca_lighting(images)
    generator = torch.Generator().manual_seed(0)
    picks = torch.randperm(len(pool), generator=generator)[:PCA_SAMPLE_IMAGES].tolist()
    columns = []
    for pick in picks:
        image = dataset[pool[pick]][0]
        if image.shape[0] != 3:
            raise BadInput(f"PCA colour augmentation needs RGB images; {dataset.title} is not")
        pixels = image.reshape(3, -1)
        chosen = torch.randint(0, pixels.shape[1], (256,), generator=generator)
        columns.append(pixels[:, chosen])
    return fit_pca_lighting(torch.cat(columns, 1).view(1, 3, -1, 1))  # pixels as one image


def default_workers(in_memory: bool, processes: int = 1) -> int:
    """Loader processes: none for data in memory; for files, half of this process's cores."""
    if in_memory:
        return 0
    cores = max(1, usable_cores() // processes)
    return max(1, cores // 2)


def prepare_data(config, card, dataset: str, recipe, context: Context, device) -> RunData:
    notes = []
    loaded = [
        load_dataset(
            dataset,
            split,
            config.data_dir,
            download=config.download,
            allow_embedded=config.allow_embedded,
        )
        for split in ("train", "test")
    ]
    train_raw, test_raw = loaded
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
    if recipe.normalisation == "lenet":  # LeNet-5 II-B: background -0.1, foreground 1.175
        mean, std = (LENET_MEAN,) * channels, (LENET_STD,) * channels
    train_indices = subset_indices(len(train_raw), config.train_limit)
    test_indices = subset_indices(len(test_raw), config.test_limit)
    pca = None
    if recipe.augment in ("alexnet", "vgg") and channels == 3:
        pca = fit_pca(train_raw, train_indices)
        notes.append(
            f"PCA colour augmentation: eigenvalues {[round(v, 5) for v in pca[0].tolist()]}"
        )
    augment_kind = "none" if recipe.augment == "pad" else recipe.augment
    augment = BatchAugment(
        augment_kind, crop=crop, resize=resize, mean=mean, std=std, pad=pad, pca=pca,
        min_area=recipe.min_crop_area,
    )  # fmt: skip
    in_memory = train_raw.images is not None and test_raw.images is not None
    workers = (
        config.workers
        if config.workers is not None
        else default_workers(in_memory, context.world_size)
    )
    if in_memory:
        # held on the training device: a GPU indexes and augments its batches itself
        train = _memory_split(train_raw, train_indices, device)
        test = _memory_split(test_raw, test_indices, device)
        workers = 0
    else:
        train_tf = train_transform(
            augment_kind, crop=crop, resize=resize, mean=mean, std=std, pca=pca, pad=pad,
            min_area=recipe.min_crop_area,
        )  # fmt: skip
        test_tf = eval_transform(crop=resize, resize=resize, mean=mean, std=std, pad=pad)
        train = _file_split(
            Transformed(train_raw, train_tf, config.seed, config.train_limit, random=augment.random)
        )
        test = _file_split(
            Transformed(test_raw, test_tf, config.seed, config.test_limit, random=False)
        )
    return RunData(
        title=train_raw.title,
        provenance=train_raw.provenance,
        embedded=train_raw.embedded,
        classes=train_raw.classes,
        channels=channels,
        crop=crop,
        resize=resize,
        pad=pad,
        mean=tuple(mean),
        std=tuple(std),
        train=train,
        test=test,
        augment=augment,
        batch_size=recipe.batch_size,
        seed=config.seed,
        context=context,
        device=device,
        workers=workers,
        notes=notes,
    )


def _memory_split(raw: ImageDataset, indices: list[int] | None, device) -> Split:
    images, labels = raw.images, raw.labels
    if indices is not None:
        images, labels = images[indices], labels[indices]
    return Split(labels.to(device), images=images.contiguous().to(device))


def _file_split(dataset: Transformed) -> Split:
    base: ImageDataset = dataset.base
    labels = base.labels if dataset.indices is None else base.labels[dataset.indices]
    return Split(labels, files=dataset)
