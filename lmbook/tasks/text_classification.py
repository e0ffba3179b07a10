"""The bag-of-words baseline for sentence classification: TF-IDF features and a ridge classifier.

Every learned sentence classifier in the book (Q1's embeddings, Q3's fine-tuned encoders) stands
beside this one: it learns one weight per word from the labelled sentences alone, with no
pretraining, so a pretrained model that does not beat it has not shown what pretraining brings.

    train_x, test_x = tfidf_features(train_texts, test_texts)
    predicted = ridge_classify(train_x, train_labels, test_x, standardize=False)

Introduced in: Chapter 9 (Q1, choosing word embeddings; Q3, fine-tuning).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["ridge_classify", "tfidf_features", "words"]


def words(text: str) -> list[str]:
    """Lower-cased words of ``text`` (letters and apostrophes): the baseline's tokens."""
    return re.findall(r"[a-z']+", text.lower())


def tfidf_features(
    train: Sequence[str],
    test: Sequence[str],
    tokenize: Callable[[str], list[str]] = words,
    min_df: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """Bag of words weighted by tf-idf, one L2-normalised row per sentence.

    The vocabulary is the words found in at least ``min_df`` training sentences, and idf
    ``ln(N / df)`` is counted on the training sentences only, so nothing about the test
    sentences leaks into the features.

    Returns:
        (train features (len(train), W), test features (len(test), W)).
    """
    if not train:
        raise ValueError("tfidf_features needs at least one training sentence")
    df = Counter(w for text in train for w in set(tokenize(text)))
    index = {w: i for i, w in enumerate(w for w, c in df.items() if c >= min_df)}
    if not index:
        raise ValueError(
            f"no word occurs in {min_df} or more training sentences; lower min_df or add sentences"
        )
    idf = np.log(len(train) / np.array([df[w] for w in index]))

    def featurize(texts: Sequence[str]) -> np.ndarray:
        x = np.zeros((len(texts), len(index)))
        for row, text in enumerate(texts):
            for w in tokenize(text):
                if w in index:
                    x[row, index[w]] += 1
        x *= idf
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)

    return featurize(train), featurize(test)


def ridge_classify(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    lam: float = 1.0,
    standardize: bool = True,
) -> np.ndarray:
    """Binary labels (0/1) for ``test_x`` from ridge regression on +-1 targets, in closed form.

    Solves ``min ||A w - y||^2 + lam ||w||^2`` with a bias column, in its dual form when the
    features outnumber the rows (a bag of words has more words than sentences). With
    ``standardize`` every feature is centred and scaled by its training mean and deviation.
    """
    train_y = np.asarray(train_y)
    if set(np.unique(train_y)) - {0, 1}:
        raise ValueError("ridge_classify takes binary labels 0/1; map the classes first")
    if len(train_x) != len(train_y):
        raise ValueError(f"{len(train_x)} training rows but {len(train_y)} labels")
    if standardize:
        mu, sd = train_x.mean(0), train_x.std(0) + 1e-6
        train_x, test_x = (train_x - mu) / sd, (test_x - mu) / sd
    a = np.c_[train_x, np.ones(len(train_x))]
    b = np.c_[test_x, np.ones(len(test_x))]
    y = 2.0 * train_y - 1.0
    if a.shape[1] > a.shape[0]:
        w = a.T @ np.linalg.solve(a @ a.T + lam * np.eye(len(a)), y)
    else:
        w = np.linalg.solve(a.T @ a + lam * np.eye(a.shape[1]), a.T @ y)
    return (b @ w > 0).astype(int)
