"""Evaluation metrics: perplexity, and ROUGE / BLEU wrappers over the standard libraries.

Perplexity is ``exp`` of the mean next-token negative log-likelihood in nats (the
quantity every loss in :mod:`lmbook.train.objectives` returns). It is the effective
number of equally likely choices the model hesitates between at each token.

Introduced in: Chapter 1 (n-gram perplexity) and Chapter 2.1 (cross-entropy and perplexity).
"""

from __future__ import annotations

import collections
import math
import re
import string
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmbook.stats import check_bootstrap, percentile_interval

__all__ = [
    "bleu",
    "chrf",
    "corpus_interval",
    "evaluate_perplexity",
    "exact_match",
    "normalize_answer",
    "paired_difference",
    "perplexity",
    "rouge",
    "squad_f1",
    "squad_scores",
    "token_nll",
    "window_nll",
    "window_targets",
]


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
def window_nll(
    model: nn.Module, ids: Tensor, block_size: int, batch_size: int = 16, stride: int | None = None
) -> Tensor:
    """Negative log-likelihood (nats) of each token of a stream, ``ids[1:]`` in order.

    The stream is cut into windows of ``block_size`` tokens that start ``stride`` tokens
    apart. The first window scores all its tokens; every later one scores only its last
    ``stride`` tokens, so each token is scored once, and (after the first window) with at
    least ``block_size - stride`` tokens of context. ``stride = block_size`` (the default)
    gives non-overlapping windows: cheapest, but a window's first tokens see little context,
    so the loss is slightly overestimated; a smaller stride costs ``block_size / stride`` times
    the compute and gives every token nearly the full context. The last few tokens that do not
    fill a whole step of ``stride`` are not scored; :func:`window_targets` gives the
    positions that are.

    Args:
        model: maps input ids (B, T) to logits (B, T, V).
        ids: 1-D token ids.
        block_size: window length T (at most the model's context).
        batch_size: windows per forward pass.
        stride: distance between window starts, 1..block_size (default ``block_size``).

    Returns:
        1-D float tensor on the CPU: the loss of ``ids[1]``, ``ids[2]``, ... in order.
    """
    stride = block_size if stride is None else stride
    if ids.dim() != 1:
        raise ValueError(f"need a 1-D stream of token ids, got shape {tuple(ids.shape)}")
    scored = window_targets(len(ids), block_size, stride)
    device = next(model.parameters()).device
    n_windows = (scored.stop - 1 - block_size) // stride + 1
    starts = torch.arange(n_windows) * stride
    offsets = torch.arange(block_size + 1)
    was_training = model.training
    model.eval()
    out = []
    try:
        for b in range(0, n_windows, batch_size):
            window = ids[starts[b : b + batch_size, None] + offsets].to(device)  # (B, T+1)
            logits = model(window[:, :-1])
            logits = getattr(logits, "logits", logits)
            nll = token_nll(logits, window[:, 1:]).cpu()  # (B, T)
            if b == 0:  # the first window also scores its first T - stride tokens
                out.append(nll[0, : block_size - stride])
            out.append(nll[:, block_size - stride :].reshape(-1))
    finally:
        model.train(was_training)
    return torch.cat(out)


def window_targets(n_tokens: int, block_size: int, stride: int | None = None) -> slice:
    """The positions of a stream of ``n_tokens`` that :func:`window_nll` scores, as a slice.

    Every token from the second on, up to the last whole step of ``stride``: compare another
    model (a count baseline) on exactly these tokens, e.g. ``text[window_targets(len(ids), 64)]``
    for a character stream.

    Example:
        >>> window_targets(200, block_size=64)  # 3 windows of 64 predictions: ids[1:193]
        slice(1, 193, None)
    """
    stride = block_size if stride is None else stride
    if not 1 <= stride <= block_size:
        raise ValueError(f"stride must be in 1..block_size = {block_size}, got {stride}")
    if n_tokens < block_size + 1:
        raise ValueError(
            f"need a stream of at least block_size + 1 = {block_size + 1} tokens, got {n_tokens}"
        )
    n_windows = (n_tokens - 1 - block_size) // stride + 1
    return slice(1, 1 + block_size + (n_windows - 1) * stride)


def evaluate_perplexity(
    model: nn.Module, ids: Tensor, block_size: int, batch_size: int = 16, stride: int | None = None
) -> float:
    """Perplexity of a causal LM over a whole token stream, every token scored once.

    The mean of :func:`window_nll` (see there for ``stride``): by default non-overlapping
    windows of ``block_size``, a slight overestimate because each window's first tokens have
    little context; ``stride < block_size`` gives sliding windows.

    Args:
        model: maps input ids (B, T) to logits (B, T, V).
        ids: 1-D token ids.
        block_size: window length T (at most the model's context).
        batch_size: windows per forward pass.
        stride: distance between window starts (default ``block_size``).

    Returns:
        perplexity (float).
    """
    return perplexity(window_nll(model, ids, block_size, batch_size, stride).mean())


# ----------------------------------------------------------------------------------------------
# Thin wrappers over the standard metric libraries (Chapter 6). They only check inputs and fix
# the settings every paper reports, so the book's numbers are comparable with published ones.
# ----------------------------------------------------------------------------------------------


