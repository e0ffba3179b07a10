"""Position-wise feed-forward layer and the Transformer block.

One ``TransformerBlock`` serves every model in the package:

- pre-LN (``norm_first=True``, GPT-2): x = x + Attn(LN(x)); x = x + FFN(LN(x)).
  The residual stream is never normalised, which keeps deep stacks trainable
  without warm-up (Xiong et al. 2020).
- post-LN (``norm_first=False``, BERT and the original Transformer):
  x = LN(x + Attn(x)); x = LN(x + FFN(x))  (Vaswani et al. 2017, section 3.1).

An optional cross-attention sub-layer (between self attention and the FFN)
turns it into the decoder block of an encoder-decoder.

Introduced in: Chapter 4.3 (feed-forward, residuals and LayerNorm).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lmbook.nn.attention import MultiHeadAttention
from lmbook.nn.cache import LayerKVCache

__all__ = ["ACTIVATIONS", "FeedForward", "TransformerBlock"]

ACTIVATIONS = ("gelu", "gelu_tanh", "relu")


def _activation(name: str, x: torch.Tensor, inplace: bool = False) -> torch.Tensor:
    if name == "gelu":  # exact GELU (BERT)
        return torch.ops.aten.gelu_(x) if inplace else F.gelu(x)
    if name == "gelu_tanh":  # tanh approximation (GPT-2's "gelu_new")
        return (
            torch.ops.aten.gelu_(x, approximate="tanh")
            if inplace
            else F.gelu(x, approximate="tanh")
        )
    return F.relu_(x) if inplace else F.relu(x)


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
        h = self.fc1(x)  # (B, T, D) -> (B, T, d_ff)
        # Without autograd (inference) the activation overwrites fc1's fresh output instead of
        # allocating a second (B, T, d_ff) tensor, the largest in the layer. The lower peak
        # lets the CPU allocator reuse warm pages instead of faulting in fresh ones on every
        # forward (at the MiniLM shape the faults cost about a tenth of the forward time).
        # With autograd the in-place form would have to save a copy of h for the backward
        # pass, so training keeps the out-of-place call.
        h = _activation(self.activation, h, inplace=not h.requires_grad)
        return self.drop(self.fc2(h))


class TransformerBlock(nn.Module):
    """Self attention (+ optional cross attention) + feed-forward, pre-LN or post-LN.

    Args:
        d_model: width D.
        n_heads: attention heads H.
        d_ff: feed-forward hidden width.
        norm_first: True for pre-LN (GPT), False for post-LN (BERT, original Transformer).
        cross_attention: add a cross-attention sub-layer (decoder of an encoder-decoder).
        dropout: dropout on attention weights and on each residual branch.
        activation: feed-forward activation ("gelu", "gelu_tanh", "relu").
        bias: biases in the linear layers and LayerNorms.
        eps: LayerNorm epsilon.
        n_kv_heads: key/value heads for grouped-query attention (None -> n_heads).
        attn_impl: "sdpa" or "naive".

    Parameters: attn, attn_norm, (cross_attn, cross_norm), ffn, ffn_norm.

    Shapes: x (B, T, D), context (B, S, D) -> (B, T, D).

    Introduced in: Chapter 4.3.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        norm_first: bool = True,
        cross_attention: bool = False,
        dropout: float = 0.0,
        activation: str = "gelu",
        bias: bool = True,
        eps: float = 1e-5,
        n_kv_heads: int | None = None,
        attn_impl: str = "sdpa",
    ) -> None:
        super().__init__()
        self.norm_first = norm_first
        self.attn = MultiHeadAttention(d_model, n_heads, n_kv_heads, bias, dropout, attn_impl)
        self.attn_norm = nn.LayerNorm(d_model, eps=eps, bias=bias)
        self.cross_attn: MultiHeadAttention | None = None
        self.cross_norm: nn.LayerNorm | None = None
        if cross_attention:
            self.cross_attn = MultiHeadAttention(
                d_model, n_heads, n_kv_heads, bias, dropout, attn_impl
            )
            self.cross_norm = nn.LayerNorm(d_model, eps=eps, bias=bias)
        self.ffn = FeedForward(d_model, d_ff, activation, bias, dropout)
        self.ffn_norm = nn.LayerNorm(d_model, eps=eps, bias=bias)
        self.drop = nn.Dropout(dropout)

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        causal: bool = False,
        context: torch.Tensor | None = None,
        context_mask: torch.Tensor | None = None,
        cache: LayerKVCache | None = None,
        cross_cache: LayerKVCache | None = None,
        return_weights: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Run the block.

        Args:
            x: (B, T, D).
            mask: self-attention mask, bool broadcastable to (B, H, T, T_keys).
            causal: causal self attention (decoder).
            context: encoder output (B, S, D); required when the block has cross attention.
            context_mask: cross-attention mask, bool broadcastable to (B, H, T, S).
            cache: KV cache entry for the self attention.
            cross_cache: KV cache entry for the cross attention (encoder keys reused).
            return_weights: also return the self-attention weights (B, H, T, T_keys).

        Returns:
            (B, T, D), or (x, self-attention weights).
        """
        if (self.cross_attn is None) != (context is None):
            raise ValueError(
                "pass context= exactly when the block was built with cross_attention=True "
                f"(cross_attention={self.cross_attn is not None}, context given={context is not None})"
            )
        weights = None
        if self.norm_first:
            a = self.attn(self.attn_norm(x), mask=mask, causal=causal, cache=cache,
                          return_weights=return_weights)  # fmt: skip
            if return_weights:
                a, weights = a
            x = x + self.drop(a)
            if self.cross_attn is not None:
                c = self.cross_attn(self.cross_norm(x), context=context, mask=context_mask,
                                    cache=cross_cache)  # fmt: skip
                x = x + self.drop(c)
            x = x + self.ffn(self.ffn_norm(x))
        else:
            a = self.attn(x, mask=mask, causal=causal, cache=cache, return_weights=return_weights)
            if return_weights:
                a, weights = a
            x = self.attn_norm(x + self.drop(a))
            if self.cross_attn is not None:
                c = self.cross_attn(x, context=context, mask=context_mask, cache=cross_cache)
                x = self.cross_norm(x + self.drop(c))
            x = self.ffn_norm(x + self.ffn(x))
        return (x, weights) if return_weights else x
