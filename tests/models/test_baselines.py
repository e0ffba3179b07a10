"""Tests for lmbook.models.baselines: hand-computed entropies, deterministic texts, a
character-by-character reference for the unit (no end marker), the table, bad input."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from lmbook.models import NGramLM
from lmbook.models.baselines import (
    baseline_table,
    context_name,
    count_baselines,
    fit_mixture_weight,
    mixture_nll,
)
from lmbook.models.ngram import EOS


def test_unigram_is_the_entropy_of_character_frequencies():
    text = "aaaaaaabbbbccd" * 50  # frequencies 7/14, 4/14, 2/14, 1/14
    counts = Counter(text)
    n = len(text)
    entropy = -sum(c / n * math.log(c / n) for c in counts.values())
    base = count_baselines(text, text, orders=(1,), smoothing="add_k", k=1e-9)
    # The count model also reserves the end marker </s> (one per training text): each
    # probability is c / (n + 1) instead of c / n, which shifts the loss by ln((n + 1) / n).
    assert base[1] == pytest.approx(entropy + math.log((n + 1) / n), abs=1e-6)
    # By hand: 0.3466 + 0.3579 + 0.2780 + 0.1885 = 1.1710 nats, plus ln(701 / 700) = 0.0014.
    assert base[1] == pytest.approx(1.1724, abs=1e-3)


@pytest.mark.parametrize("smoothing", ["kneser_ney", "add_k"])
def test_a_deterministic_text_costs_almost_nothing_given_one_character(smoothing):
    train, val = "abcd" * 2000, "abcd" * 100
    base = count_baselines(train, val, orders=(1, 2, 3), smoothing=smoothing)
    assert base[1] == pytest.approx(math.log(4), abs=0.01)  # four equally frequent chars
    assert base[2] < 0.01  # the next character is fixed by the previous one
    assert base[3] < 0.01


def test_more_context_helps_on_a_second_order_markov_text():
    # Each character is fixed by the two before it 90 % of the time, and random otherwise: the
    # bigram cannot see the rule, the trigram can.
    rng = np.random.default_rng(0)
    alphabet = "abcdefgh"
    rule = {(a, b): alphabet[rng.integers(8)] for a in alphabet for b in alphabet}
    chars = ["a", "b"]
    for _ in range(60_000):
        nxt = rule[(chars[-2], chars[-1])] if rng.random() < 0.9 else alphabet[rng.integers(8)]
        chars.append(nxt)
    text = "".join(chars)
    base = count_baselines(text[:50_000], text[50_000:])
    assert base[2] < base[1] <= math.log(8)
    assert base[3] < base[2] - 0.5
    # Floor: 0.9 + 0.1/8 of the mass on the rule's character, the rest spread over 7 others.
    p = 0.9 + 0.1 / 8
    floor = -(p * math.log(p) + (1 - p) * math.log(0.1 / 8))
    assert base[3] == pytest.approx(floor, abs=0.03)
    assert base[5] == pytest.approx(floor, abs=0.06)  # more context cannot help here


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_unit_matches_a_character_by_character_sum(n):
    train = "the cat sat on the mat; the rat ate the hat. " * 20
    val = "that cat ate a mat"
    lm = NGramLM(n).fit([train])
    by_hand = -sum(lm.log_prob(ch, val[:i]) for i, ch in enumerate(val)) / len(val)
    base = count_baselines(train, val, orders=(n,))
    assert base[n] == pytest.approx(by_hand, rel=1e-9)
    # sequence_log_prob's mean differs: it also predicts the end marker
    logp, count = lm.sequence_log_prob([val])
    assert count == len(val) + 1
    assert -logp / count != pytest.approx(base[n], rel=1e-6)


def test_several_documents_are_scored_separately():
    train = ["hello world", "hello there"]
    val = ["hello", "world"]
    lm = NGramLM(3).fit(train)
    by_hand = -sum(lm.log_prob(c, v[:i]) for v in val for i, c in enumerate(v)) / 10
    assert count_baselines(train, val, orders=(3,))[3] == pytest.approx(by_hand)


def test_table_lists_baselines_and_the_neural_margin():
    base = {1: 3.3, 2: 2.5, 3: 2.1, 5: 1.6}
    table = baseline_table(base, {"GPT": 1.9})
    assert "trigram counts (2 chars of context)" in table
    assert "bigram counts (1 char of context)" in table
    assert [context_name(n) for n in (1, 2, 5)] == [
        "0 chars of context",
        "1 char of context",
        "4 chars of context",
    ]
    assert "3.300" in table and "1.900" in table
    assert f"{math.exp(2.1):.2f}" in table  # perplexity
    assert "GPT: 0.200 nats/char below (better than) the trigram" in table
    assert "above (worse than)" in baseline_table(base, {"GPT": 2.5})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(train_text="", val_text="abc"), "train_text is empty"),
        (dict(train_text="abc", val_text=[]), "val_text is empty"),
        (dict(train_text=b"abc", val_text="abc"), "decode"),
        (dict(train_text="abc", val_text="abc", orders=(0,)), "orders"),
        (dict(train_text="abc", val_text="abc", smoothing="stupid_backoff"), "probabilities"),
    ],
)
def test_bad_input_is_refused_with_a_fix(kwargs, match):
    with pytest.raises(ValueError, match=match):
        count_baselines(**kwargs)


def test_token_log_probs_line_up_with_sequence_log_prob():
    lm = NGramLM(3).fit(["the cat sat on the mat. " * 20])
    text = "the bat sat."
    per_token = lm.token_log_probs(text)
    assert per_token.shape == (len(text),)
    total, count = lm.sequence_log_prob([text])  # also scores the end marker
    end = lm.log_prob(EOS, text[-2:])
    assert count == len(text) + 1
    assert per_token.sum() + end == pytest.approx(total)
    assert per_token[0] == pytest.approx(lm.log_prob("t", ()))


def test_mixture_of_two_models_is_between_them_and_can_beat_both():
    # each model is sure of half the tokens and wrong (loss 5) on the other half
    a = np.array([0.01, 5.0] * 50)
    b = np.array([5.0, 0.01] * 50)
    assert mixture_nll(a, b, 1.0) == pytest.approx(a)
    assert mixture_nll(a, b, 0.0) == pytest.approx(b)
    w = fit_mixture_weight(a, b)
    assert w == pytest.approx(0.5)
    assert mixture_nll(a, b, w).mean() < min(a.mean(), b.mean()) - 1.5
    # a model that knows nothing the other does not gets weight 0
    assert fit_mixture_weight(b + 1.0, b) == 0.0
    with pytest.raises(ValueError, match="same tokens"):
        mixture_nll(a, b[:10], 0.5)
