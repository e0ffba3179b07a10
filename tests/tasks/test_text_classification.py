"""The bag-of-words baseline: TF-IDF features counted on training sentences only, ridge labels."""

import numpy as np
import pytest

from lmbook.tasks.text_classification import ridge_classify, tfidf_features, words

TRAIN = [
    "a good film",
    "good acting, good plot",
    "a bad film",
    "bad plot and bad acting",
    "rare word",
]
LABELS = np.array([1, 1, 0, 0, 1])


def test_tfidf_vocabulary_and_idf_come_from_training_sentences():
    train_x, test_x = tfidf_features(TRAIN, ["good good unseen", "zzz"])
    # words in >= 2 training sentences: a, good, film, acting, plot, bad ("rare", "word", "and" once)
    assert train_x.shape == (5, 6) and test_x.shape == (2, 6)
    np.testing.assert_allclose(np.linalg.norm(train_x[:4], axis=1), 1.0)
    assert not test_x[1].any()  # no known word: a zero row, not a division by zero
    only_good = test_x[0] > 0
    assert only_good.sum() == 1  # "unseen" is not in the vocabulary
    assert train_x[4].sum() == 0  # "rare word": both words seen once, so not features


def test_ridge_separates_a_separable_bag_of_words():
    train_x, test_x = tfidf_features(TRAIN, ["a good plot", "a bad film"])
    assert ridge_classify(train_x, LABELS, test_x, lam=0.1, standardize=False).tolist() == [1, 0]


def test_ridge_uses_the_primal_form_when_rows_outnumber_features():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = (x[:, 0] > 0).astype(int)
    assert (ridge_classify(x, y, x) == y).mean() > 0.95


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="binary labels"):
        ridge_classify(np.zeros((2, 1)), np.array([1, 2]), np.zeros((1, 1)))
    with pytest.raises(ValueError, match="min_df"):
        tfidf_features(["one", "two"], ["three"])
    assert words("Don't STOP, 42") == ["don't", "stop"]
