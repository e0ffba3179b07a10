"""Tests for lmbook.embeddings.Word2Vec, the corpus helpers and WordVectors save/load."""

import numpy as np
import pytest
import torch

from lmbook.embeddings import (
    GloVe,
    UnknownWordError,
    Word2Vec,
    WordVectors,
    build_vocab,
    corpus_sentences,
    skipgram_pairs,
)
from lmbook.embeddings.word2vec import _sgns_step, _unigram_table

ANIMALS = ["cat", "dog", "horse", "cow", "sheep", "goat", "pig"]
TOOLS = ["hammer", "saw", "drill", "wrench", "nail", "screw", "chisel"]


def topic_corpus(n_sentences=500, length=7, seed=0):
    """Sentences drawn from one of two disjoint topics: the planted structure to recover."""
    rng = np.random.default_rng(seed)
    topics = [ANIMALS, TOOLS]
    return [list(rng.choice(topics[rng.integers(2)], size=length)) for _ in range(n_sentences)]


def cluster_margin(model):
    """Mean same-topic cosine minus mean cross-topic cosine."""
    same, cross = [], []
    for i, a in enumerate(ANIMALS + TOOLS):
        for b in (ANIMALS + TOOLS)[i + 1 :]:
            (same if (a in ANIMALS) == (b in ANIMALS) else cross).append(model.similarity(a, b))
    return np.mean(same) - np.mean(cross)


@pytest.fixture(scope="module")
def fitted():
    model = Word2Vec(
        dim=17, window=3, negative=4, min_count=1, epochs=3, sample=0, seed=3, batch_size=64
    )
    return model.fit(topic_corpus())


def test_planted_topics_are_recovered(fitted):
    assert cluster_margin(fitted) > 0.3
    for word in ("cat", "drill"):
        topic = ANIMALS if word in ANIMALS else TOOLS
        assert all(w in topic for w, _ in fitted.most_similar(word, topn=4))


def test_attributes_and_shapes(fitted):
    assert fitted.embeddings.shape == (14, 17) and fitted.output_embeddings.shape == (14, 17)
    assert sorted(fitted.vocab) == sorted(ANIMALS + TOOLS)
    assert list(fitted.counts) == sorted(fitted.counts, reverse=True)  # frequency-sorted
    assert "cat" in fitted and "lion" not in fitted
    assert len(fitted.loss_history) == 3 and fitted.loss_history[-1] < fitted.loss_history[0]
    sims = fitted.most_similar("cat", topn=5)
    assert len(sims) == 5 and all(a[1] >= b[1] for a, b in zip(sims, sims[1:], strict=False))
    assert fitted.similarity("cat", "dog") == pytest.approx(fitted.similarity("dog", "cat"))


def test_seed_determinism():
    corpus = topic_corpus(120)
    kw = dict(dim=9, window=2, min_count=1, epochs=2, batch_size=64)
    a = Word2Vec(seed=5, **kw).fit(corpus)
    b = Word2Vec(seed=5, **kw).fit(corpus)
    c = Word2Vec(seed=6, **kw).fit(corpus)
    np.testing.assert_array_equal(a.embeddings, b.embeddings)
    np.testing.assert_array_equal(a.output_embeddings, b.output_embeddings)
    assert not np.array_equal(a.embeddings, c.embeddings)


def test_skipgram_pairs_by_hand():
    ids = np.array([10, 11, 12, 13, 20, 21])
    sent = np.array([0, 0, 0, 0, 1, 1])
    rng = np.random.default_rng(0)
    # window=1: every centre's dynamic window is 1, so pairs are exactly the adjacent words.
    c, o = skipgram_pairs(ids, sent, 1, rng)
    expected = {(10, 11), (11, 10), (11, 12), (12, 11), (12, 13), (13, 12), (20, 21), (21, 20)}
    assert set(zip(c.tolist(), o.tolist(), strict=True)) == expected and len(c) == 8
    # Larger windows never cross a sentence and never exceed the window.
    c, o = skipgram_pairs(ids, sent, 3, rng)
    pos = {v: i for i, v in enumerate(ids.tolist())}
    for a, b in zip(c.tolist(), o.tolist(), strict=True):
        assert sent[pos[a]] == sent[pos[b]] and 1 <= abs(pos[a] - pos[b]) <= 3


