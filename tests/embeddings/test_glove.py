"""Tests for lmbook.embeddings.GloVe and its co-occurrence counts."""

import numpy as np
import pytest

from lmbook.embeddings import GloVe, Word2Vec, WordVectors, cooccurrence, encode_sentences

ANIMALS = ["cat", "dog", "horse", "cow", "sheep", "goat", "pig"]
TOOLS = ["hammer", "saw", "drill", "wrench", "nail", "screw", "chisel"]


def topic_corpus(n_sentences=300, length=7, seed=0):
    rng = np.random.default_rng(seed)
    topics = [ANIMALS, TOOLS]
    return [list(rng.choice(topics[rng.integers(2)], size=length)) for _ in range(n_sentences)]


def dense(rows, cols, values, V):
    X = np.zeros((V, V))
    X[rows, cols] = values
    return X


def test_cooccurrence_by_hand():
    # Sentence "a b c a" (a=0, b=1, c=2) and sentence "c b"; window 2, weight 1/distance.
    ids = np.array([0, 1, 2, 0, 2, 1])
    sent = np.array([0, 0, 0, 0, 1, 1])
    rows, cols, values = cooccurrence(ids, sent, 3, window=2)
    X = dense(rows, cols, values, 3)
    expected = np.array(
        [
            # a-b: adjacent (1) + b..a at distance 2 (1/2); a-c: c,a adjacent (1) + a..c (1/2);
            # a-a at distance 3 is outside the window.
            [0.0, 1.5, 1.5],
            # b-c: adjacent in sentence 0 (1) and in sentence 1 (1).
            [1.5, 0.0, 2.0],
            [1.5, 2.0, 0.0],
        ]
    )
    np.testing.assert_allclose(X, expected)
    assert len(values) == 6  # each non-zero entry once
    keys = rows * 3 + cols
    assert np.all(np.diff(keys) > 0)  # sorted by (row, col)
    # window 1 drops the distance-2 terms; nothing crosses the sentence boundary (a|c at 3-4).
    X1 = dense(*cooccurrence(ids, sent, 3, window=1), 3)
    np.testing.assert_allclose(X1, [[0, 1, 1], [1, 0, 2], [1, 2, 0]])


def test_cooccurrence_matches_loop_on_random_corpus():
    rng = np.random.default_rng(0)
    V, window = 13, 4
    ids = rng.integers(V, size=300)
    sent = np.sort(rng.integers(20, size=300))
    X = dense(*cooccurrence(ids, sent, V, window), V)
    ref = np.zeros((V, V))
    for i in range(len(ids)):
        for j in range(i + 1, min(len(ids), i + window + 1)):
            if sent[i] == sent[j]:
                ref[ids[i], ids[j]] += 1.0 / (j - i)
                ref[ids[j], ids[i]] += 1.0 / (j - i)
    np.testing.assert_allclose(X, ref)


def glove_c_reference(sentences, dim, window, x_max, alpha, eta, epochs, seed):
    """glove.c's per-entry AdaGrad loop, written out in numpy (batch size 1)."""
    vocab = sorted({w for s in sentences for w in s})  # every word occurs once: alphabetical
    ids, sent = encode_sentences(sentences, {w: i for i, w in enumerate(vocab)})
    rows, cols, values = cooccurrence(ids, sent, len(vocab), window)
    rng = np.random.default_rng(seed)
    V = len(vocab)

    def init(*shape):
        return ((rng.random(shape, dtype=np.float32) - 0.5) / dim).astype(np.float64)

    w, wt, b, bt = init(V, dim), init(V, dim), init(V), init(V)
    gw, gwt, gb, gbt = np.ones((V, dim)), np.ones((V, dim)), np.ones(V), np.ones(V)
    for _ in range(epochs):
        for e in rng.permutation(len(values)):
            i, j, x = rows[e], cols[e], values[e]
            diff = w[i] @ wt[j] + b[i] + bt[j] - np.log(x)
            fdiff = min(1.0, (x / x_max) ** alpha) * diff * eta
            t1, t2 = fdiff * wt[j], fdiff * w[i]
            w[i] -= t1 / np.sqrt(gw[i])
            wt[j] -= t2 / np.sqrt(gwt[j])
            gw[i] += t1**2
            gwt[j] += t2**2
            b[i] -= fdiff / np.sqrt(gb[i])
            bt[j] -= fdiff / np.sqrt(gbt[j])
            gb[i] += fdiff**2
            gbt[j] += fdiff**2
    return w, wt, b, bt


def test_batch_size_one_is_glove_c():
    sentences = [["a", "b", "c", "d", "e"], ["f", "g", "h"]]
    kw = dict(dim=5, window=3, x_max=2.0, alpha=0.75, epochs=3, seed=4)
    model = GloVe(min_count=1, lr=0.2, batch_size=1, **{k: v for k, v in kw.items()}).fit(sentences)
    w, wt, b, bt = glove_c_reference(sentences, eta=0.2, **kw)
    np.testing.assert_allclose(model.word_vectors, w, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model.context_vectors, wt, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model.biases, b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model.context_biases, bt, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model.embeddings, model.word_vectors + model.context_vectors)


@pytest.fixture(scope="module")
def fitted():
    return GloVe(dim=13, window=3, min_count=1, epochs=30, x_max=10, seed=1, batch_size=32).fit(
        topic_corpus()
    )


def test_planted_topics_are_recovered(fitted):
    same, cross = [], []
    words = ANIMALS + TOOLS
    for i, a in enumerate(words):
        for b in words[i + 1 :]:
            (same if (a in ANIMALS) == (b in ANIMALS) else cross).append(fitted.similarity(a, b))
    assert np.mean(same) - np.mean(cross) > 0.3
    assert all(w in ANIMALS for w, _ in fitted.most_similar("cow", topn=4))
    assert fitted.loss_history[-1] < 0.5 * fitted.loss_history[0]


def test_seed_determinism_and_round_trip(tmp_path):
    corpus = topic_corpus(60)
    kw = dict(dim=7, window=2, min_count=1, epochs=2, batch_size=16)
    a, b = GloVe(seed=2, **kw).fit(corpus), GloVe(seed=2, **kw).fit(corpus)
    np.testing.assert_array_equal(a.embeddings, b.embeddings)
    assert not np.array_equal(a.embeddings, GloVe(seed=3, **kw).fit(corpus).embeddings)
    a.save(tmp_path / "g.npz")
    c = GloVe.load(tmp_path / "g.npz")
    assert c.vocab == a.vocab and c.get_config() == a.get_config()
    for name in ("embeddings", "word_vectors", "context_vectors", "biases", "context_biases"):
        np.testing.assert_array_equal(getattr(c, name), getattr(a, name))
    assert isinstance(WordVectors.load(tmp_path / "g.npz"), GloVe)
    with pytest.raises(ValueError, match="GloVe.load"):
        Word2Vec.load(tmp_path / "g.npz")


def test_bad_input():
    with pytest.raises(ValueError, match="empty"):
        GloVe().fit([])
    with pytest.raises(ValueError, match="co-occur"):
        GloVe(min_count=1).fit([["alone"], ["single"]])
    for kwargs in ({"dim": 0}, {"window": -1}, {"epochs": 0}):
        with pytest.raises(ValueError, match="positive integer"):
            GloVe(**kwargs)
    with pytest.raises(ValueError, match="x_max"):
        GloVe(x_max=0)
    model = GloVe(min_count=1, dim=5, epochs=1).fit([["a", "b", "c"]])
    with pytest.raises(KeyError, match="min_count"):
        model.most_similar("zebra")
