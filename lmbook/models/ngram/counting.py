"""Counting n-grams: number every n-gram of a padded corpus and count it, vectorised.

Every m-gram gets an id by ranking the code ``id(its first m - 1 tokens) * V + last token``
among all codes of that length, so the m-gram table is built from the (m-1)-gram table
one order at a time. Codes stay below ``#grams * V``, so they fit in int64 at any practical
scale, and a whole test set is looked up with one ``np.searchsorted`` per order.

Introduced in: Chapter 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lmbook.models.ngram.vocab import BOS_ID, EOS_ID

__all__ = ["NGramCounts", "pad_and_concat"]


def pad_and_concat(encoded: list[np.ndarray], n: int) -> tuple[np.ndarray, ...]:
    """Pad each sequence as ``<s>^(n-1) tokens </s>`` and concatenate.

    Returns:
        x (L,) ids, start (L,) index of each position's sequence start, predicted (L,) bool
        (True where a token is predicted: every position after the ``<s>`` pad).
    """
    pad = n - 1
    lengths = np.array([len(e) + pad + 1 for e in encoded], dtype=np.int64)
    x = np.empty(int(lengths.sum()), dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    predicted = np.ones(len(x), dtype=bool)
    for s0, e in zip(starts, encoded, strict=True):
        x[s0 : s0 + pad] = BOS_ID
        x[s0 + pad : s0 + pad + len(e)] = e
        x[s0 + pad + len(e)] = EOS_ID
        predicted[s0 : s0 + pad] = False
    start = np.repeat(starts, lengths)
    return x, start, predicted


@dataclass
class NGramCounts:
    """The numbered n-grams of a training corpus, orders 1..n, and their counts.

    Attributes:
        n: the highest order.
        V: number of token ids (``<s>`` included).
        tables: ``tables[m]`` sorted codes of every m-gram window of the padded corpus
            (pad-only windows included, so every context of a predicted token has an id);
            ``tables[0] = [0]``, the empty context.
        raw: ``raw[m][g]``: how often m-gram ``g`` ends at a predicted position.
        num_predicted: number of predicted positions (tokens plus one ``</s>`` per sequence).
    """

    n: int
    V: int
    tables: list[np.ndarray]
    raw: list[np.ndarray]
    num_predicted: int

    @classmethod
    def count(
        cls, x: np.ndarray, start: np.ndarray, predicted: np.ndarray, n: int, V: int
    ) -> tuple[NGramCounts, list[np.ndarray]]:
        """Number and count the n-grams of a padded corpus (from :func:`pad_and_concat`).

        Returns:
            the counts, and ``gids`` with ``gids[m][i]`` the id of the m-gram ending at
            position ``i`` (-1 where the window crosses a sequence start).
        """
        tables: list[np.ndarray] = [np.zeros(1, dtype=np.int64)]
        gids = [np.zeros(len(x), dtype=np.int64)]
        pos = np.arange(len(x))
        for m in range(1, n + 1):
            prev = np.full(len(x), -1, dtype=np.int64)  # id of the (m-1)-gram ending at i-1
            if m == 1:
                prev[:] = 0
            else:
                prev[1:] = gids[m - 1][:-1]
            valid = (pos - m + 1 >= start) & (prev >= 0)
            codes = prev[valid] * V + x[valid]
            table, inverse = _unique_inverse(codes, upper=max(len(tables[m - 1]), 1) * V)
            gid = np.full(len(x), -1, dtype=np.int64)
            gid[valid] = inverse.reshape(-1)
            tables.append(table)
            gids.append(gid)
        raw = [np.zeros(1, dtype=np.int64)]
        for m in range(1, n + 1):
            raw.append(np.bincount(gids[m][predicted], minlength=len(tables[m])))
        return cls(n, V, tables, raw, int(predicted.sum())), gids

    def lookup(self, x: np.ndarray, start: np.ndarray) -> list[np.ndarray]:
        """gids[m][i]: id of the m-gram ending at position i of ``x`` (-1 if never seen)."""
        V = self.V
        pos = np.arange(len(x))
        gids = [np.zeros(len(x), dtype=np.int64)]
        for m in range(1, self.n + 1):
            prev = np.full(len(x), -1, dtype=np.int64)
            if m == 1:
                prev[:] = 0
            else:
                prev[1:] = gids[m - 1][:-1]
            ok = (pos - m + 1 >= start) & (prev >= 0)
            codes = prev * V + x
            table = self.tables[m]
            idx = np.minimum(np.searchsorted(table, codes), len(table) - 1)
            ok &= table[idx] == codes
            gids.append(np.where(ok, idx, -1))
        return gids

    def context_totals(self, m: int, weights: np.ndarray) -> np.ndarray:
        """Sum of ``weights`` (one per m-gram) over the m-grams of each (m-1)-gram context."""
        return np.bincount(
            self.tables[m] // self.V, weights=weights, minlength=len(self.tables[m - 1])
        )

    def followers(self, m: int, h: int) -> tuple[int, int]:
        """The slice ``lo:hi`` of ``tables[m]`` holding the m-grams whose context is ``h``."""
        lo, hi = np.searchsorted(self.tables[m], [h * self.V, (h + 1) * self.V])
        return int(lo), int(hi)

    def decode(self, order: int, g: int) -> list[int]:
        """The token ids of m-gram ``g`` of length ``order``, first to last."""
        ids = []
        for m in range(order, 0, -1):
            code = int(self.tables[m][g])
            ids.append(code % self.V)
            g = code // self.V
        return ids[::-1]


def _unique_inverse(codes: np.ndarray, upper: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values of ``codes`` (all in [0, upper)) and each code's rank among them.

    When the code range is small (character models) a presence table replaces the sort:
    O(N + upper) instead of O(N log N), several times faster on millions of codes.
    """
    if upper <= max(8 * len(codes), 1 << 22):
        present = np.zeros(upper, dtype=bool)
        present[codes] = True
        rank = np.cumsum(present, dtype=np.int64) - 1
        return np.flatnonzero(present).astype(np.int64), rank[codes]
    # Sort (code, position) pairs packed into one int64 when they fit: numpy's SIMD sort of
    # plain integers is ~5x faster than argsort (and np.unique's hash path is slower still).
    pos_bits = max(int(len(codes)).bit_length(), 1)
    if int(upper).bit_length() + pos_bits <= 62:
        packed = np.sort((codes << pos_bits) | np.arange(len(codes), dtype=np.int64))
        sorted_codes, order = packed >> pos_bits, packed & ((1 << pos_bits) - 1)
    else:
        order = np.argsort(codes)
        sorted_codes = codes[order]
    first = np.ones(len(codes), dtype=bool)
    first[1:] = sorted_codes[1:] != sorted_codes[:-1]
    inverse = np.empty(len(codes), dtype=np.int64)
    inverse[order] = np.cumsum(first) - 1
    return sorted_codes[first], inverse
