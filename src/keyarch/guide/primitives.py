"""The primitives the architectures are made of, as the seed guide introduces them: the
fully connected layer, convolution, pooling, the RNN cell and the LSTM cell. Each names
the keyarch layer that implements it; the equations are the ones in that layer's own
docstring, read from the code, so the page says what the code computes."""

from __future__ import annotations

import inspect

from keyarch.guide.render import Page


def _docstring(thing) -> list[str]:
    """The docstring's lines, its reStructuredText literals shown as plain text."""
    return inspect.cleandoc(inspect.getdoc(thing) or "").replace("``", "").splitlines()


def _equations(module, start: str, stop: str) -> list[str]:
    """The lines of ``module``'s docstring from the one starting with ``start`` up to the
    one starting with ``stop``."""
    lines = _docstring(module)
    first = next(i for i, line in enumerate(lines) if line.strip().startswith(start))
    last = next(i for i, line in enumerate(lines[first + 1 :], first + 1)
                if line.strip().startswith(stop))  # fmt: skip
    return [line.strip() for line in lines[first:last] if line.strip()]


def primitives_page(guide) -> Page:
    from torch import nn

    from keyarch.layers import conv_norm_act, recurrent
    from keyarch.models import lenet

    page = Page("primitives", "The primitives")
    page.para("The blocks every architecture in this guide is assembled from, with the keyarch "
              "layer that implements each.")  # fmt: skip
    page.heading("Fully connected layer")
    page.image(guide.figure(page, "fully-connected"), "four inputs wired to three outputs")
    page.para("Every output is a weighted sum of every input plus a bias, y = W x + b: "
              "LeNet-5's F6, AlexNet's and VGG's classifiers, every network's last layer. "
              f"keyarch uses PyTorch's {nn.Linear.__name__} (torch.nn.Linear); a layer of n "
              "inputs and m outputs has n x m + m parameters and n x m "
              "multiply-accumulates.")  # fmt: skip
    page.heading("Convolution")
    page.image(
        guide.figure(page, "convolution"), "a 3x3 window of a 6x6 input gives one output value"
    )
    page.para("A small filter slides over the image: each output is a weighted sum of a local "
              "window (local receptive fields), and the same weights serve every position "
              "(shared weights), so a feature is found wherever it is. A k x k convolution "
              "from C to D channels has k x k x C x D weights; on an H x W output it costs "
              "H x W x k x k x C x D multiply-accumulates. Output side: "
              "(input + 2 x padding - k) / stride + 1.")  # fmt: skip
    page.para(f"keyarch.layers.{conv_norm_act.ConvNormAct.__name__}: "
              + " ".join(_docstring(conv_norm_act.ConvNormAct)[:1]))  # fmt: skip
    page.heading("Pooling (subsampling)")
    page.image(guide.figure(page, "pooling"), "2x2 max pooling of a 4x4 map")
    page.para("A window's maximum (max pooling) or mean (average pooling) replaces it, "
              "shrinking the map and making the features tolerant to small shifts. "
              "LeNet-5's subsampling layers learn a scale and a bias per map: "
              f"keyarch.models.lenet.{lenet.Subsampling.__name__}: "
              + " ".join(_docstring(lenet.Subsampling)))  # fmt: skip
    page.heading("The RNN cell")
    page.image(guide.figure(page, "rnn-cell"), "the RNN cell and its state fed back")
    page.para("A recurrent layer applies one learned transformation at every time step, to the "
              "step's input and to its own previous state (Elman 1990). "
              f"keyarch.layers.recurrent.{recurrent.RNNCell.__name__}: "
              + " ".join(_docstring(recurrent.RNNCell)))  # fmt: skip
    page.code(_equations(recurrent, "Elman (1990)", "Hochreiter"))
    page.heading("The LSTM cell")
    page.image(guide.figure(page, "lstm-cell"), "the LSTM cell's gates and cell state")
    page.para(f"keyarch.layers.recurrent.{recurrent.LSTMCell.__name__}: "
              + " ".join(_docstring(recurrent.LSTMCell))
              + " The gates, as the code computes them (its module docstring):")  # fmt: skip
    page.code(_equations(recurrent, "i_t = ", "The 1997 cell"))
    page.para(f"keyarch.layers.recurrent.{recurrent.LSTM1997Cell.__name__}: "
              + " ".join(_docstring(recurrent.LSTM1997Cell)))  # fmt: skip
    page.heading("The recurrent models keyarch trains")
    names = [n for family in ("RNN", "LSTM") for n in guide.families.get(family, [])]
    guide.family_table(page, names)
    from keyarch.guide.build import cite
    from keyarch.registry import model_card

    for name in names:
        page.para(f"{name}: ", *cite(model_card(name)), ".")
    page.heading("Experiments")
    page.table(["experiment", "claim", "verdict"], guide.experiment_rows(page, "primitives"))
    return page
