"""keyarch export: ONNX with a dynamic batch that onnxruntime runs to the model's outputs;
and every model's outputs unchanged through ONNX, torch.export and torch.compile."""

import re

import pytest
import torch

import keyarch
from conftest import cli_status as status

onnxruntime = pytest.importorskip("onnxruntime")


def test_export_writes_onnx_with_a_dynamic_batch_that_matches_pytorch(tmp_path, capsys):
    path = tmp_path / "resnet20.onnx"
    code, out, _ = status(capsys, ["export", "resnet20", "-o", str(path)])
    assert code == 0 and "random weights" in out
    assert float(re.search(r"matches PyTorch to (\S+)$", out.strip()).group(1)) <= 1e-4
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (1, 5):  # the batch dimension is free
        (logits,) = session.run(None, {"images": torch.randn(batch, 3, 32, 32).numpy()})
        assert logits.shape == (batch, 10)


def test_export_refuses_what_it_cannot_do_in_one_line(tmp_path, capsys):
    taken = tmp_path / "taken.onnx"
    taken.write_bytes(b"keep me")
    for argv, message in (
        (["export", "resnet20", "-o", str(taken)], "exists; keyarch does not overwrite"),
        (["export", "resnet20", "-o", str(tmp_path / "m.txt")], "expected a file ending in .onnx"),
        (
            [
                "export",
                "resnet20",
                "-o",
                str(tmp_path / "m.onnx"),
                "--weights",
                "w",
                "--pretrained",
            ],
            "not both",
        ),  # fmt: skip
        (["export", "resnet2", "-o", str(tmp_path / "m.onnx")], "unknown model 'resnet2'"),
    ):
        code, _, err = status(capsys, argv)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, argv
    assert taken.read_bytes() == b"keep me"


# The same outputs through every route out of eager PyTorch: ONNX in onnxruntime, a
# torch.export program and torch.compile, each on batch sizes other than the one it was
# captured with. Every model in the slow tests, at its card's input size; a few cheap ones
# in the default suite. Differences are relative to the output scale, max(|logits|, 1):
# randomly initialised deep networks give logits of any size.

MODELS = keyarch.list_models(task="image-classification")
# Cheap to export and run: an RBF head, a CIFAR ResNet, and a GoogLeNet and a MobileNetV2
# at 64 pixels instead of their cards' 224.
SMALL = {"lenet5": None, "resnet20": None, "googlenet_paper": 64, "mobilenet_v2_035": 64}
# torch.compile takes 10-20 s even for these (two captures each: eager batch, free batch;
# plain and fused), minutes for an ImageNet model: two in the default suite.
SMALL_COMPILE = ["lenet5", "resnet20"]


def seeded_model(name: str) -> torch.nn.Module:
    """``name`` with seeded random weights and non-trivial batch-norm statistics, in eval.

    The statistics are mild (variances of at least 1): with the wider ones of the
    converter tests a randomly initialised SE-ResNet-101 grows its logits into the
    thousands and is so ill-conditioned that float32 PyTorch itself is 10 % away from
    float64, which no comparison of two float32 runtimes could pass."""
    torch.manual_seed(0)
    model = keyarch.create_model(name)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(1.0, 2.0)
    return model.eval()


def input_size(name: str, model: torch.nn.Module, size: str) -> tuple[int, int, int]:
    pixels = SMALL.get(name) if size == "small" else None
    if pixels is None:
        return tuple(model.card.input_size)
    return (model.in_chans, pixels, pixels)


def relative_difference(got: torch.Tensor, expected: torch.Tensor) -> float:
    assert got.shape == expected.shape
    scale = max(expected.abs().max().item(), 1.0)
    return (got - expected).abs().max().item() / scale


def check_onnx_dynamic_batch(name: str, size: str, tmp_path, record_property) -> None:
    """Exported with a batch of 2 and a free batch dimension, run at 1, 2 and 3."""
    from keyarch.analysis.export import check_onnx, export_onnx

    pytest.importorskip("onnxscript")
    model = seeded_model(name)
    shape = input_size(name, model, size)
    path = export_onnx(model, tmp_path / f"{name}.onnx", shape)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape[0] == "batch"  # not a fixed number
    difference = check_onnx(model, path, shape, batches=(1, 2, 3))
    record_property("relative_difference", difference)
    assert difference <= 1e-4


@pytest.mark.parametrize("name", SMALL)
def test_onnx_export_with_a_dynamic_batch_matches_the_model(name, tmp_path, record_property):
    check_onnx_dynamic_batch(name, "small", tmp_path, record_property)


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_onnx_export_with_a_dynamic_batch_matches_every_model(name, tmp_path, record_property):
    check_onnx_dynamic_batch(name, "default", tmp_path, record_property)


def check_torch_export(name: str, size: str, record_property) -> None:
    """``torch.export`` with a symbolic batch, captured at 2, run at 1 and 3."""
    model = seeded_model(name)
    shape = input_size(name, model, size)
    batch = torch.export.Dim("batch", min=1, max=1024)
    with torch.no_grad():
        program = torch.export.export(
            model, (torch.randn(2, *shape),), dynamic_shapes=({0: batch},)
        )
        exported = program.module()
        difference = 0.0
        for n in (1, 3):
            x = torch.randn(n, *shape)
            difference = max(difference, relative_difference(exported(x), model(x)))
    record_property("relative_difference", difference)
    assert difference <= 1e-5


@pytest.mark.parametrize("name", SMALL)
def test_torch_export_with_a_dynamic_batch_matches_the_model(name, record_property):
    check_torch_export(name, "small", record_property)


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_torch_export_with_a_dynamic_batch_matches_every_model(name, record_property):
    check_torch_export(name, "default", record_property)


def check_torch_compile(name: str, size: str, record_property) -> None:
    """``torch.compile`` (inductor on the CPU) of the model and of ``keyarch.fuse(model,
    compile=True)``, each on batches of 2 and 3 (the second recompiles for a free batch)."""
    model = seeded_model(name)
    shape = input_size(name, model, size)
    worst = {}
    for route, compiled in (
        ("compile", lambda: torch.compile(model)),
        ("fuse", lambda: keyarch.fuse(model, compile=True)),
    ):
        torch._dynamo.reset()  # no recompile limits carried over from other models
        run = compiled()
        worst[route] = 0.0
        with torch.no_grad():
            for n in (2, 3):
                x = torch.randn(n, *shape)
                worst[route] = max(worst[route], relative_difference(run(x), model(x)))
    torch._dynamo.reset()
    for route, difference in worst.items():
        record_property(f"relative_difference_{route}", difference)
    assert worst["compile"] <= 1e-4 and worst["fuse"] <= 1e-4, worst


@pytest.mark.parametrize("name", SMALL_COMPILE)
def test_torch_compile_and_fused_compile_match_the_model(name, record_property):
    check_torch_compile(name, "small", record_property)


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_torch_compile_and_fused_compile_match_every_model(name, record_property):
    check_torch_compile(name, "default", record_property)
