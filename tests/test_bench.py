"""keyarch bench: memory and depth counted exactly, a resumable results folder whose columns
follow timm's benchmark.py, the charts and report drawn from it, and the CLI's errors."""

import csv
import json

import pytest
import torch
from torch import nn

import keyarch
from conftest import cli_status as status
from keyarch.analysis.bench import COLUMNS, BenchFolder, BenchSettings, run_bench
from keyarch.analysis.bench_report import checked_findings, model_table
from keyarch.analysis.charts import linear_fit, memory_knee
from keyarch.analysis.complexity import count_depth
from keyarch.analysis.memory import TensorMemory, inference_memory, saved_activations

QUICK = BenchSettings(
    threads=1,
    warmup=0,
    repeats=2,
    max_repeats=2,
    min_time=0.0,
    passes=2,
    train_batch_sizes=(2,),
    measure_memory=False,
)


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
    assert list(rows[0]) == list(COLUMNS)
    by_key = {(r["model"], int(r["infer_batch_size"])): r for r in rows}
    assert set(by_key) == {("lenet5", 1), ("lenet5", 2), ("resnet20", 1), ("resnet20", 2)}
    lenet = by_key["lenet5", 2]
    full = keyarch.create_model("lenet5")
    assert int(lenet["params"]) == sum(p.numel() for p in full.parameters())
    assert int(lenet["depth"]) == 7 and float(lenet["infer_gmacs"]) > 0
    assert float(lenet["infer_samples_per_sec"]) == pytest.approx(
        2 / (float(lenet["infer_step_time"]) / 1e3), rel=1e-2
    )
    # QUICK: one call per pass over two passes, the median inside its interval, timestamped
    assert int(lenet["infer_repeats"]) == 2
    low, mid, high = (float(lenet[f"infer_step_time{k}"]) for k in ("_low", "", "_high"))
    assert low <= mid <= high and lenet["infer_measured_at"].startswith("20")
    assert by_key["lenet5", 1]["train_step_time"] == ""  # trained at batch 2 only
    assert float(lenet["train_step_time"]) > 0 and lenet["train_model"].startswith("model")
    assert 0 < float(lenet["infer_peak_fraction"]) < 1
    settings = json.loads((out / "settings.json").read_text())
    run = settings["runs"][0]
    assert run["load_start"] and run["load_end"] and run["peak_macs_per_sec"] > 0
    stamp = (out / "models" / "lenet5.json").stat().st_mtime_ns
    measured, _ = run_bench(["lenet5", "resnet20", "resnet32"], [1, 2], QUICK, out, report=print)
    assert measured == ["resnet32"]  # the others are kept as they were
    assert (out / "models" / "lenet5.json").stat().st_mtime_ns == stamp


def test_an_interrupted_run_continues_from_its_last_visit(tmp_path):
    out = tmp_path / "bench"
    run_bench(["lenet5"], [1, 2], QUICK, out, report=print)
    path = out / "models" / "lenet5.json"
    figures = json.loads(path.read_text())
    kept = figures["timings"]["infer/1"]["visits"][0]
    figures["timings"]["infer/1"]["visits"] = [kept]  # as if stopped in the second pass
    path.write_text(json.dumps(figures))
    assert not [r for r in BenchFolder(out).rows() if r["infer_batch_size"] == 1]
    measured, _ = run_bench(["lenet5"], [1, 2], QUICK, out, report=print)
    assert measured == ["lenet5"]
    again = json.loads(path.read_text())["timings"]
    assert again["infer/1"]["visits"][0] == kept and len(again["infer/1"]["visits"]) == 2
    assert again["infer/2"] == figures["timings"]["infer/2"]  # complete: not timed again


def test_the_training_step_trains_auxiliary_classifiers_too():
    from keyarch.analysis.bench import training_step

    torch.manual_seed(0)
    model = keyarch.create_model("googlenet_paper").train()  # auxiliary classifiers on
    aux = model.aux1.fc2.weight.clone()
    training_step(model, torch.randn(2, 3, 224, 224), torch.tensor([1, 2]))()
    assert not torch.equal(model.aux1.fc2.weight, aux)


