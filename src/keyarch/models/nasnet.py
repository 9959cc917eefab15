"""NASNet-A: Barret Zoph, Vijay Vasudevan, Jonathon Shlens, Quoc V. Le, "Learning Transferable
Architectures for Scalable Image Recognition", CVPR 2018 (arXiv 2017).
https://arxiv.org/abs/1707.07012

Main ideas: search for a *cell*, not a whole network. An RNN controller, trained with
reinforcement learning (Proximal Policy Optimisation), proposes a normal cell (keeps the
feature map's size) and a reduction cell (halves it) on CIFAR-10; the ImageNet network
stacks the same cells, more of them and wider. Each cell is B = 5 blocks; each block
applies an operation to each of two hidden states and adds the results (Figure 3).

The two cells the search found (Figure 4) are data here, ``NORMAL_CELL`` and
``REDUCTION_CELL``, written as the released TF-slim code lists them (``nasnet_utils.py``:
operations, hidden-state indices, used states); one generic ``Cell`` interprets them.
``NASNetConfig`` is the paper's "N @ F" notation (N normal cells per stack, F filters in
the penultimate layer; Tables 2 and 3); the ImageNet body is Figure 2's: a 3x3 stride-2
convolution, two reduction cells, then three stacks of N normal cells with a reduction
cell between them.

Appendix A.4 gives two details the figures do not show, and both are built: every
convolution is applied in ReLU-convolution-BN order, and each separable convolution is
applied twice (ReLU, separable conv, BN, ReLU, separable conv, BN; only the first is
strided). Appendix A.7's auxiliary classifier ("2/3 of the way up", loss weight 0.4) is
``aux_logits=True``.

Deviations (also on the model card, ``DEVIATIONS``): the released model, which timm's
``nasnetalarge`` ports, differs from the paper's text and figures; the network follows
the released model so that its weights load:

* What a cell's output concatenates: the code's ``used_hiddenstates`` marks states as
  unused that blocks do read. The normal cell also concatenates h_{i-1} (6 x filters
  channels; Figure 4 shows the five blocks), the reduction cell also block 2, which block
  4 reads (4 x filters; Figure 4 shows blocks 3 to 5). Known since 2018:
  tensorflow/models pull request 5108, johannesu/NASNet-keras issue 6.
* h_{i-1} passes through a factorised reduction (ReLU; two 1x1 convolutions on the
  input and on the input shifted by one pixel, both sampled at stride 2; concatenated;
  BN) where its size differs from h_i's; otherwise h_i and h_{i-1} pass through ReLU, a
  1x1 convolution and BN (A.4's order) before the blocks see them.
* The first stem cell has no h_{i-1}: both its inputs are the stem convolution's output,
  the second taken as it is (no ReLU, no 1x1), so its separable convolutions map the
  stem's 32 or 96 channels straight to the cell's filters.
* NASNet-A Large (``skip_reduction_input``): the normal cell after a reduction cell takes
  as h_{i-1} the reduction cell's own h_{i-1}, not the last normal cell's output; Mobile
  takes the latter.
* Strided operations pad like TensorFlow's "SAME" (more on the bottom and right at even
  sizes); the stem convolution pads nothing. The strided 3x3 average pools count the
  zero padding in the average (as timm's port does; TensorFlow leaves it out), the
  stride-1 ones do not.
* Drop path (ScheduledDropPath) is optional and off by default: ``drop_path=0.3`` is the
  released Large's (keep probability 0.7; Mobile trains without), scaled by the cell's
  depth and grown linearly over training (``schedule_drop_path(fraction)``, which
  keyarch's training loop calls before every step). Appendix A.5 drops each path; the
  released code, and keyarch, never drop an identity operation's output.
* The auxiliary head's last convolution covers the whole map it sees at the card's input
  size (4x4 for Mobile at 224, 6x6 for Large at 331); at other sizes the pooled map is
  first brought to that size adaptively. Dropout before the classifier is off by default
  (Appendix A.7 and the released models use 0.5; the recipes pass it).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from keyarch.errors import BadInput
from keyarch.layers import ConvNormAct, SeparableConv2d, fan_out_normal_
from keyarch.models.base import (
    AuxiliaryClassifiersMixin,
    GlobalPoolHead,
    ImageClassifier,
    classifier_layer,
)
from keyarch.registry import IMAGENET_VAL, SINGLE_CROP, Metric, Paper, model_registrar

PAPER = Paper(
    title="Learning Transferable Architectures for Scalable Image Recognition",
    authors="Barret Zoph, Vijay Vasudevan, Jonathon Shlens, Quoc V. Le",
    year=2017,
    url="https://arxiv.org/abs/1707.07012",
    main_ideas=(
        "Search space: the network is fixed as stacks of two searched cells, a normal cell "
        "and a reduction cell, each of B = 5 blocks that apply two operations (separable "
        "convolutions, pooling, identity, ...) to two earlier hidden states and add them.",
        "The search runs on CIFAR-10 and transfers: the same cells, stacked deeper and "
        "wider ('N @ F'), give the ImageNet networks from mobile size to 88.9 M parameters.",
        "An RNN controller samples cells and is trained by reinforcement learning "
        "(Proximal Policy Optimisation) on the child networks' validation accuracy; "
        "ScheduledDropPath regularises the resulting networks.",
        "Appendix A.4: every convolution runs in ReLU-convolution-BN order and each "
        "separable convolution is applied twice; A.7: an auxiliary classifier 2/3 of the "
        "way up (loss weight 0.4), dropout 0.5, and evaluation with an exponential moving "
        "average of the weights (0.9999).",
    ),
    importance=(
        "The first searched architecture to beat the best human-designed ImageNet networks: "
        "82.7% top-1 with 9 billion fewer FLOPS than the best of them (abstract), and 74.0% "
        "at mobile size, 3.1% above equally sized mobile networks. Its cell-based search "
        "space is the one later NAS work (AmoebaNet, ENAS, DARTS) reuses."
    ),
)
DEVIATIONS = (
    "Follows the released TF-slim model (which timm's nasnetalarge ports) where it differs "
    "from Figure 4: the normal cell's output also concatenates h_{i-1} (6 x filters "
    "channels, the figure shows the 5 blocks) and the reduction cell's also block 2, which "
    "block 4 reads (4 x filters, the figure shows blocks 3 to 5); tensorflow/models PR 5108.",
    "h_{i-1} passes through a factorised reduction (two 1x1 convolutions on the even and "
    "the odd pixels, concatenated) where it is twice h_i's size: the released code's, not "
    "the paper's.",
    "The first stem cell takes the stem convolution's output as both h_i and h_{i-1}, the "
    "latter unadjusted (its separable convolutions map the stem's channels to the cell's).",
    "Large only: the normal cell after a reduction cell takes the reduction cell's own "
    "h_{i-1} as its h_{i-1} (skip_reduction_layer_input); Mobile takes the last normal cell.",
    "Strided operations pad as TensorFlow's 'SAME' (the odd pixel at the bottom and right); "
    "strided 3x3 average pools count the zero padding, as timm's port does (TensorFlow does "
    "not); the stride-1 ones do not count it.",
    "Drop path (ScheduledDropPath) is off by default: drop_path=0.3 is the released Large's "
    "(Mobile trains without), scaled by the cell's depth and grown linearly over training "
    "(keyarch's loop calls model.schedule_drop_path before every step). Appendix A.5 drops "
    "each path; the released code and keyarch never drop an identity operation's output.",
    "The auxiliary classifier (Appendix A.7, aux_logits=True) is off by default; its last "
    "convolution covers the whole map at the card's input size, and other sizes are pooled "
    "to that map adaptively. Dropout before the classifier is off by default (A.7 and the "
    "released models use 0.5; the recipes pass dropout=0.5).",
)
register = model_registrar(
    family="NASNet", paper=PAPER, input_size=(3, 224, 224), deviations=DEVIATIONS
)

# Where the paper lays the network out, and the names here that hold it (the guide
# shows them beside the layers keyarch builds from them).
PAPER_TABLES = {
    "Figure 4 (the cells)": ("NORMAL_CELL", "REDUCTION_CELL"),
    "Tables 2 and 3 (N @ penultimate filters)": ("MOBILE", "LARGE"),
}

H_I, H_PREV = "h_i", "h_i-1"  # the previous cell's output, and the one before it
BN_EPS = 1e-3  # the released TensorFlow models'


@dataclass(frozen=True)
class Block:
    """One block of Figure 3: an (operation, input) pair on each side, then ``combine``.
    Inputs are ``h_i``, ``h_i-1`` or an earlier block's output (``block1`` ...)."""

    left: tuple[str, str]
    right: tuple[str, str]
    combine: str = "add"  # NASNet-A's cells only add


