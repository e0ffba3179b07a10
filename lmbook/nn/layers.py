"""The position-wise feed-forward layer and the two Transformer blocks.

- :class:`PreLNBlock` (GPT-2, nanoGPT): ``x = x + attn(norm(x)); x = x + ffn(norm(x))``.
  The residual stream is never normalised, which keeps deep stacks trainable without
  warm-up (Xiong et al. 2020).
- :class:`PostLNBlock` (BERT and the original Transformer):
  ``x = norm(x + attn(x)); x = norm(x + ffn(x))`` (Vaswani et al. 2017, section 3.1).

Either takes an optional cross-attention sub-layer (between self attention and the FFN),
which makes it the decoder block of an encoder-decoder.

Introduced in: Chapter 4.3 (feed-forward, residuals and LayerNorm).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lmbook.nn.attention import MultiHeadAttention
from lmbook.nn.cache import LayerKVCache

__all__ = [
    "ACTIVATIONS",
    "FeedForward",
    "PostLNBlock",
    "PreLNBlock",
    "TransformerBlock",
    "activation",
]

ACTIVATIONS = ("gelu", "gelu_tanh", "relu")


def activation(name: str, x: torch.Tensor) -> torch.Tensor:
    """The activation ``name`` ("gelu" exact, "gelu_tanh" GPT-2's approximation, "relu")."""
    if name == "gelu":
        return F.gelu(x)
    if name == "gelu_tanh":
        return F.gelu(x, approximate="tanh")
    return F.relu(x)


class FeedForward(nn.Module):
    """FFN(x) = fc2(act(fc1(x))), applied to every position independently.

    This is the outline's "H = tanh(W1 X + b1) W2 + b2" with a modern
    activation: a two-layer MLP, width D -> d_ff -> D (Vaswani et al. 2017, eq. 2).

    Args:
        d_model: width D.
        d_ff: hidden width (usually 4 D).
        activation: "gelu" (exact), "gelu_tanh" (GPT-2) or "relu" (original Transformer).
        bias: whether fc1 and fc2 have biases.
        dropout: dropout on the output (the residual-branch dropout of GPT-2 and BERT).

    Parameters: fc1, fc2.

    Shapes: (B, T, D) -> (B, T, D).

    Introduced in: Chapter 4.3.
    """

    def __init__(
        self,
        d_model: int,
        d_ff: int,
        activation: str = "gelu",
        bias: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        if d_model < 1 or d_ff < 1:
            raise ValueError(f"need d_model >= 1 and d_ff >= 1, got {d_model}, {d_ff}")
        self.activation = activation
        self.fc1 = nn.Linear(d_model, d_ff, bias=bias)
        self.fc2 = nn.Linear(d_ff, d_model, bias=bias)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.is_grad_enabled():
            return self._forward_inference(x)
        h = activation(self.activation, self.fc1(x))  # (B, T, D) -> (B, T, d_ff)
        return self.drop(self.fc2(h))  # (B, T, d_ff) -> (B, T, D)

    # ---- fast path (same result; only the memory traffic differs) -----------------------
    def _forward_inference(self, x: torch.Tensor) -> torch.Tensor:
        # Without autograd the activation can overwrite fc1's output in place instead of
        # allocating a second (B, T, d_ff) tensor, the largest in the layer. The lower peak
        # lets the CPU allocator reuse warm pages instead of faulting in fresh ones on every
        # forward (at the MiniLM shape the faults cost about a tenth of the forward time).
        h = self.fc1(x)
        if self.activation == "relu":
            h = F.relu_(h)
        else:
            approximate = "tanh" if self.activation == "gelu_tanh" else "none"
            h = torch.ops.aten.gelu_(h, approximate=approximate)
        return self.drop(self.fc2(h))


class PreLNBlock(nn.Module):
    """Pre-LN Transformer block (GPT-2): normalise, attend, add; normalise, FFN, add.

    Args:
        d_model: width D.
        n_heads: attention heads H.
        d_ff: feed-forward hidden width.
        dropout: dropout on attention weights and on each residual branch.
        activation: feed-forward activation ("gelu", "gelu_tanh", "relu").
        bias: biases in the linear layers and LayerNorms.
        eps: LayerNorm epsilon.
        n_kv_heads: key/value heads for grouped-query attention (None -> n_heads).
        attn_impl: "sdpa" or "naive".
        cross_attention: add a cross-attention sub-layer (decoder of an encoder-decoder).

    Parameters: attn_norm, attn, (cross_norm, cross_attn), ffn_norm, ffn.

    Shapes: x (B, T, D), context (B, S, D) -> (B, T, D).

    Introduced in: Chapter 3.2 (GPT's block).
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        *,
        dropout: float = 0.0,
        activation: str = "gelu",
        bias: bool = True,
        eps: float = 1e-5,
        n_kv_heads: int | None = None,
        attn_impl: str = "sdpa",
        cross_attention: bool = False,
    ) -> None:
        super().__init__()
        attn = dict(n_kv_heads=n_kv_heads, bias=bias, dropout=dropout, impl=attn_impl)
        self.attn_norm = nn.LayerNorm(d_model, eps=eps, bias=bias)
        self.attn = MultiHeadAttention(d_model, n_heads, **attn)
        self.cross_norm = nn.LayerNorm(d_model, eps=eps, bias=bias) if cross_attention else None
        self.cross_attn = (
            MultiHeadAttention(d_model, n_heads, **attn, cross=True) if cross_attention else None
        )
        self.ffn_norm = nn.LayerNorm(d_model, eps=eps, bias=bias)
        self.ffn = FeedForward(d_model, d_ff, activation, bias, dropout)

    def forward(
        self,
        x: torch.Tensor,
        *,
        mask: torch.Tensor | None = None,
        causal: bool = False,
        cache: LayerKVCache | None = None,
        context: torch.Tensor | None = None,
        context_mask: torch.Tensor | None = None,
        cross_cache: LayerKVCache | None = None,
    ) -> torch.Tensor:
        """x (B, T, D) -> (B, T, D); masks, causal and caches go to the attention layers."""
        x = x + self.attn(self.attn_norm(x), mask=mask, causal=causal, cache=cache)
        if self.cross_attn is not None:  # decoder of an encoder-decoder
            x = x + self.cross_attn(
                self.cross_norm(x), context=context, mask=context_mask, cache=cross_cache
            )
        x = x + self.ffn(self.ffn_norm(x))
        return x


class PostLNBlock(PreLNBlock):
    """Post-LN Transformer block (BERT, Vaswani et al. 2017): attend, add, normalise; FFN, add,
    normalise. Same arguments and parameters as :class:`PreLNBlock`.

    Introduced in: Chapter 3.1 (BERT's encoder block).
    """

    def forward(
        self,
        x: torch.Tensor,
        *,
        mask: torch.Tensor | None = None,
        causal: bool = False,
        cache: LayerKVCache | None = None,
        context: torch.Tensor | None = None,
        context_mask: torch.Tensor | None = None,
        cross_cache: LayerKVCache | None = None,
    ) -> torch.Tensor:
        """x (B, T, D) -> (B, T, D); masks, causal and caches go to the attention layers."""
        x = self.attn_norm(x + self.attn(x, mask=mask, causal=causal, cache=cache))
        if self.cross_attn is not None:  # decoder of an encoder-decoder
            x = self.cross_norm(
                x + self.cross_attn(x, context=context, mask=context_mask, cache=cross_cache)
            )
        x = self.ffn_norm(x + self.ffn(x))
        return x


def TransformerBlock(  # noqa: N802 (kept for code written against the one-class block)
    d_model: int,
    n_heads: int,
    d_ff: int,
    norm_first: bool = True,
    cross_attention: bool = False,
    **kwargs,
) -> PreLNBlock:
    """A :class:`PreLNBlock` (``norm_first=True``) or a :class:`PostLNBlock` (False)."""
    block = PreLNBlock if norm_first else PostLNBlock
    return block(d_model, n_heads, d_ff, cross_attention=cross_attention, **kwargs)
