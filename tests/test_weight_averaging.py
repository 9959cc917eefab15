"""The weights' exponential moving average (recipe ``ema_decay``): timm's ModelEmaV3
arithmetic, both scores per epoch, the average saved as the run's weights, and a resumed
run that continues the exact average of an uninterrupted one."""

from __future__ import annotations

import csv

import pytest
import torch
from safetensors.torch import load_file

from keyarch.train import engine
from keyarch.train.averaging import WeightAverage
from keyarch.train.checkpoint import _read
from keyarch.train.engine import TrainingInterrupted, train
from keyarch.train.recipes import get_recipe, override
from test_training import small_config


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))


@pytest.mark.parametrize("warmup", [False, True])
def test_the_average_follows_timms_model_ema_v3(warmup):
    timm_ema = pytest.importorskip("timm.utils.model_ema")
    model = _net()
    ours = WeightAverage(model, 0.9, warmup=warmup)
    theirs = timm_ema.ModelEmaV3(model, decay=0.9, use_warmup=warmup)
    for step in range(1, 8):
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.add_(torch.randn_like(parameter))
        model.train()(torch.randn(2, 3, 5, 5))  # moves the running statistics
        assert ours.decay_at(step) == pytest.approx(theirs.get_decay(step))
        ours.update(model, step)
        theirs.update(model, step)
    for key, value in theirs.module.state_dict().items():
        torch.testing.assert_close(ours.state_dict()[key], value, rtol=1e-6, atol=1e-7)


def test_the_first_update_copies_and_later_ones_average():
    model = _net()
    average = WeightAverage(model, 0.75)
    with torch.no_grad():
        model[0].weight.fill_(1.0)
    average.update(model, 1)
    assert torch.equal(average.model[0].weight, model[0].weight)
    with torch.no_grad():
        model[0].weight.fill_(5.0)
    average.update(model, 2)
    assert torch.allclose(average.model[0].weight, torch.full_like(model[0].weight, 2.0))
    assert not average.model[0].weight.requires_grad and not average.model.training
    with pytest.raises(ValueError, match="decay must be in"):
        WeightAverage(model, 1.0)


def _ema_config(out, name, **changes):
    recipe = override(get_recipe("mnist"), epochs=2, batch_size=32, lr=0.01, ema_decay=0.9)
    return small_config(out, name, recipe=recipe, deterministic=True, **changes)


def test_a_run_scores_both_weights_and_keeps_the_average(tmp_path):
    summary = train(_ema_config(tmp_path, "ema"))
    run = tmp_path / "ema"
    with open(run / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2
    assert {"test_top1", "ema_test_top1", "ema_test_loss"} <= set(rows[0])
    assert summary["saved_weights"] == "average"
    assert summary["test_top1"] == float(rows[-1]["ema_test_top1"])
    assert summary["trained_test_top1"] == float(rows[-1]["test_top1"])
    saved = load_file(str(run / "model.safetensors"))
    tensors, _ = _read(run / "checkpoint.safetensors")
    averaged = {
        k.removeprefix("average."): v for k, v in tensors.items() if k.startswith("average.")
    }
    trained = {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
    assert saved.keys() == averaged.keys()
    assert all(torch.equal(saved[k], averaged[k]) for k in saved)
    assert any(not torch.equal(saved[k], trained[k]) for k in saved if saved[k].is_floating_point())


def test_an_interrupted_run_resumes_the_exact_average(tmp_path, monkeypatch):
    whole = train(_ema_config(tmp_path, "whole"))
    calls = {"n": 0}

    def stop_at_step_13(run):
        calls["n"] += 1
        return run.progress["step"] == 13  # in the middle of the second epoch

    with monkeypatch.context() as patch:
        patch.setattr(engine, "_stop_requested", stop_at_step_13)
        with pytest.raises(TrainingInterrupted):
            train(_ema_config(tmp_path, "cut"))
    resumed = train(_ema_config(tmp_path, "cut", resume=True))
    assert resumed["test_top1"] == whole["test_top1"]
    first = load_file(str(tmp_path / "whole" / "model.safetensors"))
    again = load_file(str(tmp_path / "cut" / "model.safetensors"))
    assert first.keys() == again.keys()
    assert all(torch.equal(first[k], again[k]) for k in first)


def test_a_resume_cannot_add_an_average_the_checkpoint_lacks(tmp_path):
    train(small_config(tmp_path, "plain", checkpoint_every=5))
    with pytest.raises(ValueError, match="ema_decay"):
        train(_ema_config(tmp_path, "plain", resume=True, checkpoint_every=5))