@dataclass(frozen=True)
class CellSpec:
    """A searched cell: its blocks, which hidden states its output concatenates, and the
    stride of the operations that read the cell's inputs (2 in a reduction cell)."""

    blocks: tuple[Block, ...]
    output: tuple[str, ...]
    stride: int


# Figure 4, left: the normal cell (nasnet_utils.NasNetANormalCell).
NORMAL_CELL = CellSpec(
    blocks=(
        Block(("sep_5x5", H_I), ("sep_3x3", H_PREV)),
        Block(("sep_5x5", H_PREV), ("sep_3x3", H_PREV)),
        Block(("avg_3x3", H_I), ("identity", H_PREV)),
        Block(("avg_3x3", H_PREV), ("avg_3x3", H_PREV)),
        Block(("sep_3x3", H_I), ("identity", H_I)),
    ),
    output=(H_PREV, "block1", "block2", "block3", "block4", "block5"),  # the figure: no h_i-1
    stride=1,
)
# Figure 4, right: the reduction cell (nasnet_utils.NasNetAReductionCell).
REDUCTION_CELL = CellSpec(
    blocks=(
        Block(("sep_5x5", H_I), ("sep_7x7", H_PREV)),
        Block(("max_3x3", H_I), ("sep_7x7", H_PREV)),
        Block(("avg_3x3", H_I), ("sep_5x5", H_PREV)),
        Block(("identity", "block2"), ("avg_3x3", "block1")),
        Block(("sep_3x3", "block1"), ("max_3x3", H_I)),
    ),
    output=("block2", "block3", "block4", "block5"),  # the figure: no block2
    stride=2,
)