def _check_pairs(predictions, references, what: str) -> None:
    if isinstance(predictions, str) or isinstance(references, str):
        raise TypeError(f"{what} expects lists of strings, not a single str; wrap it: [text]")
    if len(predictions) != len(references):
        raise ValueError(
            f"{what}: {len(predictions)} predictions for {len(references)} references; "
            "pass one prediction per reference"
        )
    if not predictions:
        raise ValueError(f"{what}: nothing to score (empty lists)")


def rouge(
    predictions: list[str],
    references: list[str],
    types: tuple[str, ...] = ("rouge1", "rouge2", "rougeL"),
    use_stemmer: bool = True,
) -> dict[str, float]:
    """Mean ROUGE F1 over documents, in percent (Lin 2004), computed by ``rouge-score``.

    ROUGE-n counts the n-grams a summary shares with its reference; ROUGE-L uses their
    longest common subsequence. Google's ``rouge-score`` package with the Porter stemmer
    is the implementation most papers report.

    Args:
        predictions: one system summary per document.
        references: one reference summary per document.
        types: which ROUGE variants.
        use_stemmer: stem words before matching (the usual setting).

    Returns:
        {type: mean F1 in [0, 100]}.

    Introduced in: Chapter 6 (6.1 summarization).
    """
    _check_pairs(predictions, references, "rouge")
    try:
        from rouge_score import rouge_scorer
    except ImportError as err:
        raise ImportError("rouge needs rouge-score: pip install 'lmbook[metrics]'") from err
    scorer = rouge_scorer.RougeScorer(list(types), use_stemmer=use_stemmer)
    totals = dict.fromkeys(types, 0.0)
    for pred, ref in zip(predictions, references, strict=True):
        scores = scorer.score(ref, pred)  # rouge-score's order is (target, prediction)
        for t in types:
            totals[t] += scores[t].fmeasure
    return {t: 100.0 * v / len(predictions) for t, v in totals.items()}


def bleu(
    predictions: list[str],
    references: list[str] | list[list[str]],
    tokenize: str = "13a",
) -> float:
    """Corpus BLEU (Papineni et al. 2002) as ``sacrebleu`` computes it, in [0, 100].

    sacreBLEU fixes tokenization and smoothing so scores are comparable across papers
    (Post 2018). BLEU is a corpus statistic: n-gram precisions are pooled over all
    sentences before the geometric mean, so it is not the mean of sentence BLEUs.

    Args:
        predictions: one detokenized system translation per sentence.
        references: one reference per sentence, or for several references per sentence
            a list of reference lists (each as long as predictions), as sacrebleu takes.
        tokenize: sacrebleu's tokenizer ("13a" is the WMT standard).

    Returns:
        the BLEU score.

    Introduced in: Chapter 6 (6.2 machine translation).
    """
    try:
        import sacrebleu
    except ImportError as err:
        raise ImportError("bleu needs sacrebleu: pip install 'lmbook[metrics]'") from err
    if references and not isinstance(references[0], str):
        ref_streams = [list(r) for r in references]
        for r in ref_streams:
            _check_pairs(predictions, r, "bleu")
    else:
        _check_pairs(predictions, references, "bleu")
        ref_streams = [list(references)]
    return float(sacrebleu.corpus_bleu(list(predictions), ref_streams, tokenize=tokenize).score)


def chrf(predictions: list[str], references: list[str]) -> float:
    """Corpus chrF (Popović 2015) as ``sacrebleu`` computes it, in [0, 100].

    chrF is the F-score (recall weighted twice, beta = 2) of character 1- to 6-gram
    overlap. It gives credit for a right stem with a wrong ending ("parla" vs "parlait")
    and for names spelled almost right, which BLEU's whole-word n-grams count as misses.

    Introduced in: Chapter 6 (6.2 machine translation).
    """
    _check_pairs(predictions, references, "chrf")
    try:
        import sacrebleu
    except ImportError as err:
        raise ImportError("chrf needs sacrebleu: pip install 'lmbook[metrics]'") from err
    return float(sacrebleu.corpus_chrf(list(predictions), [list(references)]).score)


def _sentence_stats(metric: str, predictions: list[str], references: list[str]):
    """sacreBLEU's per-sentence sufficient statistics (N, S) and the scorer that sums them."""
    _check_pairs(predictions, references, metric)
    try:
        from sacrebleu.metrics import BLEU, CHRF
    except ImportError as err:
        raise ImportError(f"{metric} needs sacrebleu: pip install 'lmbook[metrics]'") from err
    scorers = {"bleu": BLEU, "chrf": CHRF}
    if metric not in scorers:
        raise ValueError(f"metric must be 'bleu' or 'chrf', got {metric!r}")
    scorer = scorers[metric]()
    stats = scorer._extract_corpus_statistics(list(predictions), [list(references)])
    return scorer, np.asarray(stats, dtype=np.int64)


def _corpus_score(scorer, sums: np.ndarray) -> float:
    """The corpus score of summed sentence statistics (S,): what sacreBLEU reports."""
    return float(scorer._compute_score_from_stats(sums.tolist()).score)


