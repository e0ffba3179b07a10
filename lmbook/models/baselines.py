"""Count baselines for character language models: the loss a neural model has to beat.

A neural language model's validation loss means little on its own. The honest comparison is
the character n-gram count model of Chapter 1 (:class:`lmbook.models.NGramLM`) fitted on the
same training text and scored on the same validation text, in the same unit (nats per
character). :func:`count_baselines` fits the models with contexts of 0, 1, 2 and 4 characters
(n = 1, 2, 3, 5) and returns their validation losses; :func:`baseline_table` prints them beside
the neural losses. A model that does not beat the trigram (two characters of context) has
learned nothing a table of counts could not.

Unit: the neural model predicts every character of the validation text and never an
end-of-text marker, so the count models are scored the same way
(:meth:`NGramLM.token_log_probs`, without the ``</s>`` of :meth:`NGramLM.sequence_log_prob`):
the result is ``-sum(log P(char | context)) / number of chars``.

Example:
    >>> base = count_baselines("abcabcabcabc" * 20, "abcabcabc", orders=(1, 2))
    >>> round(base[1], 1), base[2] < 0.1  # ln 3 = 1.1: three equally frequent characters
    (1.1, True)

Introduced in: Chapter 5 (GPT pretraining: the loss beside its count baselines).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from lmbook.models.ngram import NGramLM

__all__ = [
    "ORDER_NAMES",
    "baseline_table",
    "context_name",
    "count_baselines",
    "fit_mixture_weight",
    "mixture_nll",
    "print_baselines",
]

# n -> a readable name with its context length (n - 1 characters).
ORDER_NAMES = {1: "unigram", 2: "bigram", 3: "trigram", 4: "4-gram", 5: "5-gram"}


def context_name(n: int) -> str:
    """How much context an order-``n`` count model reads: ``"2 chars of context"`` for n = 3."""
    return f"{n - 1} char{'' if n == 2 else 's'} of context"


def _as_texts(texts: str | Sequence[str], what: str) -> list[str]:
    if isinstance(texts, str):
        texts = [texts]
    if isinstance(texts, bytes) or not all(isinstance(t, str) for t in texts):
        raise ValueError(f"{what} must be a str or a list of str (decode bytes first)")
    texts = [t for t in texts if t]
    if not texts:
        raise ValueError(f"{what} is empty; pass the same text the neural model uses")
    return texts


def count_baselines(
    train_text: str | Sequence[str],
    val_text: str | Sequence[str],
    orders: Sequence[int] = (1, 2, 3, 5),
    smoothing: str = "kneser_ney",
    k: float = 0.01,
) -> dict[int, float]:
    """Validation loss (nats/char) of character n-gram count models, one per order.

    Args:
        train_text: the neural model's training text (a str, or a list of str documents).
        val_text: the text its validation loss is measured on, unchanged (same characters).
        orders: the n of each model; n = 1, 2, 3, 5 use 0, 1, 2 and 4 characters of context.
        smoothing: ``"kneser_ney"`` (default: modified Kneser-Ney, the strongest count model
            of Chapter 1) or ``"add_k"`` (add-k counts, the simplest).
        k: the pseudo-count of ``"add_k"`` (ignored by Kneser-Ney).

    Returns:
        ``{n: nats per character on val_text}`` in the order of ``orders``. A character unseen
        in training is scored as ``<unk>`` (a small smoothed probability), as a character
        tokenizer built on the full text would still have to predict it.
    """
    train = _as_texts(train_text, "train_text")
    val = _as_texts(val_text, "val_text")
    if not orders or any(not isinstance(n, int) or isinstance(n, bool) or n < 1 for n in orders):
        raise ValueError(f"orders must be integers >= 1 (1 = unigram), got {orders!r}")
    if smoothing == "stupid_backoff":
        raise ValueError("stupid backoff gives no probabilities; use 'kneser_ney' or 'add_k'")
    n_chars = sum(len(t) for t in val)
    out = {}
    for n in orders:
        lm = NGramLM(n, smoothing=smoothing, k=k).fit(train)
        # Per character, without the end marker a neural model never predicts.
        logp = sum(float(lm.token_log_probs(t).sum()) for t in val)
        out[n] = -logp / n_chars
    return out


def mixture_nll(neural_nll: np.ndarray, count_nll: np.ndarray, weight: float) -> np.ndarray:
    """Per-token loss of the interpolated model ``w * P_neural + (1 - w) * P_count``.

    Linear interpolation is how neural LMs were first shown to add to count models (Mikolov
    et al. 2010 report RNN + Kneser-Ney mixtures): if the mixture beats the count model alone,
    the neural model assigns probability where the counts do not, i.e. it knows something
    the table does not, even when its own loss is higher.

    Args:
        neural_nll, count_nll: the two models' losses (nats) on the same tokens, in order
            (:func:`lmbook.metrics.window_nll`, :meth:`NGramLM.token_log_probs` negated).
        weight: the neural model's share ``w``, in [0, 1].
    """
    a, b = np.asarray(neural_nll, dtype=float), np.asarray(count_nll, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"the two loss arrays must score the same tokens: {a.shape} vs {b.shape}")
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be in [0, 1], got {weight}")
    with np.errstate(divide="ignore"):
        return -np.logaddexp(np.log(weight) - a, np.log1p(-weight) - b)


def fit_mixture_weight(neural_nll: np.ndarray, count_nll: np.ndarray, steps: int = 101) -> float:
    """The neural share ``w`` (on a grid of ``steps`` values in [0, 1]) that minimises the mean
    :func:`mixture_nll`. Fit it on held-out tokens that are NOT the ones you then report."""
    grid = np.linspace(0.0, 1.0, steps)
    losses = [mixture_nll(neural_nll, count_nll, w).mean() for w in grid]
    return float(grid[int(np.argmin(losses))])


def baseline_table(
    baselines: Mapping[int, float], neural: Mapping[str, float] | None = None
) -> str:
    """A plain-text table of the count baselines and, below them, the neural losses.

    Args:
        baselines: the result of :func:`count_baselines`.
        neural: ``{name: validation loss in nats/char}`` of the neural models to compare.

    Returns:
        the table, one model per line, with nats/char, bits/char and perplexity, and for each
        neural model its margin over the trigram (when the trigram was measured).
    """
    rows = [
        (
            f"{ORDER_NAMES.get(n, f'{n}-gram')} counts ({context_name(n)})",
            loss,
        )
        for n, loss in baselines.items()
    ]
    rows += list((neural or {}).items())
    width = max(len(name) for name, _ in rows)
    lines = [f"{'model':<{width}}  nats/char  bits/char  perplexity"]
    for name, loss in rows:
        lines.append(
            f"{name:<{width}}  {loss:9.3f}  {loss / math.log(2):9.3f}  {math.exp(loss):10.2f}"
        )
    if 3 in baselines:
        for name, loss in (neural or {}).items():
            gap = baselines[3] - loss
            where = "below (better than)" if gap > 0 else "above (worse than)"
            lines.append(f"{name}: {abs(gap):.3f} nats/char {where} the trigram")
    return "\n".join(lines)


def print_baselines(
    baselines: Mapping[int, float], neural: Mapping[str, float] | None = None
) -> None:
    """Print :func:`baseline_table` (for notebooks)."""
    print(baseline_table(baselines, neural))
