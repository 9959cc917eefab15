"""Captioned-image corpora in their published formats: Flickr8k and COCO captions.

Flickr8k (Hodosh, Young and Hockenmaier 2013): ``Flickr8k.token.txt`` holds one caption
per line, ``IMAGE.jpg#N<TAB>caption`` (five per image, N = 0..4); the splits are lists of
file names, ``Flickr_8k.trainImages.txt``, ``Flickr_8k.devImages.txt``,
``Flickr_8k.testImages.txt``; the photos are in ``Flicker8k_Dataset/`` (sic) or ``Images/``.

COCO captions (Chen et al. 2015): ``annotations/captions_train2014.json`` (and val) is a
JSON object with ``images`` (``id``, ``file_name``) and ``annotations`` (``image_id``,
``caption``); the photos are in ``train2014/`` / ``val2014/`` beside ``annotations``. The
captioning papers report COCO on Karpathy and Fei-Fei's split (2015; Show and Tell's
journal version too): 5,000 validation and 5,000 test images taken from val2014, the rest
("restval") added to training, given by ``dataset_coco.json`` (``images``: ``filepath``,
``filename``, ``split`` in train/restval/val/test, ``sentences`` with ``raw`` text). With
that file in the folder, ``load_coco_captions`` reads its splits, ``test`` included;
without it, train and val are the official 2014 ones and there is no test split.

``CaptionCorpus[i]`` is (uint8 image 3 x H x W, list of captions). A missing file or a line
that is not in the format is reported with its path and line, never skipped silently.
``ImageFiles`` reads a corpus's photos batch by batch, resized, so that training never holds
a corpus in memory (COCO at 224 pixels would take 17 GB).
"""

from __future__ import annotations

import copy
import json
import operator
from pathlib import Path

import torch
from torch.utils.data import Dataset

from keyarch.errors import BadInput

FLICKR_SPLITS = {"train": "Flickr_8k.trainImages.txt", "val": "Flickr_8k.devImages.txt",
                 "test": "Flickr_8k.testImages.txt"}  # fmt: skip
FLICKR_IMAGES = ("Flicker8k_Dataset", "Flickr8k_Dataset", "Images")
COCO_SPLITS = {"train": "train2014", "val": "val2014"}
KARPATHY_FILE = "dataset_coco.json"
KARPATHY_SPLITS = {"train": ("train", "restval"), "val": ("val",), "test": ("test",)}


class CaptionCorpus(Dataset):
    """Images (as files) with their reference captions."""

    def __init__(self, title: str, files: list[Path], captions: list[list[str]]) -> None:
        self.title, self.files, self.captions = title, files, captions

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, list[str]]:
        return read_rgb(self.files[index]), self.captions[index]


class ImageFiles:
    """A split's photos as a batch source: ``files[index]`` (an int, a slice, a list or a
    tensor of indices) reads those files and resizes them to ``size`` x ``size``: uint8
    (3, S, S) for one, (N, 3, S, S) for several, on ``device``. Nothing is kept in memory."""

    def __init__(self, files: list[Path], size: int, device: torch.device | str = "cpu") -> None:
        self.files, self.size, self.device = list(files), size, torch.device(device)
        missing = [f for f in self.files if not f.is_file()]
        if missing:  # said before training starts, not in the middle of an epoch
            raise BadInput(f"{len(missing)} image file(s) not found, e.g. {missing[0]}")

    def __len__(self) -> int:
        return len(self.files)

    def to(self, device) -> ImageFiles:
        moved = copy.copy(self)  # the files are checked already
        moved.device = torch.device(device)
        return moved

    def _one(self, index: int) -> torch.Tensor:
        from torchvision.transforms.v2 import functional as TF

        image = read_rgb(self.files[index])
        return TF.resize(image, [self.size, self.size], antialias=True)

    def __getitem__(self, index) -> torch.Tensor:
        if isinstance(index, torch.Tensor):
            index = index.tolist()  # a 0-d tensor becomes an int
        if isinstance(index, slice):
            index = range(len(self.files))[index]
        if not isinstance(index, (list, tuple, range)):
            return self._one(operator.index(index)).to(self.device)  # an int, a numpy integer
        positions = index
        batch = torch.empty(len(positions), 3, self.size, self.size, dtype=torch.uint8)
        for row, position in enumerate(positions):
            batch[row] = self._one(int(position))
        return batch.to(self.device)


def read_rgb(path: Path) -> torch.Tensor:
    """An image file as uint8 (3, H, W); a missing or unreadable file names itself."""
    from keyarch.data.formats import decode_image

    return decode_image(Path(path), "RGB")


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"{path}: not found ({what})") from None
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput(f"{path}: cannot be read ({error})") from None


