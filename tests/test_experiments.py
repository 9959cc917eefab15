"""``keyarch experiment``: each quick profile runs and shows the direction of its effect."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import pytest
import torch

from conftest import cli_status
from keyarch.experiments import list_experiments, run_experiment
from keyarch.experiments.report import Report


def test_lstm_vs_rnn_quick_profile_the_1997_lstm_bridges_the_lag(tmp_path, capsys):
    """Task 2c at q = 20 (6,000 sequences): the 1997 cell learns it and the RNN, trained
    alike, stays at chance, the direction the full profile measures at q = 50 and 100."""
    out = tmp_path / "lstm"
    code, stdout, err = cli_status(capsys, ["experiment", "lstm-vs-rnn", "--out", str(out)])
    assert code == 0, err
    report = json.loads((out / "report.json").read_text())
    accuracy = {r["model"]: r["accuracy"] for r in report["rows"]}
    assert set(accuracy) == {"LSTM 1997", "RNN"}
    assert accuracy["LSTM 1997"] > 0.95 and accuracy["RNN"] < 0.6, accuracy
    # the measured reason: the 1997 cell passes the error back to the signal undiminished
    # at first; through the RNN a millionth of it arrives
    share = {r["model"]: r["signal_share_before"] for r in report["rows"]}
    assert share["LSTM 1997"] > -0.5 and share["RNN"] < -3, share
    assert report["verdict"] == "inconclusive at this budget"  # one seed resolves nothing
    assert (out / "accuracy_vs_lag.png").read_bytes()[:4] == b"\x89PNG"
    text = (out / "report.md").read_text()
    assert "Hochreiter and Schmidhuber 1997" in text and "**Verdict:" in text
    assert "keyarch experiment lstm-vs-rnn" in text and "lstm-vs-rnn:" in stdout
    code, _, err = cli_status(capsys, ["experiment", "lstm-vs-rnn", "--out", str(out)])
    assert code == 2 and "already holds a report" in err  # a report is never replaced


def test_experiments_are_listed_and_bad_names_are_named(capsys):
    assert "lstm-vs-rnn" in list_experiments()
    code, out, _ = cli_status(capsys, ["experiment", "--list"])
    assert code == 0 and "lstm-vs-rnn" in out.split()
    code, _, err = cli_status(capsys, ["experiment", "lstm-vs-rn"])
    assert code == 2 and "unknown experiment 'lstm-vs-rn'" in err
    with pytest.raises(ValueError, match="seeds must be"):
        run_experiment("lstm-vs-rnn", seeds=0)
    with pytest.raises(ValueError, match="verdict must be"):
        Report("x", "c", "s", "u", "quick", 1, [], "r", "maybe", "why")


SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
DATA = Path(os.environ.get("KEYARCH_DATA") or SHARED)
needs_cifar = pytest.mark.skipif(
    not (DATA / "cifar10-jpeg" / "train").is_dir(), reason="needs CIFAR-10 (JPEG): ../shared"
)


@needs_cifar
def test_relu_vs_tanh_quick_profile_relu_reaches_the_bar_first(tmp_path):
    """Figure 1's direction on 5,000 images (batch 32, cuda-convnet's initialisation): ReLU
    reaches 58 % training error before tanh (seeds 0-5, docs/experiments/
    relu-vs-tanh-quick-6-seeds: ReLU 2.6-3.2 epochs, tanh 4.2-5.0; a tanh run that never
    gets there within the 6-epoch cap counts as 6)."""
    report = run_experiment("relu-vs-tanh", out=tmp_path, data_dir=DATA)
    runs = {r["activation"]: r for r in report.rows if r["phase"] == "run"}
    assert runs["relu"]["epochs_to_threshold"], runs  # 58 % reached within 6 epochs
    tanh = runs["tanh"]["epochs_to_threshold"] or 6.0
    assert runs["relu"]["epochs_to_threshold"] < tanh, runs
    report.write(tmp_path)  # the figures appear with their report
    assert (tmp_path / "training_error.png").read_bytes()[:4] == b"\x89PNG"


def test_cifar10_images_names_a_bad_centring():
    from keyarch.experiments.training import cifar10_images

    with pytest.raises(ValueError, match="centring must be 'standardise' or 'mean-image'"):
        cifar10_images(DATA, 10, centring="zca")


def test_relu_vs_tanh_network_starts_from_cuda_convnets_initialisation():
    """layers-19pct.cfg's initW: Gaussians of 0.0001 (conv1) and 0.01 (the rest); zero biases."""
    from keyarch.experiments.relu_vs_tanh import FourLayerNet

    torch.manual_seed(0)
    net = FourLayerNet("tanh")
    layers = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    stds = [layer.weight.std().item() for layer in layers]
    assert stds == pytest.approx([1e-4, 1e-2, 1e-2, 1e-2], rel=0.1)
    assert all(layer.bias.abs().max() == 0 for layer in layers)


