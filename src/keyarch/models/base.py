"""The interface every image classifier in keyarch shares, the one timm users know.

``forward(x) == forward_head(forward_features(x))``; the input is checked first, so that a
wrong shape gives an error naming the model and what it accepts instead of a shape mismatch
deep inside the network.

* ``forward_features(x)``: the last feature map, ``num_features`` channels.
* ``forward_head(features, pre_logits=False)``: the logits; with ``pre_logits=True`` the
  vector the last linear layer takes (after pooling, the hidden layers of an MLP head such
  as VGG's fc6/fc7, and dropout), ``head_hidden_size`` wide (``num_features`` unless the
  head is an MLP).
* ``get_classifier()`` and ``reset_classifier(num_classes)``: the last layer, and a fresh one;
  ``num_classes=0`` (also in ``create_model``) puts ``nn.Identity`` in its place, so that
  ``forward`` returns the pre-logits, and drops auxiliary classifiers.
* ``torch.fx.symbolic_trace`` and torchvision's ``create_feature_extractor`` work (the input
  check steps aside for fx proxies), as do ``torch.export``, ``torch.onnx.export`` and
  ``torch.jit.trace``.
* ``torch.jit.script`` does not: it raises ``BadType`` saying so. The models are plain
  Python (mixins, class constants, attributes looked up by name), and TorchScript, which
  PyTorch now deprecates, would need annotations throughout; trace or export instead.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from keyarch.errors import BadInput, BadType
from keyarch.registry import check_count


class AuxiliaryOutputs(NamedTuple):
    """What a network with auxiliary classifiers (GoogLeNet, Inception-v3) returns in
    training: the main logits, the auxiliary logits, and the weight of their losses."""

    logits: torch.Tensor
    aux_logits: tuple[torch.Tensor, ...]
    aux_weight: float


def classifier_layer(in_features: int, num_classes: int, **factory) -> nn.Module:
    """The last layer of a head: ``nn.Linear`` (``factory``: its device and dtype), or
    ``nn.Identity`` for ``num_classes=0``."""
    return nn.Linear(in_features, num_classes, **factory) if num_classes else nn.Identity()


class ImageClassifier(nn.Module):
    """Base class: input checks, ``forward``, ``forward_head``, the classifier's handling.

    Subclasses set ``min_input_size`` (the smallest height and width the network accepts),
    ``fixed_input_size`` when the network only takes exactly that size (LeNet-5's C5 must
    see 5x5 maps), ``classifier_name`` (the dotted path of the last layer) and, in
    ``__init__``, ``num_features``; they implement ``forward_features`` and
    ``forward_pre_logits`` (features to the input of the last layer). ``model_name`` is
    the class's own; ``create_model`` replaces it with the registered name.
    """

    model_name = "model"
    min_input_size = 1
    fixed_input_size = False
    classifier_name = "fc"
    num_features: int  # channels of the feature map that forward_features returns

    def __init__(self, *, num_classes: int, in_chans: int) -> None:
        super().__init__()
        self.num_classes = check_count(num_classes, "num_classes", self.model_name)
        self.in_chans = in_chans

    @property
    def head_hidden_size(self) -> int:
        """Width of the pre-logits; MLP heads (AlexNet, VGG, LeNet-5) override it."""
        return self.num_features

    def check_input(self, x: torch.Tensor) -> None:
        """Raise ``ValueError`` unless ``x`` is an (N, in_chans, H, W) batch the network accepts."""
        if isinstance(x, torch.fx.Proxy) or torch.jit.is_tracing():
            return  # tracing: fx has no shapes to check, jit would freeze them as constants
        if not isinstance(x, torch.Tensor):
            raise BadType(f"{self.model_name} expects a torch.Tensor, got {type(x).__name__}")
        size = self.min_input_size
        expected = (
            f"(N, {self.in_chans}, {size}, {size})"
            if self.fixed_input_size
            else f"(N, {self.in_chans}, H, W) with H, W >= {size}"
        )
        if x.ndim != 4:
            raise BadInput(
                f"{self.model_name} expects a 4-d batch {expected}, got shape {tuple(x.shape)}"
            )
        _, channels, height, width = x.shape
        if channels != self.in_chans:
            raise BadInput(
                f"{self.model_name} expects {self.in_chans} input channel(s) {expected}, got "
                f"{channels} (shape {tuple(x.shape)}); use in_chans={channels} to build it "
                f"for such input"
            )
        too_small = height < size or width < size
        wrong_fixed = self.fixed_input_size and (height != size or width != size)
        if too_small or wrong_fixed:
            kind = "exactly" if self.fixed_input_size else "at least"
            raise BadInput(
                f"{self.model_name} needs inputs of {kind} {size}x{size} pixels {expected}, "
                f"got {height}x{width}"
            )

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward_pre_logits(self, features: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward_head(self, features: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """The logits of a feature map; with ``pre_logits``, what the last layer takes."""
        x = self.forward_pre_logits(features)  # N x head_hidden_size
        return x if pre_logits else self.get_classifier()(x)  # N x num_classes

    def get_classifier(self) -> nn.Module:
        """The last layer: ``nn.Linear`` (or ``nn.Identity`` after ``num_classes=0``)."""
        return self.get_submodule(self.classifier_name)

    def reset_classifier(self, num_classes: int) -> None:
        """A fresh last layer for ``num_classes`` classes, on the model's device and in its
        dtype; 0 removes it, so that ``forward`` returns the pre-logits."""
        self.num_classes = check_count(num_classes, "num_classes", self.model_name)
        weight = next(self.parameters())
        layer = classifier_layer(
            self.head_hidden_size, num_classes, device=weight.device, dtype=weight.dtype
        )
        parent, _, name = self.classifier_name.rpartition(".")
        setattr(self.get_submodule(parent), name, layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self.forward_head(self.forward_features(x))

    def __prepare_scriptable__(self) -> nn.Module:
        # torch.jit.script calls this first: fail with a message, not deep in the compiler.
        raise BadType(
            f"{self.model_name}: torch.jit.script is not supported (TorchScript is deprecated "
            "and keyarch's models are not annotated for it); use torch.jit.trace, "
            "torch.export.export, torch.fx.symbolic_trace or torch.onnx.export"
        )


class GlobalPoolHead:
    """``forward_pre_logits`` for the many networks that end in global pooling
    (``self.pool``), an optional ``self.dropout`` and one linear layer."""

    def forward_pre_logits(self, features: torch.Tensor) -> torch.Tensor:
        pooled = self.pool(features).flatten(1)  # N x num_features
        dropout = getattr(self, "dropout", None)
        return dropout(pooled) if dropout is not None else pooled


class MultilayerHead:
    """``forward_pre_logits`` for networks whose head is ``self.pool`` and a sequence of
    fully connected layers ``self.classifier`` that ends in the last layer (AlexNet's and
    VGG's fc6, fc7, fc8): the pre-logits are what fc7 gives, after its dropout if any."""

    classifier_name = "classifier.fc8"
    head_hidden_size = 4096

    def forward_pre_logits(self, features: torch.Tensor) -> torch.Tensor:
        x = self.pool(features).flatten(1)  # N x C*H*W
        # Layer by layer, since a slice of the Sequential is no submodule that fx can name.
        for layer in list(self.classifier)[:-1]:
            x = layer(x)
        return x  # N x 4096

    def forward_head(self, features: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        if pre_logits:
            return self.forward_pre_logits(features)
        # The Sequential called whole, so that hooks on it (layer summaries) see the call.
        return self.classifier(self.pool(features).flatten(1))  # N x num_classes


class AuxiliaryClassifiersMixin:
    """``forward``, ``forward_features`` and ``reset_classifier`` for networks with auxiliary
    classifiers, whose ``_body(x)`` returns the feature map and, in training, the auxiliary
    logits. ``auxiliary_classifiers`` maps each head's attribute to its last layer's name;
    with ``num_classes=0`` the heads are left out (there is nothing for them to classify),
    and a later ``reset_classifier`` does not bring them back."""

    auxiliary_classifiers: dict[str, str] = {}

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self._body(x)[0]

    def reset_classifier(self, num_classes: int) -> None:
        super().reset_classifier(num_classes)
        for head_name, layer_name in self.auxiliary_classifiers.items():
            head = getattr(self, head_name)
            if head is None:
                continue
            if num_classes == 0:
                setattr(self, head_name, None)
            else:
                old = getattr(head, layer_name)
                factory = {"device": old.weight.device, "dtype": old.weight.dtype}
                setattr(head, layer_name, nn.Linear(old.in_features, num_classes, **factory))

    def forward(self, x: torch.Tensor) -> torch.Tensor | AuxiliaryOutputs:
        self.check_input(x)
        features, aux = self._body(x)
        logits = self.forward_head(features)
        return AuxiliaryOutputs(logits, aux, self.aux_weight) if aux else logits
