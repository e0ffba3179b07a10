"""Intrinsic evaluation of word vectors: analogies, word similarity, neighbour agreement.

Every function accepts lmbook's `Word2Vec` / `GloVe` / `WordVectors`, gensim's ``Word2Vec`` or
``KeyedVectors``, or a plain ``(vocab, vectors)`` pair, so that models from different libraries
are scored by the same code.

* `analogy_accuracy`: the word-analogy test of Mikolov et al. (2013a), "a is to b as c is to d",
  answered by 3CosAdd: argmax over x of cos(x, b - a + c), a, b and c excluded.
* `similarity_spearman`: Spearman's rank correlation between cosine similarity and human
  judgements (WordSim-353, Finkelstein et al. 2002; SimLex-999, Hill et al. 2015).
* `neighbour_agreement`: how far two models agree on each word's nearest neighbours.

Words a model does not know are skipped and counted: a score means little without its
coverage, and a small corpus such as Shakespeare covers only part of these modern test sets.

Introduced in: Chapter 4 (4.1 word embeddings).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lmbook.stats import bootstrap_interval

__all__ = [
    "AnalogyResult",
    "SimilarityResult",
    "analogy_accuracy",
    "bootstrap_interval",
    "similarity_spearman",
    "neighbour_agreement",
    "read_analogies",
    "read_word_pairs",
    "spearman",
]

_DATA_NAMES = {"analogies": "questions-words.txt", "wordsim353": "wordsim353.tsv",
               "simlex999": "simlex999.txt"}  # fmt: skip


# ----------------------------------------------------------------------------- inputs
def _as_vectors(model: Any) -> tuple[list[str], np.ndarray]:
    """(vocab, unit-normalised vectors (V, D)) from any supported model."""
    if isinstance(model, tuple) and len(model) == 2:
        vocab, vectors = model
    elif hasattr(model, "wv"):  # gensim Word2Vec / FastText
        vocab, vectors = model.wv.index_to_key, model.wv.vectors
    elif hasattr(model, "index_to_key"):  # gensim KeyedVectors
        vocab, vectors = model.index_to_key, model.vectors
    elif hasattr(model, "vocab") and hasattr(model, "embeddings"):  # lmbook
        if model.embeddings is None:
            raise ValueError(f"{type(model).__name__} is not trained; call .fit(sentences) first")
        vocab, vectors = model.vocab, model.embeddings
    else:
        raise ValueError(
            f"cannot read word vectors from a {type(model).__name__}; pass an lmbook or gensim "
            "model, or a (vocab, vectors) pair"
        )
    vectors = np.asarray(vectors, dtype=np.float32)
    vocab = list(vocab)
    if vectors.ndim != 2 or vectors.shape[0] != len(vocab):
        raise ValueError(
            f"vectors must have shape (len(vocab), D) = ({len(vocab)}, D), got {vectors.shape}"
        )
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vocab, vectors / np.maximum(norms, 1e-12)


def _resolve(path_or_name: str | os.PathLike | None, default: str) -> Path:
    """A test-set file: an existing path, or a registry name ("analogies", "wordsim353", ...)."""
    name = default if path_or_name is None else path_or_name
    if isinstance(name, str) and name in _DATA_NAMES and not Path(name).exists():
        try:
            from lmbook import data

            return Path(data.path(name))
        except ImportError:  # pragma: no cover - lmbook.data is part of the package
            raise FileNotFoundError(f"lmbook.data is unavailable to locate {name!r}") from None
    path = Path(name)
    if not path.is_file():
        raise FileNotFoundError(
            f"no test-set file at {path}; pass a path, or one of {sorted(_DATA_NAMES)} to use "
            "the copy registered in lmbook.data"
        )
    return path


def read_analogies(path: str | os.PathLike) -> list[tuple[str, str, str, str, str]]:
    """Read a questions-words file: ``: section`` headers, then ``a b c d`` lines.

    Returns:
        A list of ``(section, a, b, c, d)``.
    """
    questions, section = [], None
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith(":"):
                section = line[1:].strip()
                continue
            parts = line.split()
            if len(parts) != 4 or section is None:
                raise ValueError(
                    f"{path}:{lineno}: expected 4 words after a ': section' line, got {line!r}; "
                    "is this a questions-words.txt style file?"
                )
            questions.append((section, *parts))
    return questions


def read_word_pairs(path: str | os.PathLike) -> list[tuple[str, str, float]]:
    """Read a word-similarity file: ``word1<TAB>word2<TAB>score`` lines, ``#`` comments.

    Returns:
        A list of ``(word1, word2, score)``.
    """
    pairs = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t") if "\t" in line else line.split()
            try:
                pairs.append((parts[0].strip(), parts[1].strip(), float(parts[2])))
            except (IndexError, ValueError):
                raise ValueError(
                    f"{path}:{lineno}: expected 'word1<TAB>word2<TAB>score', got {line!r}"
                ) from None
    return pairs


# ----------------------------------------------------------------------------- analogies
@dataclass
class AnalogyResult:
    """Analogy accuracy overall and per section.

    Attributes:
        accuracy: correct / answered (0 when nothing could be answered).
        correct: questions answered correctly.
        answered: questions whose four words are all in the vocabulary.
        skipped: questions with an out-of-vocabulary word (not counted as wrong).
        coverage: answered / (answered + skipped).
        sections: section name -> {"correct", "answered", "skipped", "accuracy"}.
        ci: 95% bootstrap interval of the accuracy over the answered questions.
        hits: 1.0 or 0.0 per answered question, in the file's order (for paired comparisons
            of two rules or two models on the same questions).
        hit_sections: the section of each entry of ``hits``.
    """

    accuracy: float
    correct: int
    answered: int
    skipped: int
    coverage: float
    sections: dict[str, dict[str, float]] = field(default_factory=dict)
    ci: tuple[float, float] = (float("nan"), float("nan"))
    hits: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False, compare=False)
    hit_sections: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def __str__(self) -> str:
        return (
            f"analogy accuracy {self.accuracy:.1%} [95% CI {self.ci[0]:.1%}, {self.ci[1]:.1%}] "
            f"({self.correct}/{self.answered} answered; "
            f"{self.skipped} skipped as out-of-vocabulary, coverage {self.coverage:.1%})"
        )


def analogy_accuracy(
    model: Any,
    questions_path: str | os.PathLike | None = None,
    restrict_vocab: int | None = None,
    lowercase: bool = True,
    batch_size: int = 512,
    rule: str = "3cosadd",
) -> AnalogyResult:
    """Accuracy on word analogies "a : b :: c : d" by 3CosAdd (Mikolov et al. 2013a).

    The prediction is argmax_x cos(x, b̂ - â + ĉ) over unit vectors x of the (restricted)
    vocabulary, excluding a, b and c themselves - the protocol of word2vec.c's
    ``compute-accuracy`` and gensim's ``evaluate_word_analogies``. ``rule="only_c"`` is
    its trivial baseline (Linzen 2016): argmax_x cos(x, ĉ), ignoring a and b, with the same
    exclusions. Many "family" questions (king : queen :: husband : ?) fall to it, because
    the nearest word to "husband" is already "wife"; only what 3CosAdd answers beyond it is
    owed to the offset b̂ - â.

    Args:
        model: lmbook or gensim model, or a ``(vocab, vectors)`` pair.
        questions_path: a questions-words.txt style file; default: the ``analogies`` entry
            of ``lmbook.data`` (Mikolov's 19,544 questions in 14 sections).
        restrict_vocab: only the first (most frequent) N words are candidates and may appear
            in a question; None uses the whole vocabulary.
        lowercase: lowercase the questions (the file is capitalised; lmbook vocabularies are
            lowercase).
        batch_size: questions scored per matrix product.
        rule: "3cosadd" or "only_c".

    Returns:
        An `AnalogyResult`; questions with an unknown word are skipped and counted.

    Shapes: the vectors are (V, D); each batch computes (batch, D) @ (D, V) scores.

    Introduced in: Chapter 4.
    """
    if rule not in ("3cosadd", "only_c"):
        raise ValueError(f"unknown rule {rule!r}; use '3cosadd' or 'only_c'")
    vocab, unit = _as_vectors(model)
    if restrict_vocab is not None:
        if restrict_vocab < 1:
            raise ValueError(
                f"restrict_vocab must be a positive integer or None, got {restrict_vocab}"
            )
        vocab, unit = vocab[:restrict_vocab], unit[:restrict_vocab]
    index = {w: i for i, w in enumerate(vocab)}
    questions = read_analogies(_resolve(questions_path, "analogies"))
    if not questions:
        raise ValueError(f"no questions in {questions_path}")
    sections: dict[str, dict[str, float]] = {}
    known: list[tuple[str, int, int, int, int]] = []
    for section, *words in questions:
        sec = sections.setdefault(section, {"correct": 0, "answered": 0, "skipped": 0})
        if lowercase:
            words = [w.lower() for w in words]
        ids = [index.get(w) for w in words]
        if any(i is None for i in ids):
            sec["skipped"] += 1
        else:
            known.append((section, *ids))
    hits = np.zeros(len(known), dtype=float)  # 1 where the question was answered correctly
    for start in range(0, len(known), batch_size):
        chunk = known[start : start + batch_size]
        a, b, c, d = (np.array([q[k] for q in chunk]) for k in range(1, 5))
        query = unit[c] if rule == "only_c" else unit[b] - unit[a] + unit[c]
        scores = query @ unit.T  # (n, D) @ (D, V) -> (n, V)
        rows = np.arange(len(chunk))
        for excluded in (a, b, c):
            scores[rows, excluded] = -np.inf
        predicted = scores.argmax(axis=1)
        hits[start : start + len(chunk)] = predicted == d
        for (section, *_), hit in zip(chunk, predicted == d, strict=True):
            sections[section]["answered"] += 1
            sections[section]["correct"] += int(hit)
    for sec in sections.values():
        sec["accuracy"] = sec["correct"] / sec["answered"] if sec["answered"] else 0.0
    correct = int(sum(s["correct"] for s in sections.values()))
    answered = int(sum(s["answered"] for s in sections.values()))
    skipped = int(sum(s["skipped"] for s in sections.values()))
    return AnalogyResult(
        accuracy=correct / answered if answered else 0.0,
        correct=correct,
        answered=answered,
        skipped=skipped,
        coverage=answered / (answered + skipped),
        sections=sections,
        ci=bootstrap_interval(lambda idx: hits[idx].mean(), len(hits)),
        hits=hits,
        hit_sections=tuple(q[0] for q in known),
    )


# ---------------------------------------------------------------------------- similarity
def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank (as Spearman's rho needs)."""
    # Runs of equal values share the mean of the positions they span: value k of the sorted
    # distinct values fills positions ends[k] - counts[k] + 1 .. ends[k] (1-based).
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((2 * ends - counts + 1) / 2.0)[inverse.ravel()].astype(np.float64)


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation: Pearson correlation of the (tie-averaged) ranks."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2:
        raise ValueError(f"need two 1-D sequences of equal length >= 2, got {x.shape}, {y.shape}")
    rx, ry = _ranks(x), _ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = np.sqrt((rx**2).sum() * (ry**2).sum())
    return float((rx * ry).sum() / denom) if denom > 0 else float("nan")


@dataclass
class SimilarityResult:
    """Spearman correlation between model cosine and human similarity scores.

    Attributes:
        spearman: rank correlation over the pairs whose words are both known.
        pairs: number of pairs scored.
        skipped: pairs with an unknown word.
        coverage: pairs / (pairs + skipped).
        ci: 95% bootstrap interval of rho over the scored pairs.
    """

    spearman: float
    pairs: int
    skipped: int
    coverage: float
    ci: tuple[float, float] = (float("nan"), float("nan"))

    def __str__(self) -> str:
        return (
            f"Spearman {self.spearman:+.3f} [95% CI {self.ci[0]:+.3f}, {self.ci[1]:+.3f}] over "
            f"{self.pairs} pairs ({self.skipped} skipped, coverage {self.coverage:.1%})"
        )


def similarity_spearman(
    model: Any,
    pairs_path: str | os.PathLike = "wordsim353",
    lowercase: bool = True,
    words: Collection[str] | None = None,
) -> SimilarityResult:
    """Spearman's rho between cosine similarity and human judgements of word pairs.

    Args:
        model: lmbook or gensim model, or a ``(vocab, vectors)`` pair.
        pairs_path: a ``word1<TAB>word2<TAB>score`` file, or ``"wordsim353"`` /
            ``"simlex999"`` for the copies registered in ``lmbook.data``.
        lowercase: lowercase the pairs before lookup.
        words: if given, only pairs whose two words are both in it are scored (the others
            count as skipped): pass the words every compared model knows, so that all of
            them are scored on the *same* pairs.

    Returns:
        A `SimilarityResult`. Pairs with an unknown word are skipped and counted (gensim's
        ``evaluate_word_pairs`` does the same); fewer than 2 known pairs give rho = nan.

    Introduced in: Chapter 4.
    """
    vocab, unit = _as_vectors(model)
    index = {w: i for i, w in enumerate(vocab)}
    path = _resolve(pairs_path, "wordsim353")
    model_sims, human, skipped = [], [], 0
    for a, b, score in read_word_pairs(path):
        if lowercase:
            a, b = a.lower(), b.lower()
        if a in index and b in index and (words is None or (a in words and b in words)):
            model_sims.append(float(unit[index[a]] @ unit[index[b]]))
            human.append(score)
        else:
            skipped += 1
    n = len(human)
    if n + skipped == 0:
        raise ValueError(f"no word pairs in {path}")
    rho = spearman(model_sims, human) if n >= 2 else float("nan")
    sims, hum = np.asarray(model_sims), np.asarray(human)
    ci = bootstrap_interval(lambda idx: spearman(sims[idx], hum[idx]), n)
    return SimilarityResult(
        spearman=rho, pairs=n, skipped=skipped, coverage=n / (n + skipped), ci=ci
    )


# --------------------------------------------------------------------- neighbour agreement
def _top_neighbours(unit: np.ndarray, rows: np.ndarray, topn: int) -> np.ndarray:
    """Indices of each row's topn cosine neighbours (itself excluded), shape (len(rows), topn)."""
    out = np.empty((len(rows), topn), dtype=np.int64)
    for s in range(0, len(rows), 256):
        r = rows[s : s + 256]
        sims = unit[r] @ unit.T  # (n, D) @ (D, V) -> (n, V)
        sims[np.arange(len(r)), r] = -np.inf
        out[s : s + 256] = np.argpartition(-sims, topn - 1, axis=1)[:, :topn]
    return out


def neighbour_agreement(
    model_a: Any,
    model_b: Any,
    words: Sequence[str] | None = None,
    topn: int = 10,
    n_words: int = 1000,
    metric: str = "overlap",
) -> float:
    """Mean agreement of two models' top-n nearest-neighbour sets.

    For each word, compare the sets N_a and N_b of its ``topn`` cosine neighbours in each model:
    ``"overlap"`` is ``|N_a ∩ N_b| / topn``, ``"jaccard"`` is ``|N_a ∩ N_b| / |N_a ∪ N_b|``. Only
    words both models know are used; a neighbour one model lacks simply cannot match.

    Args:
        model_a, model_b: lmbook or gensim models, or ``(vocab, vectors)`` pairs.
        words: the query words; default: the ``n_words`` most frequent words of model_a that
            model_b also knows.
        topn: neighbourhood size.
        n_words: number of default query words.
        metric: ``"overlap"`` or ``"jaccard"``.

    Returns:
        The mean agreement, in [0, 1].

    Introduced in: Chapter 4.
    """
    if metric not in ("overlap", "jaccard"):
        raise ValueError(f"metric must be 'overlap' or 'jaccard', got {metric!r}")
    if topn < 1:
        raise ValueError(f"topn must be >= 1, got {topn}")
    vocab_a, unit_a = _as_vectors(model_a)
    vocab_b, unit_b = _as_vectors(model_b)
    index_a = {w: i for i, w in enumerate(vocab_a)}
    index_b = {w: i for i, w in enumerate(vocab_b)}
    if words is None:
        words = [w for w in vocab_a if w in index_b][:n_words]
    else:
        words = [w for w in words if w in index_a and w in index_b]
    if not words:
        raise ValueError("the two models share none of the query words; pass words both know")
    topn = min(topn, len(vocab_a) - 1, len(vocab_b) - 1)
    if topn < 1:
        raise ValueError("each model needs at least 2 words to have a neighbour")
    top_a = _top_neighbours(unit_a, np.array([index_a[w] for w in words]), topn)
    top_b = _top_neighbours(unit_b, np.array([index_b[w] for w in words]), topn)
    scores = []
    for ra, rb in zip(top_a, top_b, strict=True):
        na = {vocab_a[i] for i in ra}
        nb = {vocab_b[i] for i in rb}
        inter = len(na & nb)
        scores.append(inter / topn if metric == "overlap" else inter / len(na | nb))
    return float(np.mean(scores))
