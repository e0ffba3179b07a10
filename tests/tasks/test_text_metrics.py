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


def test_chrf_credits_near_misses_that_bleu_does_not():
    from lmbook.metrics import chrf

    refs = ["L'Éternel parla à Moïse"]
    assert chrf(refs, refs) == pytest.approx(100.0)
    near, far = chrf(["L'Eternel parlait à Moise"], refs), chrf(["xyz qwv"], refs)
    assert near > 50 > far  # a stem and most characters right
    assert bleu(["L'Eternel parlait à Moise"], refs) < near
    with pytest.raises(ValueError, match="one prediction per reference"):
        chrf(["a", "b"], refs)


REFS = [f"the cat number {i} sat on the mat today" for i in range(40)]
GOOD = [f"the cat number {i} sat on a mat today" for i in range(40)]
BAD = [f"a dog {i} stood on the rug" if i % 2 else f"the cat {i} sat" for i in range(40)]


@pytest.mark.parametrize("metric", ["bleu", "chrf"])
def test_corpus_interval_brackets_the_corpus_score(metric):
    from lmbook.metrics import chrf, corpus_interval

    score, lo, hi = corpus_interval(BAD, REFS, metric=metric, n_boot=200)
    assert score == pytest.approx((bleu if metric == "bleu" else chrf)(BAD, REFS))
    assert lo < score < hi  # mixed sentences: the resamples disagree
    same = corpus_interval(REFS, REFS, metric=metric, n_boot=50)
    assert same == pytest.approx((100.0, 100.0, 100.0))  # every resample is perfect
    with pytest.raises(ValueError, match="'bleu' or 'chrf'"):
        corpus_interval(BAD, REFS, metric="ter")


def test_paired_difference_is_the_score_gap_with_a_paired_interval():
    from lmbook.metrics import paired_difference

    diff, lo, hi = paired_difference(GOOD, BAD, REFS, n_boot=200)
    assert diff == pytest.approx(bleu(GOOD, REFS) - bleu(BAD, REFS))
    assert 0 < lo < diff < hi  # GOOD is better on every resample
    assert paired_difference(BAD, BAD, REFS, n_boot=20) == pytest.approx((0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="one prediction per reference"):
        paired_difference(GOOD[:3], BAD, REFS)


def test_qa_names_moved_but_still_importable():
    import lmbook.metrics as metrics
    import lmbook.tasks.qa as qa
    import lmbook.tasks.retrieval as retrieval
    import lmbook.viz as viz

    assert qa.squad_scores is metrics.squad_scores and qa.exact_match is metrics.exact_match
    assert qa.BookIndex is retrieval.BookIndex and qa.book_chunks is retrieval.book_chunks
    assert callable(viz.ask_widget) and callable(qa.ask_widget)
