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
from keyarch.extras import requires


def export_onnx(
    model: nn.Module,
    path: str | Path,
    input_size: tuple[int, int, int],
    *,
    overwrite: bool = False,
) -> Path:
    """Write ``model`` (in evaluation mode) to ``path`` as ONNX, batch dimension dynamic.

    The file (and ``PATH.data``, where the exporter puts large weights beside it) is written
    in a scratch folder and moved into place only when complete, ``PATH`` last: Ctrl-C or a
    full disk leaves neither. An existing ``PATH`` or ``PATH.data`` is not replaced unless
    ``overwrite``."""
    from keyarch.outputs import check_file, staged_folder

    path = check_file(path, "-o", suffixes=(".onnx",), overwrite=overwrite,
                      companions=(".data",))  # fmt: skip
    requires("onnxscript", "exporting to ONNX")
    model = model.eval()
    example = torch.randn(2, *input_size)
    batch = torch.export.Dim("batch", min=1, max=4096)
    with staged_folder(path.parent, "-o", overwrite=overwrite, last=(path.name,)) as scratch:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (example,), scratch / path.name, dynamo=True,
                              verbose=False, dynamic_shapes=({0: batch},),
                              input_names=["images"], output_names=["logits"])  # fmt: skip
    return path


def check_onnx(
    model: nn.Module,
    path: str | Path,
    input_size: tuple[int, int, int],
    batches: tuple[int, ...] = (1, 3),
) -> float:
    """Largest |onnxruntime - PyTorch| over batches of 1 and 3 (or ``batches``), divided by
    the largest |PyTorch output| (at least 1)."""
    requires("onnxruntime", "checking an ONNX file against PyTorch")
    import onnxruntime

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