@needs_cifar
def test_depth_and_bypass_quick_profile(tmp_path):
    """The quick profile measures the gradients only: the degradation problem (plain-56
    training worse than plain-20) needs more than a CI minute to show (the full profile)."""
    report = run_experiment("depth-and-bypass", out=tmp_path, data_dir=DATA)
    assert not [r for r in report.rows if r["part"] == "B"]
    initial = {r["model"]: r for r in report.rows if r["part"] == "A"}
    assert set(initial) == {"plain20", "resnet20", "plain56", "resnet56"}
    # one norm per weighted layer: 6n + 2 layers (the classifier included), no projections
    assert len(initial["plain56"]["gradient_norms"].split()) == 56
    spread = {name: abs(math.log10(row["first_to_last"])) for name, row in initial.items()}
    # without shortcuts the first layer's gradient drifts from the last's as depth grows
    # (with batch norm it grows: 10x at 20 layers, 2,000x at 56 in the full profile); with
    # them it stays far nearer
    assert spread["plain56"] > spread["plain20"] + 1
    assert spread["resnet56"] < spread["plain56"] - 1
    # the degradation problem is not measured: nothing of the claim is resolved
    assert report.verdict == "inconclusive at this budget" and "the shortcuts keep" in report.reason
    report.write(tmp_path)  # the figures appear with their report
    assert (tmp_path / "gradient_norms.png").read_bytes()[:4] == b"\x89PNG"


def test_lenet5_mnist_quick_profile_and_a_rerun_reads_its_runs_back(tmp_path):
    """No quick setting shows the paper's effect: even the full profile cannot resolve what
    distortions do (within noise over 3 seeds at 20 epochs), and 0.95 % takes the full
    data. So this
    profile checks that both networks learn and that runs are read back, and neither it
    nor docs/experiments.md claims a direction for it."""
    data = DATA if (DATA / "mnist").is_dir() else None  # else the embedded subset
    report = run_experiment("lenet5-mnist", out=tmp_path, data_dir=data)
    errors = {r["model"]: r["test_error_percent"] for r in report.rows}
    assert set(errors) == {"LeNet-5 (paper)", "LeNet-5 modern"}
    assert max(errors.values()) < 15.0, errors  # both learn the digits in 3 epochs (chance: 90)
    assert (tmp_path / "runs" / "lenet-5-paper-seed0" / "summary.json").is_file()
    begin = time.perf_counter()
    again = run_experiment("lenet5-mnist", out=tmp_path, data_dir=data)
    assert again.rows == report.rows and time.perf_counter() - begin < 5  # read, not retrained


def test_captioning_end_to_end_quick_profile(tmp_path):
    """No quick setting shows the paper's effect, which is about fine-tuning a *pretrained*
    CNN: EfficientNet-Lite0 from its ImageNet weights, 64 px, 4 epochs of 1,536 images
    took minutes and left all three schedules below the blind caption's BLEU-4. So this
    profile (a random small encoder) checks the three schedules and the baselines run, and
    neither it nor docs/experiments.md claims a direction for it."""
    report = run_experiment("captioning-end-to-end", out=tmp_path)
    rows = {r["variant"]: r for r in report.rows}
    assert set(rows) == {"frozen", "joint from the start", "two-phase"}
    assert rows["two-phase"]["frozen_epochs"] == 1 and rows["frozen"]["frozen_epochs"] == 4
    assert report.verdict == "inconclusive at this budget"  # one seed resolves nothing
    assert "*reversed*" in report.result and "*blind*" in report.result
    report.write(tmp_path)  # the figures appear with their report
    assert (tmp_path / "val_exact_match.png").read_bytes()[:4] == b"\x89PNG"


