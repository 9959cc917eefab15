"""LeNet-5: LeCun, Bottou, Bengio and Haffner, "Gradient-Based Learning Applied to Document
Recognition", Proceedings of the IEEE, 1998. http://yann.lecun.com/exdb/publis/pdf/lecun-98.pdf

Main ideas: local receptive fields, shared weights and spatial subsampling give a network
some invariance to shift and distortion; the whole system, from pixels to class, is
trained end to end by back-propagation. The layers follow section II-B of the paper:
C1, S2, C3 (with Table I's partial connections), S4, C5, F6 and the Euclidean RBF output.

``lenet5`` is the paper's network: 60,000 trainable parameters. ``lenet5_modern`` is the
same shape with today's defaults (ReLU, max pooling, full C3, linear output) to compare.

Deviations: the RBF output returns *negated* squared distances, so that larger means more
likely and ``argmax``/cross-entropy work as with any classifier; cross-entropy on them is
the paper's MAP criterion (equation 9) with the rubbish-class constant j taken to infinity.
The prototypes are our own drawing of the digits on the paper's 7x12 grid (Fig. 3 prints
them but gives no bitmaps).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from keyarch.errors import BadInput
from keyarch.models.base import ImageClassifier, classifier_layer
from keyarch.registry import Metric, Paper, check_count, model_registrar

PAPER = Paper(
    title="Gradient-Based Learning Applied to Document Recognition",
    authors="Yann LeCun, Léon Bottou, Yoshua Bengio, Patrick Haffner",
    year=1998,
    url="http://yann.lecun.com/exdb/publis/pdf/lecun-98.pdf",
    main_ideas=(
        "Convolutions with shared weights and local receptive fields extract the same "
        "feature everywhere; subsampling makes it tolerant to small shifts.",
        "Feature maps alternate convolution (C) and subsampling (S) layers, widening in "
        "channels as they shrink in space.",
        "One system trained end to end by gradient descent replaces hand-made features.",
    ),
    importance=(
        "The template of every CNN that followed; read bank cheques in production in the "
        "1990s, and its MNIST benchmark is still the first test of any new idea."
    ),
)
register = model_registrar(family="LeNet", paper=PAPER, input_size=(1, 32, 32))

# Where the paper lays the network out, and the names here that hold it (the guide
# shows them beside the layers keyarch builds from them).
PAPER_TABLES = {
    "Table I (which S2 maps feed each C3 map)": ("C3_CONNECTIONS",),
    "Figure 2 (the layers)": ("LeNet5.__init__",),
}

# Table I: which of S2's six maps each of C3's sixteen maps is connected to.
C3_CONNECTIONS: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),  # 3 contiguous
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),  # 4 discontinuous
    (0, 1, 2, 3, 4, 5),  # all six
)  # fmt: skip
# The alternative section II-B argues against: every C3 map sees all six S2 maps
# (2,416 parameters instead of 1,516; no symmetry broken by the wiring)
C3_FULL: tuple[tuple[int, ...], ...] = ((0, 1, 2, 3, 4, 5),) * 16
C3_WIRINGS = {"table": C3_CONNECTIONS, "full": C3_FULL}

# Fig. 3: the output RBF prototypes, stylised digits 0-9 on a 7x12 grid, drawn side by
# side ('#' = +1, '.' = -1).
DIGIT_BITMAPS = """
....... ....... ....... ....... ....... ....... ....... ....... ....... .......
..###.. ...#... ..###.. ####### .....#. ####### ...##.. ####### ..###.. ..###..
.#...#. ..##... .#...#. .....#. ....##. #...... ..#.... ......# .#...#. .#...#.
#.....# .#.#... #.....# ....#.. ...#.#. #...... .#..... .....#. #.....# #.....#
#.....# ...#... ......# ...#... ..#..#. #.###.. #...... .....#. .#...#. #.....#
#.....# ...#... .....#. ..###.. .#...#. ##...#. #.###.. ....#.. ..###.. .#...##
#.....# ...#... ....#.. .....#. #....#. ......# ##...#. ....#.. .#...#. ..###.#
#.....# ...#... ...#... ......# ####### ......# #.....# ...#... #.....# ......#
#.....# ...#... ..#.... ......# .....#. ......# #.....# ...#... #.....# .....#.
.#...#. ...#... .#..... #....#. .....#. #....#. .#...#. ..#.... .#...#. ....#..
..###.. .#####. ####### .####.. .....#. .####.. ..###.. ..#.... ..###.. .##....
....... ....... ....... ....... ....... ....... ....... ....... ....... .......
"""


class ScaledTanh(nn.Module):
    """The squashing function of Appendix A: f(a) = 1.7159 tanh(2a/3), so f(+-1) = +-1."""

    amplitude = 1.7159
    slope = 2.0 / 3.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.amplitude * torch.tanh(self.slope * x)


class Subsampling(nn.Module):
    """S2 and S4: each unit adds its four 2x2 inputs, multiplies the sum by a trainable
    coefficient and adds a trainable bias, one pair per feature map (2 parameters a map)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(channels))
        self.bias = nn.Parameter(torch.empty(channels))
        # Appendix A: weights uniform in +-2.4 / fan-in; the fan-in of a unit is 4.
        nn.init.uniform_(self.weight, -2.4 / 4, 2.4 / 4)
        nn.init.uniform_(self.bias, -2.4 / 4, 2.4 / 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        summed = 4.0 * nn.functional.avg_pool2d(x, 2)
        return summed * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class PartiallyConnectedConv(nn.Module):
    """C3: output map ``i`` sees only the input maps listed in ``connections[i]`` (Table I).

    Only the connected kernels are parameters (``weight`` holds them one after another, in
    the table's order); each forward scatters them into a dense kernel whose unconnected
    entries are zero, so the layer runs as one ordinary convolution.
    """

    def __init__(
        self, connections: tuple[tuple[int, ...], ...], kernel_size: int, *, in_channels: int
    ) -> None:
        super().__init__()
        out_channels = len(connections)
        self.dense_shape = (out_channels, in_channels, kernel_size, kernel_size)
        pairs = [(i, j) for i, inputs in enumerate(connections) for j in inputs]
        fan_in = [len(inputs) * kernel_size**2 for inputs in connections]
        self.weight = nn.Parameter(torch.empty(len(pairs), kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels))
        # Appendix A: uniform in +-2.4 / fan-in, the fan-in of each output map's units.
        with torch.no_grad():
            for k, (i, _) in enumerate(pairs):
                self.weight[k].uniform_(-2.4 / fan_in[i], 2.4 / fan_in[i])
            for i in range(out_channels):
                self.bias[i].uniform_(-2.4 / fan_in[i], 2.4 / fan_in[i])
        self.register_buffer(
            "outputs", torch.tensor([i for i, _ in pairs], dtype=torch.long), persistent=False
        )
        self.register_buffer(
            "inputs", torch.tensor([j for _, j in pairs], dtype=torch.long), persistent=False
        )

    def dense_weight(self) -> torch.Tensor:
        """The (out, in, k, k) kernel with zeros where Table I has no connection."""
        dense = self.weight.new_zeros(self.dense_shape)
        return dense.index_put((self.outputs, self.inputs), self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.conv2d(x, self.dense_weight(), self.bias)


class EuclideanRBF(nn.Module):
    """The output layer: y_i = sum_j (x_j - w_ij)^2 against fixed +-1 prototypes.

    Returns -y (see the module docstring): the class whose prototype is nearest wins.
    """

    def __init__(self, prototypes: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("prototypes", prototypes)  # fixed, not trained (section II-B)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (N, 84) against (classes, 84) -> (N, classes)
        distances = (x.unsqueeze(1) - self.prototypes.unsqueeze(0)).pow(2).sum(dim=2)
        return -distances


def digit_prototypes() -> torch.Tensor:
    """The ten 7x12 bitmaps as a (10, 84) tensor of +1 and -1."""
    lines = [line.split() for line in DIGIT_BITMAPS.strip().splitlines()]  # 12 rows x 10 digits
    digits = ["".join(row[digit] for row in lines) for digit in range(10)]
    return torch.tensor([[1.0 if pixel == "#" else -1.0 for pixel in d] for d in digits])


def _lecun_uniform_(module: nn.Module) -> None:
    """Appendix A: weights and biases uniform in +-2.4 / fan-in (C3 does its own)."""
    for conv_or_linear in module.modules():
        if isinstance(conv_or_linear, (nn.Conv2d, nn.Linear)):
            weight = conv_or_linear.weight
            fan_in = weight[0].numel()
            bound = 2.4 / fan_in
            nn.init.uniform_(weight, -bound, bound)
            nn.init.uniform_(conv_or_linear.bias, -bound, bound)


class F6Head:
    """The head of both LeNets: C5's 120 maps of 1x1, F6 (84 units, squashed), ``output``;
    the pre-logits are F6's 84 values."""

    classifier_name = "output"
    head_hidden_size = 84

    def forward_pre_logits(self, features: torch.Tensor) -> torch.Tensor:
        return self.F6_act(self.F6(features.flatten(1)))  # N x 84


class LeNet5(F6Head, ImageClassifier):
    """LeNet-5, section II-B: a 32x32 image in, ten RBF scores out."""

    model_name = "lenet5"
    min_input_size = 32
    fixed_input_size = True

    def __init__(self, *, num_classes: int = 10, in_chans: int = 1, c3: str = "table") -> None:
        super().__init__(num_classes=num_classes, in_chans=in_chans)
        if c3 not in C3_WIRINGS:
            raise BadInput(f"lenet5: c3 must be 'table' (Table I) or 'full', got {c3!r}")
        if num_classes != 10:
            raise BadInput(
                f"lenet5: the RBF output has fixed prototypes for the 10 digits, so "
                f"num_classes must be 10, got {num_classes}; F6's 84 features come from "
                f"forward_head(features, pre_logits=True), and lenet5_modern takes any number"
            )
        squash = ScaledTanh
        self.features = nn.Sequential(
            OrderedDict(
                C1=nn.Conv2d(in_chans, 6, 5),  # N x 6 x 28 x 28
                C1_act=squash(),
                S2=Subsampling(6),  # N x 6 x 14 x 14
                S2_act=squash(),
                C3=PartiallyConnectedConv(C3_WIRINGS[c3], 5, in_channels=6),  # N x 16 x 10 x 10
                C3_act=squash(),
                S4=Subsampling(16),  # N x 16 x 5 x 5
                S4_act=squash(),
                C5=nn.Conv2d(16, 120, 5),  # N x 120 x 1 x 1
                C5_act=squash(),
            )
        )
        self.num_features = 120
        self.F6 = nn.Linear(120, 84)
        self.F6_act = squash()
        self.output = EuclideanRBF(digit_prototypes())
        _lecun_uniform_(self)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)  # N x 120 x 1 x 1

    def reset_classifier(self, num_classes: int) -> None:
        check_count(num_classes, "num_classes", self.model_name)
        raise BadInput(
            f"{self.model_name}: the RBF output's prototypes are fixed bitmaps of the 10 "
            f"digits and cannot be reset to {num_classes} classes; F6's 84 features come from "
            "forward_head(features, pre_logits=True); use lenet5_modern for other heads"
        )


class LeNet5Modern(F6Head, ImageClassifier):
    """LeNet-5's shape with ReLU, max pooling, a fully connected C3 and a linear output."""

    model_name = "lenet5_modern"
    min_input_size = 32
    fixed_input_size = True

    def __init__(self, *, num_classes: int = 10, in_chans: int = 1) -> None:
        super().__init__(num_classes=num_classes, in_chans=in_chans)
        self.features = nn.Sequential(
            OrderedDict(
                C1=nn.Conv2d(in_chans, 6, 5),  # N x 6 x 28 x 28
                C1_act=nn.ReLU(),
                S2=nn.MaxPool2d(2),  # N x 6 x 14 x 14
                C3=nn.Conv2d(6, 16, 5),  # N x 16 x 10 x 10
                C3_act=nn.ReLU(),
                S4=nn.MaxPool2d(2),  # N x 16 x 5 x 5
                C5=nn.Conv2d(16, 120, 5),  # N x 120 x 1 x 1
                C5_act=nn.ReLU(),
            )
        )
        self.num_features = 120
        self.F6 = nn.Linear(120, 84)
        self.F6_act = nn.ReLU()
        self.output = classifier_layer(84, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)  # N x 120 x 1 x 1


@register(
    description="The paper's LeNet-5: scaled tanh, trainable subsampling, Table I's C3, "
    "F6 of 84 units and a Euclidean RBF output with fixed 7x12 digit prototypes.",
    metrics=(
        Metric(
            "MNIST",
            99.05,
            None,
            "paper, section III-C: 0.95 % test error",
            split="MNIST test",
            crops="full image",
        ),
    ),
    deviations=(
        "The RBF output returns negated squared distances (larger = more likely); "
        "cross-entropy on them is the paper's MAP criterion with j -> infinity.",
        "The 7x12 digit prototypes are our drawing; Fig. 3 shows them but gives no bitmaps.",
        "C3 runs as one dense convolution whose unconnected kernels are zero: 240,000 "
        "multiply-accumulates are computed (and counted) where Table I's 1,500 weights need "
        "150,000; the 60,000 trainable parameters are exact.",
    ),
)
def lenet5(*, num_classes: int = 10, in_chans: int = 1, c3: str = "table") -> LeNet5:
    """``c3="full"`` connects every C3 map to all six S2 maps (the alternative Table I
    replaces; 60,900 parameters)."""
    return LeNet5(num_classes=num_classes, in_chans=in_chans, c3=c3)


@register(
    description="LeNet-5's layer sizes with ReLU, max pooling, a fully connected C3 and a "
    "linear output: the usual modern reading of the network.",
    deviations=("Not in the paper: a baseline to compare the paper's choices against.",),
)
def lenet5_modern(*, num_classes: int = 10, in_chans: int = 1) -> LeNet5Modern:
    return LeNet5Modern(num_classes=num_classes, in_chans=in_chans)
