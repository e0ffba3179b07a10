"""Three ways to turn n-gram counts into next-token scores: add-k, stupid backoff, Kneser-Ney.

Each smoothing is a small class with the same three methods: ``fit(counts, gids,
predicted)`` precomputes what it needs from :class:`~lmbook.models.ngram.counting.NGramCounts`,
``scores(gids, targets, w)`` scores many positions of a corpus at once, and
``next_dist(h_ids)`` gives the scores of every token after one context.

* :class:`AddK`: add-k (Laplace for k=1) smoothing of the highest order only; the simple
  baseline.
* :class:`StupidBackoff`: Brants et al. (2007): relative frequency, else ``alpha`` times the
  lower order's score. Its scores are **not** probabilities (they do not sum to one).
* :class:`KneserNey`: interpolated Kneser-Ney (Kneser & Ney 1995), with the modified
  three-discount variant of Chen & Goodman (1998, eq. 26) by default. Lower orders use
  *continuation counts* (how many distinct tokens precede an n-gram) rather than raw counts.

Introduced in: Chapter 1.
"""

from __future__ import annotations

import numpy as np

from lmbook.models.ngram.counting import NGramCounts
from lmbook.models.ngram.vocab import BOS_ID

__all__ = ["SMOOTHINGS", "AddK", "KneserNey", "StupidBackoff", "estimate_discounts"]


class AddK:
    """``P(w | h) = (c(h w) + k) / (c(h) + k V)`` at the highest order (Laplace for k = 1)."""

    normalized = True

    def __init__(self, k: float) -> None:
        self.k = k

    def fit(self, counts: NGramCounts, gids: list[np.ndarray], predicted: np.ndarray) -> None:
        self.counts, self.ctx_total = counts, _raw_context_totals(counts)

    def scores(self, gids: list[np.ndarray], targets: np.ndarray, w: np.ndarray) -> np.ndarray:
        n, V_pred = self.counts.n, self.counts.V - 1
        g = gids[n][targets]
        h = gids[n - 1][targets - 1] if n > 1 else np.zeros_like(g)
        c = np.where(g >= 0, self.counts.raw[n][np.maximum(g, 0)], 0)
        tot = np.where(h >= 0, self.ctx_total[n][np.maximum(h, 0)], 0.0)
        return (c + self.k) / (tot + self.k * V_pred)

    def next_dist(self, h_ids: list[int]) -> np.ndarray:
        counts, n, V = self.counts, self.counts.n, self.counts.V
        dist = np.zeros(V)
        h = h_ids[n - 1]
        dist[1:] = self.k
        tot = 0.0
        if h >= 0:
            lo, hi = counts.followers(n, h)
            dist[counts.tables[n][lo:hi] % V] += counts.raw[n][lo:hi]
            tot = self.ctx_total[n][h]
        return dist / (tot + self.k * (V - 1))


class StupidBackoff:
    """``S(w | h) = c(h w) / c(h)`` if seen, else ``alpha * S(w | shorter h)`` (Brants et al. 2007)."""

    normalized = False

    def __init__(self, alpha: float) -> None:
        self.alpha = alpha

    def fit(self, counts: NGramCounts, gids: list[np.ndarray], predicted: np.ndarray) -> None:
        self.counts, self.ctx_total = counts, _raw_context_totals(counts)

    def scores(self, gids: list[np.ndarray], targets: np.ndarray, w: np.ndarray) -> np.ndarray:
        raw = self.counts.raw
        g = gids[1][targets]
        s = np.where(g >= 0, raw[1][np.maximum(g, 0)], 0) / self.counts.num_predicted
        for m in range(2, self.counts.n + 1):
            g = gids[m][targets]
            h = gids[m - 1][targets - 1]
            c = np.where(g >= 0, raw[m][np.maximum(g, 0)], 0)
            tot = np.where(h >= 0, self.ctx_total[m][np.maximum(h, 0)], 1.0)
            s = np.where(c > 0, c / np.maximum(tot, 1), self.alpha * s)
        return s

    def next_dist(self, h_ids: list[int]) -> np.ndarray:
        counts, V = self.counts, self.counts.V
        dist = np.zeros(V)
        dist[counts.tables[1] % V] = counts.raw[1] / counts.num_predicted
        for m in range(2, counts.n + 1):
            h = h_ids[m - 1]
            dist = dist * self.alpha
            if h < 0 or self.ctx_total[m][h] == 0:
                continue
            lo, hi = counts.followers(m, h)
            c = counts.raw[m][lo:hi]
            dist[counts.tables[m][lo:hi][c > 0] % V] = c[c > 0] / self.ctx_total[m][h]
        return dist