@needs_cifar
def test_alexnet_tricks_quick_profile(tmp_path):
    """No quick setting shows the paper's effects: the one the full profile resolves, 10-crop
    testing, is about a point of test error there, two of the quick profile's 500 test
    images, and the others are within noise even in full. So this profile checks that the
    variants train and are scored both ways, and neither it nor docs/experiments.md claims
    a direction for it."""
    report = run_experiment("alexnet-tricks", out=tmp_path, data_dir=DATA)
    rows = {r["variant"]: r for r in report.rows}
    assert set(rows) == {"AlexNet (all choices)", "no dropout"}
    for row in rows.values():  # both learn something in 3 epochs (chance: 90 % error)
        assert row["test_error_percent"] < 88 and row["tencrop_error_percent"] < 88, row
    assert report.verdict == "inconclusive at this budget"  # one seed resolves nothing


@needs_cifar
def test_efficiency_frontier_quick_profile_more_operations_buy_accuracy(tmp_path):
    report = run_experiment("efficiency-frontier", out=tmp_path, data_dir=DATA)
    rows = {r["member"]: r for r in report.rows}
    assert set(rows) == {"LeNet-5 (modern)", "ResNet-20"}
    # counted on the networks themselves: LeNet-5 with 3 input channels, ResNet-20 (He et
    # al.'s 0.27 M parameters)
    assert rows["ResNet-20"]["parameters"] == 269_722
    assert rows["LeNet-5 (modern)"]["parameters"] == 62_006
    assert rows["ResNet-20"]["macs"] > 50 * rows["LeNet-5 (modern)"]["macs"]
    # the direction: sixty times the operations buy accuracy even at this budget
    assert rows["ResNet-20"]["test_top1_percent"] > rows["LeNet-5 (modern)"]["test_top1_percent"]
    assert rows["LeNet-5 (modern)"]["test_top1_percent"] > 15  # both learn: chance is 10
    # one of the three parts can be judged with two members, and one seed resolves nothing
    assert report.verdict == "inconclusive at this budget"
    assert "operations buy accuracy" in report.reason
    assert "| `resnet18` | 69.8 |" in report.result  # the published side, from the cards
    report.write(tmp_path)  # the figures appear with their report
    assert (tmp_path / "accuracy_vs_macs.png").read_bytes()[:4] == b"\x89PNG"


def test_pareto_frontier_keeps_members_more_accurate_than_every_cheaper_one():
    from keyarch.experiments.efficiency_frontier import pareto_frontier

    cost = {"a": 1, "b": 2, "c": 4, "d": 8, "e": 8}
    accuracy = {"a": 30, "b": 25, "c": 50, "d": 49, "e": 55}
    assert pareto_frontier(cost, accuracy) == ["a", "c", "e"]


def test_efficiency_frontier_verdict_checks_each_part_of_the_claim():
    from keyarch.experiments.efficiency_frontier import judge_claim as judge

    macs = {"LeNet": 1e6, "ResNet": 4e7, "VGG-11": 1.5e8, "DenseNet": 3e8}
    parameters = {"LeNet": 6e4, "ResNet": 3e5, "VGG-11": 1e7, "DenseNet": 8e5}
    years = {"LeNet": 1998, "ResNet": 2015, "VGG-11": 2014, "DenseNet": 2016}

    def seeds(means: dict[str, float]) -> dict[str, list[float]]:  # each its own small swing
        swing = {"LeNet": (-0.3, 0.0, 0.3), "ResNet": (0.2, -0.4, 0.1),
                 "VGG-11": (0.0, 0.3, -0.2), "DenseNet": (-0.1, 0.4, -0.4)}  # fmt: skip
        return {label: [m + d for d in swing[label]] for label, m in means.items()}

    accuracy = {"LeNet": 40.0, "ResNet": 50.0, "VGG-11": 35.0, "DenseNet": 52.0}
    verdict, reason = judge(macs, parameters, seeds(accuracy), years)
    assert verdict == "reproduced", reason
    # DenseNet is more accurate but costs more: only ResNet is a candidate, and it is ahead
    assert "dominated by a design of its year or later" in reason
    assert "ResNet less VGG-11, points: +14.93" in reason and "DenseNet less" not in reason
    # only an older design beats VGG: not the claim (later designs match it)
    older = {**accuracy, "ResNet": 30.0, "DenseNet": 45.0}
    verdict, reason = judge(macs, parameters, seeds(older), years)
    assert "ResNet less VGG-11, points: -5.0" in reason and verdict == "not reproduced"
    # returns that grow along the frontier
    growing = {**accuracy, "ResNet": 41.0, "DenseNet": 60.0}
    verdict, reason = judge(macs, parameters, seeds(growing), years)
    assert "the returns diminish" in reason and "against the claim" in reason
    assert verdict == "not reproduced"
    # the same means with seeds that disagree more than the gaps: nothing is resolved
    swings = {"LeNet": (6, -1, -5), "ResNet": (-6, 1, 5), "VGG-11": (6, -1, -5),
              "DenseNet": (0, 10, -10)}  # fmt: skip
    noisy = {label: [m + d for d in swings[label]] for label, m in accuracy.items()}
    verdict, reason = judge(macs, parameters, noisy, years)
    assert verdict == "inconclusive at this budget", reason
    # the cheapest is the most accurate: nothing is bought, nothing on the frontier
    verdict, reason = judge(macs, parameters, seeds({**accuracy, "LeNet": 60.0}), years)
    assert "(the next most accurate) less LeNet (the cheapest)" in reason
    assert "parts could be judged" in reason and verdict == "not reproduced"


