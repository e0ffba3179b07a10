"""Greedy and beam-search decoding for an encoder-decoder (Seq2SeqTransformer).

The model is called as ``model.encode(src_ids, src_mask)`` -> memory (B, S, D) and
``model.decode(tgt_ids, memory, src_mask, cache=cache)`` -> logits (B, T, V), with
``model.new_cache()`` for incremental decoding.

Introduced in: Chapter 6.2 (machine translation).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["beam_search", "gnmt_length_penalty", "greedy_decode", "sequence_scores"]


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
    if max_len + 1 > model.config.block_size:
        raise ValueError(
            f"BOS + max_len={max_len} tokens need {max_len + 1} positions but the model has "
            f"block_size={model.config.block_size}; lower max_len"
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
            # Keep the surviving beams' self-attention keys; the cross-attention ones are the
            # same for every beam of a source (parent stays within its source's K rows).
            cache.reorder((offsets + parent).reshape(-1), static=False)
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