def test_a_folder_of_other_settings_machine_or_torch_is_refused(tmp_path):
    run_bench(["lenet5"], [1, 2], QUICK, tmp_path, report=print)
    other = BenchSettings(**{**QUICK.__dict__, "channels_last": True})
    with pytest.raises(ValueError, match=r"taken otherwise \(channels_last False -> True\)"):
        run_bench(["lenet5"], [1, 2], other, tmp_path, report=print)
    more = BenchSettings(**{**QUICK.__dict__, "passes": 3})
    with pytest.raises(ValueError, match=r"passes 2 -> 3"):
        run_bench(["lenet5"], [1, 2], more, tmp_path, report=print)
    settings = json.loads((tmp_path / "settings.json").read_text())
    settings["machine"]["cpu"], settings["machine"]["torch"] = "another CPU", "1.0"
    (tmp_path / "settings.json").write_text(json.dumps(settings))
    with pytest.raises(ValueError, match=r"cpu another CPU -> .*torch 1.0 -> "):
        run_bench(["lenet5"], [1, 2], QUICK, tmp_path, report=print)


def test_charts_report_and_table_are_written_from_the_folder(tmp_path, capsys):
    run_bench(
        ["lenet5", "resnet18", "mobilenet_v2_035"],
        [1, 2],
        BenchSettings(**{**QUICK.__dict__, "train": False}),
        tmp_path / "b",
        report=print,
        command="keyarch bench lenet5 resnet18 mobilenet_v2_035 --batch-sizes 1,2",
    )
    code, out, err = status(
        capsys, ["bench", "--report", str(tmp_path / "b"), "--to", str(tmp_path / "docs")]
    )
    assert code == 0, err
    for figure in (
        "fig1_accuracy_per_network",
        "fig2_accuracy_vs_operations",
        "fig3_time_vs_batch",
        "fig5_memory_vs_batch",
        "fig6_memory_vs_parameters",
        "fig7_operations_vs_time",
        "fig9_accuracy_vs_throughput",
        "fig10_accuracy_density",
        "roofline",
    ):
        for suffix in ("png", "svg"):
            assert (tmp_path / "docs" / "figures" / f"{figure}.{suffix}").stat().st_size > 1000
    svg = (tmp_path / "docs" / "figures" / "fig7_operations_vs_time.svg").read_text()
    assert "resnet18" in svg and "<dc:date>" not in svg  # searchable text, no date
    report = (tmp_path / "docs" / "report.md").read_text()
    assert "`keyarch bench lenet5 resnet18 mobilenet_v2_035 --batch-sizes 1,2`" in report
    assert "Energy (the paper's Figs. 4 and 8): not measured" in report or "joules" in report
    verdicts = ("**holds here**", "**differs here**", "**inconclusive here**")
    assert sum(report.count(v) for v in verdicts) == 7
    assert "## The roofline" in report
    table = (tmp_path / "docs" / "models.md").read_text()
    assert "| resnet18 | 44.6 | 69.8 % | 89.1 % | 11,689,512 | 18 | 1.814 | 2.48 |" in table


