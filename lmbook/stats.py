"""Bootstrap intervals: how far a score would move on another test set of the same size.

One percentile bootstrap (Efron & Tibshirani 1993) serves every chapter: resample the test
items with replacement, recompute the score, keep the central ``level`` share of the values.
Comparing two systems on the same items, resample the same items for both (a paired
interval): what is hard for both cancels out. Callers that compute their resampled scores in
bulk (corpus BLEU from sentence statistics, mean losses over token blocks) call
:func:`percentile_interval` on them; everyone else passes a statistic of the resampled
indices to :func:`bootstrap_interval`.

Introduced in: Chapter 4 (4.1 word embeddings); used by Chapters 5, 6 and 9.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["bootstrap_interval", "check_bootstrap", "percentile_interval"]


def check_bootstrap(n_boot: int, level: float) -> None:
    """Refuse a resample count below 1 or a coverage outside (0, 1)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot}")


def percentile_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The central ``level`` share of resampled values: ``(low, high)``."""
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(np.asarray(values, dtype=float), [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_interval(
    statistic: Callable[[np.ndarray], float],
    n: int,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of a statistic over n items.

    Resamples the n item indices with replacement ``n_boot`` times, evaluates
    ``statistic(indices)`` on each resample, and returns the central ``level`` share of the
    values: the spread a score would show on another test set of the same size. Two models
    scored on the same items are compared by bootstrapping their *difference* with the same
    indices (a paired interval).

    Args:
        statistic: maps an int array of item indices, shape (n,), to a number.
        n: number of items.
        n_boot: resamples.
        level: coverage of the interval, in (0, 1).
        seed: seeds the resampling.

    Returns:
        ``(low, high)``; ``(nan, nan)`` for fewer than 2 items.

    Example:
        >>> hits = np.array([1, 0, 1, 1, 0, 1, 1, 1])
        >>> lo, hi = bootstrap_interval(lambda idx: hits[idx].mean(), len(hits))
        >>> bool(lo < hits.mean() < hi)
        True
    """
    check_bootstrap(n_boot, level)
    if n < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    values = np.array([statistic(rng.integers(0, n, n)) for _ in range(n_boot)], dtype=float)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return float("nan"), float("nan")
    return percentile_interval(values, level)
