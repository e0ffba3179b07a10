"""Decoding: turning next-token distributions into text.

- ``temperature`` rescales the logits (T -> 0 is greedy, T > 1 flattens);
- ``top_k_filter`` keeps the k most likely tokens (Fan et al. 2018);
- ``top_p_filter`` keeps the smallest set whose probability reaches p
  (nucleus sampling, Holtzman et al. 2020);
- ``sample_next_token`` picks one token per row; ``GPT.generate`` calls it at every step.

Introduced in: Chapter 3.2 (the generation loop).
"""

from __future__ import annotations

import torch

__all__ = [
    "sample_next_token",
    "top_k_filter",
    "top_p_filter",
]


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Set every logit outside the k largest of its row to -inf.

    Args:
        logits: (..., V).
        k: how many tokens to keep (k >= V keeps all).

    Returns:
        (..., V) logits, same dtype.

    Introduced in: Chapter 3.2.
    """
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"top_k must be a positive integer, got {k!r}")
    if k >= logits.shape[-1]:
        return logits
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]  # (..., 1): the k-th largest logit
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus filtering: keep the most likely tokens whose cumulative probability reaches p.

    The most likely token is always kept, so the result is never empty.

    Args:
        logits: (..., V).
        p: probability mass to keep, in (0, 1]; 1.0 keeps everything.

    Returns:
        (..., V) logits with the tail set to -inf.

    Introduced in: Chapter 3.2.
    """
    if not 0.0 < p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1], got {p}")
    if p == 1.0:
        return logits
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)  # (..., V)
    cum = torch.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
    # Drop a token when the tokens ranked above it already reach p.
    drop_sorted = (cum - torch.softmax(sorted_logits, dim=-1)) >= p
    drop = drop_sorted.scatter(-1, order, drop_sorted)  # back to vocabulary order
    return logits.masked_fill(drop, float("-inf"))


def sample_next_token(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Pick one token per row from (B, V) logits.

    Args:
        logits: (B, V) next-token logits.
        temperature: 0.0 means greedy (argmax); otherwise logits are divided by it.
        top_k: keep only the k most likely tokens before sampling.
        top_p: keep only the nucleus of probability p before sampling.
        generator: a ``torch.Generator`` for reproducible sampling.

    Returns:
        (B,) token ids (long).

    Introduced in: Chapter 3.2.
    """
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0 (0 = greedy), got {temperature}")
    if temperature == 0.0:
        return logits.argmax(dim=-1)
    logits = logits.float() / temperature
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    probs = torch.softmax(logits, dim=-1)
    next_ids = torch.multinomial(probs, num_samples=1, generator=generator)  # (B, 1)
    return next_ids.squeeze(-1)  # (B, 1) -> (B,)