def _document(times: dict[str, tuple[float, float]]) -> dict:
    """A bench.json with given step times (batch 1, batch 16), each within 2 %, the real
    counts, and a measured memory curve of 100 MB plus 1 MB per image."""
    from keyarch.analysis.bench import published_accuracy, static_figures

    models = []
    for name, (t1, t16) in times.items():
        figures = static_figures(name, QUICK)
        figures["memory_mb"] = {"1": 100.0, "64": 164.0, "128": 228.0}
        figures["measured_memory"] = {
            "measured_mb": {str(b): 100.0 + b for b in (1, 2, 4, 8, 16, 32, 64)}
        }
        figures["rows"] = [
            {"infer_batch_size": b, "infer_step_time": t, "infer_step_time_low": 0.98 * t,
             "infer_step_time_high": 1.02 * t, "infer_samples_per_sec": b * 1e3 / t}
            for b, t in ((1, t1), (16, t16))
        ]  # fmt: skip
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
    gmacs = {"alexnet": 0.714, "vgg16": 15.47, "resnet50": 4.09, "googlenet": 1.5,
             "resnet18": 1.81, "mobilenet_v2_100": 0.3}  # fmt: skip
    gains = {
        "alexnet": 4,
        "vgg16": 2,
        "mobilenet_v2_100": 1.6,
        "googlenet": 1.5,
        "resnet50": 1.4,
        "resnet18": 1.3,
    }  # in the order of their fully connected share
    times = {n: (10 * g + 1, (10 * g + 1) * 16 / gains[n]) for n, g in gmacs.items()}
    checked = {f["claim"].split(",")[0].split(" (")[0]: f["result"]
               for f in checked_findings(_document(times))}  # fmt: skip
    ops = checked_findings(_document(times))[0]["result"]  # batch 1
    assert ops.verdict == "holds here" and "r^2 = 1.00 over 6 models" in ops.here
    batching = checked["Fully connected layers make AlexNet gain most from batching"]
    assert batching.verdict == "holds here" and "alexnet gains 4.00x" in batching.here
    memory = checked["Memory: flat at small batches"]
    assert memory.verdict == "holds here" and "6 of 6 measured curves linear" in memory.here
    # now VGG-16 gains the most: the verdict turns
    times["vgg16"] = (155.7, 155.7 * 16 / 6)
    checked = {f["claim"].split(",")[0].split(" (")[0]: f["result"]
               for f in checked_findings(_document(times))}  # fmt: skip
    assert checked["Fully connected layers make AlexNet gain most from batching"].verdict == (
        "differs here"
    )
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
    assert "geometric mean over models and batch sizes" in out and "compiled" in out
    rows = list(csv.DictReader((tmp_path / "against-torchvision.csv").open()))
    assert rows[0]["model"] == "resnet18" and float(rows[0]["eager_ratio"]) > 0
    assert rows[0]["fused_reference_layout"] in ("NCHW", "channels-last")
    assert float(rows[0]["compiled_ratio"]) > 0  # both compiled, in a process of their own
    assert float(rows[0]["reference_compiled_ms"]) > 0
    assert float(rows[0]["compiled_difference"]) <= 1e-4


def test_every_reference_is_the_same_network(tmp_path):
    from keyarch.analysis.against import references

    names = references("torchvision") + references("timm")
    assert "resnet50" in names and "xception" in names
    assert "mobilenet_v1_100" not in names  # timm's uses ReLU6: another network
    assert json.dumps(names)  # a plain list of names


def _comparison(model, source, batch, *, eager=1.0, fused=1.0, compiled=None, refused=False):
    """A Comparison whose every round has keyarch at 10 ms and the reference at 10 ms x
    the ratio asked (three rounds, 2 % apart)."""
    from keyarch.analysis.against import Comparison, Paired

    def pair(ratio):
        ours = [0.0100, 0.0102, 0.0098]
        return Paired([t * ratio for t in ours], ours)

    return Comparison(
        model, source, batch, "NCHW", pair(eager), pair(fused), "channels-last", 11.0,
        None, 0.0, calls_per_visit=3, compiled=pair(compiled) if compiled else None,
        compiled_difference=2e-7 if compiled else None, compiled_eager=refused,
    )  # fmt: skip


def test_against_results_are_merged_into_the_folder_not_overwritten(tmp_path):
    from argparse import Namespace

    from keyarch.cli.bench import write_against

    args = Namespace(against="timm", threads=2, dtype="float32", channels_last=False)
    write_against(
        tmp_path,
        args,
        [_comparison("xception", "timm", 1, eager=1.1), _comparison("se_resnet50", "timm", 1)],
    )
    path = write_against(tmp_path, args, [_comparison("se_resnet50", "timm", 1, eager=1.05)])
    rows = list(csv.DictReader(path.open()))
    assert [(r["model"], r["eager_ratio"]) for r in rows] == [
        ("se_resnet50", "1.0500"),
        ("xception", "1.1000"),
    ]
    # every ratio recomputes from the two times stored beside it
    for r in rows:
        assert float(r["reference_ms"]) / float(r["ours_ms"]) == pytest.approx(
            float(r["eager_ratio"]), abs=1e-3
        )
    rounds = json.loads(path.with_suffix(".json").read_text())["rows"]
    assert [e["row"]["model"] for e in rounds] == ["se_resnet50", "xception"]
    assert len(rounds[1]["seconds_per_call"]["eager_ours"]) == 3  # kept from the first write


