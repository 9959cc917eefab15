"""The interface every image classifier in keyarch shares.

``forward(x) == forward_head(forward_features(x))``; the input is checked first, so that a
wrong shape gives an error naming the model and what it accepts instead of a shape mismatch
deep inside the network.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from keyarch.errors import BadInput, BadType


class AuxiliaryOutputs(NamedTuple):
    """What a network with auxiliary classifiers (GoogLeNet, Inception-v3) returns in
    training: the main logits, the auxiliary logits, and the weight of their losses."""

    logits: torch.Tensor
    aux_logits: tuple[torch.Tensor, ...]
    aux_weight: float


class ImageClassifier(nn.Module):
    """Base class: input checks, ``forward_features``, ``forward_head``, ``reset_classifier``.

    Subclasses set ``model_name``, ``in_chans``, ``num_classes`` and ``min_input_size``
    (the smallest height and width the network accepts), and ``fixed_input_size`` when the
    network only takes exactly that size (LeNet-5's C5 must see 5x5 maps).
    """

    model_name: str = "model"
    min_input_size: int = 1
    fixed_input_size: bool = False

    def __init__(self, *, num_classes: int, in_chans: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.in_chans = in_chans

    def check_input(self, x: torch.Tensor) -> None:
        """Raise ``ValueError`` unless ``x`` is an (N, in_chans, H, W) batch the network accepts."""
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

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def reset_classifier(self, num_classes: int) -> None:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self.forward_head(self.forward_features(x))


class GlobalPoolHead:
    """``forward_head`` and ``reset_classifier`` for the many networks that end in global
    pooling (``self.pool``), an optional ``self.dropout`` and one linear layer ``self.fc``."""

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        pooled = self.pool(features).flatten(1)  # N x C
        dropout = getattr(self, "dropout", None)
        return self.fc(dropout(pooled) if dropout is not None else pooled)  # N x num_classes

    def reset_classifier(self, num_classes: int) -> None:
        self.num_classes = num_classes
        self.fc = nn.Linear(self.fc.in_features, num_classes)


class AuxiliaryClassifiersMixin:
    """``forward`` and ``forward_features`` for networks with auxiliary classifiers, whose
    ``_body(x)`` returns the feature map and, in training, the auxiliary logits."""

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self._body(x)[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor | AuxiliaryOutputs:
        self.check_input(x)
        features, aux = self._body(x)
        logits = self.forward_head(features)
        return AuxiliaryOutputs(logits, aux, self.aux_weight) if aux else logits
