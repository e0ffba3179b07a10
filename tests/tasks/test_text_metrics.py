"""ROUGE and BLEU wrappers in lmbook.metrics, checked on worked examples."""

import pytest

from lmbook.metrics import bleu, rouge


def test_rouge_worked_example():
    # unigrams shared: cat, sat, on, mat = 4 of 6 on each side -> P = R = F = 2/3
    # bigrams shared: "cat sat", "sat on" = 2 of 5 -> F = 0.4
    got = rouge(["the cat sat on the mat"], ["a cat sat on a mat"])
    assert got["rouge1"] == pytest.approx(200 / 3)
    assert got["rouge2"] == pytest.approx(40.0)
    assert got["rougeL"] == pytest.approx(200 / 3)


def test_rouge_averages_documents_and_stems():
    got = rouge(["cats running", "xyz"], ["cat runs", "abc"], types=("rouge1",))
    assert got["rouge1"] == pytest.approx(50.0)  # stemmed perfect match, then zero


def test_bleu_identity_and_zero():
    assert bleu(["the cat sat on the mat ."], ["the cat sat on the mat ."]) == pytest.approx(100.0)
    assert bleu(["dog dog dog dog"], ["the cat sat on the mat ."]) == pytest.approx(0.0)


def test_bleu_is_a_corpus_statistic_and_multi_reference():
    one = bleu(["the cat sat on the mat today"], ["the cat sat on the mat"])
    # brevity penalty 1 (hypothesis longer); 4-gram precision 3/4 etc. -> strictly in (0, 100)
    assert 0 < one < 100
    multi = bleu(["the cat sat on the mat today"], [["the cat sat on the mat"], ["xx"]])
    assert multi == pytest.approx(one)
    better = bleu(["the cat sat on the mat today"], [["nothing"], ["the cat sat on the mat today"]])
    assert better == pytest.approx(100.0)


@pytest.mark.parametrize("fn", [rouge, bleu])
def test_bad_inputs(fn):
    with pytest.raises(ValueError, match="one prediction per reference"):
        fn(["a", "b"], ["a"])
    with pytest.raises(TypeError, match="lists of strings"):
        fn("a", "a")
    with pytest.raises(ValueError, match="empty"):
        fn([], [])
