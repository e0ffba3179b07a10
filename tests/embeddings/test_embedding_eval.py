"""Tests for lmbook.embeddings.evaluate: analogies, word similarity, neighbour agreement."""

import numpy as np
import pytest

from lmbook.embeddings import (
    WordVectors,
    analogy_accuracy,
    bootstrap_interval,
    neighbour_agreement,
    read_word_pairs,
    similarity_spearman,
    spearman,
)


@pytest.fixture
def toy():
    """Vectors where man:king :: woman:queen holds exactly, and paris:france :: rome:italy
    does not (italy sits elsewhere, the nearest to the 3CosAdd target is spain)."""
    vocab = ["king", "queen", "man", "woman", "paris", "france", "rome", "spain", "italy"]
    vecs = np.array(
        [
            [1, 1, 0, 0, 0],  # king = royal + male
            [1, 0, 1, 0, 0],  # queen = royal + female
            [0, 1, 0, 0, 0],
            [0, 0, 1, 0, 0],
            [0, 0, 0, 1, 0],
            [0, 0, 0, 1, 1],
            [0.1, 0, 0, 0, 0.9],
            [0, 0, 0, 0.1, 2],
            [0, -1, -1, 0, 0.1],
        ],
        np.float32,
    )
    return WordVectors(vocab, vecs)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_analogy_accuracy_by_hand(toy, tmp_path):
    questions = write(
        tmp_path,
        "q.txt",
        ": family\nman king woman queen\nMan King Woman Queen\nman king boy prince\n"
        ": capitals\nparis france rome italy\n",
    )
    res = analogy_accuracy(toy, questions)
    assert (res.correct, res.answered, res.skipped) == (2, 3, 1)
    assert res.accuracy == pytest.approx(2 / 3) and res.coverage == pytest.approx(3 / 4)
    assert res.sections["family"] == {"correct": 2, "answered": 2, "skipped": 1, "accuracy": 1.0}
    assert res.sections["capitals"]["accuracy"] == 0.0
    assert "coverage 75.0%" in str(res)
    # Case-sensitive lookup skips the capitalised question.
    assert analogy_accuracy(toy, questions, lowercase=False).skipped == 2
    # restrict_vocab=4 keeps king..woman: the capitals question becomes out-of-vocabulary.
    small = analogy_accuracy(toy, questions, restrict_vocab=4)
    assert (small.correct, small.answered, small.skipped) == (2, 2, 2)
    # The same vectors as a plain (vocab, vectors) pair give the same answer.
    assert analogy_accuracy((toy.vocab, toy.embeddings), questions) == res


def test_only_c_baseline_ignores_a_and_b(tmp_path):
    # d answers b - a + c; e is the word nearest c alone: 3CosAdd is right, only-c is not.
    vocab = ["a", "b", "c", "d", "e"]
    vecs = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 1], [0, 1, 1], [1, 0, 1.2]], np.float32)
    m = WordVectors(vocab, vecs)
    questions = write(tmp_path, "q.txt", ": s\na b c d\n: t\nb a d c\n")
    offset, only_c = analogy_accuracy(m, questions), analogy_accuracy(m, questions, rule="only_c")
    assert offset.hits.tolist() == [1.0, 1.0] and only_c.hits.tolist() == [0.0, 0.0]
    assert only_c.hit_sections == ("s", "t") and only_c.sections["s"]["accuracy"] == 0.0
    with pytest.raises(ValueError, match="only_c"):
        analogy_accuracy(m, questions, rule="3cosmul")


def test_analogy_bad_files(toy, tmp_path):
    with pytest.raises(FileNotFoundError, match="no test-set file"):
        analogy_accuracy(toy, tmp_path / "nope.txt")
    with pytest.raises(ValueError, match="4 words"):
        analogy_accuracy(toy, write(tmp_path, "bad.txt", ": s\nman king woman\n"))
    with pytest.raises(ValueError, match="positive integer"):
        analogy_accuracy(toy, write(tmp_path, "ok.txt", ": s\na b c d\n"), restrict_vocab=0)


