"""Renaming state-dict keys by prefix tables."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from keyarch.errors import BadInput


def rename_keys(
    state_dict: Mapping[str, torch.Tensor], table: Mapping[str, str], *, model: str
) -> dict[str, torch.Tensor]:
    """Rename each key by the longest matching prefix of ``table`` ("features.0." ...).

    Every key must match: a key the table does not know means the state dict is not of
    the model the table describes, and is reported rather than dropped.
    """
    prefixes = sorted(table, key=len, reverse=True)
    renamed: dict[str, torch.Tensor] = {}
    unknown: list[str] = []
    for key, tensor in state_dict.items():
        prefix = next((p for p in prefixes if key.startswith(p + ".")), None)
        if prefix is None:
            unknown.append(key)
            continue
        renamed[table[prefix] + key[len(prefix) :]] = tensor
    if unknown:
        shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise BadInput(f"{len(unknown)} key(s) of the state dict do not belong to {model}: {shown}")
    return renamed
