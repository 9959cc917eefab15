"""keyarch bench: memory and depth counted exactly, a resumable results folder whose columns
follow timm's benchmark.py, the charts and report drawn from it, and the CLI's errors."""

import csv
import json

import pytest
import torch
from torch import nn

import keyarch
from conftest import cli_status as status
from keyarch.analysis.bench import COLUMNS, BenchSettings, run_bench
from keyarch.analysis.bench_report import findings, model_table
from keyarch.analysis.charts import linear_fit, memory_knee
from keyarch.analysis.complexity import count_depth
from keyarch.analysis.memory import TensorMemory, inference_memory, saved_activations

QUICK = BenchSettings(threads=1, warmup=0, min_repeats=2, max_repeats=2, min_time=0.0)


def test_memory_counts_every_new_tensor_once_and_follows_its_lifetime():
    with torch.device("meta"):
        model = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 16 * 16, 10)
        )
        for batch in (1, 4):
            memory = inference_memory(model, torch.empty(batch, 3, 16, 16))
            # the convolution's output and the ReLU's are alive together; the flatten is a
            # view of the ReLU's output, the logits are smaller
            assert memory.activations == 2 * 8 * 16 * 16 * 4 * batch
            assert memory.inputs == 3 * 16 * 16 * 4 * batch
            assert memory.weights == sum(p.numel() for p in model.parameters()) * 4
    with TensorMemory() as tracker:
        a = torch.ones(1000)
        b = a.view(10, 100)  # a view: nothing new
        a.add_(1)  # in place: nothing new
        c = a * 2
        assert tracker.live == tracker.peak == 8000
        del a, b
        assert tracker.live == 4000  # a's storage is freed with its last view
        del c
    assert tracker.live == 0 and tracker.peak == 8000


def test_training_keeps_more_activations_than_inference_holds_at_once():
    with torch.device("meta"):
        model = keyarch.create_model("resnet20")
        x = torch.empty(4, 3, 32, 32)
        assert saved_activations(model, x) > 4 * inference_memory(model, x).activations


@pytest.mark.parametrize(
    ("name", "depth"),
    [
        ("lenet5", 7),
        ("alexnet", 8),
        ("vgg16", 16),
        ("googlenet", 22),
        ("resnet50", 50),
        ("inception_v3", 48),
        ("densenet121", 121),
        ("mobilenet_v2_100", 53),
        ("resnet110", 110),
    ],
)
def test_depth_counts_the_layers_with_weights_on_the_longest_path(name, depth):
    with torch.device("meta"):
        assert count_depth(keyarch.create_model(name)) == depth