def test_spearman_matches_scipy_with_ties():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, size=40).astype(float)  # many ties
    y = x + rng.normal(size=40)
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    assert spearman([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="equal length"):
        spearman([1, 2], [1, 2, 3])


def test_similarity_spearman_by_hand(toy, tmp_path):
    # Human scores ordered exactly as the model's cosines: rho = 1; one pair is unknown.
    words = [("king", "queen"), ("man", "king"), ("rome", "spain"), ("man", "spain")]
    cos = [toy.similarity(a, b) for a, b in words]
    order = np.argsort(cos)
    human = np.empty(4)
    human[order] = [1.0, 2.0, 3.0, 4.0]
    lines = "# comment\n" + "".join(
        f"{a}\t{b}\t{h}\n" for (a, b), h in zip(words, human, strict=True)
    )
    path = write(tmp_path, "pairs.tsv", lines + "king\tunicorn\t5.0\n")
    res = similarity_spearman(toy, path)
    assert res.spearman == pytest.approx(1.0)
    assert (res.pairs, res.skipped) == (4, 1) and res.coverage == pytest.approx(0.8)
    assert read_word_pairs(path)[0] == ("king", "queen", human[0])
    with pytest.raises(ValueError, match="word1"):
        similarity_spearman(toy, write(tmp_path, "bad.tsv", "king queen\n"))
    # words=: only pairs whose two words are both listed are scored, the rest are skipped.
    res = similarity_spearman(toy, path, words={"king", "queen", "man", "rome"})
    assert (res.pairs, res.skipped) == (2, 3)


def test_bootstrap_interval_covers_and_shrinks_with_n():
    rng = np.random.default_rng(1)
    small, large = rng.random(100) < 0.3, rng.random(10_000) < 0.3  # Bernoulli(0.3) hits
    lo_s, hi_s = bootstrap_interval(lambda idx: small[idx].mean(), len(small))
    lo_l, hi_l = bootstrap_interval(lambda idx: large[idx].mean(), len(large))
    assert lo_s < small.mean() < hi_s and lo_l < large.mean() < hi_l
    # The width follows the standard error 1.96 * 2 * sqrt(p(1-p)/n): about 0.18 and 0.018.
    assert hi_s - lo_s == pytest.approx(2 * 1.96 * np.sqrt(0.21 / 100), rel=0.25)
    assert hi_l - lo_l == pytest.approx(2 * 1.96 * np.sqrt(0.21 / 10_000), rel=0.25)
    assert np.isnan(bootstrap_interval(lambda idx: 0.0, 1)[0])
    with pytest.raises(ValueError, match="level"):
        bootstrap_interval(lambda idx: 0.0, 10, level=1.5)


def test_scores_carry_intervals(toy, tmp_path):
    res = analogy_accuracy(
        toy,
        write(
            tmp_path,
            "q.txt",
            ": sec\nman king woman queen\nparis france rome italy\nking queen man woman\n",
        ),
    )
    assert res.ci[0] <= res.accuracy <= res.ci[1] and "95% CI" in str(res)


def test_neighbour_agreement():
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(31)]
    model = WordVectors(vocab, rng.normal(size=(31, 7)))
    assert neighbour_agreement(model, model, topn=5) == 1.0
    # A rotation keeps every cosine, hence every neighbour set.
    q, _ = np.linalg.qr(rng.normal(size=(7, 7)))
    rotated = (vocab, model.embeddings @ q)
    assert neighbour_agreement(model, rotated, topn=5) == pytest.approx(1.0)
    assert neighbour_agreement(model, rotated, topn=5, metric="jaccard") == pytest.approx(1.0)
    # Unrelated vectors agree about as often as chance: 5 of 30 candidates -> about 1/6.
    other = WordVectors(vocab, rng.normal(size=(31, 7)))
    assert neighbour_agreement(model, other, topn=5) < 0.4
    # By hand: overlap 1 of 2 neighbours -> 0.5; Jaccard 1 / 3.
    a = WordVectors(["x", "y", "z", "u"], np.array([[1, 0], [0.9, 0.1], [0.8, 0.3], [-1, 0]]))
    b = WordVectors(["x", "y", "z", "u"], np.array([[1, 0], [0.9, 0.1], [-0.8, 0.3], [0.7, 0.3]]))
    assert neighbour_agreement(a, b, words=["x"], topn=2) == pytest.approx(0.5)
    assert neighbour_agreement(a, b, words=["x"], topn=2, metric="jaccard") == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="share none"):
        neighbour_agreement(model, model, words=["zebra"])
    with pytest.raises(ValueError, match="metric"):
        neighbour_agreement(model, model, metric="cosine")


def gensim_random_vectors(words, dim=23, seed=0, planted=()):
    """Random gensim KeyedVectors; for each (x, y) in planted, vec(y) = vec(x) + one offset."""
    from gensim.models import KeyedVectors

    rng = np.random.default_rng(seed)
    vecs = dict(zip(words, rng.normal(size=(len(words), dim)).astype(np.float32), strict=True))
    offset = 3 * rng.normal(size=dim).astype(np.float32)
    for x, y in planted:
        vecs[y] = vecs[x] + offset
    kv = KeyedVectors(dim)
    kv.add_vectors(list(vecs), np.stack(list(vecs.values())))
    return kv


def test_parity_with_gensim_on_the_real_test_sets():
    """Same numbers as gensim's evaluators, on gensim's own test files."""
    pytest.importorskip("gensim")
    data = pytest.importorskip("lmbook.data")
    from lmbook.embeddings import read_analogies

    questions = read_analogies(data.path("analogies"))
    # Vectors for the words of the first 3000 questions only, so that the rest are skipped;
    # country = capital + offset makes the first section's analogies true by construction.
    words = sorted({w.lower() for q in questions[:3000] for w in q[1:]})
    planted = {(q[1].lower(), q[2].lower()) for q in questions if q[0] == questions[0][0]}
    kv = gensim_random_vectors(words, planted=planted)
    ours = analogy_accuracy(kv)
    score, sections = kv.evaluate_word_analogies(data.path("analogies"))
    assert ours.accuracy == pytest.approx(score)
    gensim_total = next(s for s in sections if s["section"] == "Total accuracy")
    assert ours.correct == len(gensim_total["correct"]) > 400
    assert ours.answered == len(gensim_total["correct"]) + len(gensim_total["incorrect"])
    pairs_words = sorted(
        {w.lower() for a, b, _ in read_word_pairs(data.path("wordsim353")) for w in (a, b)}
    )
    kv2 = gensim_random_vectors(pairs_words[::2], seed=1)  # half the words: some pairs skipped
    for name in ("wordsim353", "simlex999"):
        res = similarity_spearman(kv2, name)
        (_, _), (rho, _), oov = kv2.evaluate_word_pairs(data.path(name))
        assert res.spearman == pytest.approx(rho, abs=1e-6)
        assert 100 * (1 - res.coverage) == pytest.approx(oov)
