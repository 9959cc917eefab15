"""Captioned-image corpora in their published formats: Flickr8k and COCO captions.

Flickr8k (Hodosh, Young and Hockenmaier 2013): ``Flickr8k.token.txt`` holds one caption
per line, ``IMAGE.jpg#N<TAB>caption`` (five per image, N = 0..4); the splits are lists of
file names, ``Flickr_8k.trainImages.txt``, ``Flickr_8k.devImages.txt``,
``Flickr_8k.testImages.txt``; the photos are in ``Flicker8k_Dataset/`` (sic) or ``Images/``.

COCO captions (Chen et al. 2015): ``annotations/captions_train2014.json`` (and val) is a
JSON object with ``images`` (``id``, ``file_name``) and ``annotations`` (``image_id``,
``caption``); the photos are in ``train2014/`` / ``val2014/`` beside ``annotations``.

``CaptionCorpus[i]`` is (uint8 image 3 x H x W, list of captions). A missing file or a line
that is not in the format is reported with its path and line, never skipped silently.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch.utils.data import Dataset

from keyarch.errors import BadInput

FLICKR_SPLITS = {"train": "Flickr_8k.trainImages.txt", "val": "Flickr_8k.devImages.txt",
                 "test": "Flickr_8k.testImages.txt"}  # fmt: skip
FLICKR_IMAGES = ("Flicker8k_Dataset", "Flickr8k_Dataset", "Images")
COCO_SPLITS = {"train": "train2014", "val": "val2014"}


class CaptionCorpus(Dataset):
    """Images (as files) with their reference captions."""

    def __init__(self, title: str, files: list[Path], captions: list[list[str]]) -> None:
        self.title, self.files, self.captions = title, files, captions

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, list[str]]:
        return read_rgb(self.files[index]), self.captions[index]


def read_rgb(path: Path) -> torch.Tensor:
    """An image file as uint8 (3, H, W); a missing or unreadable file names itself."""
    from PIL import Image, UnidentifiedImageError
    from torchvision.transforms.v2.functional import pil_to_tensor

    try:
        with Image.open(path) as image:
            return pil_to_tensor(image.convert("RGB"))
    except FileNotFoundError:
        raise BadInput(f"image file not found: {path}") from None
    except (UnidentifiedImageError, OSError) as error:
        raise BadInput(f"cannot read {path} as an image: {error}") from None


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


def load_coco_captions(root: str | Path, split: str = "train") -> CaptionCorpus:
    """COCO captions' ``split`` ("train" or "val", the 2014 release) from ``root``, which
    holds ``annotations/`` and the image folders."""
    root = Path(root)
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
