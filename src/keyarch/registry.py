"""The model registry: one decorator per builder, model cards, ``create_model`` and ``list_models``.

A builder is a function with keyword-only arguments that returns an ``nn.Module``; it is
registered together with the card that describes the paper behind it::

    register = model_registrar(family="VGG", paper=VGG_PAPER, input_size=(3, 224, 224))

    @register(description="Configuration D of Table 1", metrics=(...,))
    def vgg16(*, num_classes: int = 1000, in_chans: int = 3) -> VGG: ...
"""

from __future__ import annotations

import difflib
import fnmatch
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from keyarch.errors import BadInput, BadType

__all__ = [
    "IMAGENET_VAL",
    "IMAGE_CLASSIFICATION",
    "TASKS",
    "SINGLE_CROP",
    "Metric",
    "ModelCard",
    "Paper",
    "create_model",
    "list_models",
    "model_card",
    "model_registrar",
    "register_model",
]


@dataclass(frozen=True)
class Paper:
    """The publication a family comes from."""

    title: str
    authors: str
    year: int
    url: str
    main_ideas: tuple[str, ...]  # two to four lines a reader should remember
    importance: str  # why the paper matters in the history of the field


# The one setting that `keyarch list` compares models in: accuracy on the ILSVRC-2012
# validation set (ImageNet-1k, 50,000 images), one centre crop per image.
IMAGENET_VAL = "ILSVRC-2012 val"
IMAGE_CLASSIFICATION = "image-classification"
TASKS = (IMAGE_CLASSIFICATION, "sequence-classification")
# Systems of several registered networks with a card of their own (``keyarch info``), built
# by their own command rather than create_model: the module that holds each one's CARD.
IMAGE_CAPTIONING = "image-captioning"
_SYSTEM_CARDS = {"show_and_tell": "keyarch.models.captioning"}
SINGLE_CROP = "1 crop"


@dataclass(frozen=True)
class Metric:
    """A published result: on which split, with how many views of each image, and where
    it was published. Accuracies from different splits or crops do not compare."""

    dataset: str  # "ImageNet", "CIFAR-10", "MNIST"
    top1: float | None  # accuracy in percent
    top5: float | None
    source: str  # the table, paper or weights the figure comes from
    # "ILSVRC-2012 val", "ILSVRC-2010 test", "ILSVRC-2014 test", "CIFAR-10 test", "MNIST test"
    split: str = field(kw_only=True)
    # Views averaged per image: "1 crop", "10 crops", "144 crops", "dense, 3 scales",
    # "multi-crop & dense", "full image" (small images, uncropped), "not stated"
    crops: str = field(kw_only=True)

    @property
    def single_crop_imagenet_val(self) -> bool:
        """Whether this is the setting `keyarch list` compares: ILSVRC-2012 val, 1 crop."""
        return self.split == IMAGENET_VAL and self.crops == SINGLE_CROP


@dataclass(frozen=True)
class ModelCard:
    """Everything a user should know about one registered model before using it."""

    name: str
    family: str
    title: str
    authors: str
    year: int
    url: str
    main_ideas: tuple[str, ...]
    importance: str
    description: str
    # the example input of one sample: (channels, height, width) of an image, or for a
    # sequence model (time steps, features per step)
    input_size: tuple[int, ...]
    deviations: tuple[str, ...] = ()  # deliberate differences from the paper
    metrics: tuple[Metric, ...] = ()
    # The first published single-crop ILSVRC-2012 validation top-1 accuracy, if any: the
    # one number tables such as `keyarch list` can set side by side (see Metric).
    imagenet_top1: float | None = field(default=None)
    # what the model does: "image-classification" (every CNN and hybrid) or
    # "sequence-classification" (the recurrent networks)
    task: str = IMAGE_CLASSIFICATION

    @property
    def default_input_size(self) -> tuple[int, ...]:
        return self.input_size

    @property
    def input_description(self) -> str:
        """'3x224x224 (channels x height x width)' or '50x2 (time steps x features)'."""
        axes = "channels x height x width" if len(self.input_size) == 3 else "time steps x features"
        return f"{'x'.join(str(d) for d in self.input_size)} ({axes})"


_BUILDERS: dict[str, Callable[..., nn.Module]] = {}
_CARDS: dict[str, ModelCard] = {}


