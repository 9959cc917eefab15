"""Multi-head self-attention and the pre-norm transformer encoder layer (Vaswani et al.
2017, "Attention Is All You Need", section 3.2; the pre-norm order of ViT, Dosovitskiy et
al. 2021, Eq. 2-3), as the conv/transformer hybrids (MobileViT) use them.

    tokens  B x N x d
    attention   LayerNorm, qkv projection, softmax(Q K^T / sqrt(d_head)) V per head,
                output projection, + tokens
    mlp         LayerNorm, fc1 (d -> hidden), activation, fc2 (hidden -> d), + tokens

The attention reads like the paper's equation (two matrix products and a softmax) and
runs as PyTorch's fused ``scaled_dot_product_attention``, which computes the same thing
without materialising the scores in separate kernels (MobileViT at batch 8 on 2 CPU
threads: about 1.3x faster), except while operations are counted: ``FlopCounterMode``
counts 0 for the fused kernel on the CPU, so under a ``FlopCounterMode`` the written-out
form runs and its multiply-accumulates are counted. Memory counting and ``torch.export``
see the fused kernel, which is what runs. The choice is made at every call, inside
``attend`` (a leaf for ``torch.fx``): a traced or fused model counts the same way.
With attention dropout (p > 0) the written-out form always runs, dropout being its own
module that follows its own training flag.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._python_dispatch import (
    _get_current_dispatch_mode_stack,
    is_in_torch_dispatch_mode,
)

try:  # the dispatch mode FlopCounterMode pushes (recent PyTorch)
    from torch.utils.flop_counter import _FlopCounterMode
except ImportError:  # older PyTorch: FlopCounterMode is the dispatch mode itself
    from torch.utils.flop_counter import FlopCounterMode as _FlopCounterMode

from keyarch.errors import BadInput


def counting_operations() -> bool:
    """Whether a ``torch.utils.flop_counter.FlopCounterMode`` is active (checked only when
    some dispatch mode is: the common case costs one flag read, and dynamo folds it)."""
    return is_in_torch_dispatch_mode() and any(
        isinstance(mode, _FlopCounterMode) for mode in _get_current_dispatch_mode_stack()
    )


@torch.fx.wrap
def attend(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """softmax(Q K^T / sqrt(d_head)) V for B x h x N x dh queries, keys and values: the fused
    kernel, or the equation written out while operations are counted."""
    if counting_operations():
        scores = (query * query.shape[-1] ** -0.5) @ key.transpose(-2, -1)  # B x h x N x N
        return scores.softmax(dim=-1) @ value  # B x h x N x dh
    return F.scaled_dot_product_attention(query, key, value)


class MultiHeadSelfAttention(nn.Module):
    """``qkv`` (one linear layer giving queries, keys and values for every head) and
    ``projection`` (the output projection W^O); input and output are B x N x ``dim``."""

    def __init__(
        self,
        dim: int,
        num_heads: int,
        *,
        qkv_bias: bool = True,
        attention_dropout: float = 0.0,
        projection_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if dim % num_heads:
            raise BadInput(
                f"MultiHeadSelfAttention: dim ({dim}) must be divisible by num_heads "
                f"({num_heads}); choose a number of heads that divides it"
            )
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim**-0.5  # 1 / sqrt(d_head)
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.attention_dropout = nn.Dropout(attention_dropout)
        self.projection = nn.Linear(dim, dim)
        self.projection_dropout = nn.Dropout(projection_dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Static sizes only (no x.shape): the module traces with torch.fx.
        qkv = self.qkv(x).unflatten(-1, (3, self.num_heads, self.head_dim))  # B x N x 3 x h x dh
        query, key, value = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each B x h x N x dh
        if self.attention_dropout.p == 0.0:
            out = attend(query, key, value)  # B x h x N x dh
        else:
            scores = (query * self.scale) @ key.transpose(-2, -1)  # B x h x N x N
            out = self.attention_dropout(scores.softmax(dim=-1)) @ value  # B x h x N x dh
        out = out.transpose(1, 2).flatten(2)  # B x N x d
        return self.projection_dropout(self.projection(out))


class TransformerEncoderLayer(nn.Module):
    """Pre-norm encoder layer: ``x + attention(norm1(x))``, then ``x + mlp(norm2(x))``.

    ``mlp`` holds ``fc1``, ``act`` (``activation``: GELU in ViT, SiLU in MobileViT), and
    ``fc2``, with dropout after each linear layer when ``dropout`` is set.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        mlp_hidden: int,
        *,
        activation: Callable[[], nn.Module] = nn.GELU,
        dropout: float = 0.0,
        attention_dropout: float = 0.0,
        norm_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps)
        self.attention = MultiHeadSelfAttention(
            dim, num_heads, attention_dropout=attention_dropout, projection_dropout=dropout
        )
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        self.mlp = nn.Sequential(
            OrderedDict(
                fc1=nn.Linear(dim, mlp_hidden),
                act=activation(),
                dropout1=nn.Dropout(dropout),
                fc2=nn.Linear(mlp_hidden, dim),
                dropout2=nn.Dropout(dropout),
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.norm1(x))  # B x N x d
        return x + self.mlp(self.norm2(x))  # B x N x d
