"""Count-based n-gram language models: add-k, stupid backoff and interpolated Kneser-Ney.

An n-gram model predicts the next token from the previous ``n - 1`` tokens only, with
probabilities read off counts. It is the baseline every neural language model is measured
against, and it shows why counts stop scaling: the number of possible contexts grows as
``V ** (n - 1)`` while the corpus does not, so most test n-grams of a large order were never
seen in training (see :meth:`NGramLM.sparsity`).

Smoothing methods:

* ``"kneser_ney"`` — interpolated Kneser-Ney (Kneser & Ney 1995), with the modified
  three-discount variant of Chen & Goodman (1998, eq. 26) by default. Lower orders use
  *continuation counts* (how many distinct tokens precede an n-gram) rather than raw counts.
* ``"add_k"`` — add-k (Laplace for k=1) smoothing of the highest order only; the simple
  baseline.
* ``"stupid_backoff"`` — Brants et al. (2007): relative frequency, else ``alpha`` times the
  lower order's score. Its scores are **not** probabilities (they do not sum to one), so
  :meth:`NGramLM.perplexity` refuses it; sampling renormalises.

Each training sequence is padded with ``n - 1`` begin markers ``<s>`` and one end marker
``</s>`` (Jurafsky & Martin, SLP3 ch. 3). ``</s>`` is predicted (it is part of the
vocabulary), ``<s>`` never is. An ``<unk>`` entry is always reserved so that a token unseen
in training gets a small non-zero probability from the smoothing instead of an infinite
perplexity.

Implementation: the corpus is mapped to integer ids and every n-gram of length ``m`` gets
an id by ranking the code ``id(first m - 1 tokens) * V + last token`` among all codes.
Codes stay below ``#grams * V``, so they fit in int64 at any practical scale, and a whole
test set is scored with vectorised ``np.searchsorted`` lookups: fitting the 4.8 M-character
Shakespeare corpus at n=5 takes a few seconds.

Introduced in: Chapter 1.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["BOS", "EOS", "UNK", "NGramLM", "SparsityStats"]

BOS = "<s>"
EOS = "</s>"
UNK = "<unk>"
_BOS_ID, _EOS_ID, _UNK_ID = 0, 1, 2
_SMOOTHINGS = ("kneser_ney", "add_k", "stupid_backoff")
_KIND_NAMES = {"char": "character", "int": "integer-id", "object": "word (list of str)"}


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


class NGramLM:
    """A count-based n-gram language model over tokens of any hashable type.

    Tokens may be characters (pass ``str`` sequences), integer ids (lists, numpy arrays or
    torch tensors) or any hashable (e.g. lists of words).

    Args:
        n: the order: each token is predicted from the ``n - 1`` tokens before it (n >= 1).
        smoothing: ``"kneser_ney"`` (default), ``"add_k"`` or ``"stupid_backoff"``.
        k: the pseudo-count added to every n-gram by ``"add_k"`` (k > 0).
        discount: Kneser-Ney only. ``None`` (default) estimates the three modified-KN
            discounts D1, D2, D3+ per order from counts of counts (Chen & Goodman 1998,
            eq. 26); a float in (0, 1] uses that single discount for every order (plain KN).
        alpha: the backoff factor of ``"stupid_backoff"`` (Brants et al. 2007 use 0.4).

    Example:
        >>> lm = NGramLM(3).fit(["abracadabra", "abba"])
        >>> round(float(lm.next_token_probs("ab").sum()), 6)
        1.0
        >>> lm.perplexity("abra") < lm.vocab_size
        True

    Introduced in: Chapter 1.
    """

    def __init__(
        self,
        n: int,
        smoothing: str = "kneser_ney",
        k: float = 1.0,
        discount: float | None = None,
        alpha: float = 0.4,
    ) -> None:
        if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be an integer >= 1 (1 = unigram model), got {n!r}")
        if smoothing not in _SMOOTHINGS:
            raise ValueError(f"unknown smoothing {smoothing!r}; choose one of {_SMOOTHINGS}")
        if not (isinstance(k, int | float) and k > 0 and math.isfinite(k)):
            raise ValueError(f"k must be a finite number > 0 for add-k smoothing, got {k!r}")
        if discount is not None and not (0.0 < discount <= 1.0):
            raise ValueError(f"discount must be in (0, 1] or None (estimate it), got {discount!r}")
        if not (0.0 < alpha <= 1.0):
            raise ValueError(f"alpha must be in (0, 1] for stupid backoff, got {alpha!r}")
        self.n = int(n)
        self.smoothing = smoothing
        self.k = float(k)
        self.discount = discount
        self.alpha = float(alpha)
        self._fitted = False

    # ------------------------------------------------------------------ vocabulary
    @property
    def vocab(self) -> list[Hashable]:
        """The predictable tokens (training tokens, ``</s>``, ``<unk>``; never ``<s>``).

        :meth:`next_token_probs` returns probabilities in this order.
        """
        self._check_fitted()
        return self._itos[1:]

    @property
    def vocab_size(self) -> int:
        """Number of predictable tokens, ``len(vocab)``: a uniform model's perplexity."""
        self._check_fitted()
        return len(self._itos) - 1

    @property
    def normalized(self) -> bool:
        """True when the model's scores are probabilities that sum to one over ``vocab``."""
        return self.smoothing != "stupid_backoff"

    def _check_fitted(self) -> None:
        if not self._fitted:
            raise ValueError("this NGramLM is not fitted yet; call .fit(sequences) first")

    def _kind_of(self, seq: Any) -> str:
        if isinstance(seq, str):
            return "char"
        if isinstance(seq, bytes):
            raise ValueError("got bytes; decode them to str first (e.g. data.decode('utf-8'))")
        if hasattr(seq, "dtype") and hasattr(seq, "shape"):  # numpy array or torch tensor
            if len(seq.shape) != 1:
                raise ValueError(
                    f"a token sequence must be 1-D, got shape {tuple(seq.shape)}; "
                    "pass a list of 1-D sequences (e.g. list(batch)) instead of a 2-D batch"
                )
            dt = str(seq.dtype)
            if "int" not in dt:
                raise ValueError(f"integer token ids are expected, got dtype {dt}")
            return "int"
        if not isinstance(seq, Sequence):
            raise ValueError(
                f"a token sequence must be a str, a list/tuple, a numpy array or a tensor, "
                f"got {type(seq).__name__}"
            )
        if len(seq) and all(
            isinstance(t, int | np.integer) and not isinstance(t, bool) for t in seq
        ):
            return "int"
        if len(seq) and all(isinstance(t, str) and len(t) == 1 for t in seq):
            return "char"
        return "object"

    def _encode(self, seq: Any) -> np.ndarray:
        """Map one sequence to int64 ids; unseen tokens become ``<unk>``."""
        kind = self._kind_of(seq)
        if len(seq) == 0:
            return np.zeros(0, dtype=np.int64)
        # A word model may be given a list of one-character words, never a bare str.
        word_ok = self._kind == "object" and kind == "char" and not isinstance(seq, str)
        if kind != self._kind and not word_ok:
            raise ValueError(
                f"this model was fitted on {_KIND_NAMES[self._kind]} tokens but got "
                f"{_KIND_NAMES[kind]} tokens; "
                "use the same tokenization for fitting and scoring"
            )
        if self._kind == "char" and kind == "char":
            text = seq if isinstance(seq, str) else "".join(seq)
            keys = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        elif self._kind == "int":
            keys = _as_int_array(seq)
        else:
            stoi = self._stoi
            return np.fromiter((stoi.get(t, _UNK_ID) for t in seq), dtype=np.int64, count=len(seq))
        if self._lut is not None:  # dense key -> id table: one gather, no search
            lut = self._lut
            inside = (keys >= 0) & (keys < len(lut))
            return np.where(inside, lut[np.clip(keys, 0, len(lut) - 1)], _UNK_ID)
        pos = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        return np.where(self._keys[pos] == keys, pos + 3, _UNK_ID)

    def _build_vocab(self, sequences: list[Any]) -> None:
        kinds = {self._kind_of(s) for s in sequences if len(s)}
        if not kinds:
            raise ValueError("every training sequence is empty; pass non-empty sequences")
        if kinds == {"char", "object"}:
            kinds = {"object"}
        if len(kinds) > 1:
            raise ValueError(
                f"training sequences mix token kinds {sorted(kinds)}; use one tokenization"
            )
        self._kind = kinds.pop()
        if self._kind == "char":
            text = "".join(s if isinstance(s, str) else "".join(s) for s in sequences)
            keys = _distinct(np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32))
            tokens: list[Hashable] = [chr(c) for c in keys]
        elif self._kind == "int":
            keys = _distinct(np.concatenate([_as_int_array(s) for s in sequences]))
            if keys[0] < 0:
                raise ValueError(
                    f"integer token ids must be >= 0, got {keys[0]}; remap the vocabulary"
                )
            tokens = [int(t) for t in keys]
        else:
            seen: dict[Hashable, None] = {}
            for s in sequences:
                seen.update(dict.fromkeys(s))
            for special in (BOS, EOS):
                if special in seen:
                    raise ValueError(
                        f"the training data contains the reserved marker {special!r}; "
                        "remove it (the model adds sequence boundaries itself)"
                    )
            seen.pop(UNK, None)  # a literal <unk> in the data is our unknown token
            tokens = list(seen)
            keys = None
        self._itos: list[Hashable] = [BOS, EOS, UNK, *tokens]
        self._stoi = {t: i for i, t in enumerate(self._itos)}
        self._lut: np.ndarray | None = None
        if keys is not None:
            self._keys = keys  # sorted; token id = position + 3
            if keys[-1] < max(16 * len(keys), 1 << 22):
                self._lut = np.full(int(keys[-1]) + 1, _UNK_ID, dtype=np.int64)
                self._lut[keys] = np.arange(len(keys), dtype=np.int64) + 3

    # ------------------------------------------------------------------ fitting
    def fit(self, sequences: Iterable[Any]) -> NGramLM:
        """Count the n-grams of a corpus and precompute the smoothed model.

        Args:
            sequences: a list of token sequences (a list of strings for a character model,
                lists of words, or lists/arrays/tensors of int ids). A single ``str`` is
                refused because it would be read as a list of one-character sequences:
                wrap it, ``fit([text])``.

        Returns:
            ``self``, so ``NGramLM(3).fit(seqs)`` chains.
        """
        if isinstance(sequences, str | bytes):
            raise ValueError(
                "fit() takes a list of sequences, got a single str; wrap it: fit([text])"
            )
        sequences = list(sequences)
        if not sequences:
            raise ValueError("fit() got no sequences; pass a non-empty list of sequences")
        self._build_vocab(sequences)
        self._fitted = True
        x, start, predicted = self._pad_and_concat([self._encode(s) for s in sequences])
        V = len(self._itos)
        self._V = V
        n = self.n
        # _tables[m]: sorted unique codes of every m-gram window in the padded corpus
        # (pad-only windows included, so every context of a predicted token has an id).
        self._tables: list[np.ndarray] = [np.zeros(1, dtype=np.int64)]
        gids = [np.zeros(len(x), dtype=np.int64)]  # gids[m][i]: id of the m-gram ending at i
        pos = np.arange(len(x))
        for m in range(1, n + 1):
            prev = np.full(len(x), -1, dtype=np.int64)  # id of the (m-1)-gram ending at i-1
            if m == 1:
                prev[:] = 0
            else:
                prev[1:] = gids[m - 1][:-1]
            valid = (pos - m + 1 >= start) & (prev >= 0)
            codes = prev[valid] * V + x[valid]
            table, inverse = _unique_inverse(codes, upper=max(len(self._tables[m - 1]), 1) * V)
            gid = np.full(len(x), -1, dtype=np.int64)
            gid[valid] = inverse.reshape(-1)
            self._tables.append(table)
            gids.append(gid)
        # Raw counts c_m(g) of every m-gram at the predicted positions.
        self._raw = [np.zeros(1, dtype=np.int64)]
        for m in range(1, n + 1):
            self._raw.append(np.bincount(gids[m][predicted], minlength=len(self._tables[m])))
        self._num_predicted = int(predicted.sum())
        if self.smoothing == "kneser_ney":
            self._fit_kneser_ney(gids, predicted)
        else:
            # add-k and stupid backoff use raw counts and their context totals.
            self._ctx_total = [None]
            for m in range(1, n + 1):
                ctx = self._tables[m] // V
                self._ctx_total.append(
                    np.bincount(ctx, weights=self._raw[m], minlength=len(self._tables[m - 1]))
                )
        return self

    def _pad_and_concat(self, encoded: list[np.ndarray]) -> tuple[np.ndarray, ...]:
        """Pad each sequence as ``<s>^(n-1) tokens </s>`` and concatenate.

        Returns:
            x (L,) ids, start (L,) index of each position's sequence start, predicted (L,) bool
            (True where a token is predicted: every position after the ``<s>`` pad).
        """
        pad = self.n - 1
        lengths = np.array([len(e) + pad + 1 for e in encoded], dtype=np.int64)
        x = np.empty(int(lengths.sum()), dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        predicted = np.ones(len(x), dtype=bool)
        for s0, e in zip(starts, encoded, strict=True):
            x[s0 : s0 + pad] = _BOS_ID
            x[s0 + pad : s0 + pad + len(e)] = e
            x[s0 + pad + len(e)] = _EOS_ID
            predicted[s0 : s0 + pad] = False
        start = np.repeat(starts, lengths)
        return x, start, predicted

    def _fit_kneser_ney(self, gids: list[np.ndarray], predicted: np.ndarray) -> None:
        n, V = self.n, self._V
        # a_m(g): the count KN uses at order m — raw at the top order, continuation count
        # N1+(. g) = number of distinct tokens seen before g below it (Chen & Goodman eq. 21).
        counts: list[np.ndarray] = [None] * (n + 1)  # type: ignore[list-item]
        counts[n] = self._raw[n]
        for m in range(n - 1, 0, -1):
            longer = np.flatnonzero(self._raw[m + 1])  # distinct (m+1)-grams
            suffix = np.empty(len(self._tables[m + 1]), dtype=np.int64)
            suffix[gids[m + 1][predicted]] = gids[m][predicted]  # (m+1)-gram -> its m-suffix
            counts[m] = np.bincount(suffix[longer], minlength=len(self._tables[m]))
        self._kn_counts = counts
        self._discounts: list[np.ndarray] = [None]  # type: ignore[list-item]
        self._ctx_total = [None]
        self._gamma: list[np.ndarray] = [None]  # type: ignore[list-item]
        for m in range(1, n + 1):
            a = counts[m]
            d = self._estimate_discounts(a)  # d[0] = 0, d[1], d[2], d[3] = D1, D2, D3+
            self._discounts.append(d)
            ctx = self._tables[m] // V
            n_ctx = len(self._tables[m - 1])
            total = np.bincount(ctx, weights=a, minlength=n_ctx)
            # gamma(h) = (D1 N1(h.) + D2 N2(h.) + D3+ N3+(h.)) / c(h.), Chen & Goodman eq. 25:
            # exactly the mass removed by discounting, handed to the lower order.
            removed = np.bincount(ctx, weights=d[np.minimum(a, 3)], minlength=n_ctx)
            with np.errstate(invalid="ignore", divide="ignore"):
                gamma = np.where(total > 0, removed / np.maximum(total, 1), 1.0)
            self._ctx_total.append(total)
            self._gamma.append(gamma)

    def _estimate_discounts(self, a: np.ndarray) -> np.ndarray:
        if self.discount is not None:
            return np.array([0.0, self.discount, self.discount, self.discount])
        n1, n2, n3, n4 = (int((a == r).sum()) for r in (1, 2, 3, 4))
        # Chen & Goodman (1998) eq. 26. On small corpora a count of counts can be 0 and the
        # estimate leaves (0, r); then use KenLM's fallback discounts (0.5, 1.0, 1.5).
        fallback = (0.5, 1.0, 1.5)
        d = [0.0]
        for r, (num, den) in enumerate(((n2, n1), (n3, n2), (n4, n3)), start=1):
            y = n1 / (n1 + 2 * n2) if n1 + n2 > 0 else 0.0
            est = r - (r + 1) * y * num / den if den > 0 and n1 > 0 else -1.0
            d.append(est if 0.0 < est < r else fallback[r - 1])
        return np.array(d)

    # ------------------------------------------------------------------ lookups
    def _lookup(self, x: np.ndarray, start: np.ndarray) -> list[np.ndarray]:
        """gids[m][i]: id of the m-gram ending at position i of ``x`` (-1 if never seen)."""
        V = self._V
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
            table = self._tables[m]
            idx = np.minimum(np.searchsorted(table, codes), len(table) - 1)
            ok &= table[idx] == codes
            gids.append(np.where(ok, idx, -1))
        return gids

    def _scores(self, x: np.ndarray, start: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Probability (or stupid-backoff score) of x[j] given its context, for j in targets."""
        gids = self._lookup(x, start)
        w = x[targets]
        V_pred = self._V - 1
        if self.smoothing == "add_k":
            g = gids[self.n][targets]
            h = gids[self.n - 1][targets - 1] if self.n > 1 else np.zeros_like(g)
            c = np.where(g >= 0, self._raw[self.n][np.maximum(g, 0)], 0)
            tot = np.where(h >= 0, self._ctx_total[self.n][np.maximum(h, 0)], 0.0)
            return (c + self.k) / (tot + self.k * V_pred)
        if self.smoothing == "stupid_backoff":
            g = gids[1][targets]
            s = np.where(g >= 0, self._raw[1][np.maximum(g, 0)], 0) / self._num_predicted
            for m in range(2, self.n + 1):
                g = gids[m][targets]
                h = gids[m - 1][targets - 1]
                c = np.where(g >= 0, self._raw[m][np.maximum(g, 0)], 0)
                tot = np.where(h >= 0, self._ctx_total[m][np.maximum(h, 0)], 1.0)
                s = np.where(c > 0, c / np.maximum(tot, 1), self.alpha * s)
            return s
        # Interpolated Kneser-Ney, built bottom-up from the uniform distribution (order 0).
        p = np.where(w == _BOS_ID, 0.0, 1.0 / V_pred)
        for m in range(1, self.n + 1):
            g = gids[m][targets]
            h = gids[m - 1][targets - 1] if m > 1 else np.zeros_like(g)
            a = np.where(g >= 0, self._kn_counts[m][np.maximum(g, 0)], 0)
            total = np.where(h >= 0, self._ctx_total[m][np.maximum(h, 0)], 0.0)
            gamma = np.where(h >= 0, self._gamma[m][np.maximum(h, 0)], 1.0)
            disc = self._discounts[m][np.minimum(a, 3)]
            with np.errstate(invalid="ignore", divide="ignore"):
                here = (a - disc) / total + gamma * p
            p = np.where(total > 0, here, p)  # an unseen context backs off entirely
        return p

    def _encode_context(self, context: Any) -> np.ndarray:
        if context is None or (not isinstance(context, str) and len(context) == 0):
            return np.zeros(0, dtype=np.int64)
        ctx = self._encode(context)
        if (ctx == _BOS_ID).any():
            raise ValueError(f"the context contains {BOS!r}; the model adds it itself")
        return ctx

    def _context_ids(self, ctx: np.ndarray) -> list[int]:
        """Ids of the encoded context's suffixes of length 0..n-1 (-1 where never seen)."""
        pad = self.n - 1
        if pad == 0:
            return [0]
        x = np.concatenate([np.full(pad, _BOS_ID, dtype=np.int64), ctx[-pad:]])[-pad:]
        gids = self._lookup(x, np.zeros(len(x), dtype=np.int64))
        return [0] + [int(gids[m][-1]) for m in range(1, self.n)]

    # ------------------------------------------------------------------ public scoring
    def next_token_probs(self, context: Any = ()) -> np.ndarray:
        """The model's distribution over :attr:`vocab` for the next token.

        Args:
            context: the preceding tokens (only the last ``n - 1`` matter). A context shorter
                than ``n - 1`` is read as the start of a sequence (padded with ``<s>``).

        Returns:
            float64 array (len(vocab),). Sums to 1 for Kneser-Ney and add-k; for stupid
            backoff these are the raw scores (use :meth:`sample`, which renormalises).
        """
        self._check_fitted()
        return self._next_dist(self._context_ids(self._encode_context(context)))[1:]

    def _next_dist(self, h_ids: list[int]) -> np.ndarray:
        """Scores over all ids (index 0, ``<s>``, is always 0) given the context ids."""
        V, n = self._V, self.n
        dist = np.zeros(V)
        if self.smoothing == "add_k":
            h = h_ids[n - 1]
            dist[1:] = self.k
            tot = 0.0
            if h >= 0:
                lo, hi = np.searchsorted(self._tables[n], [h * V, (h + 1) * V])
                dist[self._tables[n][lo:hi] % V] += self._raw[n][lo:hi]
                tot = self._ctx_total[n][h]
            return dist / (tot + self.k * (V - 1))
        if self.smoothing == "stupid_backoff":
            dist[self._tables[1] % V] = self._raw[1] / self._num_predicted
            for m in range(2, n + 1):
                h = h_ids[m - 1]
                dist = dist * self.alpha
                if h < 0 or self._ctx_total[m][h] == 0:
                    continue
                lo, hi = np.searchsorted(self._tables[m], [h * V, (h + 1) * V])
                c = self._raw[m][lo:hi]
                dist[self._tables[m][lo:hi][c > 0] % V] = c[c > 0] / self._ctx_total[m][h]
            return dist
        dist[1:] = 1.0 / (V - 1)
        for m in range(1, n + 1):
            h = h_ids[m - 1]
            if h < 0 or self._ctx_total[m][h] == 0:
                continue  # unseen context: this order adds nothing, keep the lower order
            lo, hi = np.searchsorted(self._tables[m], [h * V, (h + 1) * V])
            a = self._kn_counts[m][lo:hi]
            kept = (a - self._discounts[m][np.minimum(a, 3)]) / self._ctx_total[m][h]
            dist *= self._gamma[m][h]
            dist[self._tables[m][lo:hi] % V] += kept  # words within one context are unique
        return dist

    def prob(self, token: Hashable, context: Any = ()) -> float:
        """P(token | context); see :meth:`next_token_probs` for how the context is read."""
        self._check_fitted()
        dist = self._next_dist(self._context_ids(self._encode_context(context)))
        return float(dist[self._token_id(token)])

    def log_prob(self, token: Hashable, context: Any = ()) -> float:
        """Natural log of :meth:`prob` (``-inf`` when the probability is 0)."""
        p = self.prob(token, context)
        return math.log(p) if p > 0 else -math.inf

    def _token_id(self, token: Hashable) -> int:
        if isinstance(token, str) and token in (BOS, EOS, UNK):
            if token == BOS:
                raise ValueError(f"{BOS!r} is never predicted; ask about a real token or {EOS!r}")
            return self._stoi[token]
        if self._kind == "char":
            if not (isinstance(token, str) and len(token) == 1):
                raise ValueError(
                    f"this is a character model; the token must be one character, got {token!r}"
                )
            return int(self._encode(token)[0])
        return int(self._encode([token])[0])

    def sequence_log_prob(self, sequences: Iterable[Any]) -> tuple[float, int]:
        """Total natural-log probability of whole sequences, each ended by ``</s>``.

        Args:
            sequences: a list of sequences, as for :meth:`fit`.

        Returns:
            (sum of log P over every predicted token, number of predicted tokens). Each
            sequence contributes ``len(seq) + 1`` tokens (its ``</s>`` included).
        """
        self._check_fitted()
        if isinstance(sequences, str | bytes):
            raise ValueError("expected a list of sequences, got a str; wrap it: [text]")
        encoded = [self._encode(s) for s in sequences]
        if not encoded:
            raise ValueError("no sequences to score; pass a non-empty list")
        x, start, predicted = self._pad_and_concat(encoded)
        targets = np.flatnonzero(predicted)
        p = self._scores(x, start, targets)
        with np.errstate(divide="ignore"):
            return float(np.log(p).sum()), len(targets)

    def perplexity(self, sequence: Any) -> float:
        """Perplexity ``exp(-mean log P)`` of one sequence (its ``</s>`` included).

        Args:
            sequence: one token sequence (a str for a character model). For several
                sequences use :meth:`corpus_perplexity`.

        Raises:
            ValueError: the model is stupid backoff, whose scores are not probabilities.
        """
        return self.corpus_perplexity([sequence])

    def corpus_perplexity(self, sequences: Iterable[Any]) -> float:
        """Token-weighted perplexity over several sequences."""
        if not self.normalized:
            raise ValueError(
                "stupid backoff scores do not sum to one, so their perplexity is meaningless; "
                "use smoothing='kneser_ney' or 'add_k' to compute perplexity"
            )
        logp, count = self.sequence_log_prob(sequences)
        return math.exp(-logp / count)

    def sample(
        self,
        context: Any = (),
        n_tokens: int = 100,
        temperature: float = 1.0,
        seed: int | np.random.Generator | None = None,
        stop_at_eos: bool = True,
    ) -> str | list[Hashable]:
        """Sample a continuation token by token (ancestral sampling).

        Args:
            context: tokens to continue (shorter than ``n - 1`` means start of a sequence).
            n_tokens: the most tokens to generate.
            temperature: divides the log-probabilities; 0 picks the most likely token
                (greedy), below 1 sharpens, above 1 flattens.
            seed: an int seed or a ``numpy.random.Generator`` for reproducible samples.
            stop_at_eos: stop when ``</s>`` is drawn (it is not included in the result);
                False forbids ``</s>`` and always generates ``n_tokens``.

        Returns:
            the generated tokens: a ``str`` for a character model, else a list. ``<unk>`` is
            never sampled.
        """
        self._check_fitted()
        if not isinstance(n_tokens, int) or n_tokens < 0:
            raise ValueError(f"n_tokens must be an int >= 0, got {n_tokens!r}")
        if not (temperature >= 0 and math.isfinite(temperature)):
            raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        history = list(self._encode_context(context))
        out: list[int] = []
        for _ in range(n_tokens):
            p = self._next_dist(self._context_ids(np.asarray(history, dtype=np.int64)))
            p[_UNK_ID] = 0.0  # "unknown token" is not text; <s> (id 0) already has 0
            if not stop_at_eos:
                p[_EOS_ID] = 0.0
            if temperature == 0:
                i = int(np.argmax(p))
            else:
                # p ** (1 / T), renormalised: softmax(log p / T) without leaving the simplex.
                with np.errstate(divide="ignore"):
                    logits = np.log(p) / temperature
                q = np.exp(logits - logits.max())
                i = int(rng.choice(len(q), p=q / q.sum()))
            if i == _EOS_ID:
                break
            out.append(i)
            history.append(i)
        tokens = [self._itos[i] for i in out]
        return "".join(tokens) if self._kind == "char" else tokens  # type: ignore[arg-type]

    # ------------------------------------------------------------------ statistics
    def count(self, ngram: Any) -> int:
        """Raw training count of an n-gram (a tuple/list of tokens, or a str for chars).

        ``<s>`` may appear only at the start (e.g. ``("<s>", "the")``).
        """
        self._check_fitted()
        toks = list(ngram)
        if not 1 <= len(toks) <= self.n:
            raise ValueError(f"an n-gram of length 1..{self.n} is expected, got {len(toks)}")
        n_bos = 0
        while n_bos < len(toks) and toks[n_bos] == BOS:
            n_bos += 1
        ids = [_BOS_ID] * n_bos + [self._token_id(t) for t in toks[n_bos:]]
        x = np.asarray(ids, dtype=np.int64)
        gids = self._lookup(x, np.zeros(len(x), dtype=np.int64))
        g = int(gids[len(x)][-1])
        return int(self._raw[len(x)][g]) if g >= 0 else 0

    def most_common(self, order: int, top: int = 10) -> list[tuple[tuple[Hashable, ...], int]]:
        """The ``top`` most frequent n-grams of length ``order`` with their counts."""
        self._check_fitted()
        if not 1 <= order <= self.n:
            raise ValueError(f"order must be in 1..{self.n}, got {order}")
        raw = self._raw[order]
        best = np.argsort(-raw, kind="stable")[:top]
        return [(self._decode_gram(order, int(g)), int(raw[g])) for g in best if raw[g] > 0]

    def _decode_gram(self, order: int, g: int) -> tuple[Hashable, ...]:
        toks = []
        for m in range(order, 0, -1):
            code = int(self._tables[m][g])
            toks.append(self._itos[code % self._V])
            g = code // self._V
        return tuple(reversed(toks))

    def num_ngrams(self, order: int | None = None) -> int:
        """Distinct n-grams of length ``order`` (default ``n``) seen in training."""
        self._check_fitted()
        order = self.n if order is None else order
        if not 1 <= order <= self.n:
            raise ValueError(f"order must be in 1..{self.n}, got {order}")
        return int((self._raw[order] > 0).sum())

    def sparsity(self, test_sequences: Iterable[Any]) -> list[SparsityStats]:
        """Per order m = 1..n: how many m-grams were seen, and how many test m-grams were not.

        Args:
            test_sequences: held-out sequences (a list, as for :meth:`fit`).

        Returns:
            one :class:`SparsityStats` per order, unigrams first.
        """
        self._check_fitted()
        if isinstance(test_sequences, str | bytes):
            raise ValueError("expected a list of sequences, got a str; wrap it: [text]")
        encoded = [self._encode(s) for s in test_sequences]
        if not encoded:
            raise ValueError("no test sequences; pass a non-empty list")
        x, start, predicted = self._pad_and_concat(encoded)
        targets = np.flatnonzero(predicted)
        gids = self._lookup(x, start)
        stats = []
        for m in range(1, self.n + 1):
            g = gids[m][targets]
            seen = np.where(g >= 0, self._raw[m][np.maximum(g, 0)], 0) > 0
            if m == 1:
                ctx_unseen = 0.0
            else:
                h = gids[m - 1][targets - 1]
                tot = np.bincount(
                    self._tables[m] // self._V,
                    weights=self._raw[m],
                    minlength=len(self._tables[m - 1]),
                )
                ctx_seen = np.where(h >= 0, tot[np.maximum(h, 0)], 0) > 0
                ctx_unseen = float(1 - ctx_seen.mean())
            stats.append(
                SparsityStats(
                    order=m,
                    train_types=self.num_ngrams(m),
                    train_tokens=self._num_predicted,
                    possible=float(self.vocab_size) ** m,
                    test_tokens=len(targets),
                    test_unseen=float(1 - seen.mean()),
                    test_context_unseen=ctx_unseen,
                )
            )
        return stats

    def __repr__(self) -> str:
        extra = {"kneser_ney": f"discount={self.discount}", "add_k": f"k={self.k}"}.get(
            self.smoothing, f"alpha={self.alpha}"
        )
        state = f", vocab_size={self.vocab_size}" if self._fitted else ""
        return f"NGramLM(n={self.n}, smoothing={self.smoothing!r}, {extra}{state})"


def _as_int_array(seq: Any) -> np.ndarray:
    if hasattr(seq, "detach"):  # torch tensor
        seq = seq.detach().cpu().numpy()
    arr = np.asarray(seq)
    if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"expected a 1-D sequence of int token ids, got {arr.dtype} {arr.shape}")
    return arr.astype(np.int64)


def _distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values as int64 (a presence table for small ranges, else a sort)."""
    values = values.astype(np.int64, copy=False)
    if len(values) and values.min() >= 0 and values.max() < (1 << 22):
        return np.flatnonzero(np.bincount(values)).astype(np.int64)
    v = np.sort(values)
    return v[np.concatenate([[True], v[1:] != v[:-1]])] if len(v) else v


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
