"""Why counts stop scaling: how many test n-grams a model has never seen, per order.

The number of possible contexts grows as ``V ** (n - 1)`` while the corpus does not, so
most test n-grams of a large order were never seen in training.

Introduced in: Chapter 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lmbook.models.ngram.counting import NGramCounts

__all__ = ["SparsityStats", "sparsity_stats"]


@dataclass(frozen=True)
class SparsityStats:
    """How many n-grams of one order were seen, and how many test n-grams were not.

    Attributes:
        order: the n-gram length m (1 = unigrams).
        train_types: distinct m-grams observed in training.
        train_tokens: m-gram occurrences in training (one per predicted token).
        possible: ``(V - 1) * V ** (m - 1)``-ish upper bound: vocabulary size to the power m
            (contexts may contain ``<s>``; the predicted token may not).
        test_tokens: m-gram occurrences in the test data.
        test_unseen: fraction of test m-gram occurrences never seen in training.
        test_context_unseen: fraction of test occurrences whose (m-1)-token context was never
            seen in training followed by any token (0 for unigrams).
    """

    order: int
    train_types: int
    train_tokens: int
    possible: float
    test_tokens: int
    test_unseen: float
    test_context_unseen: float


def sparsity_stats(
    counts: NGramCounts, gids: list[np.ndarray], targets: np.ndarray, vocab_size: int
) -> list[SparsityStats]:
    """Per order m = 1..n, the training m-grams and the share of test m-grams never seen.

    Args:
        counts: the training counts.
        gids: ``counts.lookup(x, start)`` of the padded test corpus ``x``.
        targets: the positions of ``x`` that are predicted.
        vocab_size: the number of predictable tokens.
    """
    stats = []
    for m in range(1, counts.n + 1):
        g = gids[m][targets]
        seen = np.where(g >= 0, counts.raw[m][np.maximum(g, 0)], 0) > 0
        if m == 1:
            ctx_unseen = 0.0
        else:
            h = gids[m - 1][targets - 1]
            tot = counts.context_totals(m, counts.raw[m])
            ctx_seen = np.where(h >= 0, tot[np.maximum(h, 0)], 0) > 0
            ctx_unseen = float(1 - ctx_seen.mean())
        stats.append(
            SparsityStats(
                order=m,
                train_types=int((counts.raw[m] > 0).sum()),
                train_tokens=counts.num_predicted,
                possible=float(vocab_size) ** m,
                test_tokens=len(targets),
                test_unseen=float(1 - seen.mean()),
                test_context_unseen=ctx_unseen,
            )
        )
    return stats
