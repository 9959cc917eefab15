"""A trained captioner: loading it, captioning image files, and scoring it on a split beside
its baselines (``keyarch caption predict`` and ``keyarch caption eval``)."""

from __future__ import annotations

from pathlib import Path

from keyarch.data.captions import load_split, normalise
from keyarch.data.vocabulary import Vocabulary
from keyarch.errors import BadInput
from keyarch.metrics.caption_baselines import blind_caption
from keyarch.metrics.captions import baseline_keys, caption_scores
from keyarch.models.captioning import CaptionerConfig, ShowAndTell, generate
from keyarch.train.tasks.captioning import check_beam


def load_captioner(path: str | Path) -> tuple[ShowAndTell, Vocabulary, dict]:
    """A trained captioner, its vocabulary and its metadata from ``model.safetensors`` (or a
    run's checkpoint)."""
    from keyarch.train.checkpoint import load_weights

    tensors, metadata = load_weights(path)
    if metadata.get("task") != "captioning" or "captioner" not in metadata:
        raise BadInput(
            f"{path}: not a keyarch captioning model (train one with keyarch caption train)"
        )
    config = CaptionerConfig(**{**metadata["captioner"], "pretrained_encoder": False})
    model = ShowAndTell(config)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as error:
        raise BadInput(f"{path}: weights do not fit: {str(error).splitlines()[0]}") from None
    return model.eval(), Vocabulary(metadata["vocabulary"]), metadata


def caption_files(
    model: ShowAndTell,
    vocabulary: Vocabulary,
    metadata: dict,
    paths: list[str],
    beam_size: int = 3,
    length_penalty: float = 0.0,
) -> list[tuple[str, str]]:
    """(path, caption) of each image file, resized to the size the model was trained at."""
    from torchvision.transforms.v2 import functional as TF

    from keyarch.data.caption_corpora import read_rgb

    size = int(metadata["image_size"])
    check_beam(beam_size, vocabulary)
    results = []
    for path in paths:
        image = TF.resize(read_rgb(Path(path)), [size, size], antialias=True)
        (words,) = generate(
            model,
            normalise(image[None], metadata["mean"], metadata["std"]),
            beam_size,
            length_penalty,
        )
        results.append((path, " ".join(vocabulary.decode(words))))
    return results


def evaluate_weights(
    weights: str | Path,
    *,
    split: str = "test",
    dataset: str | None = None,
    data_dir: str | None = None,
    limit: int | None = None,
    beam_size: int = 3,
    length_penalty: float = 0.0,
    grid: str | Path | None = None,
) -> dict:
    """BLEU-1..4 of a trained captioner on one split (and the structural scores where the
    scenes are known), beside the blind, reversed-relation and oracle baselines (flat keys
    ``blind_{split}_bleu4``, ...), with every caption; ``grid``: a PNG of the first images
    with their generated and first reference captions."""
    import time

    model, vocabulary, metadata = load_captioner(weights)
    check_beam(beam_size, vocabulary)
    dataset = dataset or metadata.get("caption_dataset", "synthetic")
    size = int(metadata["image_size"])
    images, references, scenes = load_split(dataset, split, size, data_dir, limit)
    blind = metadata.get("blind_caption")
    if blind is None:  # weights saved before keyarch kept the blind caption beside them
        blind = blind_caption(
            load_split(
                dataset,
                "train",
                32 if dataset == "synthetic" else size,
                data_dir,
                None if dataset == "synthetic" else 2000,
            )[1]
        )
    started = time.perf_counter()
    captions = []
    for begin in range(0, len(images), 256):
        batch = normalise(images[begin : begin + 256], metadata["mean"], metadata["std"])
        captions += [
            vocabulary.decode(w) for w in generate(model, batch, beam_size, length_penalty)
        ]
    scores = caption_scores(captions, references, scenes)
    baselines = baseline_keys(split, references, scenes, blind)
    if grid:
        from keyarch.analysis.caption_grid import draw_caption_grid

        draw_caption_grid(
            grid, images[:16], [" ".join(c) for c in captions[:16]],
            [refs[0] for refs in references[:16]],
            f"{Path(weights).parent.name}: the first 16 of the {len(images)} {dataset} {split} "
            f"images; beam {beam_size}; BLEU-4 over all {scores['bleu4']:.3f}",
        )  # fmt: skip
    return {
        "weights": str(weights),
        "dataset": dataset,
        "split": split,
        "images": len(images),
        "beam_size": beam_size,
        "length_penalty": length_penalty,
        "scores": scores,
        "baselines": baselines,
        "blind_caption": blind,
        "seconds": round(time.perf_counter() - started, 2),
        "captions": [
            {"generated": " ".join(c), "references": refs}
            for c, refs in zip(captions, references, strict=True)
        ],
    }