def test_spearman_rank_correlation():
    from keyarch.experiments.efficiency_frontier import spearman

    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ties take their average rank: ranks (0.5, 0.5, 2) against (0, 1, 2)
    assert spearman([5, 5, 7], [1, 2, 3]) == pytest.approx(0.8660254)


def test_a_run_made_before_a_field_existed_reads_back_as_its_default():
    import json
    from dataclasses import asdict, replace

    from keyarch.experiments.training import _same_settings
    from keyarch.train.recipes import get_recipe

    recipe = get_recipe("show-and-tell-synthetic")
    saved = json.loads(json.dumps(asdict(recipe)))
    del saved["freeze_encoder_epochs"]  # a run saved before the field was added
    assert _same_settings(saved, recipe)
    assert not _same_settings(saved, replace(recipe, freeze_encoder_epochs=1))
    assert not _same_settings({**saved, "lr": 9.0}, recipe)
    assert not _same_settings({**saved, "retired_field": 1}, recipe)


def test_a_finished_run_is_read_back_only_with_every_setting_that_changes_its_result():
    import json
    from dataclasses import asdict, replace

    from keyarch.experiments.training import _differences
    from keyarch.train import TrainConfig
    from keyarch.train.recipes import get_recipe

    recipe = get_recipe("cifar")
    config = TrainConfig(model="resnet20", dataset="cifar10", recipe=recipe, seed=1,
                         train_limit=5000, test_limit=1000)  # fmt: skip
    arguments = {k: v for k, v in asdict(config).items() if k not in ("log", "recipe")}
    summary = json.loads(
        json.dumps({"recipe": asdict(recipe), "arguments": arguments}, default=str)
    )
    assert _differences(summary, config) == []
    assert _differences(summary, replace(config, train_limit=10_000)) == ["train_limit"]
    assert _differences(summary, replace(config, dataset="cifar100", seed=2)) == [
        "seed", "dataset"]  # fmt: skip
    assert _differences(summary, replace(config, recipe=replace(recipe, lr=0.1))) == ["recipe"]
    del summary["arguments"]["image_size"]  # saved before the setting existed: its default
    assert _differences(summary, config) == []


def test_the_verdict_rule_needs_each_effect_outside_its_spread():
    from keyarch.experiments.report import direction, interval, judge, verdict_from

    clear, inside, against = [2.1, 2.4, 1.9], [0.41, -0.6, 1.4], [-1.0, -1.2, -0.9]
    assert direction(clear) == 1 and direction(inside) == 0 and direction(against) == -1
    # an effect smaller than its spread is not an effect (alexnet-tricks' pooling +0.41 ± 0.83)
    mean, low, high = interval(inside)
    assert low < 0 < high and mean > 0
    assert direction([5.0]) == 0  # one seed has no spread: nothing is resolved
    assert verdict_from([1, 1]) == "reproduced"
    assert verdict_from([1, 0]) == "partly reproduced"
    assert verdict_from([0, 0]) == "inconclusive at this budget"
    assert verdict_from([1, -1]) == "not reproduced"
    assert verdict_from([]) == "inconclusive at this budget"
    # readings that agree because they are coarse are not a spread of zero: tanh capped at
    # 50 epochs and ReLU read to a fifth of an epoch in both seeds
    assert direction([0.2, 0.2]) == 1 and direction([0.2, 0.2], resolution=0.2) == 0
    assert direction([43.8, 43.8], resolution=0.2) == 1
    # a profile that judges fewer parts than the claim has cannot reproduce it
    assert verdict_from([1], parts=2) == "partly reproduced"
    assert verdict_from([1, 1], parts=2) == "reproduced"
    # each part's sentence says where its interval lies
    assert judge("pooling", inside) == (
        0,
        "pooling: +0.40 (95 % interval -2.08 to +2.89 over 3 seeds): within noise",
    )
    assert judge("dropout", against)[1].endswith("-0.65 over 3 seeds): against the claim")
    assert judge("10 crops", clear)[0] == 1 and judge("x", [5.0])[1].endswith(
        "no spread): within noise"
    )
    # the 95 % interval of Student's t: 3 seeds, mean 2, sd 1 -> 2 ± 4.303 / sqrt(3)
    mean, low, high = interval([1.0, 2.0, 3.0])
    assert (mean, round(high - mean, 3)) == (2.0, round(4.303 / 3**0.5, 3))


