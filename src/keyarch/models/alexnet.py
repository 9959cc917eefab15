"""AlexNet: Krizhevsky, Sutskever and Hinton, "ImageNet Classification with Deep
Convolutional Neural Networks", NeurIPS 2012.
https://papers.nips.cc/paper/4824-imagenet-classification-with-deep-convolutional-neural-networks

Main ideas: a deep CNN (five convolutional, three fully connected layers) trained on GPUs
with ReLU, dropout, overlapping pooling, local response normalisation and heavy data
augmentation wins ImageNet 2012 by a wide margin.

``alexnet_two_tower`` is the network of the paper's Figure 2: its kernels are split over
two GPUs, so conv2, conv4 and conv5 only see the maps of their own GPU (grouped in two);
conv1, conv3 and the fully connected layers see both. 227x227 input (the "224" of the
paper does not divide: (224 - 11) / 4 is not whole), 60,965,224 parameters.

``alexnet`` is the one-tower form of "One weird trick for parallelizing convolutional
neural networks" (Krizhevsky 2014), the one torchvision publishes weights for: 64, 192,
384, 256, 256 kernels, no grouping and no LRN, 61,100,840 parameters.

``alexnet_cifar`` keeps the 2012 network's pattern (LRN after conv1 and conv2, overlapping
pooling, dropout on fc6 and fc7) at the scale of 32x32 images,
for the experiment that switches its choices off one at a time (``keyarch experiment
alexnet-tricks``): conv1 5x5 stride 1 (3*16*25 + 16 = 1,216), conv2-conv5 of 48, 96, 64,
64 kernels (19,248 + 41,568 + 55,360 + 36,928), fc6 and fc7 of 512 on the 4x4 maps
(524,800 + 262,656) and fc8 (5,130): 946,906 parameters.

Deviations: both add an adaptive average pooling to 6x6 before fc6, an identity at their
default input size, so that smaller inputs (at least 63x63 or 67x67) still reach the classifier.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from keyarch.layers import LocalResponseNorm
from keyarch.models.base import ImageClassifier, MultilayerHead, classifier_layer
from keyarch.registry import Metric, Paper, model_registrar

PAPER = Paper(
    title="ImageNet Classification with Deep Convolutional Neural Networks",
    authors="Alex Krizhevsky, Ilya Sutskever, Geoffrey E. Hinton",
    year=2012,
    url="https://papers.nips.cc/paper/4824-imagenet-classification-with-deep-convolutional-neural-networks",
    main_ideas=(
        "ReLU non-linearities train several times faster than saturating tanh units.",
        "Dropout in the fully connected layers and data augmentation (crops, flips, PCA "
        "colour noise) fight overfitting of a 60 M-parameter network.",
        "Training split over two GPUs; overlapping max pooling and local response "
        "normalisation each cut the error a little.",
    ),
    importance=(
        "Won ILSVRC-2012 with 15.3 % top-5 error against 26.2 % for the runner-up and started "
        "the deep-learning era of computer vision."
    ),
)
register = model_registrar(
    family="AlexNet",
    paper=PAPER,
    input_size=(3, 227, 227),
    deviations=(
        "Adaptive average pooling to 6x6 before fc6 (identity at the default input size), "
        "as torchvision has it, so that smaller inputs work.",
    ),
)

# Where the paper lays the network out, and the names here that hold it (the guide
# shows them beside the layers keyarch builds from them).
PAPER_TABLES = {
    "Figure 2 and section 3.5 (the paper has no table)": ("alexnet_two_tower",),
}


class AlexNet(MultilayerHead, ImageClassifier):
    """Five convolutional layers (conv1..conv5) and three fully connected (fc6..fc8).

    ``widths`` are the kernels of conv1..conv5; ``groups`` the number of towers that
    conv2, conv4 and conv5 are split into; ``lrn`` puts response normalisation after the
    ReLUs of conv1 and conv2 (section 3.3). ``conv1`` is its (kernel, stride, padding) and
    ``conv2`` its (stride, padding): ZFNet changes exactly these, pools in ceil mode and
    normalises after pooling (``pool_before_norm``, its Figure 3).

    ``dropout_on_outputs`` drops the outputs of fc6 and fc7, the hidden neurons of the
    paper's section 4.2; without it dropout acts on the inputs of fc6 and fc7, the layout of
    torchvision's ``alexnet`` (and of its weights). The two differ in what is dropped: the
    pooled conv5 maps there, the 4096 outputs of fc7 here; the fc6 outputs in both.

    ``pool`` is the max pooling's (kernel z, stride s, padding): the paper's overlapping
    z = 3, s = 2 by default; ``hidden`` the width of fc6 and fc7; ``pooled`` the side of
    the adaptive pooling before fc6.
    """

    model_name = "alexnet"

    def __init__(
        self,
        *,
        widths: tuple[int, int, int, int, int],
        groups: int,
        lrn: bool,
        conv1: tuple[int, int, int],
        conv2: tuple[int, int] = (1, 2),
        ceil_mode: bool = False,
        pool_before_norm: bool = False,
        dropout_on_outputs: bool = False,
        pool: tuple[int, int, int] = (3, 2, 0),
        hidden: int = 4096,
        pooled: int = 6,
        min_input_size: int = 63,
        num_classes: int = 1000,
        in_chans: int = 3,
        dropout: float = 0.5,
    ) -> None:
        super().__init__(num_classes=num_classes, in_chans=in_chans)
        self.min_input_size = min_input_size
        c1, c2, c3, c4, c5 = widths
        conv1_kernel, conv1_stride, conv1_padding = conv1
        conv2_stride, conv2_padding = conv2

        def max_pool() -> nn.MaxPool2d:
            kernel, stride, padding = pool
            return nn.MaxPool2d(kernel, stride=stride, padding=padding, ceil_mode=ceil_mode)

        def norm_and_pool(index: int) -> list[tuple[str, nn.Module]]:
            norm = LocalResponseNorm(5, k=2.0, alpha=1e-4, beta=0.75) if lrn else nn.Identity()
            pool = max_pool()  # overlapping by default, section 3.4
            steps = [(f"norm{index}", norm), (f"pool{index}", pool)]
            return steps[::-1] if pool_before_norm else steps

        self.features = nn.Sequential(
            OrderedDict(
                [
                    ("conv1", nn.Conv2d(in_chans, c1, conv1_kernel, stride=conv1_stride,
                                        padding=conv1_padding)),
                    ("relu1", nn.ReLU(inplace=True)),
                    *norm_and_pool(1),
                    ("conv2", nn.Conv2d(c1, c2, 5, stride=conv2_stride, padding=conv2_padding,
                                        groups=groups)),
                    ("relu2", nn.ReLU(inplace=True)),
                    *norm_and_pool(2),
                    ("conv3", nn.Conv2d(c2, c3, 3, padding=1)),  # connected across the towers
                    ("relu3", nn.ReLU(inplace=True)),
                    ("conv4", nn.Conv2d(c3, c4, 3, padding=1, groups=groups)),
                    ("relu4", nn.ReLU(inplace=True)),
                    ("conv5", nn.Conv2d(c4, c5, 3, padding=1, groups=groups)),
                    ("relu5", nn.ReLU(inplace=True)),
                    ("pool5", max_pool()),
                ]
            )
        )  # fmt: skip
        self.num_features = c5
        self.head_hidden_size = hidden  # the pre-logits: fc7's outputs
        self.pool = nn.AdaptiveAvgPool2d((pooled, pooled))
        fc6 = [("fc6", nn.Linear(c5 * pooled * pooled, hidden)), ("relu6", nn.ReLU(inplace=True))]
        fc7 = [("fc7", nn.Linear(hidden, hidden)), ("relu7", nn.ReLU(inplace=True))]
        drop6, drop7 = ("drop6", nn.Dropout(dropout)), ("drop7", nn.Dropout(dropout))
        if dropout_on_outputs:  # the paper: fc6, relu6, drop6, fc7, relu7, drop7, fc8
            layers = [*fc6, drop6, *fc7, drop7]
        else:  # torchvision: drop6, fc6, relu6, drop7, fc7, relu7, fc8
            layers = [drop6, *fc6, drop7, *fc7]
        self.classifier = nn.Sequential(
            OrderedDict([*layers, ("fc8", classifier_layer(hidden, num_classes))])
        )

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)  # N x 256 x 6 x 6 at the default size


def init_as_in_paper(model: AlexNet) -> None:
    """Section 5: weights from N(0, 0.01); biases 1 in conv2, conv4, conv5 and the fully
    connected hidden layers fc6 and fc7 (to give the ReLUs positive inputs early on), 0 in
    the remaining layers: conv1, conv3 and the output layer fc8."""
    ones = {"conv2", "conv4", "conv5", "fc6", "fc7"}
    for name, module in [*model.features.named_children(), *model.classifier.named_children()]:
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.normal_(module.weight, std=0.01)
            nn.init.constant_(module.bias, 1.0 if name in ones else 0.0)


@register(
    description="The paper's two-GPU network (Figure 2): conv2, conv4, conv5 grouped in two, "
    "LRN after conv1 and conv2, overlapping 3/2 max pooling, dropout 0.5 on the outputs of "
    "fc6 and fc7 (section 4.2), section 5's initialisation.",
    deviations=(
        "227x227 input instead of the paper's stated 224, which does not fit conv1's "
        "11x11 stride-4 kernels.",
    ),
    metrics=(
        Metric(
            "ImageNet",
            62.5,
            83.0,
            "paper, abstract and Table 1: 37.5 / 17.0 % error",
            split="ILSVRC-2010 test",
            crops="10 crops",
        ),
        Metric(
            "ImageNet",
            59.3,
            81.8,
            "paper, Table 2: 1 CNN, 40.7 / 18.2 % error",
            split="ILSVRC-2012 val",
            crops="10 crops",
        ),
    ),
)
def alexnet_two_tower(
    *, num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.5
) -> AlexNet:
    model = AlexNet(
        widths=(96, 256, 384, 384, 256),
        groups=2,
        lrn=True,
        conv1=(11, 4, 0),
        dropout_on_outputs=True,
        min_input_size=67,
        num_classes=num_classes,
        in_chans=in_chans,
        dropout=dropout,
    )
    init_as_in_paper(model)
    return model


@register(
    description="The one-tower AlexNet of 'One weird trick' (Krizhevsky 2014), as torchvision "
    "publishes it: 64-192-384-256-256 kernels, no groups, no LRN.",
    input_size=(3, 224, 224),
    deviations=(
        "Not the 2012 network: the 2014 single-GPU variant (see alexnet_two_tower).",
        "Dropout on the inputs of fc6 and fc7, as torchvision, whose weights load; the 2012 "
        "paper drops the outputs of fc6 and fc7 (section 4.2), as alexnet_two_tower does.",
    ),
    metrics=(
        Metric(
            "ImageNet",
            56.522,
            79.066,
            "torchvision weights, 224 centre crop of 256",
            split="ILSVRC-2012 val",
            crops="1 crop",
        ),
    ),
)
def alexnet(*, num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.5) -> AlexNet:
    return AlexNet(
        widths=(64, 192, 384, 256, 256),
        groups=1,
        lrn=False,
        conv1=(11, 4, 2),
        num_classes=num_classes,
        in_chans=in_chans,
        dropout=dropout,
    )


@register(
    description="The paper's AlexNet scaled down for 32x32 images (CIFAR-10), for the "
    "experiment on its design choices: the 2012 layer pattern (LRN after conv1 and conv2, "
    "overlapping max pooling, dropout on fc6 and fc7) with 5x5 stride-1 conv1, a quarter of "
    "the kernels of the one-tower network and fc6/fc7 of 512.",
    input_size=(3, 32, 32),
    deviations=(
        "Not in the paper: its sizes (conv1 5x5 stride 1 padding 2; 16-48-96-64-64 kernels; "
        "fc6 and fc7 of 512; pooling padded by 1 so that 32 -> 16 -> 8 -> 4 as with "
        "non-overlapping 2x2 pooling) are assumed, chosen for 32x32 inputs and a CPU budget.",
        "One tower (no grouping), as on one GPU.",
        "He (Kaiming) normal initialisation, biases zero: section 5's N(0, 0.01) weights "
        "with biases of 1 (paper_init=True), and PyTorch's default initialisation, left this "
        "small network at chance (measured: 3 epochs on 2,000 CIFAR-10 images at lr 0.01, "
        "momentum 0.9: 10 % training accuracy with either, 18 % with He's).",
    ),
)
def alexnet_cifar(
    *,
    num_classes: int = 10,
    in_chans: int = 3,
    dropout: float = 0.5,
    lrn: bool = True,
    overlapping: bool = True,
    paper_init: bool = False,
) -> AlexNet:
    """``overlapping=False``: the paper's comparison (section 3.4), non-overlapping pooling
    with z = s = 2, which gives the same map sizes; ``lrn=False`` drops the normalisation
    (section 3.3); ``dropout=0`` the dropout (section 4.2); ``paper_init``: section 5's
    N(0, 0.01) weights and biases of 1 instead of He's initialisation."""
    model = AlexNet(
        widths=(16, 48, 96, 64, 64),
        groups=1,
        lrn=lrn,
        conv1=(5, 1, 2),
        pool=(3, 2, 1) if overlapping else (2, 2, 0),
        hidden=512,
        pooled=4,
        dropout_on_outputs=True,
        min_input_size=32,
        num_classes=num_classes,
        in_chans=in_chans,
        dropout=dropout,
    )
    if paper_init:
        init_as_in_paper(model)
    else:  # He et al. 2015 for ReLU networks, biases zero
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)
    return model
