"""Nothing is lost: runs keep their directories, one live run per directory, resume only
the same run, Ctrl-C and a full disk leave a checkpoint that resumes."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import cli_status as status
from conftest import embedded_train_args
from keyarch import outputs
from keyarch.data.datasets import _embedded_mnist
from keyarch.train import CheckpointNotWritten, train
from keyarch.train.checkpoint import load_weights
from keyarch.train.recipes import RECIPES
from keyarch.train.runs import RunLock

EMBEDDED = str(_embedded_mnist())


def args(out: Path, *extra: str, name: str = "run") -> list[str]:
    return embedded_train_args(out, name, "lenet5_modern", *extra)


def test_a_second_run_with_a_taken_name_keeps_the_first(tmp_path, capsys):
    assert status(capsys, args(tmp_path))[0] == 0
    first = (tmp_path / "run" / "model.safetensors").read_bytes()
    summary = (tmp_path / "run" / "summary.json").read_text()
    code, out, _ = status(capsys, args(tmp_path, "--seed", "1"))
    assert code == 0
    assert f"{tmp_path / 'run'} holds a finished run, kept as it is" in out
    assert f"this run goes to {tmp_path / 'run-2'}" in out
    assert (tmp_path / "run" / "model.safetensors").read_bytes() == first
    assert (tmp_path / "run" / "summary.json").read_text() == summary
    assert json.loads((tmp_path / "run-2" / "summary.json").read_text())["seed"] == 1
    # --overwrite replaces on purpose
    assert status(capsys, args(tmp_path, "--seed", "2", "--overwrite"))[0] == 0
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["seed"] == 2


def test_a_second_live_run_in_the_same_directory_is_refused(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    lock = RunLock(tmp_path / "run")  # a live run holds the directory (as a racing start would)
    try:
        code, _, err = status(capsys, args(tmp_path))
    finally:
        lock.release()
    assert code == 2 and "is in use by a live run (pid" in err
    assert len(err.strip().splitlines()) == 1
    assert status(capsys, args(tmp_path))[0] == 0  # once it has finished, the name is free


def test_a_resume_that_changes_the_run_is_refused_naming_the_fields(tmp_path, capsys):
    assert status(capsys, args(tmp_path, "--epochs", "2"))[0] == 0
    same = args(tmp_path, "--epochs", "2", "--resume")
    code, _, err = status(capsys, [*same, "--lr", "0.5", "--seed", "3"])
    assert code == 2 and "--resume would change the run" in err
    lr = RECIPES["lenet5-paper"].lr
    assert f"lr {lr:g} -> 0.5" in err and "seed 0 -> 3" in err and "epochs" not in err
    code, _, err = status(capsys, [same[0], "lenet5", *same[2:]])
    assert code == 2 and "model 'lenet5_modern' -> 'lenet5'" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = status(capsys, args(tmp_path, "--resume", name="nothing-here"))
    assert code == 2 and "no checkpoint to resume" in err


def test_sigint_writes_a_checkpoint_and_prints_the_command_that_resumes(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "KEYARCH_CACHE": str(tmp_path / "cache")}
    argv = args(
        tmp_path, "--epochs", "3", "--train-limit", "3000", "--deterministic", "--threads", "1"
    )
    victim = subprocess.Popen(
        [sys.executable, "-m", "keyarch", *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    for line in victim.stdout:  # wait until it trains
        if line.startswith("training ") or time.time() > deadline:
            break
    time.sleep(1.0)
    victim.send_signal(signal.SIGINT)
    _, err = victim.communicate(timeout=120)
    assert victim.returncode == 130, err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("keyarch: interrupted at epoch ")
    command = err.split("Resume with: ")[1].strip().split(" ")
    assert command[0] == "keyarch" and command[-1] == "--resume"
    assert (tmp_path / "run" / "checkpoint.safetensors").is_file()
    assert not (tmp_path / "run" / "model.safetensors").exists()
    assert not list((tmp_path / "run").glob(".*.partial*"))  # keyarch.outputs' scratch names
    resumed = subprocess.run(
        [sys.executable, "-m", "keyarch", *command[1:]], env=env, capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from" in resumed.stdout
    whole = subprocess.run(
        [sys.executable, "-m", "keyarch", *argv, "--run-name", "whole"],
        env=env,
        capture_output=True,
    )
    assert whole.returncode == 0
    a = load_file(str(tmp_path / "run" / "model.safetensors"))
    b = load_file(str(tmp_path / "whole" / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_failed_checkpoint_write_keeps_the_earlier_one_and_no_partial_file(
    tmp_path, monkeypatch, capsys
):

    real_write, writes = os.write, []

    def disk_full(descriptor, data):
        writes.append(len(data))
        if len(writes) > 1:  # the first checkpoint goes through, the next fills the disk
            real_write(descriptor, bytes(data[: len(data) // 3]))
            raise OSError(28, "No space left on device")
        return real_write(descriptor, data)

    monkeypatch.setattr(outputs.os, "write", disk_full)
    code, _, err = status(capsys, args(tmp_path, "--checkpoint-every", "3"))
    assert code == 1 and len(err.strip().splitlines()) == 1
    saved = tmp_path / "run" / "checkpoint.safetensors"
    assert "No space left on device" in err
    assert f"the earlier checkpoint {saved} is intact and no partial file is left" in err
    assert not [p for p in (tmp_path / "run").iterdir() if ".partial" in p.name]
    monkeypatch.setattr(outputs.os, "write", real_write)
    weights, metadata = load_weights(saved)
    assert metadata["model"] == "lenet5_modern" and weights
    assert status(capsys, args(tmp_path, "--resume", "--checkpoint-every", "3"))[0] == 0


def test_the_api_raises_checkpoint_not_written(tmp_path, monkeypatch):
    from keyarch.train import TrainConfig, get_recipe
    from keyarch.train.recipes import override

    def no_space(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(outputs.os, "write", no_space)
    config = TrainConfig(
        model="lenet5_modern",
        dataset="mnist",
        data_dir=EMBEDDED,
        recipe=override(get_recipe("mnist"), epochs=1, batch_size=32),
        out=tmp_path,
        train_limit=64,
        test_limit=32,
        progress=False,
    )
    with pytest.raises(CheckpointNotWritten, match="no earlier checkpoint exists"):
        train(config)
    assert not [p for p in tmp_path.rglob("*") if ".partial" in p.name]


def test_summary_records_arguments_versions_device_threads_and_provenance(tmp_path, capsys):
    assert status(capsys, args(tmp_path, "--threads", "1"))[0] == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["arguments"]["train_limit"] == 256 and summary["arguments"]["seed"] == 0
    assert summary["arguments"]["command"][:2] == ["keyarch", "train"]
    assert set(summary["versions"]) >= {"keyarch", "torch", "torchvision"}
    assert summary["device"] == "cpu" and summary["threads"] == 1
    assert summary["data"]["embedded"] and "embedded" in summary["data"]["provenance"]
    assert summary["dataset"] == "MNIST (embedded subset)"


def test_the_embedded_subset_says_so_in_the_run_name_and_title(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KEYARCH_DATA", str(tmp_path / "nothing"))
    monkeypatch.setenv("KEYARCH_CACHE", str(tmp_path / "cache"))
    code, out, _ = status(
        capsys,
        [
            "train",
            "lenet5_modern",
            "--epochs",
            "1",
            "--no-download",
            "--train-limit",
            "64",
            "--test-limit",
            "32",
            "--batch-size",
            "32",
            "--no-progress",
        ],
    )
    assert code == 0
    assert "on MNIST (embedded subset)" in out
    assert (tmp_path / "runs" / "lenet5_modern-mnist-embedded" / "summary.json").is_file()


def test_resume_reads_a_recipe_field_added_since_the_checkpoint_as_its_default(tmp_path):
    from dataclasses import asdict

    from keyarch.train import get_recipe
    from keyarch.train.runs import refuse_changes

    recipe = asdict(get_recipe("cifar"))
    old = {k: v for k, v in recipe.items() if k != "freeze_encoder_epochs"}
    refuse_changes({"recipe": old}, {"recipe": recipe}, tmp_path)  # nothing changes
    with pytest.raises(ValueError, match="freeze_encoder_epochs 0 -> 2"):
        refuse_changes({"recipe": old}, {"recipe": {**recipe, "freeze_encoder_epochs": 2}},
                       tmp_path)  # fmt: skip