class KneserNey:
    """Interpolated (modified) Kneser-Ney, built bottom-up from the uniform distribution.

    ``P(w | h) = (a(h w) - D(a)) / a(h) + gamma(h) P(w | shorter h)`` with ``a`` the raw count
    at the top order and the continuation count below it (Chen & Goodman 1998, eqs. 21-26).

    Args:
        discount: None estimates D1, D2, D3+ per order (:func:`estimate_discounts`); a float
            in (0, 1] uses that one discount everywhere (plain Kneser-Ney).
    """

    normalized = True

    def __init__(self, discount: float | None) -> None:
        self.discount = discount

    def fit(self, counts: NGramCounts, gids: list[np.ndarray], predicted: np.ndarray) -> None:
        self.counts = counts
        n = counts.n
        # a_m(g): the count KN uses at order m — raw at the top order, continuation count
        # N1+(. g) = number of distinct tokens seen before g below it (Chen & Goodman eq. 21).
        kn: list[np.ndarray] = [None] * (n + 1)  # type: ignore[list-item]
        kn[n] = counts.raw[n]
        for m in range(n - 1, 0, -1):
            longer = np.flatnonzero(counts.raw[m + 1])  # distinct (m+1)-grams
            suffix = np.empty(len(counts.tables[m + 1]), dtype=np.int64)
            suffix[gids[m + 1][predicted]] = gids[m][predicted]  # (m+1)-gram -> its m-suffix
            kn[m] = np.bincount(suffix[longer], minlength=len(counts.tables[m]))
        self.kn_counts = kn
        self.discounts: list[np.ndarray] = [None]  # type: ignore[list-item]
        self.ctx_total: list[np.ndarray] = [None]  # type: ignore[list-item]
        self.gamma: list[np.ndarray] = [None]  # type: ignore[list-item]
        for m in range(1, n + 1):
            a = kn[m]
            d = estimate_discounts(a, self.discount)  # d[0] = 0, d[1..3] = D1, D2, D3+
            total = counts.context_totals(m, a)
            # gamma(h) = (D1 N1(h.) + D2 N2(h.) + D3+ N3+(h.)) / c(h.), Chen & Goodman eq. 25:
            # exactly the mass removed by discounting, handed to the lower order.
            removed = counts.context_totals(m, d[np.minimum(a, 3)])
            with np.errstate(invalid="ignore", divide="ignore"):
                gamma = np.where(total > 0, removed / np.maximum(total, 1), 1.0)
            self.discounts.append(d)
            self.ctx_total.append(total)
            self.gamma.append(gamma)

    def scores(self, gids: list[np.ndarray], targets: np.ndarray, w: np.ndarray) -> np.ndarray:
        p = np.where(w == BOS_ID, 0.0, 1.0 / (self.counts.V - 1))  # order 0: uniform
        for m in range(1, self.counts.n + 1):
            g = gids[m][targets]
            h = gids[m - 1][targets - 1] if m > 1 else np.zeros_like(g)
            a = np.where(g >= 0, self.kn_counts[m][np.maximum(g, 0)], 0)
            total = np.where(h >= 0, self.ctx_total[m][np.maximum(h, 0)], 0.0)
            gamma = np.where(h >= 0, self.gamma[m][np.maximum(h, 0)], 1.0)
            disc = self.discounts[m][np.minimum(a, 3)]
            with np.errstate(invalid="ignore", divide="ignore"):
                here = (a - disc) / total + gamma * p
            p = np.where(total > 0, here, p)  # an unseen context backs off entirely
        return p

    def next_dist(self, h_ids: list[int]) -> np.ndarray:
        counts, V = self.counts, self.counts.V
        dist = np.zeros(V)
        dist[1:] = 1.0 / (V - 1)
        for m in range(1, counts.n + 1):
            h = h_ids[m - 1]
            if h < 0 or self.ctx_total[m][h] == 0:
                continue  # unseen context: this order adds nothing, keep the lower order
            lo, hi = counts.followers(m, h)
            a = self.kn_counts[m][lo:hi]
            kept = (a - self.discounts[m][np.minimum(a, 3)]) / self.ctx_total[m][h]
            dist *= self.gamma[m][h]
            dist[counts.tables[m][lo:hi] % V] += kept  # words within one context are unique
        return dist


def _raw_context_totals(counts: NGramCounts) -> list[np.ndarray | None]:
    """``c(h)`` for every context of every order 1..n (index 0 unused): add-k, stupid backoff."""
    return [None] + [counts.context_totals(m, counts.raw[m]) for m in range(1, counts.n + 1)]


def estimate_discounts(a: np.ndarray, discount: float | None = None) -> np.ndarray:
    """``[0, D1, D2, D3+]`` from counts of counts (Chen & Goodman 1998, eq. 26).

    On small corpora a count of counts can be 0 and the estimate leaves (0, r); then KenLM's
    fallback discounts (0.5, 1.0, 1.5) are used. A given ``discount`` is used for all three.
    """
    if discount is not None:
        return np.array([0.0, discount, discount, discount])
    n1, n2, n3, n4 = (int((a == r).sum()) for r in (1, 2, 3, 4))
    fallback = (0.5, 1.0, 1.5)
    d = [0.0]
    for r, (num, den) in enumerate(((n2, n1), (n3, n2), (n4, n3)), start=1):
        y = n1 / (n1 + 2 * n2) if n1 + n2 > 0 else 0.0
        est = r - (r + 1) * y * num / den if den > 0 and n1 > 0 else -1.0
        d.append(est if 0.0 < est < r else fallback[r - 1])
    return np.array(d)


SMOOTHINGS = ("kneser_ney", "add_k", "stupid_backoff")
