"""Evaluation metrics: perplexity here; ROUGE / BLEU / exact-match wrappers join later.

Perplexity is ``exp`` of the mean next-token negative log-likelihood in nats (the
quantity every loss in :mod:`lmbook.train.objectives` returns). It is the effective
number of equally likely choices the model hesitates between at each token.

Introduced in: Chapter 1 (n-gram perplexity) and Chapter 2.1 (cross-entropy and perplexity).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["evaluate_perplexity", "perplexity", "token_nll"]


def perplexity(mean_nll: float | Tensor) -> float:
    """``exp(mean_nll)``, where ``mean_nll`` is the mean negative log-likelihood in nats.

    Example:
        >>> round(perplexity(math.log(65)), 6)   # uniform over 65 characters
        65.0
    """
    value = float(mean_nll)
    if math.isnan(value) or value < 0:
        raise ValueError(f"mean_nll must be a non-negative number of nats, got {value}")
    return math.exp(value) if value < 700 else math.inf


def token_nll(logits: Tensor, targets: Tensor, ignore_index: int = -100) -> Tensor:
    """Negative log-likelihood of each target token (0 where ``ignore_index``).

    Shapes:
        logits (B, T, V), targets (B, T) -> (B, T).
    """
    if logits.shape[:-1] != targets.shape:
        raise ValueError(
            f"logits {tuple(logits.shape)} and targets {tuple(targets.shape)} disagree; "
            "expected (B, T, V) and (B, T)"
        )
    nll = F.cross_entropy(
        logits.float().reshape(-1, logits.size(-1)),  # (B, T, V) -> (B*T, V)
        targets.reshape(-1),
        ignore_index=ignore_index,
        reduction="none",
    )
    return nll.view(targets.shape)


@torch.no_grad()
def evaluate_perplexity(
    model: nn.Module, ids: Tensor, block_size: int, batch_size: int = 16
) -> float:
    """Perplexity of a causal LM over a whole token stream, every token scored once.

    The stream is cut into non-overlapping windows of ``block_size`` (each window's first
    token has less context than a sliding window would give it, so this is a slight
    overestimate; the book discusses the sliding-window variant).

    Args:
        model: maps input ids (B, T) to logits (B, T, V).
        ids: 1-D token ids.
        block_size: window length T (at most the model's context).
        batch_size: windows per forward pass.

    Returns:
        perplexity (float).
    """
    if ids.dim() != 1 or len(ids) < block_size + 1:
        raise ValueError(
            f"need a 1-D stream of at least block_size + 1 = {block_size + 1} tokens, got "
            f"shape {tuple(ids.shape)}"
        )
    device = next(model.parameters()).device
    n_windows = (len(ids) - 1) // block_size
    starts = torch.arange(n_windows) * block_size
    offsets = torch.arange(block_size + 1)
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        for b in range(0, n_windows, batch_size):
            window = ids[starts[b : b + batch_size, None] + offsets].to(device)  # (B, T+1)
            logits = model(window[:, :-1])
            logits = getattr(logits, "logits", logits)
            nll = token_nll(logits, window[:, 1:])
            total += float(nll.sum())
            count += nll.numel()
    finally:
        model.train(was_training)
    return perplexity(total / count)
