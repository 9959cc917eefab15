"""Export to ONNX with a dynamic batch, checked in onnxruntime.

``torch.onnx.export(..., dynamo=True)`` captures the model with ``torch.export`` and writes
an ONNX graph whose first input dimension (the batch) is free; ``check_onnx`` runs it in
onnxruntime on batches of two sizes and returns the largest difference from the model's
own outputs, relative to their scale.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from keyarch.errors import BadInput


def export_onnx(model: nn.Module, path: str | Path, input_size: tuple[int, int, int]) -> Path:
    """Write ``model`` (in evaluation mode) to ``path`` as ONNX, batch dimension dynamic."""
    path = Path(path)
    if path.suffix != ".onnx":
        raise BadInput(f"-o {path}: the output file must end in .onnx")
    model = model.eval()
    example = torch.randn(2, *input_size)
    batch = torch.export.Dim("batch", min=1, max=4096)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (example,), path, dynamo=True, verbose=False,
                          dynamic_shapes=({0: batch},), input_names=["images"],
                          output_names=["logits"])  # fmt: skip
    return path


def check_onnx(
    model: nn.Module,
    path: str | Path,
    input_size: tuple[int, int, int],
    batches: tuple[int, ...] = (1, 3),
) -> float:
    """Largest |onnxruntime - PyTorch| over batches of 1 and 3 (or ``batches``), divided by
    the largest |PyTorch output| (at least 1)."""
    try:
        import onnxruntime
    except ImportError:
        raise BadInput("checking an ONNX file needs onnxruntime: pip install onnxruntime") from None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for batch in batches:
        x = torch.randn(batch, *input_size)
        (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
        with torch.no_grad():
            expected = model.eval()(x)
        scale = max(expected.abs().max().item(), 1.0)
        if got.shape != tuple(expected.shape):
            raise BadInput(f"{path}: onnxruntime gave shape {got.shape} for a batch of "
                           f"{batch}, PyTorch {tuple(expected.shape)}")  # fmt: skip
        worst = max(worst, (torch.from_numpy(got) - expected).abs().max().item() / scale)
    return worst
