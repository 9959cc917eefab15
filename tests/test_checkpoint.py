"""Checkpoints: atomic, complete, and never unpickled."""

import os

import pytest
import torch

from keyarch.train import checkpoint


def _model_and_optimizer():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.randn(8, 4)).sum().backward()
    optimizer.step()
    return model, optimizer


def test_checkpoint_restores_weights_optimizer_and_random_state(tmp_path):
    model, optimizer = _model_and_optimizer()
    path = tmp_path / "run" / "checkpoint.safetensors"
    torch.manual_seed(42)
    checkpoint.save_checkpoint(
        path, model, optimizer, {"epoch": 3, "history": [{"a": 1.0}]}, {"m": 1}
    )
    expected_draw = torch.rand(3)

    fresh, fresh_optimizer = (
        torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3)),
        None,
    )
    fresh_optimizer = torch.optim.Adam(fresh.parameters(), lr=0.5)
    progress = checkpoint.load_checkpoint(path, fresh, fresh_optimizer)
    assert progress == {"epoch": 3, "history": [{"a": 1.0}]}
    assert torch.rand(3).tolist() == expected_draw.tolist()
    for ours, theirs in zip(fresh.state_dict().values(), model.state_dict().values(), strict=True):
        assert torch.equal(ours, theirs)
    saved = optimizer.state_dict()
    restored = fresh_optimizer.state_dict()
    assert restored["param_groups"][0]["lr"] == 0.01
    for index, state in saved["state"].items():
        for key, value in state.items():
            assert torch.equal(
                torch.as_tensor(restored["state"][index][key]), torch.as_tensor(value)
            )
    weights, metadata = checkpoint.load_weights(path)
    assert metadata == {"m": 1} and set(weights) == set(model.state_dict())


def test_a_failed_write_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "file.bin"
    checkpoint.atomic_write(path, b"first version")

    def crash(*_):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        checkpoint.atomic_write(path, b"second version, never complete")
    assert path.read_bytes() == b"first version"


def test_corrupt_and_truncated_checkpoints_are_reported(tmp_path):
    model, optimizer = _model_and_optimizer()
    path = tmp_path / "checkpoint.safetensors"
    checkpoint.save_checkpoint(path, model, optimizer, {}, {})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="corrupt or not a keyarch safetensors file"):
        checkpoint.load_checkpoint(path, model, optimizer)
    path.write_bytes(b"\x80\x04\x95 a pickle, say")
    with pytest.raises(ValueError, match="corrupt"):
        checkpoint.load_weights(path)
    with pytest.raises(FileNotFoundError):
        checkpoint.load_weights(tmp_path / "missing.safetensors")
