"""Deterministic train/validation splits.

Two rules, both documented in the book and reproducible without a seed file:

* ``train_val_split(seq, val_fraction)``: the *tail* is validation. For a text or a token
  stream this is what language-modelling papers do (nanoGPT's 90/10 split of Shakespeare):
  validation is text the model has never seen a window of, and no sentence straddles the
  border more than once.
* ``shuffled_split(items, val_fraction, seed)``: for independent records (reviews, verse
  pairs) a permutation drawn from ``random.Random(seed)`` decides; the same seed gives the
  same split on every machine and Python version (``random.Random`` with an int seed is
  stable across versions).

The validation size is ``round(len * val_fraction)``, at least 1 when ``val_fraction > 0``.

Introduced in: Chapter 1 (the n-gram model's held-out perplexity).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

__all__ = ["shuffled_split", "train_val_split"]

S = TypeVar("S", bound=Sequence)
T = TypeVar("T")


def _val_size(n: int, val_fraction: float) -> int:
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if n < 2 and val_fraction > 0:
        raise ValueError(f"cannot split {n} item(s) into train and validation; pass more data")
    k = round(n * val_fraction)
    return min(max(k, 1 if val_fraction > 0 else 0), n - 1)


def train_val_split(seq: S, val_fraction: float = 0.1) -> tuple[S, S]:
    """Split a sequence (str, list, tensor) into its head (train) and tail (validation).

    Args:
        seq: anything sliceable with a length: text, token ids, a list of records.
        val_fraction: share of the items that goes to validation, in [0, 1).

    Returns:
        ``(train, val)`` of the same type as ``seq``; ``train + val == seq``.

    Example:
        >>> train_val_split("abcdefghij", 0.2)
        ('abcdefgh', 'ij')

    Introduced in: Chapter 1.
    """
    n = len(seq)
    k = _val_size(n, val_fraction)
    return seq[: n - k], seq[n - k :]


def shuffled_split(
    items: Sequence[T], val_fraction: float = 0.1, seed: int = 0
) -> tuple[list[T], list[T]]:
    """Split independent records with a seeded permutation (same seed, same split).

    Args:
        items: records.
        val_fraction: share for validation, in [0, 1).
        seed: seed of ``random.Random``; the order inside each part follows the permutation.

    Returns:
        ``(train, val)`` lists.

    Introduced in: Chapter 6.
    """
    n = len(items)
    k = _val_size(n, val_fraction)
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return [items[i] for i in order[: n - k]], [items[i] for i in order[n - k :]]
