"""The seed guide's outline ("Key Deep Learning Architectures"): fifteen sections in
chronological order, each with the keyarch families that implement it; then what keyarch
adds beyond it. Facts from ``shared/reference/guide-outline.md``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    number: int | None  # its place in the seed guide (None: beyond it)
    title: str
    year: int
    paper: str  # as the seed guide cites it
    families: tuple[str, ...]  # keyarch's ModelCard.family values
    ilsvrc_winner: int | None = None  # the ImageNet challenge it won
    note: str = ""

    @property
    def lead(self) -> str:
        """The model whose card the page tells: the paper's own network."""
        return LEADS[self.title]

    @property
    def slug(self) -> str:
        words = "".join(c if c.isalnum() else " " for c in self.title.lower()).split()
        return "-".join(words)


SECTIONS = (
    Section(1, "LeNet-5", 1998, "LeCun et al.", ("LeNet",)),
    Section(2, "AlexNet", 2012, "Krizhevsky et al.", ("AlexNet",), 2012),
    Section(3, "ZFNet", 2013, "Zeiler et al. (arXiv 1311.2901)", ("ZFNet",), 2013),
    Section(4, "GoogLeNet", 2014, "Szegedy et al. (arXiv 1409.4842)", ("GoogLeNet",), 2014),
    Section(
        5,
        "Inception",
        2014,
        "Szegedy et al. (arXiv 1409.4842v1)",
        ("GoogLeNet",),
        note="The Inception module is GoogLeNet's building block, from the same paper: "
        "its page is GoogLeNet's.",
    ),  # fmt: skip
    Section(6, "VGG", 2014, "Simonyan et al. (arXiv 1409.1556)", ("VGG",)),
    Section(
        7,
        "InceptionV2, InceptionV3",
        2015,
        "Szegedy et al. (arXiv 1512.00567)",
        ("BN-Inception", "Inception"),
    ),  # fmt: skip
    Section(8, "ResNet", 2015, "He et al. (arXiv 1512.03385)", ("ResNet",), 2015),
    Section(
        9,
        "InceptionV4, InceptionResNetV2",
        2016,
        "Szegedy et al.",
        ("Inception-v4", "Inception-ResNet"),
    ),  # fmt: skip
    Section(10, "DenseNet", 2016, "Huang et al.", ("DenseNet",)),
    Section(11, "Xception", 2016, "Chollet", ("Xception",)),
    Section(12, "MobileNet", 2017, "Howard et al.", ("MobileNet",)),
    Section(13, "NASNet", 2017, "Zoph et al.", ("NASNet",)),
    Section(14, "SE-ResNet", 2017, "Hu et al.", ("SE-ResNet",), 2017),
    Section(15, "MobileNetV2", 2018, "Sandler et al.", ("MobileNetV2",)),
    Section(None, "EfficientNet-Lite", 2019, "Tan and Le", ("EfficientNet",)),
    Section(
        None,
        "MobileViT",
        2021,
        "Mehta and Rastegari",
        ("MobileViT",),
        note="A conv/transformer hybrid: convolutions and transformer layers in one network.",
    ),  # fmt: skip
)

LEADS = {
    "LeNet-5": "lenet5", "AlexNet": "alexnet_two_tower", "ZFNet": "zfnet",
    "GoogLeNet": "googlenet_paper", "Inception": "googlenet_paper", "VGG": "vgg16",
    "InceptionV2, InceptionV3": "inception_v3", "ResNet": "resnet50",
    "InceptionV4, InceptionResNetV2": "inception_v4", "DenseNet": "densenet121",
    "Xception": "xception", "MobileNet": "mobilenet_v1_100", "NASNet": "nasnet_a_mobile",
    "SE-ResNet": "se_resnet50", "MobileNetV2": "mobilenet_v2_100",
    "EfficientNet-Lite": "efficientnet_lite0", "MobileViT": "mobilevit_xs",
}  # fmt: skip

# the primitives the architectures are made of, and the families that are primitives
PRIMITIVE_FAMILIES = ("RNN", "LSTM")

# experiments (docs/experiments/NAME-full) by the section whose paper's claim they test
EXPERIMENTS = {
    "lenet5-mnist": "LeNet-5",
    "relu-vs-tanh": "AlexNet",
    "alexnet-tricks": "AlexNet",
    "depth-and-bypass": "ResNet",
    "efficiency-frontier": None,  # across families: the index
    "captioning-end-to-end": "captioning",
    "lstm-vs-rnn": "primitives",
}