ROOT = Path(__file__).resolve().parents[1]


def test_docs_experiments_table_is_the_one_made_from_the_reports():
    """docs/experiments.md's table says what each full report says: verdict, seeds and the
    command (regenerate: python -m keyarch.experiments.summary docs/experiments)."""
    from keyarch.experiments.summary import table

    made = table(ROOT / "docs" / "experiments")
    assert "not run" not in made
    assert made in (ROOT / "docs" / "experiments.md").read_text()


def test_a_report_is_judged_again_from_its_rows(tmp_path, capsys):
    """relu-vs-tanh keeps no runs to read back: ``--rejudge`` applies this version's rule to
    the rows of a report, trains nothing and names what is wrong with the folder."""
    import shutil

    folder = tmp_path / "relu"
    shutil.copytree(ROOT / "docs" / "experiments" / "relu-vs-tanh-full", folder)
    report = json.loads((folder / "report.json").read_text())
    report["verdict"], report["reason"] = "not reproduced", "an older rule"
    (folder / "report.json").write_text(json.dumps(report))
    code, out, err = cli_status(capsys, ["experiment", "relu-vs-tanh", "--rejudge", str(folder)])
    assert code == 0, err
    again = json.loads((folder / "report.json").read_text())
    assert again["verdict"] == "reproduced" and "1.8x" in again["reason"]
    assert again["rows"] == report["rows"] and again["command"] == report["command"]
    assert again["note"].startswith("Run into a scratch folder")  # the hand note is kept
    assert again["note"].endswith("with nothing trained again.")
    bad = {  # arguments -> what the one line on stderr names
        ("lenet5-mnist", "--rejudge", str(folder)): "reads its runs back",
        ("lstm-vs-rnn", "--rejudge", str(folder)): "holds a report of 'relu-vs-tanh'",
        ("relu-vs-tanh", "--rejudge", str(tmp_path)): "report.json is missing",
        ("relu-vs-tanh", "--rejudge", ""): "give the folder",
        ("relu-vs-tanh", "--rejudge", str(folder), "--seeds", "3"): "drop --seeds",
    }
    for arguments, message in bad.items():
        code, _, err = cli_status(capsys, ["experiment", *arguments])
        assert code == 2 and message in err and err.count("\n") == 1, (arguments, err)
    (folder / "results.csv").unlink()  # a place the report cannot be written to
    (folder / "results.csv").mkdir()
    code, _, err = cli_status(capsys, ["experiment", "relu-vs-tanh", "--rejudge", str(folder)])
    assert code == 2 and "cannot write the report into" in err and err.count("\n") == 1
    assert not [p for p in folder.iterdir() if ".partial" in p.name]  # nothing half-written
    (folder / "report.md").unlink()
    code, _, err = cli_status(capsys, ["experiment", "relu-vs-tanh", "--rejudge", str(folder)])
    assert code == 2 and "report.md is missing" in err
    for broken in (b"{", b"\xff\xfe", b'{"name": "relu-vs-tanh"}'):  # not JSON, UTF-8, whole
        (folder / "report.json").write_bytes(broken)
        (folder / "report.md").write_text("# relu-vs-tanh\n")
        code, _, err = cli_status(capsys, ["experiment", "relu-vs-tanh", "--rejudge", str(folder)])
        assert code == 2 and "is not a report" in err, err
