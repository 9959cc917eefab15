"""Checkpoints in safetensors: weights, optimiser state, RNG state and progress, nothing
pickled. Every file is written to a temporary name, flushed to disk and renamed, so that a
kill at any moment leaves the previous complete file in place.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save

from keyarch.errors import BadInput
from keyarch.outputs import atomic_write

FORMAT = "keyarch-checkpoint-1"


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The plain model inside DistributedDataParallel and torch.compile wrappers."""
    while True:
        if hasattr(model, "module") and isinstance(model.module, torch.nn.Module):
            model = model.module
        elif hasattr(model, "_orig_mod"):
            model = model._orig_mod
        else:
            return model


def _model_tensors(model: torch.nn.Module, prefix: str = "") -> dict[str, torch.Tensor]:
    return {
        prefix + key: value.detach().cpu().contiguous()
        for key, value in unwrap(model).state_dict().items()
    }


def save_weights(path: Path, model: torch.nn.Module, metadata: dict[str, object]) -> None:
    """The model's weights with keyarch's keys; ``metadata`` (JSON) says how to rebuild it."""
    atomic_write(path, save(_model_tensors(model), {"keyarch": json.dumps(metadata)}))


def _read(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, object]]:
    from keyarch.data.formats import check_regular_file

    check_regular_file(path, "weights file (.safetensors)")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = json.loads((handle.metadata() or {}).get("keyarch", "{}"))
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except (SafetensorError, OSError, json.JSONDecodeError, ValueError) as error:
        raise BadInput(f"{path} is corrupt or not a keyarch safetensors file: {error}") from None
    return tensors, metadata


def load_weights(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, object]]:
    """Weights and metadata written by ``save_weights`` (or the weights of a checkpoint)."""
    tensors, metadata = _read(Path(path))
    if metadata.get("format") == FORMAT:  # a full training checkpoint
        tensors = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
        metadata = metadata["weights"]
    return tensors, metadata


def save_checkpoint(
    path: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    progress: dict[str, object],
    weights_metadata: dict[str, object],
    settings: dict[str, object] | None = None,
    average=None,
) -> None:
    """Everything needed to continue training exactly where it stopped; ``settings`` are
    what defines the run (a resume must not change them); ``average``: the weights' moving
    average (``keyarch.train.averaging.WeightAverage``), kept as ``average.*``."""
    tensors = _model_tensors(model, "model.")
    if average is not None:
        tensors |= _model_tensors(average.model, "average.")
    optimizer_state = optimizer.state_dict()
    scalars: dict[str, object] = {}
    for index, state in optimizer_state["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{index}.{key}"] = value
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for device, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{device}"] = state
    metadata = {
        "format": FORMAT,
        "progress": progress,
        "param_groups": optimizer_state["param_groups"],
        "optimizer_scalars": scalars,
        "weights": weights_metadata,
        "settings": settings or {},
    }
    atomic_write(path, save(tensors, {"keyarch": json.dumps(metadata)}))


def read_settings(path: Path) -> dict[str, object]:
    """The settings a training checkpoint was written with (its header only)."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = json.loads((handle.metadata() or {}).get("keyarch", "{}"))
    except (SafetensorError, OSError, json.JSONDecodeError, ValueError) as error:
        raise BadInput(f"{path} is corrupt or not a keyarch safetensors file: {error}") from None
    if metadata.get("format") != FORMAT:
        raise BadInput(f"{path} is not a keyarch training checkpoint")
    return metadata.get("settings", {})


def load_checkpoint(
    path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, average=None
) -> dict[str, object]:
    """Restore model, optimiser, RNG state and the weights' average (where ``average`` is
    given: the checkpoint must hold one); return the saved progress."""
    tensors, metadata = _read(path)
    if metadata.get("format") != FORMAT:
        raise BadInput(f"{path} is not a keyarch training checkpoint")
    saved = metadata.get("weights", {}).get("model", "another model")
    targets = {"model.": unwrap(model)}
    if average is not None:
        if not any(key.startswith("average.") for key in tensors):
            raise BadInput(
                f"{path} holds no weight average, which this run keeps (ema_decay): it was "
                "written by a run without one"
            )
        targets["average."] = average.model
    for prefix, target in targets.items():
        weights = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        try:
            target.load_state_dict(weights, strict=True)
        except RuntimeError as error:
            raise BadInput(
                f"{path} holds weights of {saved}, which do not fit this model: "
                f"{str(error).splitlines()[0]}"
            ) from None
    state: dict[int, dict[str, object]] = {}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    for key, value in metadata["optimizer_scalars"].items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": metadata["param_groups"]})
    torch.set_rng_state(tensors["rng.torch"])
    cuda_states = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
    if cuda_states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda_states)
    return metadata["progress"]


def load_model_weights(model: torch.nn.Module, path: str | Path) -> None:
    """Load a safetensors file of ``model``'s weights (strict), naming what is wrong: a run's
    weights of another model or a captioner are named as such."""
    path = Path(path)
    state, metadata = load_weights(path)
    name = getattr(getattr(model, "card", None), "name", None)
    if metadata.get("task") == "captioning":
        raise BadInput(f"{path} is a captioning model's weights (keyarch caption "
                       f"predict|eval --weights {path}), not {name or 'this model'}'s")  # fmt: skip
    if name and metadata.get("model") and metadata["model"] != name:
        from keyarch.registry import model_card

        if model_card(str(metadata["model"])).name != name:
            raise BadInput(f"{path} holds the weights of {metadata['model']}, not {name}")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        first = str(error).splitlines()[0]
        raise BadInput(f"{path} does not hold weights of this model: {first}") from None
