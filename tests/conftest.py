"""Shared fixtures: models are built once per session, and on the meta device where only
shapes and counts matter."""

from __future__ import annotations

import pytest
import torch

import keyarch


@pytest.fixture(scope="session")
def meta_models() -> dict[str, torch.nn.Module]:
    """Every registered model on the meta device (no memory, no initialisation cost)."""
    with torch.device("meta"):
        return {name: keyarch.create_model(name) for name in keyarch.list_models()}