def test_dynamic_window_weights_near_words_more():
    ids = np.arange(2000)
    c, o = skipgram_pairs(ids, np.zeros(2000, np.int64), 4, np.random.default_rng(1))
    dist = np.abs(c - o)
    counts = np.bincount(dist)[1:]
    # P(pair at distance d) ∝ P(b >= d) = (W - d + 1) / W: 4 : 3 : 2 : 1.
    np.testing.assert_allclose(counts / counts[0], [1, 0.75, 0.5, 0.25], atol=0.05)


def test_subsampling_probability_matches_word2vec_formula():
    m = Word2Vec(sample=1e-3)
    counts = np.array([5000, 100, 1])
    t = 1e-3 * counts.sum()
    keep = m.keep_probability(counts)
    assert keep[0] == pytest.approx((np.sqrt(5000 / t) + 1) * t / 5000)
    assert keep[2] == 1.0 and keep[0] < keep[1] <= 1.0
    assert np.all(Word2Vec(sample=0).keep_probability(counts) == 1.0)


def test_unigram_table_follows_count_power():
    counts = np.array([1000, 100, 10, 1])
    table = _unigram_table(counts, 0.75, size=100_000)
    share = np.bincount(table, minlength=4) / len(table)
    p = counts**0.75 / (counts**0.75).sum()
    np.testing.assert_allclose(share, p, rtol=0.02, atol=1e-4)


def test_sgns_step_equals_autograd_sgd():
    """The closed-form minibatch update is one SGD step on the SGNS loss (Mikolov eq. 4)."""
    torch.manual_seed(0)
    V, D, K, lr = 11, 7, 3, 0.1
    w_in, w_out = torch.randn(V, D), torch.randn(V, D)
    centres, contexts = torch.tensor([0, 1, 2, 0]), torch.tensor([3, 4, 5, 6])
    table = torch.tensor([9])  # every noise word is 9: no randomness left to match
    a, b = w_in.clone().requires_grad_(), w_out.clone().requires_grad_()
    noise = torch.full((4, K), 9)
    pos = (a[centres] * b[contexts]).sum(-1)
    neg = (a[centres][:, None, :] * b[noise]).sum(-1)
    loss = -(torch.nn.functional.logsigmoid(pos).sum() + torch.nn.functional.logsigmoid(-neg).sum())
    loss.backward()
    got = _sgns_step(w_in, w_out, centres, contexts, table, K, lr, torch.Generator())
    assert float(got) == pytest.approx(loss.item(), rel=1e-5)
    torch.testing.assert_close(w_in, (a - lr * a.grad).detach())
    torch.testing.assert_close(w_out, (b - lr * b.grad).detach())


def test_save_load_round_trip(fitted, tmp_path):
    path = tmp_path / "w2v.npz"
    fitted.save(path)
    loaded = Word2Vec.load(path)
    assert loaded.vocab == fitted.vocab and loaded.get_config() == fitted.get_config()
    np.testing.assert_array_equal(loaded.embeddings, fitted.embeddings)
    np.testing.assert_array_equal(loaded.output_embeddings, fitted.output_embeddings)
    np.testing.assert_array_equal(loaded.counts, fitted.counts)
    assert loaded.most_similar("cat", 5) == fitted.most_similar("cat", 5)
    assert loaded.loss_history == pytest.approx(fitted.loss_history)
    assert isinstance(WordVectors.load(path), Word2Vec)
    with pytest.raises(ValueError, match="holds a Word2Vec"):
        GloVe.load(path)
    assert not list(tmp_path.glob("*.tmp"))  # written atomically


