"""Local response normalisation with the constants written the way the 2012 papers write them."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class LocalResponseNorm(nn.LocalResponseNorm):
    """Krizhevsky et al. (2012), section 3.3, across ``n`` adjacent channels::

        b[i] = a[i] / (k + alpha * sum_{j in window(i, n)} a[j]^2) ** beta

    The paper's ``alpha`` multiplies the plain sum; PyTorch's (and Caffe's) divides it by
    ``n`` first, so the paper's alpha=1e-4 is PyTorch's alpha=n*1e-4. Defaults are the
    paper's constants: k=2, n=5, alpha=1e-4, beta=0.75.

    The window sum over channels is ``n`` shifted slices added (for 4-D inputs), about twice
    as fast on CPUs, forward and backward, as PyTorch's 3-D average pooling, and equal to it
    to float rounding (benchmarks/lrn_speed.py measures both).
    """

    def __init__(
        self, n: int = 5, *, k: float = 2.0, alpha: float = 1e-4, beta: float = 0.75
    ) -> None:
        super().__init__(size=n, alpha=alpha * n, beta=beta, k=k)
        self.paper_alpha = alpha

    def extra_repr(self) -> str:
        return f"n={self.size}, k={self.k}, alpha={self.paper_alpha} (paper's), beta={self.beta}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return response_norm(x, self.size, self.k, self.alpha, self.beta)


@torch.fx.wrap  # one node in fx graphs: the rank test below is not traced
def response_norm(x: torch.Tensor, n: int, k: float, alpha: float, beta: float) -> torch.Tensor:
    """PyTorch's local_response_norm (``alpha`` PyTorch's, divided by ``n``), with the window
    sum of a 4-D input written as ``n`` shifted slices added."""
    if x.dim() != 4:
        return F.local_response_norm(x, n, alpha, beta, k)
    channels = x.shape[1]
    # squares padded with n // 2 zero channels before, (n - 1) // 2 after: channel i's
    # window is channels i .. i + n - 1 of the padded tensor (PyTorch's window too)
    squares = F.pad(x * x, (0, 0, 0, 0, n // 2, (n - 1) // 2))
    window = squares[:, :channels]
    for offset in range(1, n):
        window = window + squares[:, offset : offset + channels]
    return x * (k + alpha / n * window).pow(-beta)