def register_model(
    *,
    family: str,
    paper: Paper,
    input_size: tuple[int, int, int],
    description: str,
    deviations: tuple[str, ...] = (),
    metrics: tuple[Metric, ...] = (),
    name: str | None = None,
    task: str = IMAGE_CLASSIFICATION,
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Register a builder under its function name (or ``name``); duplicates are an error."""
    if task not in TASKS:
        raise BadInput(f"task {task!r} is not one of {', '.join(TASKS)}")

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        model_name = name or builder.__name__
        if model_name in _BUILDERS:
            raise BadInput(f"model {model_name!r} is registered twice")
        imagenet = next(
            (m.top1 for m in metrics if m.single_crop_imagenet_val and m.top1 is not None), None
        )
        _BUILDERS[model_name] = builder
        _CARDS[model_name] = ModelCard(
            name=model_name,
            family=family,
            title=paper.title,
            authors=paper.authors,
            year=paper.year,
            url=paper.url,
            main_ideas=paper.main_ideas,
            importance=paper.importance,
            description=description,
            input_size=input_size,
            deviations=deviations,
            metrics=metrics,
            imagenet_top1=imagenet,
            task=task,
        )
        return builder

    return decorate


def model_registrar(
    *,
    family: str,
    paper: Paper,
    input_size: tuple[int, int, int],
    deviations: tuple[str, ...] = (),
) -> Callable[..., Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]]:
    """``register_model`` with what one family shares already bound; the family's
    ``deviations`` come after each model's own."""

    def register(
        *,
        description: str,
        input_size: tuple[int, int, int] = input_size,
        deviations: tuple[str, ...] = (),
        metrics: tuple[Metric, ...] = (),
        name: str | None = None,
    ) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
        return register_model(
            family=family,
            paper=paper,
            input_size=input_size,
            description=description,
            deviations=deviations + family_deviations,
            metrics=metrics,
            name=name,
        )

    family_deviations = deviations

    return register


def _ensure_models_imported() -> None:
    from keyarch import models  # noqa: F401  (importing registers every family)


def _unknown(name: object) -> ValueError:
    names = sorted(_BUILDERS)
    close = difflib.get_close_matches(str(name), names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `keyarch list` shows them all"
    return BadInput(f"unknown model {name!r}{hint}")


def list_models(pattern: str = "*", task: str | None = None) -> list[str]:
    """Names of the registered models matching a shell-style ``pattern``, sorted; with
    ``task`` ("image-classification", "sequence-classification") only those of that task."""
    if not isinstance(pattern, str):
        raise BadType(f"pattern must be a string such as 'vgg*', got {type(pattern).__name__}")
    if task is not None and task not in TASKS:
        raise BadInput(f"task {task!r} is not one of {', '.join(TASKS)}")
    _ensure_models_imported()
    return sorted(
        n
        for n in _BUILDERS
        if fnmatch.fnmatchcase(n, pattern) and (task is None or _CARDS[n].task == task)
    )


# Short names the references use for a family's default width: they build the same model.
ALIASES = {"mobilenet_v1": "mobilenet_v1_100", "mobilenet_v2": "mobilenet_v2_100"}


def _resolve(name: object) -> object:
    return ALIASES.get(name, name) if isinstance(name, str) else name


def model_card(name: str) -> ModelCard:
    """The card of a registered model: its paper, main ideas, deviations and published metrics
    (also of the captioner, ``show_and_tell``, which ``keyarch caption train`` builds)."""
    if name in _SYSTEM_CARDS:
        import importlib

        return importlib.import_module(_SYSTEM_CARDS[name]).CARD
    _ensure_models_imported()
    name = _resolve(name)
    if name not in _CARDS:
        raise _unknown(name)
    return _CARDS[name]


def model_module(name: str) -> str:
    """The module that builds a registered model (``keyarch.models.googlenet``): where its
    config tables live."""
    _ensure_models_imported()
    name = _resolve(name)
    if name not in _BUILDERS:
        raise _unknown(name)
    return _BUILDERS[name].__module__


# What a count may be, and what its smallest value means.
_COUNT_RULES = {
    "num_classes": (0, "an int >= 0 (0: no classifier, the model returns its features)"),
    "in_chans": (1, "a positive int"),
}


def check_count(value: object, what: str, model: str) -> int:
    """``value`` if it is a valid ``num_classes`` or ``in_chans`` for ``model``, else
    ``BadType`` / ``BadInput`` naming the model and what is expected."""
    minimum, expected = _COUNT_RULES[what]
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadType(f"{model}: {what} must be {expected}, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise BadInput(f"{model}: {what} must be {expected}, got {value}")
    return value


def create_model(
    name: str,
    num_classes: int | None = None,
    in_chans: int | None = None,
    pretrained: bool = False,
    **kwargs,
) -> nn.Module:
    """Build a registered model; ``num_classes`` and ``in_chans`` override its defaults.

    ``num_classes=0`` builds it without a classifier: ``forward`` returns the pooled
    features (the pre-logits). Other keyword arguments go to the model's builder;
    ``keyarch info NAME`` lists them. The returned model carries its registered name as
    ``model.model_name`` and its card as ``model.card``.

    ``pretrained=True`` loads published weights (see ``keyarch.pretrained``) and attaches
    their record as ``model.pretrained_weights`` and ``model.pretrained_cfg``; it builds
    the network with the options the weights were trained with (``pretrained_cfg
    ["builder_options"]``: timm's MobileNet v1 is ReLU6), and an option that contradicts
    them is a ``ValueError``.
    """
    _ensure_models_imported()
    name = _resolve(name)
    if not isinstance(name, str) or name not in _BUILDERS:
        raise _unknown(name)
    if not isinstance(pretrained, bool):
        raise BadType(f"{name}: pretrained must be True or False, got {pretrained!r}")
    builder = _BUILDERS[name]
    accepted = inspect.signature(builder).parameters
    options = dict(kwargs)
    for key, value in (("num_classes", num_classes), ("in_chans", in_chans)):
        if value is not None:
            options[key] = check_count(value, key, name)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise BadType(
            f"{name} does not take {', '.join(unknown)}; it accepts: {', '.join(accepted)}"
        )
    if pretrained:  # build the network the weights were trained as (timm's ReLU6 MobileNet)
        from keyarch.pretrained import pretrained_weights

        pretrained_weights(name).apply_builder_options(options)
    model = builder(**options)
    model.model_name = name
    model.card = _CARDS[name]
    if pretrained:
        from keyarch.pretrained import load_pretrained

        load_pretrained(model, name)
    return model


def builder_options(name: str) -> dict[str, object]:
    """The keyword arguments a model's builder accepts, with their defaults."""
    _ensure_models_imported()
    name = _resolve(name)
    if name not in _BUILDERS:
        raise _unknown(name)
    return {
        key: param.default for key, param in inspect.signature(_BUILDERS[name]).parameters.items()
    }
