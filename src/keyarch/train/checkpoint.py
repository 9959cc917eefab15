"""Checkpoints in safetensors: weights, optimiser state, RNG state and progress, nothing
pickled. Every file is written to a temporary name, flushed to disk and renamed, so that a
kill at any moment leaves the previous complete file in place.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save

FORMAT = "keyarch-checkpoint-1"


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is always either old or new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(scratch, "wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(scratch, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


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
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = json.loads((handle.metadata() or {}).get("keyarch", "{}"))
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except (SafetensorError, OSError, json.JSONDecodeError, ValueError) as error:
        raise ValueError(f"{path} is corrupt or not a keyarch safetensors file: {error}") from None
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
) -> None:
    """Everything needed to continue training exactly where it stopped."""
    tensors = _model_tensors(model, "model.")
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
    }
    atomic_write(path, save(tensors, {"keyarch": json.dumps(metadata)}))


def load_checkpoint(
    path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer
) -> dict[str, object]:
    """Restore model, optimiser and RNG state; return the saved progress."""
    tensors, metadata = _read(path)
    if metadata.get("format") != FORMAT:
        raise ValueError(f"{path} is not a keyarch training checkpoint")
    weights = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    unwrap(model).load_state_dict(weights, strict=True)
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
