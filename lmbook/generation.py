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


# ---------------------------------------------------------------------------- encoder-decoder
# Greedy and beam-search decoding for lmbook.models.Seq2SeqTransformer (Chapter 6.2).
# The model is called as model.encode(src_ids, src_mask) -> memory (B, S, D) and
# model.decode(tgt_ids, memory, src_mask, cache=cache) -> logits (B, T, V), with
# model.new_cache() for incremental decoding.

__all__ += ["beam_search", "gnmt_length_penalty", "greedy_decode", "sequence_scores"]


def gnmt_length_penalty(length: torch.Tensor | int, alpha: float) -> torch.Tensor | float:
    """``lp(Y) = ((5 + |Y|) / 6) ** alpha`` (Wu et al. 2016, GNMT, section 7).

    A hypothesis is ranked by log P(Y | X) / lp(Y): alpha = 0 ranks by raw log-probability
    (which favours short outputs), larger alpha favours longer ones; GNMT uses 0.6-0.7.

    Introduced in: Chapter 6.2.
    """
    return ((5.0 + length) / 6.0) ** alpha


def _check_decode_args(model, src_ids, max_len, bos_id, eos_id) -> None:
    if not isinstance(max_len, int) or max_len < 1:
        raise ValueError(f"max_len must be an int >= 1 (tokens to generate), got {max_len!r}")
    vocab = model.config.vocab_size
    for name, tok in (("bos_id", bos_id), ("eos_id", eos_id)):
        if not isinstance(tok, int) or not 0 <= tok < vocab:
            raise ValueError(f"{name} must be a target token id in [0, {vocab}), got {tok!r}")
    if max_len + 1 > model.config.max_position:
        raise ValueError(
            f"BOS + max_len={max_len} tokens need {max_len + 1} positions but the model has "
            f"max_position={model.config.max_position}; lower max_len"
        )
    if not isinstance(src_ids, torch.Tensor) or src_ids.dim() != 2:
        raise ValueError("src_ids must be a (B, S) tensor of token ids; add a batch axis")


@torch.no_grad()
def greedy_decode(
    model: nn.Module,
    src_ids: torch.Tensor,
    src_mask: torch.Tensor | None,
    max_len: int,
    bos_id: int,
    eos_id: int,
) -> torch.Tensor:
    """Translate by always taking the most likely next token (with a KV cache).

    Args:
        model: an encoder-decoder such as :class:`lmbook.models.Seq2SeqTransformer`.
        src_ids: (B, S) source ids.
        src_mask: (B, S) 1 = real token, 0 = padding (None: no padding).
        max_len: the most tokens to generate after BOS.
        bos_id: the token the decoder starts from.
        eos_id: the token that ends a hypothesis; finished rows are padded with it and
            decoding stops once every row has produced it.

    Returns:
        (B, 1 + n) ids: BOS, then the generated tokens (n <= max_len).

    Introduced in: Chapter 6.2.
    """
    _check_decode_args(model, src_ids, max_len, bos_id, eos_id)
    was_training = model.training
    model.eval()
    try:
        memory = model.encode(src_ids, src_mask)  # (B, S, D)
        B = src_ids.shape[0]
        ids = torch.full((B, 1), bos_id, dtype=torch.long, device=src_ids.device)
        finished = torch.zeros(B, dtype=torch.bool, device=src_ids.device)
        cache = model.new_cache()
        for _ in range(max_len):
            logits = model.decode(ids[:, -1:], memory, src_mask, cache=cache)  # (B, 1, V)
            next_ids = logits[:, -1].argmax(dim=-1).masked_fill(finished, eos_id)  # (B,)
            ids = torch.cat([ids, next_ids[:, None]], dim=1)  # (B, t) -> (B, t + 1)
            finished |= next_ids == eos_id
            if bool(finished.all()):
                break
    finally:
        model.train(was_training)
    return ids


