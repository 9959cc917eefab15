"""Local response normalisation with the constants written the way the 2012 papers write them."""

from __future__ import annotations

from torch import nn


class LocalResponseNorm(nn.LocalResponseNorm):
    """Krizhevsky et al. (2012), section 3.3, across ``n`` adjacent channels::

        b[i] = a[i] / (k + alpha * sum_{j in window(i, n)} a[j]^2) ** beta

    The paper's ``alpha`` multiplies the plain sum; PyTorch's (and Caffe's) divides it by
    ``n`` first, so the paper's alpha=1e-4 is PyTorch's alpha=n*1e-4. Defaults are the
    paper's constants: k=2, n=5, alpha=1e-4, beta=0.75.
    """

    def __init__(
        self, n: int = 5, *, k: float = 2.0, alpha: float = 1e-4, beta: float = 0.75
    ) -> None:
        super().__init__(size=n, alpha=alpha * n, beta=beta, k=k)
        self.paper_alpha = alpha

    def extra_repr(self) -> str:
        return f"n={self.size}, k={self.k}, alpha={self.paper_alpha} (paper's), beta={self.beta}"
