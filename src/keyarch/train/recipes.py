"""Training recipes: each family's paper recipe and small-data presets, by name.

A recipe fixes the optimiser, learning-rate schedule, regularisation, batch size, epochs,
augmentation and test-time augmentation. Every field can be overridden from the command
line (``keyarch train vgg16 --lr 0.02 --epochs 5``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace

from keyarch.data.catalog import AUGMENTATIONS
from keyarch.errors import BadInput

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("step", "cosine", "constant", "exponential", "plateau")
WARMUPS = ("linear", "constant")
NORMALISATIONS = ("dataset", "lenet")
# LeNet-5, section II-B: "the background level (white) corresponds to a value of -0.1 and
# the foreground (black) corresponds to 1.175", so that the mean is about 0 and the variance
# about 1. As (x - mean) / std for x in [0, 1]: 0 -> -0.1, 1 -> 1.175.
LENET_MEAN, LENET_STD = 0.1 / 1.275, 1 / 1.275
TTA_MODES = ("none", "flip", "tencrop", "multiscale")


@dataclass(frozen=True)
class Recipe:
    name: str
    source: str  # where the numbers come from
    optimizer: str  # "sgd", "adam", "adamw" or "rmsprop"
    lr: float
    epochs: int
    batch_size: int
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    # the decay of depthwise convolution filters (MobileNet, section 3.2: "very little or
    # no weight decay"); None: weight_decay like every other weight
    depthwise_weight_decay: float | None = None
    schedule: str = "step"  # "step", "cosine", "constant", "exponential" or "plateau"
    milestones: tuple[float, ...] = ()  # epochs at which "step" multiplies the rate by gamma
    gamma: float = 0.1  # "exponential": factor per epoch; "step", "plateau": factor per drop
    # "plateau": multiply by gamma when the test top-1 error has not improved for `patience`
    # epochs at the current rate, at most `max_drops` times
    patience: int = 3
    max_drops: int = 3
    warmup_epochs: float = 0.0
    # a warm-up the paper counts in optimisation steps (MobileViT's 3,000 iterations,
    # ResNet-110's 400); when set it replaces warmup_epochs
    warmup_steps: int = 0
    warmup: str = "linear"  # "linear" from 0, or "constant" at lr * warmup_factor
    warmup_factor: float = 0.1
    label_smoothing: float = 0.0
    clip_grad: float = 0.0  # max gradient norm; 0 = off
    augment: str = "none"  # see keyarch.data.transforms.AUGMENTATIONS
    # the smallest crop, as a fraction of the image's area, of the "inception",
    # "inception-light" and "resized-crop" augmentations (GoogLeNet's 8 %)
    min_crop_area: float = 0.08
    tta: str = "none"  # test-time augmentation reported beside single-crop accuracy
    # no weight decay on biases and normalisation scales (a modern habit: the papers decay
    # every weight); True decays them too
    decay_bias_and_norm: bool = False
    normalisation: str = "dataset"  # "dataset": its mean and std; "lenet": -0.1 to 1.175
    # model options the paper trains with, passed to create_model: (("dropout", 0.5),)
    model_options: tuple[tuple[str, object], ...] = ()
    # ZFNet: after each update, conv filters whose RMS exceeds this radius are scaled back
    # to it (0 = off)
    renorm_radius: float = 0.0
    rmsprop_eps: float = 1.0  # "rmsprop": the Inception papers' 1.0; EfficientNet's code 1e-3
    # a captioner's encoder stays frozen for this many epochs, then trains with the decoder
    # at its own rate (Show and Tell, journal version section 5: the CNN is fine-tuned
    # only once the LSTM has trained); 0: trained from the first step (or frozen throughout
    # with --freeze-encoder)
    freeze_encoder_epochs: int = 0
    # an exponential moving average of the weights (Polyak averaging; NASNet A.7, MobileViT
    # section 4.1): after every step average = decay * average + (1 - decay) * weights;
    # 0 = off. With ema_warmup the decay grows as timm's ModelEmaV3 warms it up,
    # 1 - k^(-2/3) at the k-th update, until it reaches ema_decay. Both the trained and the averaged
    # weights are evaluated after every epoch; ema_result: the averaged ones are the run's
    # result (model.safetensors, the summary's headline scores)
    ema_decay: float = 0.0
    ema_warmup: bool = False
    ema_result: bool = True
    assumed: tuple[str, ...] = ()  # fields the paper does not give: keyarch's assumptions

    def __post_init__(self) -> None:
        """Every number and choice is checked here, naming the field (the flag on
        ``keyarch train`` has the same name)."""
        for name, choices in (("optimizer", OPTIMIZERS), ("schedule", SCHEDULES),
                              ("augment", AUGMENTATIONS), ("tta", TTA_MODES),
                              ("warmup", WARMUPS), ("normalisation", NORMALISATIONS)):  # fmt: skip
            if getattr(self, name) not in choices:
                raise BadInput(f"{name} {getattr(self, name)!r} is not one of {', '.join(choices)}")
        for name in ("epochs", "batch_size", "patience"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise BadInput(f"{name} must be a whole number of at least 1, got {value!r}")
        frozen = self.freeze_encoder_epochs
        if isinstance(frozen, bool) or not isinstance(frozen, int) or not 0 <= frozen < self.epochs:
            raise BadInput(
                f"freeze_encoder_epochs must be a whole number from 0 to epochs - 1 "
                f"({self.epochs - 1}), got {frozen!r}"
            )
        drops = self.max_drops
        if isinstance(drops, bool) or not isinstance(drops, int) or drops < 0:
            raise BadInput(f"max_drops must be a whole number of at least 0, got {drops!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise BadInput(f"lr must be a positive number, got {self.lr!r}")
        for name in ("momentum", "weight_decay", "warmup_epochs", "clip_grad", "gamma",
                     "warmup_factor", "renorm_radius", "rmsprop_eps"):  # fmt: skip
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise BadInput(f"{name} must be a number of at least 0, got {value!r}")
        if not 0 <= self.label_smoothing < 1:
            raise BadInput(f"label_smoothing must be in [0, 1), got {self.label_smoothing!r}")
        if self.momentum >= 1:
            raise BadInput(f"momentum must be below 1, got {self.momentum!r}")
        steps = self.warmup_steps
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise BadInput(f"warmup_steps must be a whole number of at least 0, got {steps!r}")
        if not (isinstance(self.ema_decay, (int, float)) and 0 <= self.ema_decay < 1):
            raise BadInput(f"ema_decay must be in [0, 1) (0 = off), got {self.ema_decay!r}")
        area = self.min_crop_area
        if not (isinstance(area, (int, float)) and 0 < area <= 1):
            raise BadInput(f"min_crop_area must be in (0, 1], got {area!r}")
        decay = self.depthwise_weight_decay
        if decay is not None and not (
            isinstance(decay, (int, float)) and math.isfinite(decay) and decay >= 0
        ):
            raise BadInput(f"depthwise_weight_decay must be a number of at least 0, got {decay!r}")
        unknown = set(self.assumed) - {f.name for f in fields(self)}
        if unknown:
            raise BadInput(f"assumed names no recipe field(s): {', '.join(sorted(unknown))}")
        for option in self.model_options:
            if not (isinstance(option, tuple) and len(option) == 2 and isinstance(option[0], str)):
                raise BadInput(f"model_options holds (name, value) pairs, got {option!r}")

    def lr_at(self, step: int, steps_per_epoch: int, scores: Sequence[float] = ()) -> float:
        """The learning rate for optimisation step ``step`` (0-based): a pure function of
        the step and, for "plateau", of the test top-1 ``scores`` of the finished epochs
        (kept in the checkpoint), so a resumed run follows exactly the schedule of an
        uninterrupted one."""
        epoch = step / steps_per_epoch
        warmup = self.warmup_length(steps_per_epoch)
        if warmup and step < warmup:
            if self.warmup == "constant":
                return self.lr * self.warmup_factor
            return self.lr * (step + 1) / warmup
        if self.schedule == "constant":
            return self.lr
        if self.schedule == "plateau":
            return self.lr * self.gamma ** self.plateau_drops(scores)
        if self.schedule == "step":
            return self.lr * self.gamma ** sum(epoch >= m for m in self.milestones)
        if self.schedule == "exponential":
            return self.lr * self.gamma ** math.floor(epoch)
        if self.schedule == "cosine":
            start = warmup / steps_per_epoch
            progress = min(1.0, (epoch - start) / max(self.epochs - start, 1e-9))
            return 0.5 * self.lr * (1 + math.cos(math.pi * progress))
        raise BadInput(f"unknown schedule {self.schedule!r}")

    def warmup_length(self, steps_per_epoch: int) -> float:
        """The warm-up in optimisation steps: ``warmup_steps``, else ``warmup_epochs``."""
        return self.warmup_steps or self.warmup_epochs * steps_per_epoch

    def plateau_drops(self, scores: Sequence[float]) -> int:
        """How many times the rate has been divided after the epochs whose test top-1
        ``scores`` are given: once each time ``patience`` epochs pass without a better
        score than the best seen at the current rate (AlexNet, section 5: "divide the
        learning rate by 10 when the validation error rate stopped improving with the
        current learning rate"), at most ``max_drops`` times."""
        drops, best, waited = 0, -math.inf, 0
        for score in scores:
            if score > best:
                best, waited = score, 0
                continue
            waited += 1
            if waited >= self.patience and drops < self.max_drops:
                drops, best, waited = drops + 1, -math.inf, 0
        return drops

    def describe(self) -> list[str]:
        """One line per field, for ``keyarch info``; the paper's silences are marked."""
        return [
            f"{key}: {value}" + (" (assumed: not in the paper)" if key in self.assumed else "")
            for key, value in asdict(self).items()
            if key not in ("name", "assumed")
        ]


RECIPES: dict[str, Recipe] = {
    recipe.name: recipe
    for recipe in (
        Recipe(
            "lenet5-paper",
            "LeCun et al. 1998, section III-C: 20 passes over the 60,000 MNIST digits, no "
            "distortions, a step size decreasing over the passes. The paper's optimiser, "
            "stochastic diagonal Levenberg-Marquardt, is replaced by Adam (lr 0.004, batch 128, "
            "one warm-up epoch, cosine decay, label smoothing 0.05), which reaches the paper's "
            "accuracy here in about two minutes on 2 CPU cores. Chosen by a sweep of 14-20 "
            "epochs on full MNIST (test top-1): batch 64 lr 0.002 14 epochs 98.98; batch 128 lr "
            "0.002 15 epochs 98.81; batch 128 lr 0.004 16 epochs 98.99; the same with label "
            "smoothing 0.1 and 18 epochs 99.01; batch 128 lr 0.004 20 epochs 99.13 (this recipe). "
            "The paper's input scaling (II-B: background -0.1, ink 1.175; --normalisation "
            "lenet) gave 98.95 with this recipe in one run, so the recipe keeps MNIST's mean "
            "and standard deviation",
            optimizer="adam",
            lr=0.004,
            epochs=20,
            batch_size=128,
            schedule="cosine",
            warmup_epochs=1,
            label_smoothing=0.05,
            augment="pad",
            assumed=(
                "optimizer",
                "lr",
                "batch_size",
                "schedule",
                "warmup_epochs",
                "label_smoothing",
            ),  # fmt: skip
        ),
        Recipe(
            "alexnet-paper",
            "Krizhevsky et al. 2012, section 5: SGD, batch 128, momentum 0.9, weight decay "
            "5e-4, lr 0.01 divided by 10 when the validation error stopped improving, three "
            "times before the end (the test split stands in for validation; how long 'stopped "
            "improving' lasts is not given: 3 epochs here), about 90 epochs; random 224 crops "
            "of 256 images, flips, PCA colour noise; 10-crop testing. --schedule step with "
            "fixed milestones (30, 60, 80) is the usual fixed-epoch stand-in",
            optimizer="sgd",
            lr=0.01,
            momentum=0.9,
            weight_decay=5e-4,
            epochs=90,
            batch_size=128,
            schedule="plateau",
            milestones=(30, 60, 80),
            max_drops=3,
            augment="alexnet",
            tta="tencrop",
            assumed=("patience", "decay_bias_and_norm"),
        ),
        Recipe(
            "zfnet-paper",
            "Zeiler & Fergus 2013, section 3: SGD, batch 128, lr 0.01 annealed by hand when "
            "the validation error plateaus (here: divided by 10 after 3 epochs without "
            "improvement, at most 3 times), momentum 0.9, dropout 0.5, 70 epochs; conv "
            "filters whose RMS exceeds 0.1 renormalised to 0.1 after each update; 224 crops "
            "and flips; 10-crop testing. The paper gives no weight decay: AlexNet's 5e-4 here",
            optimizer="sgd",
            lr=0.01,
            momentum=0.9,
            weight_decay=5e-4,
            epochs=70,
            batch_size=128,
            schedule="plateau",
            milestones=(30, 50, 60),
            max_drops=3,
            augment="alexnet",
            tta="tencrop",
            renorm_radius=0.1,
            assumed=("weight_decay", "patience", "max_drops", "decay_bias_and_norm"),
        ),
        Recipe(
            "vgg-paper",
            "Simonyan & Zisserman 2014, section 3.1: SGD, batch 256, momentum 0.9, weight "
            "decay 5e-4, dropout 0.5, lr 0.01 divided by 10 when the validation accuracy "
            "stopped improving, three times in all, 370K iterations (74 epochs); scale "
            "jittering S in [256, 512], 224 crops, flips, PCA colour shift; multi-scale testing",
            optimizer="sgd",
            lr=0.01,
            momentum=0.9,
            weight_decay=5e-4,
            epochs=74,
            batch_size=256,
            schedule="plateau",
            milestones=(30, 50, 65),
            max_drops=3,
            assumed=("patience", "decay_bias_and_norm"),
            augment="vgg",
            tta="multiscale",
        ),
        Recipe(
            "googlenet-paper",
            "Szegedy et al. 2014, section 6: asynchronous SGD with momentum 0.9, the learning "
            "rate decreased by 4 % every 8 epochs; crops of 8 % to 100 % of the image with "
            "aspect ratios 3/4 to 4/3, photometric distortions; auxiliary losses weighted 0.3. "
            "The base rate and epoch count are not given in the paper: 0.01 and 90 here",
            optimizer="sgd",
            lr=0.01,
            momentum=0.9,
            weight_decay=2e-4,
            epochs=90,
            batch_size=256,
            schedule="step",
            milestones=tuple(range(8, 90, 8)),
            gamma=0.96,
            augment="inception",
            tta="tencrop",
            assumed=("lr", "epochs", "batch_size", "weight_decay", "decay_bias_and_norm"),
        ),
        Recipe(
            "bn-inception-paper",
            "Ioffe & Szegedy 2015, section 4.2.1 (BN-x30): GoogLeNet's SGD with the rate raised "
            "30 times (0.0015 -> 0.045), decayed 6 times faster (4 % every 8/6 epochs), L2 "
            "weight decay divided by 5, no dropout, no LRN, photometric distortions reduced, "
            "batch 32. The epoch count and GoogLeNet's weight decay are not given: 60 epochs "
            "and 2e-4 / 5 here",
            optimizer="sgd",
            lr=0.045,
            momentum=0.9,
            weight_decay=4e-5,
            epochs=60,
            batch_size=32,
            schedule="step",
            milestones=tuple(round(8 / 6 * i, 3) for i in range(1, 45)),
            gamma=0.96,
            augment="inception-light",
            assumed=("epochs", "weight_decay", "decay_bias_and_norm"),
        ),
        Recipe(
            "inception-v3-paper",
            "Szegedy et al. 2015, section 8: RMSProp with decay 0.9 and epsilon 1.0 (TensorFlow's "
            "form), learning rate 0.045 multiplied by 0.94 every two epochs, gradient clipping "
            "at 2.0, batch 32 per replica, about 100 epochs, label smoothing 0.1 (section 7), "
            "the auxiliary classifier on (sections 4 and 7). Weight decay 4e-5 is the released "
            "training code's",
            optimizer="rmsprop",
            lr=0.045,
            momentum=0.9,
            epochs=100,
            batch_size=32,
            schedule="step",
            milestones=tuple(range(2, 100, 2)),
            gamma=0.94,
            clip_grad=2.0,
            label_smoothing=0.1,
            weight_decay=4e-5,
            augment="inception",
            tta="none",
            model_options=(("aux_logits", True),),
            assumed=("epochs", "weight_decay", "decay_bias_and_norm"),
        ),
        Recipe(
            "xception-paper",
            "Chollet 2016, section 4.3 (ImageNet): SGD with momentum 0.9, learning rate 0.045 "
            "decayed by 0.94 every 2 epochs, weight decay 1e-5, dropout 0.5 before the "
            "classifier; no auxiliary tower. Batch and epochs are not given: 32 and 100 here",
            optimizer="sgd",
            lr=0.045,
            momentum=0.9,
            weight_decay=1e-5,
            epochs=100,
            batch_size=32,
            schedule="step",
            milestones=tuple(range(2, 100, 2)),
            gamma=0.94,
            augment="inception",
            model_options=(("dropout", 0.5),),
            assumed=("epochs", "batch_size", "decay_bias_and_norm"),
        ),
        Recipe(
            "resnet-paper",
            "He et al. 2015, section 3.4: SGD, batch 256, momentum 0.9, weight decay 1e-4, "
            "lr 0.1 divided by 10 when the error plateaus, 60e4 iterations of 256 images (120 "
            "epochs of ImageNet's 1.28M); scale augmentation (shorter side in [256, 480]; here "
            "[256, 512]), 224 crops, flips; 10-crop testing; no dropout. How long a plateau "
            "lasts and how many drops are not given: 3 epochs and 3 drops here; --schedule step "
            "with milestones (30, 60) is torchvision's fixed 90-epoch stand-in",
            optimizer="sgd",
            lr=0.1,
            momentum=0.9,
            weight_decay=1e-4,
            epochs=120,
            batch_size=256,
            schedule="plateau",
            milestones=(30, 60),
            max_drops=3,
            augment="vgg",
            tta="tencrop",
            assumed=("patience", "max_drops", "decay_bias_and_norm"),
        ),
        Recipe(
            "resnet-cifar-paper",
            "He et al. 2015, section 4.2: SGD, batch 128, momentum 0.9, weight decay 1e-4, lr "
            "0.1 divided by 10 at 32k and 48k iterations, stop at 64k (epochs 82, 123, 164 of "
            "391 steps), 4-pixel padding, 32x32 crops, flips",
            optimizer="sgd",
            lr=0.1,
            momentum=0.9,
            weight_decay=1e-4,
            epochs=164,
            batch_size=128,
            schedule="step",
            milestones=(82, 123),
            augment="crop-flip",
            assumed=("decay_bias_and_norm",),
        ),
        Recipe(
            "senet-paper",
            "Hu et al. 2017, section 6.1: SGD, momentum 0.9, batch 1024, lr 0.6 divided by 10 "
            "every 30 epochs, 100 epochs; random-size crops and flips. Weight decay is not "
            "given: ResNet's 1e-4 here",
            optimizer="sgd",
            lr=0.6,
            momentum=0.9,
            weight_decay=1e-4,
            epochs=100,
            batch_size=1024,
            schedule="step",
            milestones=(30, 60, 90),
            augment="resized-crop",
            assumed=("weight_decay", "decay_bias_and_norm"),
        ),
        Recipe(
            "densenet-paper",
            "Huang et al. 2016, section 4.2 (ImageNet): SGD with Nesterov momentum 0.9, batch "
            "256, weight decay 1e-4, lr 0.1 divided by 10 at epochs 30 and 60, 90 epochs; "
            "ResNet's augmentation; 10-crop testing",
            optimizer="sgd",
            lr=0.1,
            momentum=0.9,
            nesterov=True,
            weight_decay=1e-4,
            epochs=90,
            batch_size=256,
            schedule="step",
            milestones=(30, 60),
            augment="vgg",
            tta="tencrop",
        ),
        Recipe(
            "densenet-cifar-paper",
            "Huang et al. 2016, section 4.2 (CIFAR): SGD with Nesterov momentum 0.9, batch 64, "
            "weight decay 1e-4, lr 0.1 divided by 10 at 50 % and 75 % of 300 epochs; "
            "translation and mirroring",
            optimizer="sgd",
            lr=0.1,
            momentum=0.9,
            nesterov=True,
            weight_decay=1e-4,
            epochs=300,
            batch_size=64,
            schedule="step",
            milestones=(150, 225),
            augment="crop-flip",
        ),
        Recipe(
            "mobilenet-paper",
            "Howard et al. 2017, section 3.2: TensorFlow, RMSProp with asynchronous gradient "
            "descent as in Inception-v3 (decay 0.9, epsilon 1.0); less regularisation and "
            "augmentation than for large models: no side heads or label smoothing, fewer "
            "image distortions, 'limiting the size of small crops', and 'very little or no "
            "weight decay (l2 regularization) on the depthwise filters' (none here). "
            "MobileNetV2 (section 6.1) gives the rate 'following MobileNetV1 setup': 0.045 "
            "decayed by 0.98 per epoch. Not given, assumed: the smallest crop (25 % of the "
            "area, against Inception's 8 %), crops and flips without colour changes, "
            "MobileNetV2's batch 96 and RMSProp momentum 0.9, weight decay 4e-5 on the other "
            "weights (MobileNetV2's), 150 epochs",
            optimizer="rmsprop",
            lr=0.045,
            momentum=0.9,
            epochs=150,
            batch_size=96,
            schedule="exponential",
            gamma=0.98,
            weight_decay=4e-5,
            depthwise_weight_decay=0.0,
            augment="resized-crop",
            min_crop_area=0.25,
            assumed=(
                "momentum",
                "epochs",
                "batch_size",
                "weight_decay",
                "augment",
                "min_crop_area",
                "decay_bias_and_norm",
            ),  # fmt: skip
        ),
        Recipe(
            "mobilenetv2-paper",
            "Sandler et al. 2018, section 6.1: TensorFlow, RMSProp with decay and momentum "
            "0.9, weight decay 4e-5, initial rate 0.045 decayed by 0.98 every epoch, batch 96 "
            "(16 asynchronous workers); section 4: dropout and batch norm in training "
            "(dropout 0.2 assumed, the model's default). Not given, assumed: 150 epochs, "
            "crops and flips, RMSProp epsilon 1.0 (the Inception papers' and TF-slim's "
            "default). The text names no weight averaging",
            optimizer="rmsprop",
            lr=0.045,
            momentum=0.9,
            epochs=150,
            batch_size=96,
            schedule="exponential",
            gamma=0.98,
            weight_decay=4e-5,
            augment="resized-crop",
            assumed=("epochs", "augment", "rmsprop_eps", "decay_bias_and_norm"),
        ),
        Recipe(
            "mobilevit-paper",
            "Mehta & Rastegari 2021, section 4.1: 300 epochs, AdamW, effective batch 1,024, "
            "the rate warmed up over the first 3k iterations to 0.002 then cosine-annealed, "
            "weight decay 0.01, label smoothing 0.1, basic augmentation (random resized "
            "crops, flips), evaluation with an exponential moving average of the weights. "
            "keyarch warms up from 0 (the paper from 0.0002) over exactly 3,000 steps and "
            "anneals to 0 (the paper to 0.0002); the multi-scale sampler of section 3.2 is "
            "not implemented (fixed 256 crops). Not given, assumed: the average's decay, "
            "0.9995 (the released ml-cvnets configuration's EMA momentum 0.0005)",
            optimizer="adamw",
            lr=0.002,
            epochs=300,
            batch_size=1024,
            schedule="cosine",
            warmup_steps=3000,
            weight_decay=0.01,
            label_smoothing=0.1,
            augment="resized-crop",
            ema_decay=0.9995,
            assumed=("ema_decay", "decay_bias_and_norm"),
        ),
        Recipe(
            "efficientnet-paper",
            "Tan & Le 2019, section 5.2: RMSProp with decay 0.9 and momentum 0.9, batch-norm "
            "momentum 0.99, weight decay 1e-5, rate 0.256 decayed by 0.97 every 2.4 epochs, "
            "AutoAugment, stochastic depth (survival 0.8), dropout 0.2 for B0. Batch and "
            "epochs are not given. The released code scales the rate linearly, 0.016 per 256 "
            "images (its default: batch 2048 at 0.128), so the paper's 0.256 implies batch "
            "4096: used here. From the released code, assumed: 350 epochs (the paper stops "
            "early on a 25,000-image minival split of the training set; keyarch trains the "
            "fixed 350), 5 warm-up epochs, RMSProp epsilon 1e-3, and an exponential moving "
            "average of the weights (0.9999), which the paper's text does not name. keyarch "
            "has no AutoAugment or stochastic depth: crops and flips here, and batch norm "
            "keeps PyTorch's momentum",
            optimizer="rmsprop",
            lr=0.256,
            momentum=0.9,
            epochs=350,
            batch_size=4096,
            schedule="step",
            milestones=tuple(round(2.4 * i, 1) for i in range(1, 146)),
            gamma=0.97,
            warmup_epochs=5,
            weight_decay=1e-5,
            rmsprop_eps=1e-3,
            augment="resized-crop",
            ema_decay=0.9999,
            assumed=(
                "epochs",
                "batch_size",
                "warmup_epochs",
                "rmsprop_eps",
                "ema_decay",
                "augment",
                "decay_bias_and_norm",
            ),  # fmt: skip
        ),
        Recipe(
            "nasnet-paper",
            "Zoph et al. 2017, Appendix A.7 (NASNet-A Mobile): Inception-v3's augmentation, "
            "RMSProp with decay 0.9 and epsilon 1.0, label smoothing 0.1, the auxiliary "
            "classifier 2/3 of the way up with loss weight 0.4, dropout 0.5 before the "
            "classifier, Inception-v3's exponentially decaying rate, and evaluation with an "
            "exponential moving average of the weights (decay 0.9999). What the paper leaves "
            "to the released TF-slim code (its training notes for the Mobile model), "
            "assumed: rate 0.04 per replica x 50 synchronous replicas of 32 images (2.0 for "
            "batch 1,600), x 0.97 every 2.4 epochs (Inception-v3's own: 0.94 every 2), "
            "weight decay 4e-5, gradient norm clipped at 10, RMSProp momentum 0.9, and 312 "
            "epochs (the code's 250,000 steps of 1,600 images); Mobile trains without drop "
            "path",
            optimizer="rmsprop",
            lr=2.0,
            momentum=0.9,
            epochs=312,
            batch_size=1600,
            schedule="step",
            milestones=tuple(round(2.4 * i, 1) for i in range(1, 131)),
            gamma=0.97,
            weight_decay=4e-5,
            label_smoothing=0.1,
            clip_grad=10.0,
            augment="inception",
            ema_decay=0.9999,
            model_options=(("aux_logits", True), ("dropout", 0.5)),
            assumed=(
                "lr",
                "epochs",
                "batch_size",
                "milestones",
                "gamma",
                "weight_decay",
                "clip_grad",
                "momentum",
                "decay_bias_and_norm",
            ),  # fmt: skip
        ),
        Recipe(
            "mnist",
            "keyarch small-data preset: Adam, cosine schedule, 10 epochs",
            optimizer="adam",
            lr=1e-3,
            epochs=10,
            batch_size=128,
            schedule="cosine",
            augment="pad",
        ),
        Recipe(
            "cifar",
            "keyarch small-data preset: SGD with Nesterov momentum, one warm-up epoch, cosine "
            "schedule, weight decay 5e-4, pad-and-crop and flips, 30 epochs",
            optimizer="sgd",
            lr=0.05,
            momentum=0.9,
            nesterov=True,
            weight_decay=5e-4,
            epochs=30,
            batch_size=128,
            schedule="cosine",
            warmup_epochs=1,
            augment="crop-flip",
            tta="flip",
        ),
    )
}

# Show and Tell as im2txt trains it (Vinyals et al. 2016, arXiv 1609.06647, section 4.3.1,
# and the im2txt configuration): SGD without momentum at 2.0, halved every 8 epochs,
# gradients clipped to norm 5, batch 32; the Inception encoder fine-tuned at 0.0005.
RECIPES["show-and-tell"] = Recipe(
    "show-and-tell",
    "Vinyals et al. 2016 (arXiv 1609.06647) section 4.3.1 and the im2txt reference "
    "configuration: SGD (no momentum), learning rate 2.0 halved every 8 epochs, gradient "
    "norm clipped at 5, batch 32, about 1 million steps on COCO (50 epochs here). The "
    "encoder's rate in the fine-tuning phase is 0.0005 (--encoder-lr-scale 0.00025)",
    optimizer="sgd",
    lr=2.0,
    momentum=0.0,
    epochs=50,
    batch_size=32,
    schedule="step",
    milestones=(8, 16, 24, 32, 40, 48),
    gamma=0.5,
    clip_grad=5.0,
    assumed=("epochs",),
)
RECIPES["show-and-tell-synthetic"] = replace(
    RECIPES["show-and-tell"],
    name="show-and-tell-synthetic",
    source="Show and Tell on keyarch's synthetic captions within 15 minutes of a 2-core "
    "CPU: im2txt's gradient clipping (5); Adam at 2e-3 with a cosine decay, batch 64 and "
    "the epochs are keyarch's choice for the short budget (im2txt's SGD at 2.0 needs far "
    "more steps)",
    optimizer="adam",
    lr=2e-3,
    epochs=12,
    batch_size=64,
    schedule="cosine",
    milestones=(),
    gamma=0.1,
    assumed=("optimizer", "lr", "epochs", "batch_size", "schedule"),
)

# The recurrent models on task 2c (Hochreiter and Schmidhuber 1997, sections 5 and 5.2):
# gradient descent with learning rate 0.01 per sequence, learned online. Here a batch of 8
# sequences and the mean loss at 8 x 0.01, the same step as the sum of the 8 sequences'
# losses at 0.01 (what keyarch experiment lstm-vs-rnn does), over the 60,000 generated
# training sequences once.
RECIPES["lstm-2c"] = Recipe(
    "lstm-2c",
    "Hochreiter and Schmidhuber 1997, section 5: gradient descent at 0.01 per sequence "
    "(online); here batches of 8 at 0.08 on the mean loss (the same step as the sum at "
    "0.01), one pass over task 2c's 60,000 generated training sequences, no momentum",
    optimizer="sgd",
    lr=0.08,
    momentum=0.0,
    epochs=1,
    batch_size=8,
    schedule="constant",
    assumed=("batch_size", "epochs"),
)

RECIPES["lstm-1997-2c"] = replace(
    RECIPES["lstm-2c"],
    name="lstm-1997-2c",
    source="Hochreiter and Schmidhuber 1997, experiment 2c, with the paper's network: the "
    "1997 cell (no forget gate), no bias weights, two memory cells (keyarch experiment "
    "lstm-vs-rnn's 'LSTM 1997'); trained as lstm-2c",
    model_options=(("forget_gate", False), ("bias", False), ("hidden_size", 2)),
)

# NASNet-A Large (Appendix A.7 as nasnet-paper; the released code's notes for the Large
# model): 100 replicas of 16 images at 0.015 each, weight decay 5e-5, drop path keep 0.7.
RECIPES["nasnet-large-paper"] = replace(
    RECIPES["nasnet-paper"],
    name="nasnet-large-paper",
    source="Zoph et al. 2017, Appendix A.7 (NASNet-A Large), as nasnet-paper: Inception-v3's "
    "augmentation, RMSProp (decay 0.9, epsilon 1.0), label smoothing 0.1, the auxiliary "
    "classifier (weight 0.4), dropout 0.5, an exponential moving average of the weights "
    "(0.9999); ScheduledDropPath (section 4, A.5). From the released TF-slim code's notes "
    "for the Large model, assumed: rate 0.015 per replica x 100 synchronous replicas of 16 "
    "images (1.5 for batch 1,600), x 0.97 every 2.4 epochs, weight decay 5e-5, gradient norm "
    "clipped at 10, drop path keep probability 0.7 (drop_path 0.3, grown linearly over "
    "training), 312 epochs (250,000 steps)",
    lr=1.5,
    weight_decay=5e-5,
    model_options=(("aux_logits", True), ("dropout", 0.5), ("drop_path", 0.3)),
)
RECIPES["resnet110-cifar-paper"] = replace(
    RECIPES["resnet-cifar-paper"],
    name="resnet110-cifar-paper",
    source="He et al. 2015, section 4.2, for ResNet-110 (and ResNet-1202, 'trained as "
    "described above'): as resnet-cifar-paper, but 0.1 'is slightly too large to start "
    "converging', so lr 0.01 warms up the training until the training error is below 80 % "
    "(about 400 iterations; here exactly 400 iterations, so that the schedule does not "
    "depend on the run), then 0.1",
    warmup_steps=400,
    warmup="constant",
    warmup_factor=0.1,
)
# Inception-v4 and Inception-ResNet (Szegedy et al. 2016, section 4): "RMSProp with decay
# of 0.9 and epsilon = 1.0 ... a learning rate of 0.045, decayed every two epochs using an
# exponential rate of 0.94"; no clipping, label smoothing or auxiliary classifier is named.
RECIPES["inception-v4-paper"] = replace(
    RECIPES["inception-v3-paper"],
    name="inception-v4-paper",
    source="Szegedy et al. 2016, section 4 (Inception-v4, Inception-ResNet): RMSProp with "
    "decay 0.9 and epsilon 1.0, learning rate 0.045 decayed every two epochs by 0.94; no "
    "auxiliary classifier. Batch, epochs, momentum and weight decay are not given: "
    "Inception-v3's",
    clip_grad=0.0,
    label_smoothing=0.0,
    model_options=(),
    assumed=("epochs", "batch_size", "weight_decay", "momentum", "decay_bias_and_norm"),
)

PAPER_RECIPES = {
    "LeNet": "lenet5-paper",
    "AlexNet": "alexnet-paper",
    "ZFNet": "zfnet-paper",
    "VGG": "vgg-paper",
    "GoogLeNet": "googlenet-paper",
    "BN-Inception": "bn-inception-paper",
    "Inception": "inception-v3-paper",
    "Inception-v4": "inception-v4-paper",
    "Inception-ResNet": "inception-v4-paper",
    "Xception": "xception-paper",
    "ResNet": "resnet-paper",
    "SE-ResNet": "senet-paper",
    "DenseNet": "densenet-paper",
    "MobileNet": "mobilenet-paper",
    "MobileNetV2": "mobilenetv2-paper",
    "MobileViT": "mobilevit-paper",
    "EfficientNet": "efficientnet-paper",
    "NASNet": "nasnet-paper",
    "RNN": "lstm-2c",
    "LSTM": "lstm-2c",
}
# Families whose paper also gives a CIFAR recipe, used on the CIFAR datasets.
CIFAR_PAPER_RECIPES = {"ResNet": "resnet-cifar-paper", "DenseNet": "densenet-cifar-paper"}
# Models whose paper gives them a recipe of their own on the CIFAR datasets ...
CIFAR_MODEL_RECIPES = {"resnet110": "resnet110-cifar-paper"}
# ... and on ImageNet-sized data.
MODEL_RECIPES = {"nasnet_a_large": "nasnet-large-paper"}
SMALL_DATASETS = {
    "mnist": "mnist",
    "fashion-mnist": "mnist",
    "cifar10": "cifar",
    "cifar100": "cifar",
    "cifar10-jpeg": "cifar",
}


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise BadInput(f"unknown recipe {name!r}; expected one of {', '.join(RECIPES)}")
    return RECIPES[name]


def default_recipe(family: str, dataset: str, model: str | None = None) -> Recipe:
    """The family's paper recipe on the data it was made for (LeNet on MNIST, the ImageNet
    networks on image folders), a small-data preset otherwise; ``model`` picks a recipe the
    paper gives one model only (ResNet-110's warm-up on CIFAR)."""
    paper = PAPER_RECIPES.get(family)
    if family == "captioning":
        return RECIPES["show-and-tell-synthetic" if dataset == "synthetic" else "show-and-tell"]
    if model in CIFAR_MODEL_RECIPES and dataset.startswith("cifar"):
        return RECIPES[CIFAR_MODEL_RECIPES[model]]
    if family == "LeNet" and dataset in ("mnist", "fashion-mnist"):
        return RECIPES["lenet5-paper"]
    if family in CIFAR_PAPER_RECIPES and dataset.startswith("cifar"):
        return RECIPES[CIFAR_PAPER_RECIPES[family]]
    if dataset in SMALL_DATASETS or paper is None:
        return RECIPES[SMALL_DATASETS.get(dataset, "cifar")]
    return RECIPES[MODEL_RECIPES.get(model, paper)]


def override(recipe: Recipe, **changes) -> Recipe:
    """A copy with some fields changed (None means keep); unknown fields are an error."""
    known = {f.name for f in fields(Recipe)}
    unknown = set(changes) - known
    if unknown:
        raise BadInput(f"recipes have no field(s) {', '.join(sorted(unknown))}")
    return replace(recipe, **{k: v for k, v in changes.items() if v is not None})