def test_a_bench_folder_has_timms_columns_and_is_resumed_not_remeasured(tmp_path):
    out = tmp_path / "bench"
    measured, failed = run_bench(["lenet5", "resnet20"], [1, 2], QUICK, out, report=print)
    assert measured == ["lenet5", "resnet20"] and not failed
    with (out / "bench.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[: len(COLUMNS)] == list(COLUMNS)
    for column in (
        "infer_samples_per_sec",
        "infer_step_time",
        "infer_batch_size",
        "infer_img_size",
        "param_count",
        "gmacs",
        "train_step_time",
    ):
        assert column in rows[0]
    by_key = {(r["model"], int(r["infer_batch_size"])): r for r in rows}
    assert set(by_key) == {("lenet5", 1), ("lenet5", 2), ("resnet20", 1), ("resnet20", 2)}
    lenet = by_key["lenet5", 2]
    full = keyarch.create_model("lenet5")
    assert int(lenet["params"]) == sum(p.numel() for p in full.parameters())
    assert int(lenet["depth"]) == 7 and float(lenet["gmacs"]) > 0
    assert float(lenet["infer_samples_per_sec"]) == pytest.approx(
        2 / (float(lenet["infer_step_time"]) / 1e3), rel=1e-2
    )
    assert by_key["lenet5", 1]["train_step_time"] == ""  # batch norm needs batch >= 2
    assert float(lenet["train_step_time"]) > 0
    stamp = (out / "models" / "lenet5.json").stat().st_mtime_ns
    measured, _ = run_bench(["lenet5", "resnet20", "resnet32"], [1, 2], QUICK, out, report=print)
    assert measured == ["resnet32"]  # the others are kept as they were
    assert (out / "models" / "lenet5.json").stat().st_mtime_ns == stamp


def test_the_training_step_trains_auxiliary_classifiers_too():
    from keyarch.analysis.bench import training_step

    torch.manual_seed(0)
    model = keyarch.create_model("googlenet_paper").train()  # auxiliary classifiers on
    aux = model.aux1.fc2.weight.clone()
    training_step(model, torch.randn(2, 3, 224, 224), torch.tensor([1, 2]))()
    assert not torch.equal(model.aux1.fc2.weight, aux)


def test_a_folder_of_other_settings_is_refused(tmp_path):
    run_bench(["lenet5"], [1], QUICK, tmp_path, report=print)
    other = BenchSettings(**{**QUICK.__dict__, "channels_last": True})
    with pytest.raises(ValueError, match=r"other settings \(channels_last False -> True\)"):
        run_bench(["lenet5"], [1], other, tmp_path, report=print)


def test_charts_report_and_table_are_written_from_the_folder(tmp_path, capsys):
    run_bench(
        ["lenet5", "resnet18", "mobilenet_v2_035"],
        [1, 2],
        BenchSettings(**{**QUICK.__dict__, "train": False}),
        tmp_path / "b",
        report=print,
    )
    code, out, err = status(
        capsys, ["bench", "--report", str(tmp_path / "b"), "--to", str(tmp_path / "docs")]
    )
    assert code == 0, err
    for figure in (
        "fig2_accuracy_vs_operations",
        "fig3_time_vs_batch",
        "fig5_memory_vs_batch",
        "fig6_memory_vs_parameters",
        "fig7_operations_vs_time",
        "fig9_accuracy_vs_throughput",
        "fig10_accuracy_density",
    ):
        for suffix in ("png", "svg"):
            assert (tmp_path / "docs" / "figures" / f"{figure}.{suffix}").stat().st_size > 1000
    report = (tmp_path / "docs" / "report.md").read_text()
    assert "Power (the paper's Figs. 4 and 8) is not measured" in report
    assert report.count("**holds here") + report.count("**differs here") >= 3
    table = (tmp_path / "docs" / "models.md").read_text()
    assert "| resnet18 | 44.6 | 69.8 % | 89.1 % | 11,689,512 | 18 |" in table


def _document(times: dict[str, tuple[float, float]]) -> dict:
    """A bench.json with given step times (batch 1, batch 16) and the real counts."""
    from keyarch.analysis.bench import published_accuracy, static_figures

    models = []
    for name, (t1, t16) in times.items():
        figures = static_figures(name, QUICK)
        figures["memory_mb"] = {"1": 100.0, "64": 164.0, "128": 228.0}
        figures["rows"] = [
            {"infer_batch_size": 1, "infer_step_time": t1, "infer_samples_per_sec": 1e3 / t1},
            {"infer_batch_size": 16, "infer_step_time": t16, "infer_samples_per_sec": 16e3 / t16},
        ]
        assert figures["top1"] == published_accuracy(name)[0]
        models.append(figures)
    settings = {
        "device": "cpu",
        "dtype": "float32",
        "channels_last": False,
        "fused": False,
        "threads": 2,
    }
    return {"settings": settings, "machine": {"cpu": "test", "torch": "x"}, "models": models}


def test_findings_give_verdicts_from_the_numbers():
    # time proportional to operations; AlexNet gains 4x from batching, the others 1.5x
    gmacs = {"alexnet": 0.714, "vgg16": 15.47, "resnet50": 4.09, "googlenet": 1.5}
    times = {n: (10 * g + 1, (10 * g + 1) * 16 / 1.5) for n, g in gmacs.items()}
    times["alexnet"] = (8.14, 8.14 * 16 / 4)
    checked = {f["claim"].split(" (")[0]: f for f in findings(_document(times))}
    ops = checked["Operations predict inference time"]
    assert ops["verdict"].startswith("holds here") and "r^2 = 1.000 at batch 1" in ops["here"]
    batching = checked["Fully connected layers make AlexNet speed up most with batching"]
    assert batching["verdict"].startswith("holds here") and "alexnet 4.00x" in batching["here"]
    # now VGG-16 gains the most: the verdict turns
    times["vgg16"] = (155.7, 155.7 * 16 / 6)
    checked = {f["claim"].split(" (")[0]: f for f in findings(_document(times))}
    batching = checked["Fully connected layers make AlexNet speed up most with batching"]
    assert batching["verdict"].startswith("differs here")
    assert "| vgg16 | 527.8 |" in model_table(_document(times))


def test_linear_fit_and_memory_knee():
    fit = linear_fit([1, 2, 3, 4], [3, 5, 7, 9])
    assert (fit.slope, fit.intercept, fit.r2) == pytest.approx((2, 1, 1))
    # 100 MB fixed, 1 MB per image: the activations reach the rest at batch 100
    assert memory_knee({"1": 101.0, "64": 164.0, "128": 228.0}) == pytest.approx(100)


def test_the_cli_says_what_is_missing_in_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    for argv, message in (
        (["bench", "resnet18"], "give --out DIR"),
        (["bench", "--out", str(tmp_path)], "give model names"),
        (["bench", "resnt18", "--out", str(tmp_path)], "unknown model 'resnt18'"),
        (["bench", "lenet5", "--all", "--out", str(tmp_path)], "not both"),
        (["bench", "lenet5", "--batch-sizes", "0,8", "--out", str(tmp_path)], "batch sizes"),
        (["bench", "--report", str(tmp_path / "empty")], "no bench.json; measure first"),
        (["bench", "lenet5", "--against", "torchvision"], "no reference for lenet5"),
        (["bench", "lenet5", "--device", "tpu", "--out", str(tmp_path)], "--device tpu"),
        (["bench", "lenet5", "--compiled", "--out", str(tmp_path)], "--compiled goes with"),
    ):
        code, _, err = status(capsys, argv)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, (argv, err)


def test_paired_models_randomise_the_references_batch_norm_statistics():
    """A fresh network's statistics (0 and 1) can shrink a reference's features to nothing
    (timm's Inception-v4: about 1e-9), leaving an equality check of the classifier's bias."""
    from keyarch.analysis.against import paired_models

    ours, reference = paired_models("resnet18", "torchvision")
    variance = reference.layer4[1].bn2.running_var
    assert variance.min() >= 0.5 and variance.max() <= 1.5 and variance.std() > 0.1
    torch.testing.assert_close(ours.state_dict()["conv5_x.1.bn2.running_var"], variance)


def test_against_a_reference_uses_the_same_weights_and_reports_ratios(capsys, tmp_path):
    code, out, err = status(
        capsys,
        [
            "bench",
            "resnet18",
            "--against",
            "torchvision",
            "--batch-sizes",
            "1",
            "--rounds",
            "3",
            "--no-train",
            "--threads",
            "1",
            "--compiled",
            "--out",
            str(tmp_path),
        ],
    )
    assert code == 0, err
    line = next(line for line in out.splitlines() if line.startswith("resnet18"))
    assert float(line.split()[-1]) <= 1e-4  # the same logits: the same network and weights
    assert "geometric mean over models and batch sizes: unfused" in out and "compiled" in out
    rows = list(csv.DictReader((tmp_path / "against-torchvision.csv").open()))
    assert rows[0]["model"] == "resnet18" and float(rows[0]["unfused_ratio"]) > 0
    assert float(rows[0]["compiled_ratio"]) > 0  # fuse(compile=True), in its own process
    assert float(rows[0]["compiled_difference"]) <= 1e-4


def test_every_reference_is_the_same_network(tmp_path):
    from keyarch.analysis.against import references

    names = references("torchvision") + references("timm")
    assert "resnet50" in names and "xception" in names
    assert "mobilenet_v1_100" not in names  # timm's uses ReLU6: another network
    assert json.dumps(names)  # a plain list of names


def test_against_results_are_merged_into_the_folder_not_overwritten(tmp_path):
    from argparse import Namespace

    from keyarch.analysis.against import Comparison, Ratios
    from keyarch.cli.bench import write_against

    def comparison(model, batch, ratio):
        r = Ratios([ratio])
        return Comparison(model, "timm", batch, 1.0, 1.0, 1.0, r, r, None, 0.0)

    args = Namespace(against="timm", threads=2, dtype="float32", channels_last=False)
    write_against(
        tmp_path, args, [comparison("xception", 1, 1.1), comparison("se_resnet50", 1, 0.9)]
    )
    path = write_against(tmp_path, args, [comparison("se_resnet50", 1, 1.05)])
    rows = list(csv.DictReader(path.open()))
    assert [(r["model"], r["unfused_ratio"]) for r in rows] == [
        ("se_resnet50", "1.050"),
        ("xception", "1.100"),
    ]


def test_the_report_gives_the_geometric_means_per_source_and_over_all(tmp_path):
    from argparse import Namespace

    from keyarch.analysis.against import Comparison, Ratios
    from keyarch.analysis.bench_report import against_section
    from keyarch.cli.bench import write_against

    def comparison(model, source, fused, compiled):
        one = Ratios([1.0])
        return Comparison(model, source, 8, 1.0, 1.0, 1.0, one, Ratios([fused]), None, 0.0,
                          compiled_ms=1.0, compiled=Ratios([compiled]),
                          compiled_difference=2e-7)  # fmt: skip

    for source, rows in (
        ("torchvision", [comparison("resnet50", "torchvision", 1.21, 1.44),
                         comparison("vgg16", "torchvision", 1.69, 1.96)]),
        ("timm", [comparison("xception", "timm", 1.44, 1.5)]),
    ):  # fmt: skip
        args = Namespace(against=source, threads=2, dtype="float32", channels_last=False)
        write_against(tmp_path, args, rows)
    text = "\n".join(against_section(tmp_path))
    assert "### Against timm" in text and "### Against torchvision" in text
    assert (
        "2 models and both batch sizes: unfused 1.00, fused 1.43, fused and compiled 1.68" in text
    )
    # (1.21 * 1.69 * 1.44) ** (1/3) = 1.43; (1.44 * 1.96 * 1.5) ** (1/3) = 1.62
    assert (
        "Over all 3 models with a reference (timm and torchvision), both batch sizes: "
        "unfused 1.00, fused 1.43, compiled 1.62." in text
    )
    assert "| 2.00e-07 |" in text  # the compiled copy's difference is shown


def test_a_report_of_small_models_only_is_drawn_too(tmp_path, capsys):
    settings = BenchSettings(**{**QUICK.__dict__, "train": False})
    run_bench(["lenet5"], [1], settings, tmp_path / "b", report=print)  # no ImageNet top-1
    code, _, err = status(capsys, ["bench", "--report", str(tmp_path / "b")])
    assert code == 0, err
    assert (tmp_path / "b" / "figures" / "fig10_accuracy_density.png").is_file()


def test_bench_threads_default_to_the_cores_this_process_may_run_on(monkeypatch):
    """Not os.cpu_count(): a process pinned to one core of many gets one thread."""
    import argparse
    import os

    from keyarch.cli.bench import _set_threads

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    args = argparse.Namespace(threads=None, device="cpu")
    before = torch.get_num_threads()
    try:
        _set_threads(args)
        assert args.threads == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