def test_load_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no embeddings file"):
        Word2Vec.load(tmp_path / "missing.npz")
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ValueError, match="truncated or corrupt"):
        Word2Vec.load(corrupt)
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    with pytest.raises(ValueError, match="not written by lmbook"):
        Word2Vec.load(other)


def test_bad_input():
    with pytest.raises(ValueError, match="empty"):
        Word2Vec().fit([])
    with pytest.raises(ValueError, match="empty"):
        Word2Vec().fit([[], []])
    with pytest.raises(ValueError, match="min_count"):
        Word2Vec(min_count=5).fit([["a", "b"]])
    with pytest.raises(ValueError, match="corpus_sentences"):
        Word2Vec().fit("a raw string")
    # A generator is read once into a list (fit needs two passes).
    model = Word2Vec(dim=3, min_count=1, epochs=1).fit(s for s in [["a", "b"], ["b", "c"]])
    assert sorted(model.vocab) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="list of str"):
        Word2Vec().fit(["a", "b"])
    for kwargs in ({"dim": 0}, {"dim": -3}, {"window": 0}, {"negative": 0}, {"epochs": 0}):
        with pytest.raises(ValueError, match="positive integer"):
            Word2Vec(**kwargs)
    with pytest.raises(ValueError, match="sample"):
        Word2Vec(sample=1.5)
    with pytest.raises(ValueError, match="fit"):
        Word2Vec().most_similar("cat")


def test_unknown_word_message_suggests_min_count(fitted):
    with pytest.raises(UnknownWordError, match="min_count") as info:
        fitted.most_similar("lion")
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)
    with pytest.raises(UnknownWordError, match="lowercase: try 'cat'"):
        fitted.similarity("Cat", "dog")


def test_most_similar_vector_query_and_analogy():
    # Hand-made vectors: king - man + woman = queen exactly.
    vocab = ["king", "queen", "man", "woman", "apple"]
    vecs = np.array([[1, 1, 0], [1, 0, 1], [0, 1, 0], [0, 0, 1], [-1, 0.2, 0.1]], np.float32)
    wv = WordVectors(vocab, vecs)
    assert wv.analogy("man", "king", "woman")[0][0] == "queen"
    assert wv.most_similar(np.array([1, 1, 0]), topn=1)[0] == ("king", pytest.approx(1.0))
    with pytest.raises(ValueError, match="shape"):
        wv.most_similar(np.zeros(4))
    with pytest.raises(ValueError, match="shape"):
        WordVectors(vocab, vecs[:3])


def test_corpus_sentences_and_vocab():
    text = "A PLAY\n\nHAMLET:\nTo be, or not to be: that is the question.\nO, O! what's this?"
    assert corpus_sentences(text) == [
        ["to", "be", "or", "not", "to", "be"],
        ["that", "is", "the", "question"],
        ["o", "o"],
        ["what's", "this"],
    ]
    assert corpus_sentences("one two\nthree four five", split="line") == [
        ["one", "two"],
        ["three", "four", "five"],
    ]
    vocab, counts = build_vocab([["b", "a", "c", "a"], ["b", "d"]], min_count=2)
    assert vocab == ["a", "b"] and counts.tolist() == [2, 2]  # ties broken alphabetically
    with pytest.raises(ValueError, match="split"):
        corpus_sentences("x", split="word")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_trains_on_cuda_too():
    corpus = topic_corpus()
    kw = dict(dim=17, window=3, negative=4, min_count=1, epochs=3, sample=0, seed=3, batch_size=64)
    model = Word2Vec(device="cuda", **kw).fit(corpus)
    assert isinstance(model.embeddings, np.ndarray) and np.isfinite(model.embeddings).all()
    assert cluster_margin(model) > 0.3
    glove = GloVe(dim=13, window=3, min_count=1, epochs=30, x_max=10, batch_size=32, device="cuda")
    assert np.isfinite(glove.fit(corpus).embeddings).all()
