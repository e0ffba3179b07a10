"""Boolean attention masks: True means "may attend".

Every mask in lmbook is a boolean tensor broadcastable to (B, H, T, S), where
T is the number of queries and S the number of keys. Keeping one convention
(True = visible) avoids the classic bug of mixing additive ``-inf`` masks,
0/1 "keep" masks and 0/1 "drop" masks.

Introduced in: Chapter 2.3 (bidirectional vs causal masks).
"""

from __future__ import annotations

import torch

__all__ = ["causal_mask", "combine_masks", "padding_mask", "sliding_window_mask"]


def causal_mask(
    T: int, S: int | None = None, device: torch.device | str | None = None
) -> torch.Tensor:
    """Lower-triangular mask aligned to the END of the keys.

    Query ``i`` may see key ``j`` when ``j <= i + S - T``. With ``S == T`` this
    is the usual lower triangle; with a KV cache (``S > T``) the ``T`` new
    queries sit at the end of the sequence, so each still sees every cached
    key plus the new keys up to itself.

    Args:
        T: number of queries.
        S: number of keys (defaults to ``T``).
        device: where to create the mask.

    Returns:
        bool tensor of shape (T, S).

    Introduced in: Chapter 2.3.
    """
    S = T if S is None else S
    if T < 0 or S < 0:
        raise ValueError(f"causal_mask needs non-negative sizes, got T={T}, S={S}")
    if S < T:
        raise ValueError(
            f"causal_mask with fewer keys ({S}) than queries ({T}) would hide every key from "
            "the first queries; pass S >= T (keys include the queries themselves)"
        )
    ones = torch.ones(T, S, dtype=torch.bool, device=device)
    return torch.tril(ones, diagonal=S - T)


def sliding_window_mask(
    T: int, window: int, S: int | None = None, device: torch.device | str | None = None
) -> torch.Tensor:
    """Causal mask that also hides keys more than ``window - 1`` positions in the past.

    Query i (aligned to the end of the keys, as in :func:`causal_mask`) sees key j when
    ``i + S - T - window < j <= i + S - T``: itself and the ``window - 1`` previous tokens
    (local attention, as in Longformer and Mistral). Cost per query drops from O(S) to
    O(window) with a kernel that skips masked blocks.

    Returns:
        bool tensor of shape (T, S).

    Introduced in: Chapter 9 (Q2, optimizing self-attention).
    """
    if window < 1:
        raise ValueError(f"window must be >= 1 (1 = each token sees only itself), got {window}")
    mask = causal_mask(T, S, device=device)
    S = mask.shape[1]
    return mask & ~torch.tril(torch.ones_like(mask), diagonal=S - T - window)


def padding_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """Turn a (B, S) 0/1 attention mask (1 = real token) into a (B, 1, 1, S) bool mask.

    The two singleton axes broadcast over heads and queries: a padded key is
    hidden from every query of its sequence.

    Args:
        attention_mask: (B, S) tensor of 0/1 (int, float or bool).

    Returns:
        bool tensor of shape (B, 1, 1, S).

    Introduced in: Chapter 3.1 (BERT's padded batches).
    """
    if attention_mask.dim() != 2:
        raise ValueError(
            f"attention_mask must have shape (B, S), got {tuple(attention_mask.shape)}; "
            "pass one row of 0/1 per sequence (1 = real token, 0 = padding)"
        )
    return attention_mask.bool()[:, None, None, :]  # (B, S) -> (B, 1, 1, S)


def combine_masks(*masks: torch.Tensor | None) -> torch.Tensor | None:
    """Logical AND of boolean masks (``None`` entries are ignored).

    Returns:
        the broadcast AND of the masks, or ``None`` when every mask is ``None``.

    Introduced in: Chapter 2.3.
    """
    out: torch.Tensor | None = None
    for m in masks:
        if m is None:
            continue
        if m.dtype != torch.bool:
            raise ValueError(f"masks must be bool (True = may attend), got dtype {m.dtype}")
        out = m if out is None else out & m
    return out
