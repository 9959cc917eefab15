"""keyarch export: ONNX with a dynamic batch that onnxruntime runs to the model's outputs."""

import re

import pytest
import torch

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
        (["export", "resnet20", "-o", str(tmp_path / "m.txt")], "must end in .onnx"),
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