def _resampled_scores(scorer, stats: np.ndarray, idx: np.ndarray) -> np.ndarray:
    # a corpus score is a function of the summed statistics: sum each resample, score it
    sums = stats[idx].sum(axis=1)  # (n_boot, N, S) -> (n_boot, S)
    return np.array([_corpus_score(scorer, row) for row in sums])


def corpus_interval(
    predictions: list[str],
    references: list[str],
    metric: str = "bleu",
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """A corpus BLEU or chrF with its bootstrap interval over the test sentences (Koehn 2004).

    Resamples the N sentences with replacement ``n_boot`` times and recomputes the corpus
    score from the resampled sentences' n-gram statistics: the spread the score would show
    on another test set of the same size and kind. 300 sentences give intervals several
    BLEU points wide, so a gap of a point or two between systems proves nothing; compare
    two systems with `paired_difference`.

    Args:
        predictions, references: one string each per sentence.
        metric: "bleu" (sacreBLEU's default 13a tokenization, as `bleu`) or "chrf" (as `chrf`).
        n_boot: resamples.
        level: coverage of the interval.
        seed: seeds the resampling.

    Returns:
        (score on all sentences, low, high), in [0, 100].

    Introduced in: Chapter 6 (6.2 machine translation).
    """
    check_bootstrap(n_boot, level)
    scorer, stats = _sentence_stats(metric, predictions, references)
    score = _corpus_score(scorer, stats.sum(axis=0))
    idx = np.random.default_rng(seed).integers(0, len(stats), (n_boot, len(stats)))
    return (score, *percentile_interval(_resampled_scores(scorer, stats, idx), level))


def paired_difference(
    predictions_a: list[str],
    predictions_b: list[str],
    references: list[str],
    metric: str = "bleu",
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Score of system a minus system b, with a paired bootstrap interval (Koehn 2004).

    Both systems are scored on the *same* resampled sentences each time, so the sentences
    that are hard for both cancel out and the interval is narrower than the two separate
    intervals suggest. An interval that excludes 0 says which system is better on text
    like this test set.

    Args:
        predictions_a, predictions_b: the two systems' outputs, one per sentence.
        references: one reference per sentence.
        metric, n_boot, level, seed: as in `corpus_interval`.

    Returns:
        (score(a) - score(b) on all sentences, low, high).

    Introduced in: Chapter 6 (6.2 machine translation).
    """
    check_bootstrap(n_boot, level)
    scorer, a = _sentence_stats(metric, predictions_a, references)
    _, b = _sentence_stats(metric, predictions_b, references)
    full = _corpus_score(scorer, a.sum(axis=0)) - _corpus_score(scorer, b.sum(axis=0))
    idx = np.random.default_rng(seed).integers(0, len(a), (n_boot, len(a)))
    diffs = _resampled_scores(scorer, a, idx) - _resampled_scores(scorer, b, idx)
    return (full, *percentile_interval(diffs, level))


# ----------------------------------------------------------------------------------------------
# SQuAD metrics (the official evaluation script's normalisation)
# ----------------------------------------------------------------------------------------------


def normalize_answer(text: str) -> str:
    """Lowercase, drop punctuation and the articles a/an/the, collapse whitespace (SQuAD v1.1).

    Introduced in: Chapter 6 (6.3 question answering).
    """
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(prediction: str, truth: str) -> float:
    """1.0 if the normalised strings are equal, else 0.0.

    Introduced in: Chapter 6 (6.3 question answering).
    """
    return float(normalize_answer(prediction) == normalize_answer(truth))


def squad_f1(prediction: str, truth: str) -> float:
    """Token-level F1 between normalised prediction and truth (bag of words overlap).

    Introduced in: Chapter 6 (6.3 question answering).
    """
    pred, gold = normalize_answer(prediction).split(), normalize_answer(truth).split()
    if not pred or not gold:
        return float(pred == gold)
    common = collections.Counter(pred) & collections.Counter(gold)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def squad_scores(
    predictions: Sequence[str], references: Sequence[str | Sequence[str]]
) -> dict[str, float]:
    """Exact match and F1 in percent, averaged over questions; each question takes the max
    over its reference answers (as the SQuAD script does).

    Args:
        predictions: one answer string per question.
        references: per question, the gold answer or a list of gold answers.

    Returns:
        {"exact_match": ..., "f1": ...} in [0, 100].

    Introduced in: Chapter 6 (6.3 question answering).
    """
    if len(predictions) != len(references):
        raise ValueError(
            f"{len(predictions)} predictions for {len(references)} references; pass one "
            "prediction per question"
        )
    if not predictions:
        raise ValueError("no predictions to score")
    em = f1 = 0.0
    for pred, refs in zip(predictions, references, strict=True):
        golds = [refs] if isinstance(refs, str) else list(refs)
        em += max(exact_match(pred, g) for g in golds)
        f1 += max(squad_f1(pred, g) for g in golds)
    n = len(predictions)
    return {"exact_match": 100.0 * em / n, "f1": 100.0 * f1 / n}
