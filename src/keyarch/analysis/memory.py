"""Memory of a forward pass, counted tensor by tensor.

``TensorMemory`` is a dispatch mode that sees every tensor PyTorch creates while it is
active and follows each storage until it is freed: ``live`` bytes now, ``peak`` bytes at
the worst moment: the tensors only, not an allocator's rounding and caching or a
library's scratch space, counted the same way on every device, and on the ``meta`` device
without computing anything: a model built there gives its memory at any batch size in
milliseconds.

Canziani et al. (2016, Fig. 5) plot a process's whole memory against the batch size: the
weights dominate at small batches (flat), activations at large ones (linear), with a knee
between. ``inference_memory`` gives the same two parts, weights plus the forward pass's
peak of activations; ``keyarch.analysis.rss`` measures what a process really takes, and
``keyarch bench`` puts the two side by side (the tests compare them on a few models).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves


class TensorMemory(TorchDispatchMode):
    """Bytes of the tensors created inside the ``with`` block that are still alive
    (``live``) and the most that were alive at once (``peak``). Views and in-place
    results share their input's storage and are not counted again."""

    def __init__(self) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0
        self._storages: dict[int, weakref.ref] = {}

    def _freed(self, key: int, size: int) -> None:
        self._storages.pop(key, None)
        self.live -= size

    def track(self, tensor: torch.Tensor) -> None:
        storage = tensor.untyped_storage()
        key = id(storage)
        if key in self._storages and self._storages[key]() is storage:
            return
        size = storage.nbytes()
        self._storages[key] = weakref.ref(storage, lambda _, k=key, n=size: self._freed(k, n))
        self.live += size
        self.peak = max(self.peak, self.live)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        # a view or an in-place result lives in an input's storage: nothing new
        inputs = {
            id(t.untyped_storage())
            for t in tree_leaves((args, kwargs))
            if isinstance(t, torch.Tensor)
        }
        for leaf in tree_leaves(out):
            if isinstance(leaf, torch.Tensor) and id(leaf.untyped_storage()) not in inputs:
                self.track(leaf)
        return out


def tensor_bytes(tensors) -> int:
    """Bytes of distinct storages among ``tensors``."""
    storages = {}
    for tensor in tensors:
        storage = tensor.untyped_storage()
        storages[id(storage)] = storage.nbytes()
    return sum(storages.values())


@dataclass(frozen=True)
class InferenceMemory:
    """Memory of one forward pass without gradients, in bytes."""

    weights: int  # parameters and buffers
    inputs: int  # the batch of images
    activations: int  # peak of the tensors the forward pass creates (the output included)

    @property
    def total(self) -> int:
        return self.weights + self.inputs + self.activations


def inference_memory(model: nn.Module, x: torch.Tensor) -> InferenceMemory:
    """Weights, input and peak activations of ``model(x)`` in evaluation mode (a ``meta``
    model and input give the figures of real ones without computing them)."""
    was_training = model.training
    model.eval()
    tracker = TensorMemory()
    try:
        with torch.no_grad(), tracker:
            model(x)
    finally:
        model.train(was_training)
    weights = tensor_bytes([*model.parameters(), *model.buffers()])
    return InferenceMemory(weights, tensor_bytes([x]), tracker.peak)


def saved_activations(model: nn.Module, x: torch.Tensor) -> int:
    """Bytes a training forward pass keeps for the backward pass (the activations that
    training at this batch size must hold), the output excluded."""
    was_training = model.training
    model.train()
    tracker = TensorMemory()
    try:
        with torch.enable_grad(), tracker:
            out = model(x)
            logits = out[0] if isinstance(out, tuple) else out
            kept = tracker.live - tensor_bytes([logits])
        del out, logits
    finally:
        model.train(was_training)
    return kept
