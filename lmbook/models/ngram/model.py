"""The count-based n-gram language model: fit, score, sample, inspect.

An n-gram model predicts the next token from the previous ``n - 1`` tokens only, with
probabilities read off counts. It is the baseline every neural language model is measured
against, and it shows why counts stop scaling (:meth:`NGramLM.sparsity`).

Each training sequence is padded with ``n - 1`` begin markers ``<s>`` and one end marker
``</s>`` (Jurafsky & Martin, SLP3 ch. 3). ``</s>`` is predicted (it is part of the
vocabulary), ``<s>`` never is. An ``<unk>`` entry is always reserved so that a token unseen
in training gets a small non-zero probability from the smoothing instead of an infinite
perplexity.

The work is split by concept: :mod:`~lmbook.models.ngram.vocab` maps tokens to ids,
:mod:`~lmbook.models.ngram.counting` numbers and counts the n-grams (fitting the 4.8 M
character Shakespeare corpus at n=5 takes a few seconds),
:mod:`~lmbook.models.ngram.smoothing` turns counts into probabilities, and
:mod:`~lmbook.models.ngram.sparsity` measures what was never seen.

Introduced in: Chapter 1.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from typing import Any

import numpy as np

from lmbook.models.ngram.counting import NGramCounts, pad_and_concat
from lmbook.models.ngram.smoothing import SMOOTHINGS, AddK, KneserNey, StupidBackoff
from lmbook.models.ngram.sparsity import SparsityStats, sparsity_stats
from lmbook.models.ngram.vocab import BOS, BOS_ID, EOS_ID, UNK_ID, Vocabulary

__all__ = ["NGramLM"]


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
        if smoothing not in SMOOTHINGS:
            raise ValueError(f"unknown smoothing {smoothing!r}; choose one of {SMOOTHINGS}")
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
        self._smoother = {
            "kneser_ney": lambda: KneserNey(discount),
            "add_k": lambda: AddK(self.k),
            "stupid_backoff": lambda: StupidBackoff(self.alpha),
        }[smoothing]()
        self._fitted = False

    # ------------------------------------------------------------------ vocabulary
    @property
    def vocab(self) -> list[Hashable]:
        """The predictable tokens (training tokens, ``</s>``, ``<unk>``; never ``<s>``).

        :meth:`next_token_probs` returns probabilities in this order.
        """
        self._check_fitted()
        return self._vocab.itos[1:]

    @property
    def vocab_size(self) -> int:
        """Number of predictable tokens, ``len(vocab)``: a uniform model's perplexity."""
        self._check_fitted()
        return len(self._vocab.itos) - 1

    @property
    def normalized(self) -> bool:
        """True when the model's scores are probabilities that sum to one over ``vocab``."""
        return self.smoothing != "stupid_backoff"

    def _check_fitted(self) -> None:
        if not self._fitted:
            raise ValueError("this NGramLM is not fitted yet; call .fit(sequences) first")

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
        self._vocab = Vocabulary(sequences)
        self._fitted = True
        x, start, predicted = pad_and_concat([self._vocab.encode(s) for s in sequences], self.n)
        self._counts, gids = NGramCounts.count(x, start, predicted, self.n, len(self._vocab))
        self._smoother.fit(self._counts, gids, predicted)
        return self

    def _scores(self, x: np.ndarray, start: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Probability (or stupid-backoff score) of x[j] given its context, for j in targets."""
        return self._smoother.scores(self._counts.lookup(x, start), targets, x[targets])

    def _encode_context(self, context: Any) -> np.ndarray:
        if context is None or (not isinstance(context, str) and len(context) == 0):
            return np.zeros(0, dtype=np.int64)
        ctx = self._vocab.encode(context)
        if (ctx == BOS_ID).any():
            raise ValueError(f"the context contains {BOS!r}; the model adds it itself")
        return ctx

    def _context_ids(self, ctx: np.ndarray) -> list[int]:
        """Ids of the encoded context's suffixes of length 0..n-1 (-1 where never seen)."""
        pad = self.n - 1
        if pad == 0:
            return [0]
        x = np.concatenate([np.full(pad, BOS_ID, dtype=np.int64), ctx[-pad:]])[-pad:]
        gids = self._counts.lookup(x, np.zeros(len(x), dtype=np.int64))
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
        return self._smoother.next_dist(h_ids)

    def prob(self, token: Hashable, context: Any = ()) -> float:
        """P(token | context); see :meth:`next_token_probs` for how the context is read."""
        self._check_fitted()
        dist = self._next_dist(self._context_ids(self._encode_context(context)))
        return float(dist[self._vocab.token_id(token)])

    def log_prob(self, token: Hashable, context: Any = ()) -> float:
        """Natural log of :meth:`prob` (``-inf`` when the probability is 0)."""
        p = self.prob(token, context)
        return math.log(p) if p > 0 else -math.inf

    def _encode_corpus(self, sequences: Iterable[Any]) -> tuple[np.ndarray, ...]:
        """Encode and pad sequences to score: ids x, sequence starts, predicted positions."""
        self._check_fitted()
        if isinstance(sequences, str | bytes):
            raise ValueError("expected a list of sequences, got a str; wrap it: [text]")
        encoded = [self._vocab.encode(s) for s in sequences]
        if not encoded:
            raise ValueError("no sequences to score; pass a non-empty list")
        x, start, predicted = pad_and_concat(encoded, self.n)
        return x, start, np.flatnonzero(predicted)

    def sequence_log_prob(self, sequences: Iterable[Any]) -> tuple[float, int]:
        """Total natural-log probability of whole sequences, each ended by ``</s>``.

        Args:
            sequences: a list of sequences, as for :meth:`fit`.

        Returns:
            (sum of log P over every predicted token, number of predicted tokens). Each
            sequence contributes ``len(seq) + 1`` tokens (its ``</s>`` included).
        """
        x, start, targets = self._encode_corpus(sequences)
        p = self._scores(x, start, targets)
        with np.errstate(divide="ignore"):
            return float(np.log(p).sum()), len(targets)

    def token_log_probs(self, sequence: Any) -> np.ndarray:
        """Natural-log probability of each token of one sequence given its context, in order.

        The first token is predicted from the start padding, as in :meth:`sequence_log_prob`;
        the end marker is not scored (a neural model never predicts it), so the result lines up
        token by token with a neural model's losses on the same text.

        Args:
            sequence: one sequence (a str for a character model).

        Returns:
            float array of ``len(sequence)`` log-probabilities.
        """
        x, start, targets = self._encode_corpus([sequence])
        with np.errstate(divide="ignore"):
            return np.log(self._scores(x, start, targets[:-1]))

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
            p[UNK_ID] = 0.0  # "unknown token" is not text; <s> (id 0) already has 0
            if not stop_at_eos:
                p[EOS_ID] = 0.0
            if temperature == 0:
                i = int(np.argmax(p))
            else:
                # p ** (1 / T), renormalised: softmax(log p / T) without leaving the simplex.
                with np.errstate(divide="ignore"):
                    logits = np.log(p) / temperature
                q = np.exp(logits - logits.max())
                i = int(rng.choice(len(q), p=q / q.sum()))
            if i == EOS_ID:
                break
            out.append(i)
            history.append(i)
        tokens = [self._vocab.itos[i] for i in out]
        return "".join(tokens) if self._vocab.kind == "char" else tokens  # type: ignore[arg-type]

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
        ids = [BOS_ID] * n_bos + [self._vocab.token_id(t) for t in toks[n_bos:]]
        x = np.asarray(ids, dtype=np.int64)
        gids = self._counts.lookup(x, np.zeros(len(x), dtype=np.int64))
        g = int(gids[len(x)][-1])
        return int(self._counts.raw[len(x)][g]) if g >= 0 else 0

    def most_common(self, order: int, top: int = 10) -> list[tuple[tuple[Hashable, ...], int]]:
        """The ``top`` most frequent n-grams of length ``order`` with their counts."""
        self._check_fitted()
        if not 1 <= order <= self.n:
            raise ValueError(f"order must be in 1..{self.n}, got {order}")
        raw = self._counts.raw[order]
        best = np.argsort(-raw, kind="stable")[:top]
        itos = self._vocab.itos
        return [
            (tuple(itos[i] for i in self._counts.decode(order, int(g))), int(raw[g]))
            for g in best
            if raw[g] > 0
        ]

    def num_ngrams(self, order: int | None = None) -> int:
        """Distinct n-grams of length ``order`` (default ``n``) seen in training."""
        self._check_fitted()
        order = self.n if order is None else order
        if not 1 <= order <= self.n:
            raise ValueError(f"order must be in 1..{self.n}, got {order}")
        return int((self._counts.raw[order] > 0).sum())

    def sparsity(self, test_sequences: Iterable[Any]) -> list[SparsityStats]:
        """Per order m = 1..n: how many m-grams were seen, and how many test m-grams were not.

        Args:
            test_sequences: held-out sequences (a list, as for :meth:`fit`).

        Returns:
            one :class:`SparsityStats` per order, unigrams first.
        """
        x, start, targets = self._encode_corpus(test_sequences)
        return sparsity_stats(self._counts, self._counts.lookup(x, start), targets, self.vocab_size)

    def __repr__(self) -> str:
        extra = {"kneser_ney": f"discount={self.discount}", "add_k": f"k={self.k}"}.get(
            self.smoothing, f"alpha={self.alpha}"
        )
        state = f", vocab_size={self.vocab_size}" if self._fitted else ""
        return f"NGramLM(n={self.n}, smoothing={self.smoothing!r}, {extra}{state})"
