"""Optimisers the papers used that PyTorch does not have in their form.

The Inception papers (Inception-v3 section 8, Inception-v4 section 4) train with RMSProp as
TensorFlow implements it (``tf.train.RMSPropOptimizer``), with decay 0.9, momentum 0.9 and
epsilon 1.0. Two details differ from ``torch.optim.RMSprop``, and at epsilon 1.0 they
change the steps a great deal:

* epsilon sits inside the square root: ``lr * g / sqrt(ms + eps)``, not
  ``lr * g / (sqrt(ms) + eps)``;
* the mean square starts at 1, not 0, and the learning rate is applied inside the momentum
  buffer (``mom = momentum * mom + lr * g / sqrt(ms + eps)``; ``param -= mom``), so a change
  of learning rate affects only the steps after it.

Weight decay is an L2 term added to the gradient, as a regularisation loss is in
TensorFlow.

ZFNet (Zeiler & Fergus, section 3) adds a step after every update: "renormalize each filter
in the convolutional layers whose RMS value exceeds a fixed radius of 1e-1 to this fixed
radius" (``renormalise_filters_``).
"""

from __future__ import annotations

import torch

from keyarch.errors import BadInput
from keyarch.train.recipes import Recipe


@torch.no_grad()
def renormalise_filters_(model: torch.nn.Module, radius: float) -> None:
    """Scale every convolution filter (one output channel's weights) whose root mean
    square exceeds ``radius`` back to ``radius``; the others are left as they are."""
    for module in model.modules():
        if isinstance(module, torch.nn.Conv2d):
            weight = module.weight
            rms = weight.square().mean(dim=(1, 2, 3), keepdim=True).sqrt()
            weight.mul_((radius / rms).clamp(max=1.0))


class RMSpropTF(torch.optim.Optimizer):
    """RMSProp in TensorFlow's form (see the module's docstring)."""

    def __init__(
        self,
        params,
        lr: float,
        *,
        decay: float = 0.9,
        momentum: float = 0.9,
        eps: float = 1.0,
        weight_decay: float = 0.0,
    ) -> None:
        for name, value in (("lr", lr), ("eps", eps), ("weight_decay", weight_decay)):
            if value < 0:
                raise BadInput(f"RMSpropTF: {name} must be at least 0, got {value}")
        for name, value in (("decay", decay), ("momentum", momentum)):
            if not 0 <= value < 1:
                raise BadInput(f"RMSpropTF: {name} must be in [0, 1), got {value}")
        defaults = {
            "lr": lr,
            "decay": decay,
            "momentum": momentum,
            "eps": eps,
            "weight_decay": weight_decay,
        }
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                grad = param.grad
                if group["weight_decay"]:
                    grad = grad.add(param, alpha=group["weight_decay"])
                state = self.state[param]
                if not state:
                    state["mean_square"] = torch.ones_like(param)
                    state["momentum"] = torch.zeros_like(param)
                mean_square, buffer = state["mean_square"], state["momentum"]
                # ms = decay * ms + (1 - decay) * g^2
                mean_square.mul_(group["decay"]).addcmul_(grad, grad, value=1 - group["decay"])
                # mom = momentum * mom + lr * g / sqrt(ms + eps); param -= mom
                step = grad / mean_square.add(group["eps"]).sqrt_()
                buffer.mul_(group["momentum"]).add_(step, alpha=group["lr"])
                param.sub_(buffer)
        return loss


def build_optimizer(recipe: Recipe, model: torch.nn.Module) -> torch.optim.Optimizer:
    """Parameter groups: with and without weight decay, and for a model that scales the
    rate of some parameters (``model.learning_rate_scale(name)``, as Show and Tell's
    encoder does) one more pair per scale; the loop sets each group's rate to
    ``lr_scale`` x the rate."""
    scale_of = getattr(model, "learning_rate_scale", lambda name: 1.0)
    # depthwise filters: their own decay where the recipe gives one (MobileNet, 3.2)
    depthwise = set()
    if recipe.depthwise_weight_decay is not None:
        depthwise = {id(m.weight) for m in model.modules() if is_depthwise(m)}
    decay_of = {"decay": recipe.weight_decay, "exempt": 0.0,
                "depthwise": recipe.depthwise_weight_decay}  # fmt: skip
    grouped: dict[tuple[float, str], list[torch.nn.Parameter]]
    grouped = {(1.0, "decay"): [], (1.0, "exempt"): []}  # the groups' order is saved
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:  # biases and norm scales: as recipe.decay_bias_and_norm
            kind = "decay"
            if parameter.ndim <= 1 and not recipe.decay_bias_and_norm:
                kind = "exempt"
            elif id(parameter) in depthwise:
                kind = "depthwise"
            grouped.setdefault((float(scale_of(name)), kind), []).append(parameter)
    groups = [
        {"params": params, "weight_decay": decay_of[kind], "lr_scale": scale}
        for (scale, kind), params in grouped.items()
        if params or scale == 1.0
    ]
    # foreach: one multi-tensor update per group (PyTorch's default only on GPUs)
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=recipe.lr, momentum=recipe.momentum,
                               nesterov=recipe.nesterov, foreach=True)  # fmt: skip
    if recipe.optimizer == "adam":
        return torch.optim.Adam(groups, lr=recipe.lr, foreach=True)
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=recipe.lr, foreach=True)
    # RMSProp as the Inception papers used it: TensorFlow's form, decay 0.9, epsilon 1.0
    return RMSpropTF(groups, lr=recipe.lr, decay=0.9, eps=recipe.rmsprop_eps,
                     momentum=recipe.momentum)  # fmt: skip


def is_depthwise(module: torch.nn.Module) -> bool:
    """A depthwise convolution: one filter (or several) per input channel."""
    return (
        isinstance(module, torch.nn.Conv2d)
        and module.groups > 1
        and module.groups == module.in_channels
    )
