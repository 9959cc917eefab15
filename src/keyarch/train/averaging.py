"""An exponential moving average of a model's weights (Polyak averaging).

NASNet (Appendix A.7) and MobileViT (section 4.1) evaluate the average of the weights over
training rather than the last weights, as TensorFlow's ``ExponentialMovingAverage`` and
timm's ``ModelEmaV3`` keep it: after every optimisation step

    average = decay * average + (1 - decay) * weights

for every parameter and floating-point buffer (batch norm's running statistics are
averaged too, as TF-slim's ``moving_average_decay`` averages every model variable); the
step counter of batch norm is copied. The first update copies the weights. With
``warmup`` the decay of update ``k`` is ``min(decay, 1 - k^(-2/3))`` (timm's ModelEmaV3
with ``use_warmup``, gamma 1, power 2/3), so that an average started from random weights
forgets them quickly at first.

The average lives on the training device beside the model, in the model's own module
structure (``average.model`` is a full copy, in evaluation mode), so the same evaluation
code scores it; a checkpoint saves it, and the decay depends only on the step count, so a
resumed run continues the exact average of an uninterrupted one.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

WARMUP_POWER = 2 / 3  # timm ModelEmaV3's default warmup_power (warmup_gamma 1)


class WeightAverage:
    """The moving average of ``model``'s weights; ``update(model, step)`` after each step."""

    def __init__(self, model: nn.Module, decay: float, *, warmup: bool = False) -> None:
        if not 0 < decay < 1:
            raise ValueError(f"WeightAverage: decay must be in (0, 1), got {decay!r}")
        self.decay, self.warmup = float(decay), bool(warmup)
        self.model = copy.deepcopy(model).eval()
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)

    def decay_at(self, step: int) -> float:
        """The decay of the ``step``-th update (1-based): 0 for the first (a copy)."""
        if step <= 1:
            return 0.0
        if not self.warmup:
            return self.decay
        return min(self.decay, 1.0 - float(step) ** -WARMUP_POWER)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        """Fold ``model``'s current weights into the average as update number ``step``."""
        weight = 1.0 - self.decay_at(step)
        averaged, current = [], []
        for ours, theirs in zip(
            self.model.state_dict().values(), model.state_dict().values(), strict=True
        ):
            if ours.is_floating_point():
                averaged.append(ours)
                current.append(theirs.detach().to(ours.dtype))
            else:  # batch norm's num_batches_tracked
                ours.copy_(theirs)
        if averaged:
            torch._foreach_lerp_(averaged, current, weight)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.model.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.model.load_state_dict(state, strict=True)