def load_flickr8k(root: str | Path, split: str = "train") -> CaptionCorpus:
    """Flickr8k's ``split`` ("train", "val" or "test") from the folder ``root``."""
    root = Path(root)
    if split not in FLICKR_SPLITS:
        raise BadInput(f"Flickr8k: unknown split {split!r}; expected {', '.join(FLICKR_SPLITS)}")
    by_image: dict[str, list[str]] = {}
    token_file = root / "Flickr8k.token.txt"
    for number, line in enumerate(_read(token_file, "Flickr8k's captions").splitlines(), 1):
        if not line.strip():
            continue
        key, tab, caption = line.partition("\t")
        name, hash_sign, index = key.partition("#")
        if not tab or not hash_sign or not index.isdigit() or not caption.strip():
            raise BadInput(
                f"{token_file}:{number}: expected IMAGE.jpg#N<TAB>caption, got {line[:60]!r}"
            )
        by_image.setdefault(name, []).append(caption.strip())
    split_file = root / FLICKR_SPLITS[split]
    names = [n.strip() for n in _read(split_file, f"the {split} split").splitlines() if n.strip()]
    folder = next((root / f for f in FLICKR_IMAGES if (root / f).is_dir()), None)
    if folder is None:
        raise BadInput(f"{root}: no image folder ({' or '.join(FLICKR_IMAGES)})")
    missing = [n for n in names if n not in by_image]
    if missing:
        raise BadInput(f"{split_file}: {len(missing)} images have no caption in {token_file.name}, "
                       f"e.g. {missing[0]}")  # fmt: skip
    return CaptionCorpus(
        f"Flickr8k {split}", [folder / n for n in names], [by_image[n] for n in names]
    )


def coco_splits(root: str | Path) -> tuple[str, ...]:
    """The splits COCO has in ``root``: train, val and test with Karpathy's split file,
    train and val (the official 2014 ones) without it."""
    return tuple(KARPATHY_SPLITS) if (Path(root) / KARPATHY_FILE).is_file() else tuple(COCO_SPLITS)


def load_coco_karpathy(root: str | Path, split: str = "test") -> CaptionCorpus:
    """COCO on Karpathy and Fei-Fei's split (``root/dataset_coco.json``): ``train`` (their
    train and restval, 113,287 images), ``val`` and ``test`` (5,000 each)."""
    root = Path(root)
    if split not in KARPATHY_SPLITS:
        raise BadInput(f"COCO (Karpathy): unknown split {split!r}; expected "
                       f"{', '.join(KARPATHY_SPLITS)}")  # fmt: skip
    path = root / KARPATHY_FILE
    try:
        entries = json.loads(_read(path, "Karpathy's COCO split"))["images"]
        chosen = [e for e in entries if e["split"] in KARPATHY_SPLITS[split]]
        files = [root / e["filepath"] / e["filename"] for e in chosen]
        captions = [[s["raw"].strip() for s in e["sentences"]] for e in chosen]
    except (ValueError, KeyError, TypeError) as error:
        raise BadInput(f"{path}: not Karpathy's dataset_coco.json format "
                       f"({type(error).__name__}: {error})") from None  # fmt: skip
    if not files:
        raise BadInput(f"{path}: no image of the {split} split")
    return CaptionCorpus(f"COCO captions {split} (Karpathy split)", files, captions)


def load_coco_captions(root: str | Path, split: str = "train") -> CaptionCorpus:
    """COCO captions' ``split`` from ``root``: Karpathy's split where ``dataset_coco.json``
    is there (train, val, test), else the official 2014 release's train or val, from
    ``annotations/`` and the image folders."""
    root = Path(root)
    if (root / KARPATHY_FILE).is_file():
        return load_coco_karpathy(root, split)
    if split == "test":
        raise BadInput(
            f"{root}: COCO's test split is Karpathy's 5,000 images: put {KARPATHY_FILE} "
            "(from Karpathy's neuraltalk data, or the im2txt/coco-caption mirrors) in the folder"
        )
    if split not in COCO_SPLITS:
        raise BadInput(f"COCO captions: unknown split {split!r}; expected {', '.join(COCO_SPLITS)}")
    path = root / "annotations" / f"captions_{COCO_SPLITS[split]}.json"
    try:
        document = json.loads(_read(path, "COCO's captions"))
        images = {int(i["id"]): i["file_name"] for i in document["images"]}
        by_image: dict[int, list[str]] = {}
        for note in document["annotations"]:
            by_image.setdefault(int(note["image_id"]), []).append(note["caption"].strip())
    except (ValueError, KeyError, TypeError) as error:
        raise BadInput(
            f"{path}: not COCO's captions format ({type(error).__name__}: {error})"
        ) from None
    unknown = sorted(set(by_image) - set(images))
    if unknown:
        raise BadInput(f"{path}: captions of image ids not in 'images', e.g. {unknown[0]}")
    ids = sorted(i for i in images if i in by_image)
    folder = root / COCO_SPLITS[split]
    return CaptionCorpus(f"COCO captions {split}", [folder / images[i] for i in ids],
                         [by_image[i] for i in ids])  # fmt: skip
