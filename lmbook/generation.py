"""Decoding: turning next-token distributions into text.

- ``temperature`` rescales the logits (T -> 0 is greedy, T > 1 flattens);
- ``top_k_filter`` keeps the k most likely tokens (Fan et al. 2018);
- ``top_p_filter`` keeps the smallest set whose probability reaches p
  (nucleus sampling, Holtzman et al. 2020);
- ``generate`` is the autoregressive loop with a KV cache, used by ``GPT.generate``.

Introduced in: Chapter 3.2 (the generation loop).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = [
    "generate",
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
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(
        -1
    )  # (B, 1) -> (B,)


@torch.no_grad()
def generate(
    model: nn.Module,
    input_ids: torch.Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    eos_token_id: int | None = None,
    use_cache: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Autoregressive decoding for a decoder-only model such as :class:`lmbook.models.GPT`.

    Each step feeds the model only the newest token and reuses the cached keys
    and values of the earlier ones. When the sequence outgrows the context
    window (``model.config.block_size``), the model sees the last ``block_size``
    tokens, exactly as without a cache (the cache is rebuilt from that window).

    Args:
        model: called as ``model(ids)`` / ``model(ids, cache=cache)`` -> (B, T, V) logits;
            must have ``config.block_size`` and ``new_cache()``.
        input_ids: (B, T) prompt token ids.
        max_new_tokens: how many tokens to add at most.
        temperature: 0.0 for greedy decoding, otherwise the sampling temperature.
        top_k: sample from the k most likely tokens only.
        top_p: sample from the nucleus of probability p only.
        eos_token_id: stop a sequence once it emits this token; finished rows are padded
            with it, and decoding stops when every row has finished.
        use_cache: reuse keys/values between steps (same tokens, faster).
        generator: ``torch.Generator`` for reproducible sampling.

    Returns:
        (B, T + n) token ids, n <= max_new_tokens.

    Introduced in: Chapter 3.2.
    """
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0 (0 = greedy), got {temperature}")
    if input_ids.dim() != 2 or input_ids.shape[1] == 0:
        raise ValueError(
            f"input_ids must be a non-empty (B, T) tensor, got shape {tuple(input_ids.shape)}; "
            "add a batch axis with ids[None]"
        )
    block_size = model.config.block_size
    was_training = model.training
    model.eval()
    ids = input_ids
    cache = model.new_cache() if use_cache else None
    finished = torch.zeros(ids.shape[0], dtype=torch.bool, device=ids.device)
    step_input = ids[:, -block_size:]  # crop the prompt to the context window
    try:
        for _ in range(max_new_tokens):
            if cache is None:
                logits = model(ids[:, -block_size:])
            else:
                if cache.seq_len + step_input.shape[1] > block_size:
                    # Window full: positions shift, so cached keys are stale. Rebuild from
                    # the last block_size tokens (what the uncached model would see).
                    cache.reset()
                    step_input = ids[:, -block_size:]
                logits = model(step_input, cache=cache)
            next_ids = sample_next_token(logits[:, -1], temperature, top_k, top_p, generator)
            if eos_token_id is not None:
                next_ids = next_ids.masked_fill(finished, eos_token_id)
                finished |= next_ids == eos_token_id
            ids = torch.cat([ids, next_ids[:, None]], dim=1)  # (B, T) -> (B, T + 1)
            step_input = next_ids[:, None]
            if eos_token_id is not None and bool(finished.all()):
                break
    finally:
        model.train(was_training)
    return ids
