"""A finished run's model: loading it, evaluating it with test-time augmentation, and the
results file ``keyarch eval`` writes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from keyarch.analysis import count_parameters
from keyarch.data.batch_augment import BatchAugment
from keyarch.data.datasets import load_dataset
from keyarch.data.transforms import eval_transform
from keyarch.errors import BadInput
from keyarch.models.fuse import fuse
from keyarch.outputs import atomic_write
from keyarch.registry import create_model
from keyarch.train.checkpoint import load_weights
from keyarch.train.data import Transformed, subset_indices
from keyarch.train.distributed import Context, epoch_batches
from keyarch.train.tasks import ClassificationTask


@dataclass
class TrainedModel:
    model: torch.nn.Module  # in eval mode, on the CPU
    meta: dict  # what the run recorded: model, classes, crop, resize, pad, mean, std, tta
    path: Path

    def transform(self):
        """The run's evaluation pipeline for one uint8 image (before the centre crop)."""
        meta = self.meta
        return eval_transform(
            crop=meta["resize"],
            resize=meta["resize"],
            mean=meta["mean"],
            std=meta["std"],
            pad=meta["pad"],
        )


def load_trained(path: str | Path) -> TrainedModel:
    """The model of a run's ``model.safetensors`` (or ``checkpoint.safetensors``)."""
    weights, meta = load_weights(path)
    if "model" not in meta:
        raise BadInput(f"{path} has no keyarch metadata; was it written by `keyarch train`?")
    if meta.get("task") == "captioning":
        raise BadInput(
            f"{path} is a captioning model: use keyarch caption predict|eval --weights {path}"
        )
    if meta.get("task") == "sequence-classification":
        raise BadInput(f"{path} holds {meta['model']}, a sequence-classification model; "
                       "keyarch eval and predict read images (its run's summary.json has its "
                       "test accuracy)")  # fmt: skip
    model = create_model(meta["model"], num_classes=meta["num_classes"], in_chans=meta["in_chans"])
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as error:
        raise BadInput(
            f"{path} does not fit {meta['model']}: {str(error).splitlines()[0]}"
        ) from None
    return TrainedModel(model.eval(), meta, Path(path))


def _batches(trained: TrainedModel, dataset, limit, batch_size, device):
    meta = trained.meta
    indices = subset_indices(len(dataset), limit)
    count = len(indices) if indices is not None else len(dataset)
    order = epoch_batches(
        count, batch_size, seed=0, epoch=0, context=Context(), shuffle=False, drop_last=False
    )
    if dataset.images is not None:
        prepare = BatchAugment(
            "none",
            crop=meta["crop"],
            resize=meta["resize"],
            mean=meta["mean"],
            std=meta["std"],
            pad=meta["pad"],
        )
        images = dataset.images if indices is None else dataset.images[indices]
        labels = dataset.labels if indices is None else dataset.labels[indices]
        for batch in order:
            yield prepare.evaluation(images[batch].to(device)), labels[batch].to(device)
        return
    files = Transformed(dataset, trained.transform(), seed=0, limit=limit, random=False)
    for images, labels in DataLoader(files, batch_sampler=order):
        yield images.to(device), labels.to(device)


def evaluate_trained(
    path: str | Path,
    dataset: str,
    data_dir: str | None = None,
    *,
    tta: str | None = None,
    device: str = "cpu",
    amp: str = "none",
    channels_last: bool = False,
    batch_size: int = 100,
    limit: int | None = None,
    download: bool = True,
) -> dict[str, object]:
    """Top-1 and top-5 on ``dataset``'s test split, single centre crop and under ``tta``
    (default: the run's recipe's test-time augmentation)."""
    from keyarch.train.devices import autocast_for, resolve_device

    trained = load_trained(path)
    meta = trained.meta
    tta = tta if tta is not None else meta.get("tta", "none")
    test = load_dataset(dataset, "test", data_dir, download=download, allow_embedded=False)
    if tuple(test.classes) != tuple(meta["classes"]):
        raise BadInput(f"{path} was trained on other classes than {dataset}'s")
    if batch_size < 1:
        raise BadInput(f"--batch-size must be at least 1, got {batch_size}")
    target = resolve_device(device)
    trained_model = trained.model.to(target)
    if tta == "multiscale" and hasattr(trained_model, "dense_forward"):
        # VGG's dense evaluation needs the model's own fc-as-convolution path
        model = (
            trained_model.to(memory_format=torch.channels_last)
            if channels_last
            else (trained_model)
        )
    else:  # batch norms folded into the convolutions: the same outputs, faster
        model = fuse(trained_model, channels_last=channels_last)
    task = ClassificationTask(len(meta["classes"]))
    result = task.evaluate(
        model,
        _batches(trained, test, limit, batch_size, target),
        crop=meta["crop"],
        tta=tta,
        autocast=autocast_for(amp, target),
        context=Context(device=target),
        device=target,
    )
    count = len(subset_indices(len(test), limit) or range(len(test)))
    by_tta = {"none": {"top1": result["top1"], "top5": result["top5"], "loss": result["loss"]}}
    if tta != "none":
        by_tta[tta] = {"top1": result[f"top1_{tta}"], "top5": result[f"top5_{tta}"]}
    return {
        "model": meta["model"],
        "weights": str(Path(path).resolve()),
        "trained_on": meta.get("dataset"),
        "dataset": test.title,
        "split": "test",
        "images": count,
        "parameters": count_parameters(trained_model),
        "image_size": meta["crop"],
        "resize": meta["resize"],
        "device": str(target),
        "amp": amp,
        "channels_last": channels_last,
        "results": by_tta,
    }


def write_results(results: dict[str, object], path: Path, overwrite: bool = False) -> Path:
    """Write ``results`` as JSON at ``path``, or at ``path``-2, -3 ... when it is taken
    (replaced with ``overwrite``)."""
    chosen, number = path, 2
    while chosen.exists() and not overwrite:
        chosen = path.with_name(f"{path.stem}-{number}{path.suffix}")
        number += 1
    atomic_write(chosen, json.dumps(results, indent=2).encode(), "--results")
    return chosen


def predict_files(trained: TrainedModel, paths: list[str], top_k: int):
    """(path, [(class, probability), ...]) for each image file, best first."""
    from torchvision.transforms.v2 import functional as TF

    from keyarch.data.formats import decode_image

    meta, transform = trained.meta, trained.transform()
    if top_k > meta["num_classes"]:
        raise BadInput(f"--top-k {top_k}: {meta['model']} was trained on "
                       f"{meta['num_classes']} classes")  # fmt: skip
    network = fuse(trained.model)
    for path in paths:
        image = decode_image(Path(path), "RGB")
        if meta["in_chans"] == 1:
            if not (torch.equal(image[0], image[1]) and torch.equal(image[1], image[2])):
                raise BadInput(
                    f"{path} is a colour image, but {meta['model']} was trained on one-channel "
                    f"(grey) images of {meta.get('dataset', 'its dataset')}: give a greyscale "
                    "image"
                )
            image = image[:1]
        batch = TF.center_crop(transform(image), [meta["crop"], meta["crop"]]).unsqueeze(0)
        with torch.no_grad():
            probabilities = torch.softmax(network(batch), dim=1)[0]
        top = probabilities.topk(min(top_k, len(probabilities)))
        yield (
            path,
            [
                (meta["classes"][i], p)
                for p, i in zip(top.values.tolist(), top.indices.tolist(), strict=True)
            ],
        )
