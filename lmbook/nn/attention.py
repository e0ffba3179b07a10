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

import inspect
import math
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from lmbook.nn.cache import LayerKVCache
from lmbook.nn.masks import causal_mask, combine_masks

__all__ = [
    "ATTENTION_IMPLS",
    "MultiHeadAttention",
    "attention",
    "override_attention",
    "record_attention",
]

ATTENTION_IMPLS = ("naive", "sdpa")


def _check_inputs(q, k, v, mask, impl: str, return_weights: bool) -> None:
    if impl not in ATTENTION_IMPLS:
        raise ValueError(f"impl must be one of {ATTENTION_IMPLS}, got {impl!r}")
    if return_weights and impl != "naive":
        raise ValueError(
            "return_weights=True needs impl='naive': the fused sdpa kernel never builds the "
            "(T, S) weight matrix"
        )
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
    *,
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
    _check_inputs(q, k, v, mask, impl, return_weights)
    n_rep = q.shape[1] // k.shape[1]
    k, v = _repeat_kv(k, n_rep), _repeat_kv(v, n_rep)  # (B, Hkv, S, Dh) -> (B, H, S, Dh)
    T, S = q.shape[2], k.shape[2]

    if impl == "naive":  # the textbook formula, step by step
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, H, T, S)
        if causal:
            mask = combine_masks(mask, causal_mask(T, S, device=q.device))
        if mask is not None:
            # finfo.min, not -inf: a fully hidden row softmaxes to uniform instead of NaN,
            # and multiplying by the mask then zeroes it (what the fused kernel returns).
            scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        weights = torch.softmax(scores, dim=-1)  # (B, H, T, S), rows sum to 1
        if mask is not None:
            weights = weights * mask
        if dropout_p > 0.0:
            weights = F.dropout(weights, p=dropout_p)
        out = weights @ v  # (B, H, T, S) @ (B, H, S, Dh) -> (B, H, T, Dh)
        return (out, weights) if return_weights else out

    # fused: one kernel that never builds the (T, S) matrix (FlashAttention on a GPU)
    if causal and mask is None and T == S:
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)
    if causal and T > 1:  # one new query (KV-cache decoding) may see every key: no mask
        mask = combine_masks(mask, causal_mask(T, S, device=q.device))
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)


class _ProjectionView:
    """Rows ``[start, stop)`` of a fused projection, usable like the ``nn.Linear`` they were.

    ``attn.q_proj(x)`` and ``attn.q_proj.weight`` keep working on a fused ``qkv_proj``; the
    view shares storage with it (it is not a module and is not saved).
    """

    def __init__(self, linear: nn.Linear, start: int, stop: int) -> None:
        self.weight = linear.weight[start:stop]
        self.bias = None if linear.bias is None else linear.bias[start:stop]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias)


