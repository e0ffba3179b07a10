"""Tests for lmbook.models.ngram: hand-computed probabilities, normalization, an independent
dictionary-based Kneser-Ney reference, backoff, sampling, sparsity statistics, bad input."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np
import pytest
import torch

from lmbook.models.ngram import BOS, EOS, UNK, NGramLM

CORPUS = ["abracadabra", "abba", "cadabra", "rabbit"]


# ---------------------------------------------------------------------- hand-computed values
def test_counts_on_a_tiny_corpus():
    lm = NGramLM(4).fit(["abracadabra"])
    assert lm.count("a") == 5
    assert lm.count("ab") == 2
    assert lm.count("abra") == 2
    assert lm.count("cad") == 1
    assert lm.count("zz") == 0
    assert lm.count((BOS, "a")) == 1  # the sequence starts with "a"
    assert lm.count((BOS, BOS, BOS, "a")) == 1
    assert lm.count(("a", EOS)) == 1
    # 11 characters + </s>: one n-gram per predicted token at every order
    assert lm.num_ngrams(1) == 6  # a b r c d </s>
    top = lm.most_common(2, 3)
    assert sorted(top) == [(("a", "b"), 2), (("b", "r"), 2), (("r", "a"), 2)]
    assert lm.vocab_size == 7  # a b c d r + </s> + <unk>
    assert set(lm.vocab) == {"a", "b", "c", "d", "r", EOS, UNK}


def test_kneser_ney_hand_computed_bigram():
    # Padded: <s> a b </s> and <s> b a </s>. Every bigram occurs once. Continuation counts
    # N1+(. w): a <- {<s>, b} = 2, b <- {a, <s>} = 2, </s> <- {b, a} = 2; total 6.
    # Unigram level with D = 0.5: gamma = 3 * 0.5 / 6 = 0.25, uniform over |V| = 4
    #   p1(a) = (2 - 0.5) / 6 + 0.25 / 4 = 0.3125,  p1(<unk>) = 0.0625.
    # Context "a": bigrams (a b), (a </s>), total 2, gamma = 2 * 0.5 / 2 = 0.5
    #   p(b | a) = 0.5 / 2 + 0.5 * 0.3125 = 0.40625,  p(a | a) = 0.5 * 0.3125 = 0.15625.
    lm = NGramLM(2, smoothing="kneser_ney", discount=0.5).fit(["ab", "ba"])
    assert lm.prob("b", "a") == pytest.approx(0.40625)
    assert lm.prob(EOS, "a") == pytest.approx(0.40625)
    assert lm.prob("a", "a") == pytest.approx(0.15625)
    assert lm.prob(UNK, "a") == pytest.approx(0.03125)
    assert lm.prob("z", "a") == pytest.approx(0.03125)  # unseen token -> <unk>
    assert lm.log_prob("b", "a") == pytest.approx(math.log(0.40625))
    # The start context <s>: bigrams (<s> a), (<s> b).
    assert lm.prob("a") == pytest.approx(0.5 / 2 + 0.5 * 0.3125)


def test_add_k_hand_computed_bigram():
    lm = NGramLM(2, smoothing="add_k", k=1.0).fit(["ab", "ba"])
    assert lm.prob("b", "a") == pytest.approx((1 + 1) / (2 + 4))
    assert lm.prob("a", "a") == pytest.approx((0 + 1) / (2 + 4))
    # "<unk>" never occurred as a context: add-k falls back to the uniform distribution
    assert lm.prob("a", "z") == pytest.approx(1 / 4)


def test_stupid_backoff_scores():
    lm = NGramLM(2, smoothing="stupid_backoff", alpha=0.4).fit(["ab", "ba"])
    assert lm.prob("b", "a") == pytest.approx(1 / 2)  # c(a b) / c(a .)
    assert lm.prob("a", "a") == pytest.approx(0.4 * 2 / 6)  # alpha * c(a) / N
    assert not lm.normalized
    with pytest.raises(ValueError, match="kneser_ney"):
        lm.perplexity("ab")


# ---------------------------------------------------------------------- normalization
@pytest.mark.parametrize("smoothing", ["kneser_ney", "add_k"])
@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_distributions_sum_to_one(smoothing, n):
    lm = NGramLM(n, smoothing=smoothing, k=0.1).fit(CORPUS)
    for ctx in ["", "a", "ab", "abr", "cada", "zzzz", "qb", "bbbb", "t"]:
        p = lm.next_token_probs(ctx)
        assert p.shape == (lm.vocab_size,)
        assert (p > 0).all()
        assert p.sum() == pytest.approx(1.0, abs=1e-12)


def test_plain_kneser_ney_sums_to_one_and_differs_from_modified():
    modified = NGramLM(3).fit(CORPUS * 3)
    plain = NGramLM(3, discount=0.75).fit(CORPUS * 3)
    for ctx in ["", "ab", "ca"]:
        assert plain.next_token_probs(ctx).sum() == pytest.approx(1.0, abs=1e-12)
    assert not np.allclose(modified.next_token_probs("ab"), plain.next_token_probs("ab"))


def _reference_kn(corpus, n, ctx, w, d):
    """Interpolated KN straight from Chen & Goodman (1998) eqs. 21-26, with dicts."""
    padded = [[BOS] * (n - 1) + list(s) + [EOS] for s in corpus]
    vocab = {t for s in padded for t in s} - {BOS} | {UNK}
    raw = Counter(tuple(s[j - n + 1 : j + 1]) for s in padded for j in range(n - 1, len(s)))
    counts = {n: raw}
    for m in range(n - 1, 0, -1):
        cont = Counter(g[1:] for g in counts[m + 1] if counts[m + 1][g] > 0)
        counts[m] = cont
    ctx = ([BOS] * (n - 1) + list(ctx))[len(ctx) :] if n > 1 else []

    def p(m, h):
        if m == 0:
            return 1 / len(vocab)
        c = counts[m]
        by_ctx = defaultdict(list)
        for g, a in c.items():
            by_ctx[g[:-1]].append(a)
        total = sum(by_ctx.get(h, []))
        lower = p(m - 1, h[1:])
        if total == 0:
            return lower
        gamma = sum(d(m, a) for a in by_ctx[h]) / total
        a = c.get(h + (w,), 0)
        return (a - d(m, a) if a else 0) / total + gamma * lower

    return p(n, tuple(ctx))


def test_kneser_ney_matches_dictionary_reference():
    corpus = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"]
    corpus = [s.split() for s in corpus]
    n = 3
    lm = NGramLM(n, discount=0.7).fit(corpus)

    def d(m, a):
        return 0.7 if a > 0 else 0.0

    for ctx in [[], ["the"], ["the", "cat"], ["sat", "on"], ["on", "a"], ["dog", "dog"]]:
        for w in ["cat", "the", "sat", "log", EOS, UNK]:
            assert lm.prob(w, ctx) == pytest.approx(_reference_kn(corpus, n, ctx, w, d), rel=1e-12)
    # perplexity from the vectorised scorer equals the token-by-token chain rule
    test = ["the", "cat", "sat", "on", "a", "log"]
    chain = sum(lm.log_prob(w, test[:i]) for i, w in enumerate(test)) + lm.log_prob(EOS, test)
    assert lm.perplexity(test) == pytest.approx(math.exp(-chain / (len(test) + 1)), rel=1e-12)


def test_modified_discounts_follow_chen_goodman():
    rng = np.random.default_rng(0)
    corpus = ["".join(rng.choice(list("abcde"), size=300, p=[0.4, 0.3, 0.15, 0.1, 0.05]))]
    lm = NGramLM(3).fit(corpus)
    padded = [BOS, BOS, *corpus[0], EOS]
    top = Counter(tuple(padded[j - 2 : j + 1]) for j in range(2, len(padded)))
    n1, n2, n3, n4 = (sum(1 for a in top.values() if a == r) for r in (1, 2, 3, 4))
    y = n1 / (n1 + 2 * n2)
    expected = [1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3]

    def d(m, a):
        if m < 3:
            return lm._smoother.discounts[m][min(a, 3)]  # lower orders: checked via normalization
        return 0.0 if a == 0 else expected[min(a, 3) - 1]

    np.testing.assert_allclose(lm._smoother.discounts[3][1:], expected)
    for ctx in ["ab", "ee", "ca"]:
        for w in "abcde":
            assert lm.prob(w, ctx) == pytest.approx(_reference_kn(corpus, 3, ctx, w, d), rel=1e-12)


# ---------------------------------------------------------------------- perplexity, backoff
def test_perplexity_of_uniform_model_equals_vocab_size():
    lm = NGramLM(2, smoothing="add_k", k=1e12).fit(CORPUS)
    assert lm.perplexity("abcabcxyz") == pytest.approx(lm.vocab_size, rel=1e-6)
    assert lm.corpus_perplexity(["ab", "rabbit"]) == pytest.approx(lm.vocab_size, rel=1e-6)


def test_perplexity_drops_with_order_on_training_like_text():
    text = "the quick brown fox jumps over the lazy dog. " * 20
    ppl = [NGramLM(n).fit([text]).perplexity(text[:200]) for n in (1, 2, 3)]
    assert ppl[0] > ppl[1] > ppl[2]


def test_unseen_context_backs_off_to_the_shorter_context():
    lm = NGramLM(3).fit(CORPUS)
    # "q" and "t" are never followed by "b" in training, so both contexts back off to "b".
    assert lm.count("qb") == 0 and lm.count("tb") == 0
    np.testing.assert_allclose(lm.next_token_probs("qb"), lm.next_token_probs("tb"))
    assert not np.allclose(lm.next_token_probs("ab"), lm.next_token_probs("qb"))
    # a context made only of unknown tokens backs off to the unigram level
    p = lm.next_token_probs("§§")
    assert p.sum() == pytest.approx(1.0) and (p > 0).all()


def test_unseen_token_gets_finite_perplexity():
    lm = NGramLM(3).fit(CORPUS)
    assert math.isfinite(lm.perplexity("abxyzra"))


# ---------------------------------------------------------------------- token kinds
def test_int_ids_numpy_and_torch_agree():
    rng = np.random.default_rng(1)
    seqs = [rng.integers(0, 13, size=int(n)) for n in rng.integers(5, 40, size=10)]
    a = NGramLM(3).fit([s.tolist() for s in seqs])
    b = NGramLM(3).fit(seqs)
    c = NGramLM(3).fit([torch.as_tensor(s) for s in seqs])
    test = rng.integers(0, 13, size=50)
    ppl = a.perplexity(test.tolist())
    assert b.perplexity(test) == pytest.approx(ppl) == c.perplexity(torch.as_tensor(test))
    assert a.next_token_probs([3, 4]).sum() == pytest.approx(1.0)
    assert a.prob(3, [1, 2]) == pytest.approx(b.prob(3, np.array([1, 2])))


def test_sparse_large_int_ids_use_the_search_path():
    big = [10**9 + 7 * t for t in (0, 1, 0, 2, 1, 0)]
    lm = NGramLM(2).fit([big])
    small = NGramLM(2).fit([[0, 1, 0, 2, 1, 0]])
    assert lm._vocab.lut is None and small._vocab.lut is not None
    assert lm.perplexity(big[:4]) == pytest.approx(small.perplexity([0, 1, 0, 2]))
    assert lm.prob(10**9 + 7, [10**9]) == pytest.approx(small.prob(1, [0]))


def test_word_level_model_and_sample():
    sentences = ["the cat sat on a mat", "the cat sat down", "a dog sat on a mat"]
    lm = NGramLM(2).fit([s.split() for s in sentences])
    assert lm.sample(["the"], n_tokens=10, temperature=0) == ["cat", "sat", "on", "a", "mat"]
    assert lm.prob("sat", ["dog"]) > 0.5
    assert lm.next_token_probs(["on"]).sum() == pytest.approx(1.0)


# ---------------------------------------------------------------------- sampling
def test_sampling_is_reproducible_and_in_vocabulary():
    lm = NGramLM(3).fit(CORPUS)
    s1 = lm.sample("ab", 50, seed=3, stop_at_eos=False)
    s2 = lm.sample("ab", 50, seed=3, stop_at_eos=False)
    s3 = lm.sample("ab", 50, seed=np.random.default_rng(3), stop_at_eos=False)
    assert isinstance(s1, str) and len(s1) == 50 and s1 == s2 == s3
    assert set(s1) <= set("abcdirt")  # never <unk>, never <s>


def test_greedy_sample_follows_argmax_and_stops_at_eos():
    lm = NGramLM(3).fit(["ab", "ab", "abc"])
    assert lm.sample("", 20, temperature=0) == "ab"  # "ab" is followed by </s> 2 times of 3
    assert lm.sample("", 3, temperature=0, stop_at_eos=False) == "abc"


def test_sampling_frequencies_follow_the_distribution():
    lm = NGramLM(1, smoothing="add_k", k=0.5).fit(["aaaaaaab"])
    draws = [lm.sample("", 1, seed=i, stop_at_eos=False) for i in range(2000)]
    p = lm.next_token_probs()
    expected = p[lm.vocab.index("a")] / (1 - p[lm.vocab.index(UNK)] - p[lm.vocab.index(EOS)])
    assert draws.count("a") / 2000 == pytest.approx(expected, abs=0.03)


def test_stupid_backoff_can_sample():
    lm = NGramLM(3, smoothing="stupid_backoff").fit(CORPUS)
    assert set(lm.sample("ca", 30, seed=0, stop_at_eos=False)) <= set("abcdirt")


# ---------------------------------------------------------------------- sparsity
def test_sparsity_statistics():
    lm = NGramLM(3).fit(["abcabd"])
    same = lm.sparsity(["abcabd"])
    assert [s.test_unseen for s in same] == [0.0, 0.0, 0.0]
    assert [s.train_types for s in same] == [lm.num_ngrams(m) for m in (1, 2, 3)]
    # test "abd": <s><s>a, <s>ab, abd, bd</s> -> trigrams all seen; "dab" not
    stats = lm.sparsity(["dab"])
    # predicted tokens: d a b </s> (4). bigrams (<s>d) (da) (ab) (b</s>): (<s>d),(da),(b</s>) unseen
    assert stats[1].test_unseen == pytest.approx(3 / 4)
    assert stats[0].test_unseen == 0.0
    assert stats[1].test_context_unseen == pytest.approx(0.0)
    assert stats[2].test_tokens == 4
    assert stats[2].possible == lm.vocab_size**3


# ---------------------------------------------------------------------- bad input
def test_bad_input_errors():
    with pytest.raises(ValueError, match="n must be"):
        NGramLM(0)
    with pytest.raises(ValueError, match="unknown smoothing"):
        NGramLM(2, smoothing="witten_bell")
    with pytest.raises(ValueError, match="k must be"):
        NGramLM(2, smoothing="add_k", k=0)
    with pytest.raises(ValueError, match="discount"):
        NGramLM(2, discount=1.5)
    with pytest.raises(ValueError, match="wrap it"):
        NGramLM(2).fit("a single string")
    with pytest.raises(ValueError, match="not fitted"):
        NGramLM(2).perplexity("abc")
    with pytest.raises(ValueError, match="no sequences"):
        NGramLM(2).fit([])
    with pytest.raises(ValueError, match="1-D"):
        NGramLM(2).fit([np.zeros((2, 3), dtype=np.int64)])
    with pytest.raises(ValueError, match=">= 0"):
        NGramLM(2).fit([[3, -1, 2]])
    with pytest.raises(ValueError, match="reserved marker"):
        NGramLM(2).fit([["hello", BOS, "world"]])
    lm = NGramLM(2).fit(["abc"])
    with pytest.raises(ValueError, match="character tokens but got integer-id"):
        lm.perplexity([1, 2, 3])
    with pytest.raises(ValueError, match="never predicted"):
        lm.prob(BOS, "a")
    with pytest.raises(ValueError, match="temperature"):
        lm.sample("a", 5, temperature=-1)
    words = NGramLM(2).fit([["hello", "world"]])
    with pytest.raises(ValueError, match="word .* but got character"):
        words.perplexity("hello world")


# ---------------------------------------------------------------------- the real corpus
@pytest.mark.slow
def test_shakespeare_char_perplexity_falls_with_order():
    from lmbook import data

    text = data.load("shakespeare")
    train, val = data.train_val_split(text, 0.1)
    val = val[:100_000]
    ppl = [NGramLM(n).fit([train]).perplexity(val) for n in range(1, 6)]
    assert all(a > b for a, b in zip(ppl, ppl[1:], strict=False)), ppl
    # measured 28.1, 12.3, 7.8, 5.6, 4.7 on the full validation tail (benchmarks/bench_ngram.py)
    assert 20 < ppl[0] < 35 and ppl[4] < 6.0, ppl
    add_k = NGramLM(5, smoothing="add_k", k=0.01).fit([train]).perplexity(val)
    assert ppl[4] < add_k  # Kneser-Ney beats add-k at the same order