@dataclass(frozen=True)
class NASNetConfig:
    """The paper's "N @ F" (Tables 2 and 3) and what the released models add to it."""

    normal_cells: int  # N: normal cells per stack (three stacks)
    penultimate_filters: int  # F: the last cell's output channels, 24 x the first stack's filters
    stem_filters: int  # the 3x3 stride-2 convolution (TF-slim: 32 x stem_multiplier)
    skip_reduction_input: bool  # after a reduction cell, h_i-1 is the reduction cell's h_i-1


MOBILE = NASNetConfig(normal_cells=4, penultimate_filters=1056, stem_filters=32,
                      skip_reduction_input=False)  # fmt: skip  # Table 3: 4 @ 1056
LARGE = NASNetConfig(normal_cells=6, penultimate_filters=4032, stem_filters=96,
                     skip_reduction_input=True)  # fmt: skip  # Table 2: 6 @ 4032


def _same_padding(size: int, kernel_size: int, stride: int) -> tuple[int, int]:
    total = max((math.ceil(size / stride) - 1) * stride + kernel_size - size, 0)
    return total // 2, total - total // 2  # TensorFlow puts the odd pixel at the end


def pad_same(x: torch.Tensor, kernel_size: int, stride: int, value: float = 0.0) -> torch.Tensor:
    """TensorFlow's "SAME" padding for a strided window: the output is ceil(size / stride)."""
    top, bottom = _same_padding(x.shape[-2], kernel_size, stride)
    left, right = _same_padding(x.shape[-1], kernel_size, stride)
    return F.pad(x, (left, right, top, bottom), value=value)


torch.fx.wrap("pad_same")  # a leaf for fx: the padding depends on the input's size