class MultiHeadAttention(nn.Module):
    """Multi-head attention with optional grouped-query heads (self or cross attention).

    Self attention computes queries, keys and values with ONE fused projection, ``qkv_proj``
    (GPT-2's ``c_attn``): one matmul instead of three. Cross attention reads queries from
    ``x`` (``q_proj``) and keys and values from the encoder output (``kv_proj``).

    Args:
        d_model: width D of the input and output.
        n_heads: number of query heads H (D must be divisible by H; Dh = D / H).
        n_kv_heads: number of key/value heads Hkv (None -> H; 1 is multi-query attention).
        bias: whether the projections have biases.
        dropout: dropout on the attention weights during training.
        impl: "sdpa" or "naive" (see :func:`attention`).
        cross: cross attention (keys and values from ``context``).

    Parameters: qkv_proj (self) or q_proj + kv_proj (cross), out_proj. ``q_proj``, ``k_proj``
    and ``v_proj`` of a self-attention layer are views of the rows of ``qkv_proj``.

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
        cross: bool = False,
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
        self.kv_dim = n_kv_heads * self.head_dim
        self.dropout, self.impl, self.cross = dropout, impl, cross
        if cross:
            self.q_proj = nn.Linear(d_model, d_model, bias=bias)
            self.kv_proj = nn.Linear(d_model, 2 * self.kv_dim, bias=bias)
        else:
            self.qkv_proj = nn.Linear(d_model, d_model + 2 * self.kv_dim, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)
        self.resid_drop = nn.Dropout(dropout)  # on the output, before the residual add
        self.recorded: list[torch.Tensor] | None = None  # see record_attention()

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
            context: keys'/values' input (B, S, D); required exactly for cross attention.
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
        if self.cross != (context is not None):
            raise ValueError(
                f"pass context= exactly for cross attention (this layer: cross={self.cross})"
            )
        B, T, D = x.shape
        H, Hkv, Dh = self.n_heads, self.n_kv_heads, self.head_dim
        if not self.cross:
            q, k, v = self.qkv_proj(x).split([D, self.kv_dim, self.kv_dim], dim=-1)
            k = k.view(B, T, Hkv, Dh).transpose(1, 2)  # (B, T, Hkv*Dh) -> (B, Hkv, T, Dh)
            v = v.view(B, T, Hkv, Dh).transpose(1, 2)
            if cache is not None:
                k, v = cache.update(k, v)  # append; attend to every cached position
        else:
            q = self.q_proj(x)
            if cache is not None and not cache.is_empty:
                k, v = cache.keys, cache.values  # the encoder's keys, computed once
            else:
                S = context.shape[1]
                k, v = self.kv_proj(context).split([self.kv_dim, self.kv_dim], dim=-1)
                k = k.view(B, S, Hkv, Dh).transpose(1, 2)  # (B, S, Hkv*Dh) -> (B, Hkv, S, Dh)
                v = v.view(B, S, Hkv, Dh).transpose(1, 2)
                if cache is not None:
                    k, v = cache.set(k, v)
        q = q.view(B, T, H, Dh).transpose(1, 2)  # (B, T, D) -> (B, H, T, Dh)
        # Weights exist only on the naive path, so asking for them switches to it for this call.
        want_weights = return_weights or self.recorded is not None
        out = attention(
            q,
            k,
            v,
            mask=mask,
            causal=causal,
            dropout_p=self.dropout if self.training else 0.0,
            impl="naive" if want_weights else self.impl,
            return_weights=want_weights,
        )
        out, weights = out if want_weights else (out, None)
        if self.recorded is not None:
            self.recorded.append(weights)
        out = out.transpose(1, 2).reshape(B, T, D)  # (B, H, T, Dh) -> (B, T, D)
        out = self.resid_drop(self.out_proj(out))
        return (out, weights) if return_weights else out

    # Views of the fused projection, so attn.q_proj(x) / attn.k_proj.weight keep working.
    def __getattr__(self, name: str):
        if name == "q_proj" and "qkv_proj" in self._modules:
            return _ProjectionView(self._modules["qkv_proj"], 0, self.d_model)
        return super().__getattr__(name)

    @property
    def k_proj(self) -> _ProjectionView:
        if self.cross:
            return _ProjectionView(self.kv_proj, 0, self.kv_dim)
        return _ProjectionView(self.qkv_proj, self.d_model, self.d_model + self.kv_dim)

    @property
    def v_proj(self) -> _ProjectionView:
        if self.cross:
            return _ProjectionView(self.kv_proj, self.kv_dim, 2 * self.kv_dim)
        return _ProjectionView(
            self.qkv_proj, self.d_model + self.kv_dim, self.d_model + 2 * self.kv_dim
        )

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        # Checkpoints written before the projections were fused hold q_proj/k_proj/v_proj
        # (self attention) or k_proj/v_proj (cross attention): fuse them on the way in.
        fused = "kv_proj" if self.cross else "qkv_proj"
        parts = ("k_proj", "v_proj") if self.cross else ("q_proj", "k_proj", "v_proj")
        for kind in ("weight", "bias"):
            names = [f"{prefix}{p}.{kind}" for p in parts]
            if all(n in state_dict for n in names):
                state_dict[f"{prefix}{fused}.{kind}"] = torch.cat(
                    [state_dict.pop(n) for n in names]
                )
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


@contextmanager
def record_attention(model: nn.Module) -> Iterator[dict[str, list[torch.Tensor]]]:
    """Record the attention weights of every :class:`MultiHeadAttention` in ``model``.

    Inside the ``with`` block every attention layer runs the readable path and appends its
    (B, H, T, S) weights, one per call, to the list under its qualified name.

    Example:
        >>> with record_attention(bert) as maps:
        ...     bert(ids)
        >>> maps["blocks.0.attn"][0].shape  # (B, H, T, T)

    Introduced in: Chapter 2.2 (looking at attention weights).
    """
    layers = {n: m for n, m in model.named_modules() if isinstance(m, MultiHeadAttention)}
    maps: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    for name, layer in layers.items():
        layer.recorded = maps[name]
    try:
        yield maps
    finally:
        for layer in layers.values():
            layer.recorded = None


@contextmanager
def override_attention(model: nn.Module, **overrides: object) -> Iterator[None]:
    """Call every self-attention layer of ``model`` with some of its arguments replaced.

    For experiments on a model as it is: what it predicts without its causal mask, or with a
    sliding window it was not trained with. Each keyword replaces the argument of that name of
    :meth:`MultiHeadAttention.forward`; a callable is called with the layer's input ``x``
    (B, T, D) first, for arguments that depend on the sequence length. Cross-attention layers
    are left alone. Training inside the block trains with the overrides.

    Example:
        >>> with override_attention(gpt, causal=False):  # every position sees the future
        ...     logits = gpt(ids)
        >>> window = lambda x: sliding_window_mask(x.shape[1], 16)  # the last 16 positions
        >>> with override_attention(gpt, causal=False, mask=window):
        ...     logits = gpt(ids)

    Introduced in: Chapter 2.3 (the causal mask) and Chapter 9.2 (sliding windows).
    """
    names = set(inspect.signature(MultiHeadAttention.forward).parameters) - {"self", "x"}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ValueError(
            f"MultiHeadAttention.forward has no argument {unknown}; override some of {sorted(names)}"
        )

    def hook(layer, args, kwargs):
        x = args[0] if args else kwargs["x"]
        new = {k: v(x) if callable(v) else v for k, v in overrides.items()}
        return args, {**kwargs, **new}

    layers = [m for m in model.modules() if isinstance(m, MultiHeadAttention) and not m.cross]
    if not layers:
        raise ValueError(f"{type(model).__name__} has no self-attention layer to override")
    handles = [layer.register_forward_pre_hook(hook, with_kwargs=True) for layer in layers]
    try:
        yield
    finally:
        for h in handles:
            h.remove()
