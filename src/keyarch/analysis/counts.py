"""Parameter and operation counts of registered models, cached on disk.

``keyarch list`` shows every model's counts; computing them on the meta device takes a
while for ~50 models, so they are kept in keyarch's cache keyed by the PyTorch version and
the source of the models and layers: a change to any of them recomputes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from keyarch.analysis.complexity import count_macs, count_parameters
from keyarch.data.sources import cache_dir
from keyarch.registry import create_model, model_card


def meta_model(name: str) -> torch.nn.Module:
    """The model on the meta device: shapes and counts without allocating weights."""
    with torch.device("meta"):
        return create_model(name)


def _cache_path() -> Path:
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha1(torch.__version__.encode())
    for source in sorted([*package.glob("models/*.py"), *package.glob("layers/*.py")]):
        digest.update(source.read_bytes())
    return cache_dir() / "model-counts" / f"{digest.hexdigest()[:16]}.json"


def model_counts(names: list[str]) -> dict[str, tuple[int, int]]:
    """(parameters, MACs at the model's default input) per model name."""
    path = _cache_path()
    try:
        counts = {k: tuple(v) for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError):
        counts = {}  # missing or damaged: recomputed
    missing = [name for name in names if name not in counts]
    for name in missing:
        model = meta_model(name)
        counts[name] = (count_parameters(model), count_macs(model, model_card(name).input_size))
    if missing:
        try:
            from keyarch.outputs import atomic_write

            atomic_write(path, json.dumps(counts).encode())
        except OSError:
            pass  # a read-only cache only costs time
    return {name: counts[name] for name in names}
