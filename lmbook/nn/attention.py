"""Scaled dot-product attention and multi-head attention.

One function, two paths (DESIGN.md section 4):

- ``impl="naive"``: matmul, mask, softmax, matmul, written out so the book can
  show it and return the attention weights;
- ``impl="sdpa"``: ``torch.nn.functional.scaled_dot_product_attention``, which
  runs FlashAttention / memory-efficient kernels on a GPU and a fused
  flash-style kernel on CPU (memory linear in T instead of quadratic).

Both take the same arguments and agree in outputs and gradients (tests/nn).

Shapes: B batch, H query heads, Hkv key/value heads, T queries, S keys, Dh head width.

Introduced in: Chapter 4.2 (scaled dot-product attention).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from lmbook.nn.cache import LayerKVCache
from lmbook.nn.masks import causal_mask

__all__ = ["ATTENTION_IMPLS", "MultiHeadAttention", "attention"]

ATTENTION_IMPLS = ("naive", "sdpa")


def _check_inputs(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask, impl: str) -> None:
    if impl not in ATTENTION_IMPLS:
        raise ValueError(f"impl must be one of {ATTENTION_IMPLS}, got {impl!r}")
    if q.dim() != 4 or k.dim() != 4 or v.dim() != 4:
        raise ValueError(
            f"attention expects q (B, H, T, Dh) and k, v (B, Hkv, S, Dh); got shapes "
            f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}; reshape with "
            "x.view(B, T, H, Dh).transpose(1, 2)"
        )
    if k.shape != v.shape:
        raise ValueError(
            f"k and v must have the same shape, got {tuple(k.shape)} and {tuple(v.shape)}"
        )
    B, H, T, Dh = q.shape
    if k.shape[0] != B or k.shape[3] != Dh:
        raise ValueError(
            f"q {tuple(q.shape)} and k {tuple(k.shape)} disagree in batch size or head width"
        )
    if H % k.shape[1] != 0:
        raise ValueError(
            f"number of query heads ({H}) must be a multiple of key/value heads ({k.shape[1]})"
        )
    if mask is not None:
        S = k.shape[2]
        if mask.dtype != torch.bool:
            raise ValueError(
                f"mask must be a bool tensor (True = may attend), got dtype {mask.dtype}; "
                "convert a 0/1 mask with mask.bool() or lmbook.nn.padding_mask"
            )
        full = (B, H, T, S)
        ok = mask.dim() <= 4 and all(
            m in (1, f) for m, f in zip(mask.shape[::-1], full[::-1], strict=False)
        )
        if not ok:
            raise ValueError(
                f"mask of shape {tuple(mask.shape)} does not broadcast to (B, H, T, S) = {full}; "
                "a padding mask must have one column per key, e.g. (B, 1, 1, S)"
            )


def _repeat_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    """Repeat each key/value head n_rep times (grouped-query attention, Ainslie et al. 2023)."""
    if n_rep == 1:
        return x
    B, Hkv, S, Dh = x.shape
    x = x[:, :, None].expand(B, Hkv, n_rep, S, Dh)  # (B, Hkv, S, Dh) -> (B, Hkv, n_rep, S, Dh)
    return x.reshape(B, Hkv * n_rep, S, Dh)  # -> (B, H, S, Dh)


def attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    causal: bool = False,
    dropout_p: float = 0.0,
    impl: str = "sdpa",
    return_weights: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """softmax(q k^T / sqrt(Dh) + mask) v  (Vaswani et al. 2017, eq. 1).

    Args:
        q: queries (B, H, T, Dh).
        k: keys (B, Hkv, S, Dh); H must be a multiple of Hkv (grouped-query
            attention repeats each key/value head H / Hkv times).
        v: values (B, Hkv, S, Dh).
        mask: bool, broadcastable to (B, H, T, S); True = may attend.
        causal: hide future keys. The diagonal is aligned to the END of the
            keys (query i sees keys j <= i + S - T), which is what a KV cache needs.
        dropout_p: dropout on the attention weights (pass 0.0 in eval mode).
        impl: "naive" (readable, can return weights) or "sdpa" (fused kernel).
        return_weights: also return the (B, H, T, S) attention weights; naive only.

    Returns:
        out (B, H, T, Dh), or (out, weights) when ``return_weights``.
        A query that may attend to no key at all gets an all-zero output.

    Introduced in: Chapter 4.2.
    """
    _check_inputs(q, k, v, mask, impl)
    if return_weights and impl != "naive":
        raise ValueError(
            "return_weights=True needs impl='naive': the fused sdpa kernel never builds the "
            "(T, S) weight matrix"
        )
    n_rep = q.shape[1] // k.shape[1]
    k, v = _repeat_kv(k, n_rep), _repeat_kv(v, n_rep)  # (B, Hkv, S, Dh) -> (B, H, S, Dh)
    T, S = q.shape[2], k.shape[2]

    if impl == "sdpa":
        if causal and mask is None and T == S:
            # The kernel's own causal flag (upper-left aligned, right when T == S) avoids
            # materialising a (T, S) mask.
            return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)
        if causal and T > 1:  # one new query (KV-cache decoding) sees every key: no mask needed
            cm = causal_mask(T, S, device=q.device)
            mask = cm if mask is None else mask & cm
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)

    # naive: the textbook formula, step by step.
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])  # (B, H, T, Dh) @ (B, H, Dh, S)
    if causal:
        cm = causal_mask(T, S, device=q.device)
        mask = cm if mask is None else mask & cm
    if mask is not None:
        # finfo.min instead of -inf: a fully masked row softmaxes to uniform instead of NaN;
        # multiplying by the mask afterwards zeroes it, which is what sdpa returns.
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    weights = torch.softmax(scores, dim=-1)  # (B, H, T, S)
    if mask is not None:
        weights = weights * mask
    if dropout_p > 0.0:
        weights = F.dropout(weights, p=dropout_p)
    out = weights @ v  # (B, H, T, S) @ (B, H, S, Dh) -> (B, H, T, Dh)
    return (out, weights) if return_weights else out


class MultiHeadAttention(nn.Module):
    """Multi-head attention with optional grouped-query heads (self or cross attention).

    Args:
        d_model: width D of the input and output.
        n_heads: number of query heads H (D must be divisible by H; Dh = D / H).
        n_kv_heads: number of key/value heads Hkv (None -> H; 1 is multi-query attention).
        bias: whether the projections have biases.
        dropout: dropout on the attention weights during training.
        impl: "sdpa" or "naive" (see :func:`attention`).

    Parameters: q_proj, k_proj, v_proj, out_proj (``nn.Linear``).

    Shapes:
        x (B, T, D); context (B, S, D) for cross attention; output (B, T, D).

    Introduced in: Chapter 4.2 (multi-head attention).
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        n_kv_heads: int | None = None,
        bias: bool = True,
        dropout: float = 0.0,
        impl: str = "sdpa",
    ) -> None:
        super().__init__()
        n_kv_heads = n_heads if n_kv_heads is None else n_kv_heads
        if n_heads < 1 or d_model % n_heads != 0:
            raise ValueError(
                f"d_model ({d_model}) must be divisible by n_heads ({n_heads}); "
                "pick n_heads among the divisors of d_model"
            )
        if n_kv_heads < 1 or n_heads % n_kv_heads != 0:
            raise ValueError(f"n_heads ({n_heads}) must be a multiple of n_kv_heads ({n_kv_heads})")
        if impl not in ATTENTION_IMPLS:
            raise ValueError(f"impl must be one of {ATTENTION_IMPLS}, got {impl!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.d_model, self.n_heads, self.n_kv_heads = d_model, n_heads, n_kv_heads
        self.head_dim = d_model // n_heads
        self.dropout, self.impl = dropout, impl
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, n_kv_heads * self.head_dim, bias=bias)
        self.v_proj = nn.Linear(d_model, n_kv_heads * self.head_dim, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def _split_heads(self, x: torch.Tensor, n: int) -> torch.Tensor:
        B, T, _ = x.shape
        return x.view(B, T, n, self.head_dim).transpose(1, 2)  # (B, T, n*Dh) -> (B, n, T, Dh)

    def forward(
        self,
        x: torch.Tensor,
        context: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        causal: bool = False,
        cache: LayerKVCache | None = None,
        return_weights: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Attend from ``x`` to ``x`` (self) or to ``context`` (cross).

        Args:
            x: queries' input (B, T, D).
            context: keys'/values' input (B, S, D) for cross attention; None for self attention.
            mask: bool, broadcastable to (B, H, T, S), True = may attend.
            causal: hide future positions (aligned to the end of the keys).
            cache: this layer's ``LayerKVCache``. Self attention appends the new keys/values;
                cross attention computes them from ``context`` once and reuses them.
            return_weights: also return the (B, H, T, S) weights (computed on the naive path).

        Returns:
            (B, T, D), or (out, weights).
        """
        if x.dim() != 3 or x.shape[-1] != self.d_model:
            raise ValueError(f"expected x of shape (B, T, {self.d_model}), got {tuple(x.shape)}")
        B, T, D = x.shape
        q = self._split_heads(self.q_proj(x), self.n_heads)  # (B, T, D) -> (B, H, T, Dh)
        if context is not None and cache is not None and not cache.is_empty:
            k, v = cache.keys, cache.values  # cross attention: encoder keys computed once
        else:
            src = x if context is None else context
            k = self._split_heads(self.k_proj(src), self.n_kv_heads)  # (B, S, D) -> (B, Hkv, S, Dh)
            v = self._split_heads(self.v_proj(src), self.n_kv_heads)
            if cache is not None:
                k, v = cache.set(k, v) if context is not None else cache.update(k, v)
        dropout_p = self.dropout if self.training else 0.0
        # Weights exist only on the naive path, so asking for them switches to it for this call.
        impl = "naive" if return_weights else self.impl
        out = attention(q, k, v, mask, causal, dropout_p, impl, return_weights)
        weights = None
        if return_weights:
            out, weights = out
        out = out.transpose(1, 2).reshape(B, T, D)  # (B, H, T, Dh) -> (B, T, D)
        out = self.out_proj(out)
        return (out, weights) if return_weights else out
