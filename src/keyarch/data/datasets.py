"""The datasets keyarch trains on, by name, as raw uint8 images and integer labels.

``load_dataset("mnist", "train", data_dir)`` finds, verifies and reads a dataset (see
``keyarch.data.sources``); items are ``(uint8 tensor (C, H, W), label)``. Small datasets are
held decoded in memory; a class-per-folder tree of same-sized small images is decoded once
and cached, so that an epoch is not bound by JPEG decoding.
"""

from __future__ import annotations

import hashlib
import tarfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from keyarch.data import formats, sources
from keyarch.data.catalog import DATASETS
from keyarch.errors import BadInput, NotFound
from keyarch.outputs import staged_file

MNIST_CLASSES = tuple(str(d) for d in range(10))
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

_IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
MNIST = sources.Source(
    "MNIST",
    ("mnist", "MNIST/raw"),
    dict(
        zip(
            _IDX_FILES,
            (
                "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "d53e105ee54ea40749a09fcbcd1e9432",
                "9fb629c4189551a2d022fa330f9573f3",
                "ec29112dd5afa0611ce80d1b7f02629c",
            ),
            strict=True,
        )
    ),
    ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
)
FASHION_MNIST = sources.Source(
    "Fashion-MNIST",
    ("fashion-mnist", "FashionMNIST/raw"),
    dict(
        zip(
            _IDX_FILES,
            (
                "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "25c81989df183df01b3e8a0aad5dffbe",
                "bef4ecab320f06d8554ea6380940ec79",
                "bb300cfdad3c16e7a12a480ee83cd310",
            ),
            strict=True,
        )
    ),
    ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
)
CIFAR10 = sources.Source(
    "CIFAR-10",
    ("cifar10", "cifar-10"),
    {"cifar-10-binary.tar.gz": "c32a1d4ab5d03f1284b67883e8d87530"},
    ("https://www.cs.toronto.edu/~kriz/",),
)
CIFAR100 = sources.Source(
    "CIFAR-100",
    ("cifar100", "cifar-100"),
    {"cifar-100-binary.tar.gz": "03b5dce01913d631647c71ecec9e9cb8"},
    ("https://www.cs.toronto.edu/~kriz/",),
)


@dataclass
class ImageDataset(torch.utils.data.Dataset):
    """One split: uint8 images in memory (``images``) or image files read on demand."""

    title: str  # as a report names it, e.g. "CIFAR-10 (JPEG)"
    split: str
    classes: tuple[str, ...]
    labels: torch.Tensor
    images: torch.Tensor | None = None  # (N, C, H, W) uint8
    paths: list[Path] = field(default_factory=list)
    mode: str = "RGB"  # how files are decoded
    provenance: str = ""
    embedded: bool = False  # the MNIST subset shipped inside keyarch

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        label = int(self.labels[index])
        if self.images is not None:
            return self.images[index], label
        return formats.decode_image(self.paths[index], self.mode), label


def _embedded_mnist() -> Path:
    return Path(str(resources.files("keyarch.data") / "embedded"))


def _idx_dataset(source, classes, split, data_dir, download, allow_embedded) -> ImageDataset:
    folder = sources.find(source, data_dir)
    origin, title = "", source.title
    if folder is None and download:
        try:
            folder = sources.download(source)
            origin = "downloaded, "
        except (ConnectionError, OSError) as error:
            if not allow_embedded:
                raise NotFound(
                    sources.not_found_message(source, data_dir, f"download failed: {error}")
                ) from None
    if folder is not None and folder.resolve() == _embedded_mnist().resolve():
        title = f"{source.title} (embedded subset)"  # named with --data-dir
    if folder is None:
        if not allow_embedded:
            raise NotFound(sources.not_found_message(source, data_dir, "no download"))
        folder = _embedded_mnist()
        title = f"{source.title} (embedded subset)"
        origin = (
            "the embedded subset (10,000 train / 2,000 test), as no full copy was found or "
            "downloaded; "
        )
    how = sources.verify(folder, source)
    prefix = "train" if split == "train" else "t10k"
    images = formats.read_idx(folder / f"{prefix}-images-idx3-ubyte.gz")
    labels = formats.read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz").long()
    if len(images) != len(labels):
        raise BadInput(f"{folder}: {len(images)} {prefix} images but {len(labels)} labels")
    return ImageDataset(
        title,
        split,
        classes,
        labels,
        images.unsqueeze(1),
        mode="L",
        provenance=f"{source.title} {split} from {origin}{folder} ({how})",
        embedded=title != source.title,
    )


def _cifar_dataset(source, classes, label_bytes, members, split, data_dir, download):
    folder = sources.find(source, data_dir)
    origin = ""
    if folder is None and download:
        try:
            folder, origin = sources.download(source), "downloaded, "
        except (ConnectionError, OSError) as error:
            raise NotFound(
                sources.not_found_message(source, data_dir, f"download failed: {error}")
            ) from None
    if folder is None:
        raise NotFound(sources.not_found_message(source, data_dir, "no download"))
    how = sources.verify(folder, source)
    archive = folder / next(iter(source.files))
    wanted = members[split]
    parts = []
    try:
        with tarfile.open(archive, "r:gz") as tar:
            names = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
            for name in wanted:
                if name not in names:
                    raise BadInput(f"{archive} has no member {name}")
                data = tar.extractfile(names[name]).read()
                parts.append(formats.parse_cifar_records(data, label_bytes, f"{archive}:{name}"))
    except (tarfile.TarError, EOFError, OSError) as error:
        raise BadInput(f"{archive} is truncated or corrupt: {error}") from None
    images = torch.cat([p[0] for p in parts])
    labels = torch.cat([p[1] for p in parts])
    return ImageDataset(
        source.title,
        split,
        classes,
        labels,
        images,
        provenance=f"{source.title} {split} from {origin}{archive} ({how})",
    )


