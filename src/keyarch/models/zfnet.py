"""ZFNet: Zeiler and Fergus, "Visualizing and Understanding Convolutional Networks",
ECCV 2014 (arXiv 2013). https://arxiv.org/abs/1311.2901

Main ideas: a deconvolutional network (unpooling with the max-pooling switches,
rectification, and the transposed filters) projects any feature activation back to pixel
space, showing what each layer responds to. Those pictures exposed two faults of AlexNet's
first layers (dead and high-frequency filters, aliasing from stride 4), which the paper
mends: a 7x7 first layer at stride 2 and stride 2 in conv2. Layers 3 to 5 are dense
(one GPU), not split in two towers.

Architecture: Figure 3 of the paper; 224x224 input, feature maps of 110, 55, 26, 13, 13,
13 and 6 pixels. The network is built with :class:`keyarch.models.alexnet.AlexNet`'s
layout, since that is what it is: AlexNet with these changes. Figure 3's order is kept:
convolution, ReLU, max pooling, then contrast normalisation across feature maps (AlexNet
normalises before pooling). Section 3: dropout 0.5 in fc6 and fc7 (on their outputs, as
AlexNet's section 4.2), all weights from N(0, 1e-2), biases 0.

Training: section 3 renormalises, after each update, every convolutional filter whose RMS
exceeds a fixed radius of 0.1 back to 0.1 ("crucial, especially in the first layer"). It is a
training step, not a layer: ``keyarch.train.optimizers.renormalise_filters_`` does it and the
``zfnet-paper`` recipe (``renorm_radius=0.1``) runs it after every optimiser step. The radius
is the paper's for inputs in roughly [-128, 128] (mean-subtracted pixels); keyarch feeds
normalised inputs, so filters reach it less often.

Parameters, derived from Figure 3 (weights + biases):
conv1 3*96*7*7+96 = 14,208; conv2 96*256*5*5+256 = 614,656; conv3 256*384*9+384 = 885,120;
conv4 384*384*9+384 = 1,327,488; conv5 384*256*9+256 = 884,992; fc6 9216*4096+4096 =
37,752,832; fc7 4096*4096+4096 = 16,781,312; fc8 4096*1000+1000 = 4,097,000;
total 62,357,608.

Deviations: max pooling rounds up (ceil mode, as the Caffe-era code did), which gives
Figure 3's 55 and 13 pixel maps; contrast normalisation is AlexNet's LRN (k=2, n=5,
alpha=1e-4, beta=0.75), as the paper does not restate its constants; an adaptive 6x6
average pool before fc6 is an identity at 224.
"""

from __future__ import annotations

from torch import nn

from keyarch.models.alexnet import AlexNet
from keyarch.registry import Metric, Paper, model_registrar

PAPER = Paper(
    title="Visualizing and Understanding Convolutional Networks",
    authors="Matthew D. Zeiler, Rob Fergus",
    year=2013,
    url="https://arxiv.org/abs/1311.2901",
    main_ideas=(
        "A deconvnet (unpool with switches, rectify, filter with transposed weights) "
        "projects a feature map's activation back to the pixels that caused it.",
        "The pictures diagnose AlexNet's first layers: 7x7 stride-2 conv1 and stride-2 "
        "conv2 remove dead filters and aliasing, and improve accuracy.",
        "Occlusion experiments and transfer of ImageNet features to Caltech-101/256 show "
        "what the network relies on and how general its features are.",
    ),
    importance=(
        "Won ILSVRC-2013 and made looking inside a CNN a routine diagnostic; its "
        "visualisations are still how textbooks show what convolutional layers learn."
    ),
)
register = model_registrar(family="ZFNet", paper=PAPER, input_size=(3, 224, 224))

# Where the paper lays the network out, and the names here that hold it (the guide
# shows them beside the layers keyarch builds from them).
PAPER_TABLES = {
    "Figure 3 (the paper has no table)": ("zfnet",),
}


def init_as_in_paper(model: AlexNet) -> None:
    """Section 3: "All weights are initialized to 10^-2 and biases are set to 0", read as
    weights drawn from N(0, 0.01^2), AlexNet's initialisation, whose code the paper's
    implementation is based on."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.normal_(module.weight, std=0.01)
            nn.init.zeros_(module.bias)


@register(
    description="AlexNet with Figure 3's changes: 7x7 stride-2 conv1, stride-2 conv2, dense "
    "conv3-5; ReLU, max pooling, then contrast normalisation after conv1 and conv2; dropout "
    "0.5 on the outputs of fc6 and fc7; N(0, 1e-2) weights, zero biases; 62,357,608 "
    "parameters.",
    deviations=(
        "Ceil-mode max pooling, giving Figure 3's 55x55 and 13x13 maps.",
        "LRN with AlexNet's constants for the paper's contrast normalisation.",
        "Adaptive average pooling to 6x6 before fc6 (identity at 224).",
        "The renormalisation of conv filters whose RMS exceeds 0.1 after each update "
        "(section 3) is done by the training loop (keyarch.train.optimizers."
        "renormalise_filters_, the zfnet-paper recipe's renorm_radius=0.1), not by the model; "
        "its radius was set for inputs in [-128, 128], keyarch's inputs are normalised.",
    ),
    metrics=(
        Metric(
            "ImageNet",
            61.6,
            83.5,
            "paper (arXiv v3), Table 2: '1 convnet as per Fig. 3', 38.4 / 16.5 % error; the "
            "test crops are not restated (section 3 preprocesses 10 sub-crops: corners and "
            "centre, with flips)",
            split="ILSVRC-2012 val",
            crops="not stated",
        ),
    ),
)
def zfnet(*, num_classes: int = 1000, in_chans: int = 3, dropout: float = 0.5) -> AlexNet:
    model = AlexNet(
        widths=(96, 256, 384, 384, 256),
        groups=1,  # dense connections in layers 3, 4, 5 (trained on one GPU)
        lrn=True,
        conv1=(7, 2, 1),  # 224 -> 110
        conv2=(2, 0),  # 55 -> 26
        ceil_mode=True,
        pool_before_norm=True,  # Figure 3: rectify, pool, then normalise
        dropout_on_outputs=True,
        min_input_size=47,
        num_classes=num_classes,
        in_chans=in_chans,
        dropout=dropout,
    )
    init_as_in_paper(model)
    return model
