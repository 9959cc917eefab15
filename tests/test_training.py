"""Training end to end: the run directory, resume after SIGKILL, divergence, two processes."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import embedded_train_args
from keyarch.cli import main
from keyarch.data.datasets import _embedded_mnist
from keyarch.train import TrainConfig, TrainingDiverged, get_recipe, train
from keyarch.train.recipes import override

EMBEDDED = str(_embedded_mnist())


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "KEYARCH_CACHE": str(tmp_path / "cache")}


def _train_args(out: Path, name: str, *extra: str) -> list[str]:
    return embedded_train_args(out, name, "lenet5", "--train-limit", "3000", "--test-limit",
                               "200", "--epochs", "4", "--deterministic", "--workers", "0",
                               "--checkpoint-every", "5", *extra)  # fmt: skip


def small_config(out: Path, name: str, **changes) -> TrainConfig:
    """A LeNet-5 (modern) run on a few hundred embedded MNIST digits."""
    recipe = override(get_recipe("mnist"), epochs=1, batch_size=32, lr=0.01)
    options = {"train_limit": 320, "test_limit": 64, "progress": False, **changes}
    return TrainConfig(
        model="lenet5_modern",
        dataset="mnist",
        data_dir=EMBEDDED,
        recipe=options.pop("recipe", recipe),
        out=out,
        run_name=name,
        **options,
    )


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    recipe = override(get_recipe("mnist"), epochs=2, batch_size=32, lr=0.01)
    config = small_config(out, "short", recipe=recipe, train_limit=640, test_limit=200)
    return train(config), out / "short"


def test_a_run_leaves_summary_weights_metrics_and_curves(short_run):
    summary, run_dir = short_run
    saved = json.loads((run_dir / "summary.json").read_text())
    assert saved == summary
    assert (
        saved["model"] == "lenet5_modern"
        and saved["dataset"] == "MNIST (embedded subset)"
        and saved["epochs"] == 2
    )
    assert 0.5 < saved["test_top1"] <= saved["test_top5"] <= 1.0 and saved["wall_seconds"] > 0
    lines = (run_dir / "metrics.csv").read_text().splitlines()
    assert lines[0].startswith(
        "epoch,train_loss,train_top1,train_top5,lr,test_loss,test_top1,test_top5"
    )
    assert len(lines) == 3
    assert (run_dir / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert any((run_dir / "tensorboard").iterdir())
    weights = load_file(str(run_dir / "model.safetensors"))
    assert "output.weight" in weights


def test_eval_and_predict_work_from_the_saved_weights(short_run, capsys, tmp_path):
    from PIL import Image

    from keyarch.data.datasets import load_dataset

    _, run_dir = short_run
    code = main(
        [
            "eval",
            "--checkpoint",
            str(run_dir / "model.safetensors"),
            "--dataset",
            "mnist",
            "--data-dir",
            EMBEDDED,
            "--tta",
            "flip",
            "--limit",
            "200",
            "--results",
            str(tmp_path / "results.json"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "single crop top-1" in out and "flip top-1" in out
    results = json.loads((tmp_path / "results.json").read_text())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert results["model"] == "lenet5_modern" and results["images"] == 200
    assert results["image_size"] == 32 and results["parameters"] == summary["parameters"]
    assert results["results"]["none"]["top1"] == pytest.approx(summary["test_top1"])
    assert results["results"]["none"]["top5"] == pytest.approx(summary["test_top5"])
    assert set(results["results"]) == {"none", "flip"}

    digits = load_dataset("mnist", "test", EMBEDDED)
    paths = []
    for index in (0, 1):
        path = tmp_path / f"digit{index}.png"
        Image.fromarray(digits.images[index, 0].numpy()).save(path)
        paths.append(str(path))
    code = main(
        ["predict", "--checkpoint", str(run_dir / "model.safetensors"), *paths, "--top-k", "3"]
    )
    lines = capsys.readouterr().out.splitlines()
    assert code == 0 and len(lines) == 2
    assert lines[0].startswith(paths[0] + ": ") and lines[0].count(",") == 2


def test_resume_after_sigkill_gives_the_weights_of_an_uninterrupted_run(tmp_path):
    env = _env(tmp_path)
    command = [sys.executable, "-m", "keyarch"]
    subprocess.run(
        [*command, *_train_args(tmp_path, "whole")], env=env, check=True, capture_output=True
    )

    victim = subprocess.Popen(
        [*command, *_train_args(tmp_path, "killed")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    checkpoint = tmp_path / "killed" / "checkpoint.safetensors"
    deadline = time.time() + 120
    while not checkpoint.exists() and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(random.uniform(0.0, 1.5))  # a random moment, perhaps in the middle of a write
    victim.send_signal(signal.SIGKILL)
    assert victim.wait() == -signal.SIGKILL
    assert not (tmp_path / "killed" / "model.safetensors").exists()  # it really was cut short

    resumed = subprocess.run(
        [*command, *_train_args(tmp_path, "killed", "--resume")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from" in resumed.stdout
    whole = load_file(str(tmp_path / "whole" / "model.safetensors"))
    again = load_file(str(tmp_path / "killed" / "model.safetensors"))
    assert whole.keys() == again.keys()
    assert all(torch.equal(whole[k], again[k]) for k in whole)
    history = (tmp_path / "killed" / "metrics.csv").read_text().splitlines()
    assert (
        history == (tmp_path / "whole" / "metrics.csv").read_text().splitlines()[:1] + history[1:]
    )
    assert len(history) == 5


def test_a_diverging_loss_stops_the_run_and_keeps_the_last_checkpoint(tmp_path):
    recipe = override(get_recipe("mnist"), optimizer="sgd", lr=1e12, schedule="constant")
    config = small_config(tmp_path, "boom", recipe=recipe, checkpoint_every=1)
    with pytest.raises(TrainingDiverged, match=r"the loss became nan or infinite.*last good"):
        train(config)
    checkpoint = tmp_path / "boom" / "checkpoint.safetensors"
    assert checkpoint.is_file() and not (tmp_path / "boom" / "model.safetensors").exists()
    from keyarch.train.checkpoint import load_weights

    weights, metadata = load_weights(checkpoint)
    assert metadata["model"] == "lenet5_modern" and weights


def test_cli_reports_divergence_in_one_line(tmp_path, capsys):
    code = main(
        [
            "train",
            "lenet5_modern",
            "--dataset",
            "mnist",
            "--data-dir",
            EMBEDDED,
            "--out",
            str(tmp_path),
            "--optimizer",
            "sgd",
            "--lr",
            "1e12",
            "--schedule",
            "constant",
            "--epochs",
            "1",
            "--train-limit",
            "320",
            "--test-limit",
            "64",
            "--workers",
            "0",
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("keyarch: training stopped: the loss became")
    assert len(err.strip().splitlines()) == 1


def test_two_processes_match_one_with_the_same_global_batch(tmp_path):
    env = _env(tmp_path)
    args = [
        "train",
        "lenet5_modern",
        "--dataset",
        "mnist",
        "--data-dir",
        EMBEDDED,
        "--out",
        str(tmp_path),
        "--optimizer",
        "sgd",
        "--lr",
        "0.05",
        "--batch-size",
        "32",
        "--epochs",
        "2",
        "--train-limit",
        "512",
        "--test-limit",
        "100",
        "--workers",
        "0",
        "--no-progress",
        "--deterministic",
    ]
    single = subprocess.run(
        [sys.executable, "-m", "keyarch", *args, "--run-name", "one"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert single.returncode == 0, single.stderr
    double = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc-per-node",
            "2",
            "-m",
            "keyarch",
            *args,
            "--run-name",
            "two",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert double.returncode == 0, double.stderr[-2000:]
    assert "x 2 processes" in double.stdout
    one = load_file(str(tmp_path / "one" / "model.safetensors"))
    two = load_file(str(tmp_path / "two" / "model.safetensors"))
    assert all(torch.allclose(one[k], two[k], atol=1e-5) for k in one)
    summaries = [json.loads((tmp_path / n / "summary.json").read_text()) for n in ("one", "two")]
    assert summaries[1]["world_size"] == 2
    assert summaries[0]["test_top1"] == pytest.approx(summaries[1]["test_top1"], abs=0.011)


def test_bf16_autocast_and_channels_last_train(tmp_path):
    summary = train(small_config(tmp_path, "bf16", amp="bf16", channels_last=True))
    assert 0.0 <= summary["test_top1"] <= 1.0
    with pytest.raises(ValueError, match="fp16 mixed precision needs a GPU"):
        train(small_config(tmp_path, "fp16", amp="fp16"))


@pytest.mark.slow
def test_torch_compile_trains(tmp_path):
    assert train(small_config(tmp_path, "compiled", compile=True))["test_top1"] > 0.2


def test_subsets_are_fixed_and_mixed_across_classes():
    from keyarch.data.datasets import load_dataset
    from keyarch.train.data import Transformed

    digits = load_dataset("mnist", "test", EMBEDDED)
    ordered = Transformed(digits, lambda image: image, seed=0, limit=None)
    by_class = sorted(range(len(digits)), key=lambda i: int(digits.labels[i]))
    digits.labels = digits.labels[by_class]  # as an image-folder tree is: class after class
    subset = Transformed(digits, lambda image: image, seed=5, limit=100)
    labels = {subset[i][1] for i in range(len(subset))}
    assert len(subset) == 100 and len(labels) == 10
    again = Transformed(digits, lambda image: image, seed=9, limit=100)
    assert subset.indices == again.indices
    assert len(ordered) == 2000


def test_a_collective_refuses_a_tensor_that_is_not_on_the_training_device():
    from keyarch.train.distributed import Context, sum_across

    with pytest.raises(RuntimeError, match="keyarch bug: a collective was handed a tensor on cpu"):
        sum_across(torch.zeros(3), Context(device=torch.device("meta")))
    assert sum_across(torch.ones(2), Context()).tolist() == [1.0, 1.0]


def test_every_tensor_the_loop_hands_to_collectives_is_on_the_training_device(
    tmp_path, monkeypatch
):
    from keyarch.train import distributed, engine
    from keyarch.train.tasks import classification as tasks

    seen = []
    real = distributed.sum_across

    def recording(values, context):
        seen.append((values.device, context.device))
        return real(values, context)

    for module in (engine.distributed, tasks):
        monkeypatch.setattr(module, "sum_across", recording)
    train(small_config(tmp_path, "collectives", checkpoint_every=3))
    # per step (divergence), per epoch (totals) and per evaluation
    assert len(seen) > 10
    assert all(values == context == torch.device("cpu") for values, context in seen)


def test_a_folder_of_mixed_sizes_trains_with_the_alexnet_recipe(tmp_path, capsys, monkeypatch):
    """PCA colour noise is fitted on pixels from across the whole (class-sorted) folder."""
    from PIL import Image

    from keyarch.train import data

    monkeypatch.setattr(data, "PCA_SAMPLE_IMAGES", 3)  # the first 3 would all be red

    colours = {"red": (200, 40, 40), "blue": (40, 40, 200)}
    sizes = [(40, 30), (70, 90), (64, 64), (100, 75)]
    for split in ("train", "test"):
        for name, colour in colours.items():
            folder = tmp_path / "photos" / split / name
            folder.mkdir(parents=True)
            for index, size in enumerate(sizes):
                Image.new("RGB", size, colour).save(folder / f"{index}.png")
    code = main(
        [
            "train",
            "alexnet",
            "--dataset",
            "folder",
            "--data-dir",
            str(tmp_path / "photos"),
            "--recipe",
            "alexnet-paper",
            "--image-size",
            "64",
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--tta",
            "none",
            "--workers",
            "0",
            "--out",
            str(tmp_path / "runs"),
            "--no-progress",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    eigenvalues = out.split("PCA colour augmentation: eigenvalues ")[1].splitlines()[0]
    # both colours were sampled: red and blue differ along one principal component
    assert max(float(v) for v in eigenvalues.strip("[]").split(",")) > 0.05
    summary = json.loads((tmp_path / "runs" / "alexnet-folder" / "summary.json").read_text())
    assert summary["data"]["train_images"] == 8 and summary["loader_processes"] == 0


def test_resume_from_a_checkpoint_taken_at_an_epochs_last_batch(tmp_path, monkeypatch):
    from keyarch.train import tasks

    config = small_config(tmp_path, "edge", checkpoint_every=10)  # 320 images: 10 steps

    class Crash(Exception):
        pass

    def crash(*_args, **_kwargs):
        raise Crash  # killed between the last step's checkpoint and the epoch's end

    with monkeypatch.context() as patch:
        patch.setattr(tasks.ClassificationTask, "evaluate", crash)
        with pytest.raises(Crash):
            train(config)
    from keyarch.train.checkpoint import _read

    _, metadata = _read(tmp_path / "edge" / "checkpoint.safetensors")
    assert metadata["progress"]["batch"] == 10 and metadata["progress"]["epoch"] == 0
    summary = train(small_config(tmp_path, "edge", checkpoint_every=10, resume=True))
    assert summary["epochs"] == 1 and summary["test_top1"] is not None


SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "mnist").is_dir(), reason="needs ../shared/datasets")
def test_lenet5_paper_recipe_reaches_99_percent_on_full_mnist(tmp_path):
    config = TrainConfig(model="lenet5", dataset="mnist", data_dir=str(SHARED), out=tmp_path,
                         progress=False)  # fmt: skip
    assert train(config)["test_top1"] >= 0.99


def test_the_lenet5_paper_recipe_feeds_background_minus_01_and_ink_1175():
    from keyarch.registry import model_card
    from keyarch.train.data import prepare_data
    from keyarch.train.distributed import Context

    config = TrainConfig(model="lenet5", dataset="mnist", data_dir=EMBEDDED, train_limit=256,
                         test_limit=256, progress=False)  # fmt: skip
    recipe = override(get_recipe("lenet5-paper"), normalisation="lenet")
    data = prepare_data(config, model_card("lenet5"), "mnist", recipe, Context(), "cpu")
    inputs, _ = next(iter(data.test_batches()))
    assert inputs.min().item() == pytest.approx(-0.1)  # the padding and the white background
    assert inputs.max().item() == pytest.approx(1.175)  # full ink
    assert data.mean == pytest.approx((0.1 / 1.275,)) and data.std == pytest.approx((1 / 1.275,))
