"""The caption datasets as a captioning run reads them: splits of images with their reference
captions (the synthetic set generated here, Flickr8k and COCO from their files), encoded by
a ``keyarch.data.vocabulary.Vocabulary``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from keyarch.data.vocabulary import Vocabulary
from keyarch.errors import BadInput

MAX_CAPTION_LENGTH = 200  # words; COCO's and Flickr8k's longest captions are under 60

CAPTION_DATASETS = ("synthetic", "flickr8k", "coco")


@dataclass
class CaptionSplit:
    """Images (uint8, N x 3 x S x S) and the encoded references of each."""

    name: str
    images: torch.Tensor
    references: list[list[str]]  # raw captions, several per image
    encoded: list[list[list[int]]]  # per image, per reference: <start> .. <end>
    scenes: list | None = None  # what each image shows, where known (the synthetic set)

    def __len__(self) -> int:
        return len(self.references)


def encode_split(name: str, images: torch.Tensor, references, scenes,
            vocabulary: Vocabulary) -> CaptionSplit:  # fmt: skip
    encoded = [[vocabulary.encode(c) for c in refs] for refs in references]
    return CaptionSplit(name, images, references, encoded, scenes)


def split_names(dataset: str, data_dir: str | None = None) -> tuple[str, ...]:
    """The splits a caption dataset has: the synthetic set's ``novel`` shows the held-out
    colour-shape pairs; COCO has a test split with Karpathy's split file in ``data_dir``
    (``keyarch.data.caption_corpora``), else the official train and val only."""
    if dataset not in CAPTION_DATASETS:
        raise BadInput(f"--dataset {dataset!r}: captioning trains on {', '.join(CAPTION_DATASETS)}")
    if dataset == "coco" and data_dir:
        from keyarch.data.caption_corpora import coco_splits

        return coco_splits(data_dir)
    return {"synthetic": ("train", "val", "test", "novel"), "flickr8k": ("train", "val", "test"),
            "coco": ("train", "val", "test")}[dataset]  # fmt: skip


def load_split(
    dataset: str, split: str, size: int, data_dir: str | None = None, limit: int | None = None
) -> tuple[torch.Tensor, list[list[str]], list | None]:
    """(uint8 images N x 3 x size x size, the references of each, the scenes they show or
    None where unknown) of one split; ``limit``: its first N images."""
    if dataset != "synthetic":
        from keyarch.data.sources import check_data_dir

        if data_dir is None:
            raise BadInput(f"--dataset {dataset} needs --data-dir, the folder it is in")
        check_data_dir(data_dir, must_exist=True)
    if split not in split_names(dataset, data_dir):
        raise BadInput(
            f"{dataset} has no {split!r} split; it has {', '.join(split_names(dataset, data_dir))}"
            + (" (COCO's test split needs Karpathy's dataset_coco.json)" if split == "test" else "")
        )
    if dataset == "synthetic":
        from keyarch.data.synthetic_captions import SyntheticCaptions

        data = SyntheticCaptions(split, size=size, count=limit, seed=0)
        return data.images, data.captions, data.scenes
    if not data_dir:
        raise BadInput(f"--dataset {dataset} needs --data-dir (the folder holding its files)")
    from keyarch.data.caption_corpora import ImageFiles, load_coco_captions, load_flickr8k

    corpus = (load_flickr8k if dataset == "flickr8k" else load_coco_captions)(data_dir, split)
    if limit and limit < len(corpus):
        corpus.files, corpus.captions = corpus.files[:limit], corpus.captions[:limit]
    return ImageFiles(corpus.files, size), corpus.captions, None


def caption_provenance(dataset: str, data_dir: str | None) -> str:
    if dataset == "synthetic":
        return ("keyarch.data.synthetic_captions (generated, seed 0; test scenes never occur "
                "in training; colour-shape pairs held out of train, val and test, the novel "
                "split shows them)")  # fmt: skip
    return f"{dataset} from {data_dir}"


def normalise(images: torch.Tensor, mean, std) -> torch.Tensor:
    """uint8 images (N, 3, H, W) as the encoder reads them: scaled to [0, 1], then
    standardised per channel (what training used, saved in the weights' metadata)."""
    mean = torch.tensor(mean, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(std, device=images.device).view(1, 3, 1, 1)
    return (images.float() / 255 - mean) / std