@torch.no_grad()
def beam_search(
    model: nn.Module,
    src_ids: torch.Tensor,
    src_mask: torch.Tensor | None,
    beam_size: int,
    max_len: int,
    bos_id: int,
    eos_id: int,
    length_penalty: float = 0.6,
    return_scores: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Beam search: keep the ``beam_size`` best partial translations at every step.

    All B x K hypotheses run as one batch of B * K rows through the decoder, sharing one
    KV cache that is reordered whenever hypotheses are pruned. Hypotheses are ranked by
    log P(Y | X) / lp(Y) with the GNMT length penalty (:func:`gnmt_length_penalty`). A
    hypothesis that emits EOS is finished: it keeps its slot and its score (padding itself
    with EOS) and competes with the live ones, so beam_size=1 is exactly greedy decoding.
    Search stops when every beam is finished or after max_len tokens; the best beam wins
    (unfinished ones ranked by their current score).

    Args:
        model: an encoder-decoder such as :class:`lmbook.models.Seq2SeqTransformer`.
        src_ids: (B, S) source ids.
        src_mask: (B, S) 1 = real token, 0 = padding (None: no padding).
        beam_size: K, hypotheses kept per source (K = 1 is greedy).
        max_len: the most tokens to generate after BOS.
        bos_id: the token the decoder starts from.
        eos_id: the token that ends a hypothesis (also used as padding after it).
        length_penalty: GNMT's alpha (0.6 in Wu et al. 2016 and Vaswani et al. 2017).
        return_scores: also return each best hypothesis' score log P / lp.

    Returns:
        (B, 1 + n) ids: BOS then the best hypothesis of each source, padded with EOS;
        with ``return_scores``, also (B,) float scores.

    Introduced in: Chapter 6.2.
    """
    _check_decode_args(model, src_ids, max_len, bos_id, eos_id)
    if not isinstance(beam_size, int) or beam_size < 1:
        raise ValueError(f"beam_size must be an int >= 1, got {beam_size!r}")
    if length_penalty < 0:
        raise ValueError(f"length_penalty (GNMT alpha) must be >= 0, got {length_penalty}")
    was_training = model.training
    model.eval()
    try:
        B, K, device = src_ids.shape[0], beam_size, src_ids.device
        memory = model.encode(src_ids, src_mask)  # (B, S, D)
        # Every source is repeated K times: row b * K + k holds beam k of source b.
        memory = memory.repeat_interleave(K, dim=0)  # (B, S, D) -> (B*K, S, D)
        beam_mask = None if src_mask is None else src_mask.repeat_interleave(K, dim=0)
        seqs = torch.full((B, K, 1), bos_id, dtype=torch.long, device=device)
        logp = torch.full((B, K), float("-inf"), device=device)
        logp[:, 0] = 0.0  # start from one hypothesis; the other slots fill at step 1
        done = torch.zeros(B, K, dtype=torch.bool, device=device)
        length = torch.zeros(B, K, device=device)  # generated tokens, EOS included
        cache = model.new_cache()
        offsets = (torch.arange(B, device=device) * K)[:, None]  # (B, 1)
        for step in range(1, max_len + 1):
            logits = model.decode(seqs[:, :, -1].reshape(B * K, 1), memory, beam_mask,
                                  cache=cache)  # fmt: skip
            V = logits.shape[-1]
            step_logp = torch.log_softmax(logits[:, -1].float(), dim=-1).view(B, K, V)
            cand = logp[:, :, None] + step_logp  # (B, K, V): live beams extend by any token
            # A finished beam has a single continuation: itself, padded with EOS, unchanged.
            frozen = torch.full_like(cand, float("-inf"))
            frozen[:, :, eos_id] = logp
            cand = torch.where(done[:, :, None], frozen, cand)
            cand_len = torch.where(done, length, torch.full_like(length, step))  # (B, K)
            key = cand / gnmt_length_penalty(cand_len, length_penalty)[:, :, None]
            top_key, top = key.view(B, K * V).topk(K, dim=-1)  # (B, K*V) -> (B, K)
            parent, token = top // V, top % V  # (B, K) each
            logp = cand.view(B, K * V).gather(1, top)
            length = cand_len.gather(1, parent)
            # EOS ends a beam; so does an empty slot (-inf: fewer candidates than K so far).
            done = done.gather(1, parent) | (token == eos_id) | torch.isneginf(logp)
            seqs = torch.cat([seqs.gather(1, parent[:, :, None].expand_as(seqs)),
                              token[:, :, None]], dim=2)  # fmt: skip  # (B, K, t + 1)
            cache.reorder((offsets + parent).reshape(-1))  # keep the surviving beams' keys
            if bool(done.all()):
                break
        score = logp / gnmt_length_penalty(length, length_penalty)  # (B, K)
        best = score.argmax(dim=-1)  # (B,)
        out = seqs[torch.arange(B, device=device), best]  # (B, 1 + n)
        best_score = score.gather(1, best[:, None]).squeeze(1)
    finally:
        model.train(was_training)
    return (out, best_score) if return_scores else out


@torch.no_grad()
def sequence_scores(
    model: nn.Module,
    src_ids: torch.Tensor,
    src_mask: torch.Tensor | None,
    out_ids: torch.Tensor,
    eos_id: int,
    length_penalty: float = 0.0,
) -> torch.Tensor:
    """Score decoded outputs under the model: log P(Y | X) / lp(Y), one teacher-forced pass.

    Tokens after a row's first EOS are ignored, so the outputs of :func:`greedy_decode` and
    :func:`beam_search` can be compared with each other (and with references).

    Args:
        model: the encoder-decoder.
        src_ids: (B, S); src_mask: (B, S) or None.
        out_ids: (B, 1 + n) ids starting with BOS.
        eos_id: end-of-sequence id.
        length_penalty: GNMT alpha (0 = plain log-probability).

    Returns:
        (B,) float scores.

    Introduced in: Chapter 6.2.
    """
    if out_ids.dim() != 2 or out_ids.shape[1] < 2:
        raise ValueError(f"out_ids must be (B, 1 + n) with n >= 1, got {tuple(out_ids.shape)}")
    was_training = model.training
    model.eval()
    try:
        logits = model(src_ids, out_ids[:, :-1], src_mask=src_mask)  # (B, n, V)
    finally:
        model.train(was_training)
    target = out_ids[:, 1:]  # (B, n)
    tok_logp = torch.log_softmax(logits.float(), dim=-1).gather(-1, target[..., None])[..., 0]
    is_eos = (target == eos_id).long()
    # Keep tokens up to and including the first EOS: no EOS strictly before them.
    keep = (is_eos.cumsum(dim=1) - is_eos) == 0
    total = (tok_logp * keep).sum(dim=1)
    return total / gnmt_length_penalty(keep.sum(dim=1).float(), length_penalty)