def _folder_cache_key(samples: list[tuple[Path, int]]) -> str:
    hasher = hashlib.sha1()
    for path, label in samples:
        stat = path.stat()
        hasher.update(f"{path.resolve()}|{label}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return hasher.hexdigest()[:20]


def _decode_all(paths: list[Path]) -> torch.Tensor | None:
    """Every image decoded and stacked; None when they are not all of one size."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        decoded = list(pool.map(formats.decode_image, paths, chunksize=256))
    if len({tuple(image.shape) for image in decoded}) != 1:
        return None
    return torch.stack(decoded)


def folder_dataset(root: Path, split: str, title: str, *, max_cached_pixels: int = 2**31):
    """A class-per-folder tree; decoded into memory and cached when its images are small and
    of one size (CIFAR-like), read on demand otherwise (ImageNet-like)."""
    samples, classes = formats.scan_image_folder(root)
    labels = torch.tensor([label for _, label in samples])
    paths = [path for path, _ in samples]
    first = formats.decode_image(paths[0])

    def on_demand(why: str) -> ImageDataset:
        return ImageDataset(title, split, tuple(classes), labels, paths=paths,
                            provenance=f"{title} {split} from {root} ({why})")  # fmt: skip

    if first.numel() * len(paths) > max_cached_pixels or max(first.shape[1:]) > 64:
        return on_demand("read on demand")
    cache = sources.cache_dir() / "decoded" / f"{_folder_cache_key(samples)}.safetensors"
    images = None
    if cache.is_file():
        try:
            images = load_file(str(cache))["images"]
        except (SafetensorError, OSError, KeyError):
            images = None  # a damaged cache is rebuilt, never trusted
    note = f"decoded cache {cache}"
    if images is None or len(images) != len(paths):
        images = _decode_all(paths)
        if images is None:  # small images of several sizes: read on demand like large ones
            return on_demand("sizes differ: read on demand")
        try:  # a cache is a convenience: one that cannot be written is said, not fatal
            with staged_file(cache) as scratch:
                save_file({"images": images.contiguous()}, str(scratch))
            note = f"decoded once and cached in {cache}"
        except OSError as error:
            note = f"decoded, not cached ({cache}: {error.strerror or error})"
    return ImageDataset(
        title,
        split,
        tuple(classes),
        labels,
        images,
        provenance=f"{title} {split} from {root} ({note})",
    )


def _split_folder(root: Path, split: str) -> Path:
    names = ("train",) if split == "train" else ("test", "val", "validation")
    for name in names:
        if (root / name).is_dir():
            return root / name
    raise NotFound(
        f"{root} has no {' or '.join(names)} folder; an image-folder dataset is "
        f"<root>/train/<class>/<image> and <root>/test/<class>/<image>"
    )


def load_dataset(
    name: str,
    split: str,
    data_dir: str | Path | None = None,
    *,
    download: bool = True,
    allow_embedded: bool = False,
) -> ImageDataset:
    """Find, verify and read one split ("train" or "test") of a dataset by name."""
    if split not in ("train", "test"):
        raise BadInput(f"split must be 'train' or 'test', got {split!r}")
    if name == "mnist":
        return _idx_dataset(MNIST, MNIST_CLASSES, split, data_dir, download, allow_embedded)
    if name == "fashion-mnist":
        return _idx_dataset(FASHION_MNIST, FASHION_CLASSES, split, data_dir, download, False)
    if name == "cifar10":
        members = {
            "train": [f"data_batch_{i}.bin" for i in range(1, 6)],
            "test": ["test_batch.bin"],
        }
        return _cifar_dataset(CIFAR10, CIFAR10_CLASSES, 1, members, split, data_dir, download)
    if name == "cifar100":
        dataset = _cifar_dataset(
            CIFAR100,
            (),
            2,
            {"train": ["train.bin"], "test": ["test.bin"]},
            split,
            data_dir,
            download,
        )
        dataset.classes = tuple(str(i) for i in range(100))
        return dataset
    if name == "cifar10-jpeg":
        for root in sources.search_roots(data_dir):
            for candidate in (root / "cifar10-jpeg", root):
                if (candidate / "train").is_dir() and (candidate / "test").is_dir():
                    return folder_dataset(_split_folder(candidate, split), split, "CIFAR-10 (JPEG)")
        raise NotFound(
            "CIFAR-10 (JPEG) not found: expected cifar10-jpeg/train and cifar10-jpeg/test under "
            + ", ".join(str(r) for r in sources.search_roots(data_dir))
        )
    if name == "folder":
        if data_dir is None:
            raise BadInput("the 'folder' dataset needs --data-dir pointing at <root> with train/")
        root = Path(data_dir)
        return folder_dataset(_split_folder(root, split), split, root.name)
    raise BadInput(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")