def test_the_report_gives_the_three_comparisons_with_intervals(tmp_path):
    from argparse import Namespace

    from keyarch.analysis.bench_report import against_section
    from keyarch.cli.bench import write_against

    for source, rows in (
        ("torchvision", [_comparison("resnet50", "torchvision", 8, fused=1.21, compiled=1.44),
                         _comparison("vgg16", "torchvision", 8, fused=1.69, compiled=1.96)]),
        ("timm", [_comparison("xception", "timm", 8, fused=1.44, compiled=3.0, refused=True)]),
    ):  # fmt: skip
        args = Namespace(against=source, threads=2, dtype="float32", channels_last=False)
        write_against(tmp_path, args, rows)
    text = "\n".join(against_section(tmp_path))
    assert "### Against timm" in text and "### Against torchvision" in text
    # (1.21 * 1.69) ** 0.5 = 1.43, (1.44 * 1.96) ** 0.5 = 1.68
    assert "fused 1.4 (1.21-1.69, 2 rows), target >= 1.3: not decided" in text
    assert "compiled 1.7 (1.44-1.96, 2 rows)" in text
    assert "eager 1.00 (1.00-1.00, 2 rows), target >= 1.0: met" in text
    # xception's compiled row ran eagerly: labelled, and left out of the mean over all
    assert "(a frozen graph refused: eager, left out)" in text
    assert "Over all 3 models" in text and "compiled 1.7 (1.44-1.96, 2 rows)" in text
    # an earlier file, measured unlike for like, is named and not averaged
    (tmp_path / "against-old.csv").write_text("model,source,batch,unfused_ratio\nx,old,1,1.2\n")
    assert "was measured before the comparisons were like for like" in "\n".join(
        against_section(tmp_path)
    )


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


def test_measured_memory_tracks_the_count(tmp_path):
    """The process's real peak (resident set growth in a fresh process) against the
    tensors counted: never much below the count (the tensors must be somewhere), above it
    by the allocator and library overheads only, and growing with the batch as the count
    does."""
    from keyarch.analysis.bench import _memory_curve
    from keyarch.analysis.rss import measure_memory

    settings = BenchSettings(threads=1)
    for name in ("resnet18", "mobilenet_v2_035", "vgg11"):
        measured = measure_memory(name, [1, 8], settings)
        assert measured["how"] == "rss-growth"
        counted = _memory_curve(name, settings, [1, 8])
        got = {int(b): mb for b, mb in measured["measured_mb"].items()}
        for batch in (1, 8):
            assert 0.9 * counted[batch] <= got[batch] <= 2.5 * counted[batch] + 64, (name, got)
        growth, counted_growth = got[8] - got[1], counted[8] - counted[1]
        assert 0.7 * counted_growth <= growth <= 3 * counted_growth + 16, (name, got, counted)


def test_img_size_and_amp_are_measured_as_asked(tmp_path):
    settings = BenchSettings(**{**QUICK.__dict__, "img_size": 448, "amp": True, "train": False})
    run_bench(["resnet18"], [1], settings, tmp_path, report=print)
    (row,) = BenchFolder(tmp_path).rows()
    assert row["infer_img_size"] == 448 and row["amp"] is True
    # four times the pixels: four times the convolutions' work (the classifier aside)
    assert row["infer_gmacs"] == pytest.approx((1.814 - 0.000512) * 4 + 0.000512, rel=0.001)
    with pytest.raises(ValueError, match="--amp autocasts float32 models; --dtype is bfloat16"):
        BenchSettings(amp=True, dtype="bfloat16").check()
