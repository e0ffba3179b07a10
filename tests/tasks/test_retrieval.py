"""BM25 keyword retrieval, recall@k and the book's held-out questions."""

import math
from pathlib import Path

import pytest

from lmbook.tasks.book_questions import BOOK_QUESTIONS
from lmbook.tasks.retrieval import BM25, book_chunks, keyword_tokenize, recall_at_k

DOCS = ["the cat sat on the mat", "a dog barked at the cat", "dogs and cats", "the end"]


def test_keyword_tokenize_drops_stopwords_and_case():
    assert keyword_tokenize("Why divide by the square root of d_k?") == [
        "divide",
        "square",
        "root",
        "d",
        "k",
    ]


def test_bm25_matches_the_formula_by_hand():
    bm = BM25(DOCS, k1=1.2, b=0.75)
    # "cat": in documents 0 and 1 (n = 2 of N = 4); document 0 has words cat sat mat (3 words)
    lengths = [3, 3, 2, 1]  # after stopwords: [cat sat mat] [dog barked cat] [dogs cats] [end]
    avgdl = sum(lengths) / 4
    idf = math.log(1 + (4 - 2 + 0.5) / (2 + 0.5))
    want = idf * 1 * 2.2 / (1 + 1.2 * (1 - 0.75 + 0.75 * 3 / avgdl))
    s = bm.scores("cat")
    assert s[0] == pytest.approx(want) and s[1] == pytest.approx(want)
    assert s[2] == 0.0 and s[3] == 0.0  # "cats" is another word: no stemming


def test_bm25_rare_words_and_length():
    bm = BM25(DOCS)
    assert bm.search("barked", k=1)[0][1] == 1  # the only document with the word
    # a repeated word saturates: twice "cat" scores less than two different matching words
    bm2 = BM25(["cat cat", "cat dog", "bird"], k1=1.2, b=0.0)
    s = bm2.scores("cat dog")
    assert s[1] > s[0] > s[2] == 0.0
    # longer documents are penalised when b > 0
    bm3 = BM25(["cat", "cat fish bird tree"], b=1.0)
    s3 = bm3.scores("cat")
    assert s3[0] > s3[1]
    flat = BM25(["cat", "cat fish bird tree"], b=0.0).scores("cat")
    assert flat[0] == pytest.approx(flat[1])  # b = 0: length does not matter


def test_bm25_search_order_and_errors():
    bm = BM25(DOCS)
    hits = bm.search("cat dog", k=4)
    assert [i for _, i in hits][:1] == [1]  # the document with both words first
    assert [s for s, _ in hits] == sorted((s for s, _ in hits), reverse=True)
    with pytest.raises(ValueError, match="k must be"):
        bm.search("cat", k=0)
    with pytest.raises(TypeError, match="wrap it"):
        BM25("one document")
    with pytest.raises(ValueError, match="at least one"):
        BM25([])


def test_recall_at_k():
    ranked = [[3, 1, 2], [0, 2, 1], [2, 0, 1]]
    gold = [1, 0, 1]
    assert recall_at_k(ranked, gold, 1) == pytest.approx(1 / 3)
    assert recall_at_k(ranked, gold, 2) == pytest.approx(2 / 3)
    assert recall_at_k(ranked, gold, 3) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="one each"):
        recall_at_k(ranked, gold[:2], 1)


def test_book_questions_name_pages_that_exist():
    chapters = Path(__file__).resolve().parents[2] / "chapters"
    pages = {c.source for c in book_chunks(chapters)}
    assert len(BOOK_QUESTIONS) >= 50
    assert len({q for q, _ in BOOK_QUESTIONS}) == len(BOOK_QUESTIONS)  # no duplicates
    missing = {p for _, p in BOOK_QUESTIONS if p not in pages}
    assert not missing, f"questions point at pages that are not in the book: {missing}"


def test_page_recall_counts_pages_once_and_reports_chance():
    from lmbook.tasks.retrieval import Chunk, page_recall

    chunks = [
        Chunk("a.md", "", "x"),
        Chunk("a.md", "", "y"),
        Chunk("b.md", "", "z"),
        Chunk("c.md", "", "w"),
    ]
    questions = [("q1", "b.md"), ("q2", "c.md")]
    # both rankings put two chunks of page a first: then page b (2nd page), then c (3rd)
    # (without counting page a once, page b would be 3rd and page c 4th)
    rank = lambda qs: [[0, 1, 2, 3], [1, 0, 2, 3]]  # noqa: E731
    table = page_recall(chunks, questions, {"r": rank}, ks=(1, 2, 3))
    assert table["r"] == {1: 0.0, 2: 0.5, 3: 1.0}
    assert table["random pages"] == {1: pytest.approx(1 / 3), 2: pytest.approx(2 / 3), 3: 1.0}
    with pytest.raises(ValueError, match="no chunk"):
        page_recall(chunks, [("q", "d.md")], {})


def test_page_ranks_per_question_agree_with_page_recall():
    from lmbook.tasks.retrieval import Chunk, page_ranks, page_recall

    pages = ["a.md", "a.md", "b.md", "c.md"]
    chunks = [Chunk(p, "", t) for p, t in zip(pages, "xyzw", strict=True)]
    questions = [("q1", "b.md"), ("q2", "a.md"), ("q3", "c.md")]
    rank = lambda qs: [[0, 1, 2, 3], [1, 2], [3, 0]]  # noqa: E731  (q2's list is partial)
    assert page_ranks(chunks, questions, rank) == [2, 1, 1]
    partial = lambda qs: [[0], [0], [0]]  # noqa: E731  pages never reached rank n_pages + 1
    assert page_ranks(chunks, questions, partial) == [4, 1, 4]
    table = page_recall(chunks, questions, {"r": rank}, ks=(1, 2))
    assert table["r"] == {1: pytest.approx(2 / 3), 2: 1.0}
    with pytest.raises(ValueError, match="2 rankings for 3"):
        page_ranks(chunks, questions, lambda qs: [[0], [1]])


def test_bm25_finds_the_page_for_most_book_questions():
    from lmbook.tasks.retrieval import bm25_ranker, page_recall

    chapters = Path(__file__).resolve().parents[2] / "chapters"
    chunks = book_chunks(chapters)
    table = page_recall(chunks, BOOK_QUESTIONS, {"bm25": bm25_ranker(chunks)})
    # keyword search on hand-written questions: far above chance, not perfect
    assert table["bm25"][5] > 3 * table["random pages"][5], table
    assert table["bm25"][1] > 5 * table["random pages"][1], table


def test_one_home_for_sentence_embeddings():
    import lmbook.tasks.retrieval as retrieval
    import lmbook.tasks.sentence_embedding as sentence_embedding
    import lmbook.tasks.summarize as summarize

    assert summarize.embed_sentences is sentence_embedding.embed_sentences
    assert retrieval.embed_sentences is sentence_embedding.embed_sentences