class ReluConvBn(nn.Sequential):
    """ReLU, 1x1 convolution, batch norm: how the released cells adjust their inputs."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.act = nn.ReLU()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=BN_EPS)


class FactorizedReduction(nn.Module):
    """h_{i-1} to half its size without losing every other pixel: ReLU, then two 1x1
    convolutions, one on the even pixels and one on the odd (the input shifted by one
    pixel, zero-padded at the end), each giving half the filters; concatenated; BN."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.act = nn.ReLU()
        self.path1_conv = nn.Conv2d(in_channels, out_channels // 2, 1, bias=False)
        self.path2_conv = nn.Conv2d(in_channels, out_channels // 2, 1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(x)  # N x C x H x W
        path1 = self.path1_conv(x[:, :, ::2, ::2])  # N x F/2 x ceil(H/2) x ceil(W/2)
        shifted = F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
        path2 = self.path2_conv(shifted[:, :, ::2, ::2])  # N x F/2 x ceil(H/2) x ceil(W/2)
        return self.bn(torch.cat([path1, path2], 1))  # N x F x ceil(H/2) x ceil(W/2)


class SeparableOperation(nn.Module):
    """The "sep k x k" of Figure 4, applied twice: ReLU, separable convolution (strided in a
    reduction cell), BN, ReLU, separable convolution, BN."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride
        padding = kernel_size // 2 if stride == 1 else 0  # strided: pad_same in forward
        self.act1 = nn.ReLU()
        self.separable1 = SeparableConv2d(in_channels, out_channels, kernel_size,
                                          stride=stride, padding=padding)  # fmt: skip
        self.bn1 = nn.BatchNorm2d(out_channels, eps=BN_EPS)
        self.act2 = nn.ReLU()
        self.separable2 = SeparableConv2d(out_channels, out_channels, kernel_size,
                                          padding=kernel_size // 2)  # fmt: skip
        self.bn2 = nn.BatchNorm2d(out_channels, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act1(x)
        if self.stride != 1:
            x = pad_same(x, self.kernel_size, self.stride)
        x = self.bn1(self.separable1(x))
        return self.bn2(self.separable2(self.act2(x)))


class Pool(nn.Module):
    """The "avg 3x3" or "max 3x3" of Figure 4. At stride 1 the average leaves the padding
    out; at stride 2 the input is padded as TensorFlow's "SAME" (minus infinity for the
    maximum, zeros for the average, which count, as in timm's port)."""

    def __init__(self, kind: str, stride: int) -> None:
        super().__init__()
        self.kind, self.stride = kind, stride
        padding = 1 if stride == 1 else 0
        self.pool = (
            nn.MaxPool2d(3, stride=stride, padding=padding)
            if kind == "max"
            else nn.AvgPool2d(3, stride=stride, padding=padding, count_include_pad=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride != 1:
            x = pad_same(x, 3, self.stride, value=-math.inf if self.kind == "max" else 0.0)
        return self.pool(x)


def operation(name: str, in_channels: int, out_channels: int, stride: int) -> nn.Module:
    """One operation of the search space (section 3's list), as NASNet-A uses them."""
    if name.startswith("sep_"):
        return SeparableOperation(in_channels, out_channels, int(name[-1]), stride)
    if in_channels != out_channels or (name == "identity" and stride != 1):
        # The released code would add a 1x1 convolution here; NASNet-A never needs one.
        raise BadInput(
            f"NASNet cell: operation {name!r} cannot map {in_channels} channels to "
            f"{out_channels} at stride {stride}; give it the cell's filters"
        )
    if name == "identity":
        return nn.Identity()
    if name in ("avg_3x3", "max_3x3"):
        return Pool(name[:3], stride)
    raise BadInput(f"NASNet cell: unknown operation {name!r}; expected sep_3x3, sep_5x5, "
                     "sep_7x7, avg_3x3, max_3x3 or identity")  # fmt: skip


class DropPath(nn.Module):
    """ScheduledDropPath: in training, an operation's output is zeroed for
    whole samples with probability ``drop_rate * progress`` (the rest scaled up to keep
    the mean); ``progress``, the fraction of training done, makes the rate grow linearly
    over training as the paper's schedule does. Off (identity) in evaluation."""

    def __init__(self, drop_rate: float) -> None:
        super().__init__()
        self.drop_rate = drop_rate
        self.progress = 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rate = self.drop_rate * self.progress
        if not self.training or rate == 0.0:
            return x
        keep = x.new_empty(x.shape[0], 1, 1, 1).bernoulli_(1.0 - rate)  # N x 1 x 1 x 1
        return x * keep / (1.0 - rate)


class CellBlock(nn.Module):
    """One block: ``left`` and ``right`` operations, whose results are added; drop path
    on each operation's output but the identity's (as the released code does)."""

    def __init__(self, left: nn.Module, right: nn.Module, drop_rate: float = 0.0) -> None:
        super().__init__()
        self.left, self.right = left, right
        self.drop_path = DropPath(drop_rate)

    def forward(self, left_input: torch.Tensor, right_input: torch.Tensor) -> torch.Tensor:
        left, right = self.left(left_input), self.right(right_input)
        if not isinstance(self.left, nn.Identity):
            left = self.drop_path(left)
        if not isinstance(self.right, nn.Identity):
            right = self.drop_path(right)
        return left + right


class Cell(nn.Module):
    """A normal or reduction cell built from its ``CellSpec``. h_i goes through
    ``conv_h_i`` (ReLU, 1x1 to the cell's filters, BN); h_{i-1} through ``adjust_h_prev``
    to h_i's shape (a factorised reduction where it is twice the size, else ReLU-1x1-BN;
    the first stem cell passes it as it is). Then each block adds its two operations'
    results; the output concatenates ``spec.output``."""

    def __init__(self, spec: CellSpec, filters: int, h_i_channels: int, h_prev_channels: int,
                 adjust_h_prev: str, drop_rate: float = 0.0) -> None:  # fmt: skip
        super().__init__()
        self.spec = spec
        self.conv_h_i = ReluConvBn(h_i_channels, filters)
        if adjust_h_prev == "factorized_reduction":
            self.adjust_h_prev = FactorizedReduction(h_prev_channels, filters)
            h_prev_channels = filters
        elif adjust_h_prev == "1x1":
            self.adjust_h_prev = ReluConvBn(h_prev_channels, filters)
            h_prev_channels = filters
        else:  # "none": the first stem cell's h_{i-1} is the stem convolution's output
            self.adjust_h_prev = nn.Identity()
        channels = {H_I: filters, H_PREV: h_prev_channels}
        for number, block in enumerate(spec.blocks, start=1):
            (left_op, left_in), (right_op, right_in) = block.left, block.right
            if block.combine != "add":
                raise BadInput(f"NASNet cell: combination {block.combine!r}; only 'add'")

            def build(name: str, source: str) -> nn.Module:
                stride = spec.stride if source in (H_I, H_PREV) else 1  # inputs only
                return operation(name, channels[source], filters, stride)

            self.add_module(f"block{number}", CellBlock(
                build(left_op, left_in), build(right_op, right_in), drop_rate))  # fmt: skip
            channels[f"block{number}"] = filters
        self.out_channels = sum(channels[name] for name in spec.output)

    def forward(self, h_i: torch.Tensor, h_prev: torch.Tensor) -> torch.Tensor:
        states = {H_I: self.conv_h_i(h_i), H_PREV: self.adjust_h_prev(h_prev)}
        for number, block in enumerate(self.spec.blocks, start=1):
            cell_block = getattr(self, f"block{number}")
            states[f"block{number}"] = cell_block(states[block.left[1]], states[block.right[1]])
        return torch.cat([states[name] for name in self.spec.output], 1)


class AuxiliaryHead(nn.Module):
    """Appendix A.7's auxiliary classifier, as the released code builds it
    (``_build_aux_head``): on the ReLU of the cell before the second reduction cell, a 5x5
    stride-3 average pool, a 1x1 convolution to 128, BN, ReLU, a convolution to 768 whose
    kernel covers the whole remaining map (4x4 for Mobile at 224, 6x6 for Large at 331),
    BN, ReLU and a linear classifier. Other input sizes pool adaptively to that map first,
    so that the kernel still covers it (an identity at the card's size)."""

    def __init__(self, in_channels: int, map_size: int, num_classes: int) -> None:
        super().__init__()
        self.map_size = map_size
        self.act = nn.ReLU()
        self.pool = nn.AvgPool2d(5, stride=3)
        self.proj = ConvNormAct(in_channels, 128, 1, padding=0, batch_norm=True, bn_eps=BN_EPS)
        self.conv = ConvNormAct(128, 768, map_size, padding=0, batch_norm=True, bn_eps=BN_EPS)
        self.fc = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(x)  # N x C x 14 x 14 (Mobile at 224), 21 x 21 (Large at 331)
        if min(x.shape[-2:]) >= 5:
            x = self.pool(x)  # N x C x 4 x 4, 6 x 6
        x = F.adaptive_avg_pool2d(x, self.map_size)  # an identity at the card's size
        x = self.conv(self.proj(x))  # N x 768 x 1 x 1
        return self.fc(x.flatten(1))


class NASNetA(AuxiliaryClassifiersMixin, GlobalPoolHead, ImageClassifier):
    """Figure 2 (ImageNet): a 3x3 stride-2 convolution, two reduction cells, then
    [N normal cells, reduction cell] x 2 and N normal cells; ReLU, global average pooling,
    dropout, one linear layer. Cells are named as in the released checkpoints. With
    ``aux_logits`` an auxiliary head on the cell before the second reduction cell (2/3 of
    the way up, Appendix A.7) adds its logits in training, weighted 0.4."""

    model_name = "nasnet_a"
    min_input_size = 3  # the stem convolution pads nothing; the "SAME" strides never fail
    auxiliary_classifiers = {"aux_head": "fc"}

    def __init__(self, config: NASNetConfig, *, num_classes: int = 1000, in_chans: int = 3,
                 dropout: float = 0.0, drop_path: float = 0.0, aux_logits: bool = False,
                 image_size: int = 224) -> None:  # fmt: skip
        """``image_size``: the input the auxiliary head's last convolution is sized for."""
        super().__init__(num_classes=num_classes, in_chans=in_chans)
        self.aux_weight = 0.4  # Appendix A.7
        self.conv0 = ConvNormAct(in_chans, config.stem_filters, 3, stride=2, padding=0,
                                 batch_norm=True, bn_eps=BN_EPS, activation=None)  # fmt: skip
        filters = config.penultimate_filters // 24  # the first stack's
        plan = [("cell_stem_0", REDUCTION_CELL, filters // 4),
                ("cell_stem_1", REDUCTION_CELL, filters // 2)]  # fmt: skip
        for stack in range(3):
            if stack:
                plan.append((f"reduction_cell_{stack - 1}", REDUCTION_CELL, filters * 2**stack))
            plan += [(f"cell_{stack * config.normal_cells + k}", NORMAL_CELL, filters * 2**stack)
                     for k in range(config.normal_cells)]  # fmt: skip
        # Outputs so far as (channels, scale); the first stem cell takes the stem's twice.
        outputs = [(config.stem_filters, 1), (config.stem_filters, 1)]
        cells: OrderedDict[str, Cell] = OrderedDict()
        self.h_prev_index: dict[str, int] = {}  # where each cell finds h_{i-1} among outputs
        after_reduction = False
        for number, (name, spec, cell_filters) in enumerate(plan):
            back = -3 if after_reduction and config.skip_reduction_input else -2
            (h_i_channels, h_i_scale), (h_prev_channels, h_prev_scale) = outputs[-1], outputs[back]
            if name == "cell_stem_0":
                adjust = "none"
            elif h_prev_scale != h_i_scale:
                adjust = "factorized_reduction"
            else:
                adjust = "1x1"
            # The released code scales the drop rate with depth: (cell number + 1) / cells.
            depth_rate = drop_path * (number + 1) / len(plan)
            cells[name] = Cell(spec, cell_filters, h_i_channels, h_prev_channels, adjust,
                               depth_rate)  # fmt: skip
            self.h_prev_index[name] = back
            outputs.append((cells[name].out_channels, h_i_scale * spec.stride))
            after_reduction = name.startswith("reduction_cell")  # not the stem cells
        # At 331 (Large): stem 96 x 165², stem cells 168 x 83² and 336 x 42²; stacks of
        # 1008 x 42², 2016 x 21², 4032 x 11². At 224 (Mobile): 32 x 111², 44 x 56²,
        # 88 x 28²; 264 x 28², 528 x 14², 1056 x 7².
        self.cells = nn.ModuleDict(cells)
        # Appendix A.7: the auxiliary head "2/3 of the way up": on the last normal cell
        # before the second reduction cell (released code: reduction_indices[1] - 1).
        self.aux_after = f"cell_{2 * config.normal_cells - 1}"
        self.aux_head = None
        if aux_logits and num_classes > 0:
            aux_channels = cells[self.aux_after].out_channels
            self.aux_head = AuxiliaryHead(aux_channels, _aux_map_size(image_size), num_classes)
        self.act = nn.ReLU()
        self.num_features = outputs[-1][0]
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = classifier_layer(self.num_features, num_classes)
        for module in self.modules():  # TF-slim: variance scaling by fan-out
            if isinstance(module, nn.Conv2d):
                fan_out_normal_(module)  # depthwise: fan-out k x k, as TensorFlow

    def schedule_drop_path(self, progress: float) -> None:
        """ScheduledDropPath: call with the fraction of training done (0 to 1) so that the
        drop rate grows linearly to ``drop_path`` (keyarch's training loop calls it before
        every step)."""
        for module in self.modules():
            if isinstance(module, DropPath):
                module.progress = min(max(float(progress), 0.0), 1.0)

    def _body(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        x = self.conv0(x)  # N x stem_filters x (H-1)/2 x (W-1)/2
        outputs, aux = [x, x], ()
        for name, cell in self.cells.items():
            outputs.append(cell(outputs[-1], outputs[self.h_prev_index[name]]))
            outputs = outputs[-3:]  # no cell looks further back
            if name == self.aux_after and self.training and self.aux_head is not None:
                aux = (self.aux_head(outputs[-1]),)
        return self.act(outputs[-1]), aux  # N x F x H/32 x W/32


def _aux_map_size(image_size: int) -> int:
    """The side of the map the auxiliary head's 768-filter convolution covers: the size
    of the cell before the second reduction cell (H/16, as TensorFlow's "SAME" strides
    give it) after a 5x5 stride-3 pool."""
    side = (image_size - 3) // 2 + 1  # the stem convolution, no padding
    for _ in range(3):  # two stem cells and the first reduction cell, each ceil(side / 2)
        side = -(-side // 2)
    return max((side - 5) // 3 + 1, 1) if side >= 5 else side


@register(
    description="NASNet-A (4 @ 1056) of Table 3 for mobile: 4 normal cells per stack, "
    "1056 filters in the penultimate layer, 224 input; 5,289,978 parameters, as the "
    "authors' TF-slim network (paper: 5.3 M, 564 M mult-adds).",
    metrics=(
        Metric(
            "ImageNet",
            74.0,
            91.6,
            "paper (CVPR 2018 / arXiv v4), Table 3: NASNet-A (4 @ 1056), 224x224",
            split=IMAGENET_VAL,
            crops=SINGLE_CROP,
        ),
    ),
)
def nasnet_a_mobile(*, num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.0,
                    drop_path: float = 0.0, aux_logits: bool = False) -> NASNetA:  # fmt: skip
    return NASNetA(MOBILE, num_classes=num_classes, in_chans=in_chans, dropout=dropout,
                   drop_path=drop_path, aux_logits=aux_logits, image_size=224)  # fmt: skip


@register(
    description="NASNet-A (6 @ 4032) of Table 2: 6 normal cells per stack, 4032 filters "
    "in the penultimate layer, 331 input; 88,753,150 parameters as timm's nasnetalarge "
    "(paper: 88.9 M, as the count with the batch-norm statistics, 88,949,818, gives; "
    "23.8 G mult-adds).",
    input_size=(3, 331, 331),
    metrics=(
        Metric(
            "ImageNet",
            82.7,
            96.2,
            "paper (CVPR 2018 / arXiv v4), Table 2: NASNet-A (6 @ 4032), 331x331; "
            "arXiv v1 had 82.3 / 96.0",
            split=IMAGENET_VAL,
            crops=SINGLE_CROP,
        ),
    ),
)
def nasnet_a_large(*, num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.0,
                   drop_path: float = 0.0, aux_logits: bool = False) -> NASNetA:  # fmt: skip
    return NASNetA(LARGE, num_classes=num_classes, in_chans=in_chans, dropout=dropout,
                   drop_path=drop_path, aux_logits=aux_logits, image_size=331)  # fmt: skip
