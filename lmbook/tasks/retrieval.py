"""Retrieval: find the passages that answer a question, by keywords (BM25) or by meaning.

Two retrievers, and the metric that compares them:

- ``BM25`` (Robertson & Zaragoza 2009) scores a passage by the query words it contains,
  weighting rare words up (inverse document frequency) and saturating repeated ones
  (``k1``), with long passages penalised (``b``). It learns nothing and is the
  baseline every dense retriever has to beat.
- ``BookIndex`` embeds passages with a sentence encoder (all-MiniLM-L6-v2) and ranks them
  by cosine similarity to the question's embedding (dense retrieval).
- ``recall_at_k``: the share of questions whose gold passage is among the first k hits.

``book_chunks`` cuts the book's own pages into passages ("ask the book").

Shapes: N passages, D embedding width.

Introduced in: Chapter 6 (6.3 question answering).
"""

from __future__ import annotations

import collections
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lmbook.tasks.sentence_embedding import embed_sentences

__all__ = [
    "BM25",
    "BookIndex",
    "Chunk",
    "bm25_ranker",
    "book_chunks",
    "chunk_text",
    "keyword_tokenize",
    "page_ranks",
    "page_recall",
    "recall_at_k",
]

# English function words that carry no topic; BM25's idf already weights them down, but
# dropping them keeps short questions from matching on "the" and "of".
_STOPWORDS = frozenset(
    "a an and are as at be by do does for from how i in is it its of on or that the this to "
    "was we what when where which who why will with you your".split()
)
_TOKEN = re.compile(r"[a-z0-9]+")


def keyword_tokenize(text: str) -> list[str]:
    """Lowercased letter/digit runs without stopwords: the words BM25 matches on.

    Example:
        >>> keyword_tokenize("Why divide by the square root of d_k?")
        ['divide', 'square', 'root', 'd', 'k']
    """
    return [w for w in _TOKEN.findall(text.lower()) if w not in _STOPWORDS]


class BM25:
    """Okapi BM25 keyword retrieval over a fixed list of documents.

    score(q, d) = sum over query words w of
    idf(w) * f(w, d) * (k1 + 1) / (f(w, d) + k1 * (1 - b + b * len(d) / avgdl)),
    with idf(w) = ln(1 + (N - n(w) + 0.5) / (n(w) + 0.5)) (the non-negative variant Lucene
    uses), f(w, d) the count of w in d, len(d) the length of d and avgdl the mean length.

    Args:
        documents: the N texts to search.
        k1: term-frequency saturation (1.2-2.0 usual; 0 ignores repetitions).
        b: length normalisation (0 none, 1 full).
        tokenize: text -> words (default `keyword_tokenize`).

    Example:
        >>> bm25 = BM25(["the cat sat", "a dog barked", "cats and dogs"])
        >>> bm25.search("dog", k=1)
        [(0.98..., 1)]
    """

    def __init__(
        self,
        documents: Sequence[str],
        k1: float = 1.5,
        b: float = 0.75,
        tokenize: Callable[[str], list[str]] = keyword_tokenize,
    ) -> None:
        if isinstance(documents, str):
            raise TypeError("BM25 expects a list of documents, not one str; wrap it: [text]")
        if not documents:
            raise ValueError("BM25 needs at least one document")
        if k1 < 0 or not 0 <= b <= 1:
            raise ValueError(f"need k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        self.k1, self.b, self.tokenize = k1, b, tokenize
        self.counts = [collections.Counter(tokenize(d)) for d in documents]
        self.lengths = [sum(c.values()) for c in self.counts]
        self.avgdl = max(sum(self.lengths) / len(documents), 1e-9)
        df = collections.Counter(w for c in self.counts for w in c)
        n = len(documents)
        self.idf = {w: math.log(1 + (n - m + 0.5) / (m + 0.5)) for w, m in df.items()}
        # inverted index: word -> [(document, count)], so a query touches only its postings
        self.postings: dict[str, list[tuple[int, int]]] = collections.defaultdict(list)
        for i, c in enumerate(self.counts):
            for w, f in c.items():
                self.postings[w].append((i, f))

    def __len__(self) -> int:
        return len(self.counts)

    def scores(self, query: str) -> list[float]:
        """BM25 score of every document for ``query`` (0 for documents sharing no word)."""
        out = [0.0] * len(self.counts)
        for w in set(self.tokenize(query)):
            idf = self.idf.get(w)
            if idf is None:
                continue
            for i, f in self.postings[w]:
                norm = self.k1 * (1 - self.b + self.b * self.lengths[i] / self.avgdl)
                out[i] += idf * f * (self.k1 + 1) / (f + norm)
        return out

    def search(self, query: str, k: int = 5) -> list[tuple[float, int]]:
        """The k best documents: (score, index), best first; ties keep document order."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        s = self.scores(query)
        top = sorted(range(len(s)), key=lambda i: (-s[i], i))[:k]
        return [(s[i], i) for i in top]


def recall_at_k(ranked: Sequence[Sequence[int]], gold: Sequence[int], k: int) -> float:
    """Share of questions (in [0, 1]) whose gold document is among their first k ranked ones.

    Args:
        ranked: per question, document indices best first (at least k of them, or all).
        gold: per question, the index of the document that answers it.
        k: how many hits count.
    """
    if len(ranked) != len(gold):
        raise ValueError(f"{len(ranked)} rankings for {len(gold)} gold documents; pass one each")
    if not gold:
        raise ValueError("recall_at_k: no questions to score")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return sum(g in list(r)[:k] for r, g in zip(ranked, gold, strict=True)) / len(gold)


# ----------------------------------------------------------------------------------------------
# The book's pages as passages
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chunk:
    """A passage of the book: where it comes from and its text."""

    source: str
    heading: str
    text: str


# A fence: three or more backticks or tildes, then an optional info string ("python",
# "{solution} ex-1"). As in CommonMark, a block closes only at a fence of the same character,
# at least as long, with no info string, so a ``` code block inside a ```` directive stays inside.
_FENCE = re.compile(r"^(`{3,}|~{3,})(.*)$")


def _closes(fence: str, marks: str, info: str) -> bool:
    return marks[0] == fence[0] and len(marks) >= len(fence) and not info.strip()


def _markdown_chunks(markdown: str, source: str, max_words: int) -> list[Chunk]:
    chunks: list[Chunk] = []
    heading, para = "", []
    fence: str | None = None  # the fence of the open code or directive block, if any

    def flush() -> None:
        words = " ".join(para).split()
        for i in range(0, len(words), max_words):
            piece = " ".join(words[i : i + max_words])
            if len(piece.split()) >= 8:  # skip captions and stray lines
                chunks.append(Chunk(source, heading, piece))
        para.clear()

    for line in markdown.splitlines():
        stripped = line.strip()
        match = _FENCE.match(stripped)
        # code and directive blocks ({exercise}, {solution}) are skipped: the retrieval
        # answers with prose
        if fence is None and match:
            fence = match.group(1)
            flush()
            continue
        if fence is not None:
            if match and _closes(fence, match.group(1), match.group(2)):
                fence = None
            continue
        if stripped.startswith("#"):
            flush()
            heading = stripped.lstrip("#").strip()
            continue
        if not stripped:
            flush()
            continue
        if stripped.startswith(("|", ":", "<")):  # tables, directive options, html
            continue
        para.append(stripped)
    flush()
    return chunks


def book_chunks(root: str | Path, max_words: int = 120) -> list[Chunk]:
    """Chunks of prose from the book: every ``*.md`` page and every notebook markdown cell.

    A chunk is a paragraph (split further at ``max_words`` words) with the heading it
    sits under; code, tables and directive blocks are left out.

    Args:
        root: the folder to scan (e.g. the book's ``chapters/`` folder).
        max_words: longest chunk (all-MiniLM-L6-v2 reads at most 256 word pieces).

    Returns:
        chunks in sorted file order.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder; pass the book's chapters/ folder")
    chunks: list[Chunk] = []
    for path in sorted(root.rglob("*")):
        if ".ipynb_checkpoints" in path.parts or not path.is_file():
            continue
        rel = str(path.relative_to(root))
        if path.suffix == ".md":
            chunks += _markdown_chunks(path.read_text(encoding="utf-8"), rel, max_words)
        elif path.suffix == ".ipynb":
            try:
                nb = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as err:
                raise ValueError(f"{path} is not valid notebook JSON: {err}") from err
            for cell in nb.get("cells", []):
                if cell.get("cell_type") == "markdown":
                    src = cell.get("source", "")
                    src = "".join(src) if isinstance(src, list) else src
                    chunks += _markdown_chunks(src, rel, max_words)
    return chunks


def chunk_text(chunk: Chunk) -> str:
    """The text a retriever indexes for a chunk: its heading, then its words."""
    return f"{chunk.heading}. {chunk.text}" if chunk.heading else chunk.text


class BookIndex:
    """A dense retrieval index: chunk embeddings, searched by cosine similarity.

    Args:
        model: an lmbook ``BERT`` with sentence-embedding weights (all-MiniLM-L6-v2).
        tokenizer: its ``WordPieceTokenizer``.
        chunks: the passages to index (see `book_chunks`).
        batch_size: chunks per forward pass when building the index.

    Example:
        >>> index = BookIndex(model, tok, book_chunks("chapters"))   # doctest: +SKIP
        >>> index.search("why divide by the square root of d_k?", k=3)   # doctest: +SKIP
    """

    def __init__(
        self, model: nn.Module, tokenizer: Any, chunks: Sequence[Chunk], batch_size: int = 32
    ) -> None:
        if not chunks:
            raise ValueError("no chunks to index; check the folder passed to book_chunks")
        self.model, self.tokenizer, self.chunks = model, tokenizer, list(chunks)
        self.embeddings = embed_sentences(
            model, tokenizer, [chunk_text(c) for c in self.chunks], batch_size, max_length=256
        )  # (N, D), unit norm

    def rank(self, questions: Sequence[str], k: int = 5) -> list[list[int]]:
        """For each question, the indices of its k most similar chunks, best first."""
        if isinstance(questions, str):
            raise TypeError("rank expects a list of questions, not one str; wrap it: [q]")
        q = embed_sentences(self.model, self.tokenizer, list(questions))  # (Q, D)
        scores = q @ self.embeddings.T  # (Q, D) @ (D, N) -> (Q, N)
        return torch.topk(scores, min(k, len(self.chunks)), dim=-1).indices.tolist()

    def search(self, question: str, k: int = 3) -> list[tuple[float, Chunk]]:
        """The k chunks most similar to ``question``: (cosine similarity, chunk), best first."""
        if not question.strip():
            raise ValueError("the question is empty; type a question")
        q = embed_sentences(self.model, self.tokenizer, [question])[0]  # (D,)
        scores = self.embeddings @ q  # (N, D) @ (D,) -> (N,)
        top = torch.topk(scores, min(k, len(self.chunks)))
        return [
            (float(s), self.chunks[int(i)]) for s, i in zip(top.values, top.indices, strict=True)
        ]


def _answer_pages(chunks: Sequence[Chunk], questions: Sequence[tuple[str, str]]) -> set[str]:
    """The indexed pages; refuses questions whose answer page has no chunk."""
    pages = {c.source for c in chunks}
    missing = sorted({p for _, p in questions if p not in pages})
    if missing:
        raise ValueError(f"questions name pages that have no chunk: {missing}; check the folder")
    return pages


def page_ranks(
    chunks: Sequence[Chunk],
    questions: Sequence[tuple[str, str]],
    rank: Callable[[list[str]], list[list[int]]],
) -> list[int]:
    """Per question, the 1-based rank of the page that answers it among the pages a ranker returns.

    A chunk's page is its ``source``; the ranking of chunks becomes a ranking of pages by
    each page's first appearance (repeated pages count once). A gold page that the ranking
    never reaches gets rank ``number of pages + 1``. ``rank <= k`` is the question's hit at
    k, so the per-question ranks give recall@k for any k and let two rankers be compared
    question by question (a paired comparison) on the same questions.

    Args:
        chunks: the indexed passages.
        questions: (question, page) pairs, page as in ``Chunk.source``
            (e.g. ``lmbook.tasks.book_questions.BOOK_QUESTIONS``).
        rank: ranking function: list of questions -> per question, chunk indices best first.

    Returns:
        one rank per question, in question order.
    """
    pages = _answer_pages(chunks, questions)
    rows = rank([q for q, _ in questions])
    if len(rows) != len(questions):
        raise ValueError(f"the ranker returned {len(rows)} rankings for {len(questions)} questions")
    out = []
    for row, (_, page) in zip(rows, questions, strict=True):
        ranked_pages = list(dict.fromkeys(chunks[i].source for i in row))
        out.append(ranked_pages.index(page) + 1 if page in ranked_pages else len(pages) + 1)
    return out


def page_recall(
    chunks: Sequence[Chunk],
    questions: Sequence[tuple[str, str]],
    rankers: dict[str, Callable[[list[str]], list[list[int]]]],
    ks: Sequence[int] = (1, 3, 5),
) -> dict[str, dict[int, float]]:
    """Recall@k at the page level: is the page that answers a question among the first k pages?

    Each ranker maps the list of questions to, per question, chunk indices best first (see
    `page_ranks`). The row "random pages" is the trivial baseline, k / (number of pages).

    Args:
        chunks: the indexed passages.
        questions: (question, page) pairs, page as in ``Chunk.source``.
        rankers: name -> ranking function (e.g. BM25 search, ``BookIndex.rank``).
        ks: the cut-offs.

    Returns:
        {ranker name: {k: recall}}, plus "random pages".
    """
    if not questions:
        raise ValueError("page_recall: no questions to score")
    n_pages = len(_answer_pages(chunks, questions))
    out: dict[str, dict[int, float]] = {}
    for name, rank in rankers.items():
        ranks = page_ranks(chunks, questions, rank)
        out[name] = {k: sum(r <= k for r in ranks) / len(ranks) for k in ks}
    out["random pages"] = {k: min(k / n_pages, 1.0) for k in ks}
    return out


def bm25_ranker(chunks: Sequence[Chunk]) -> Callable[[list[str]], list[list[int]]]:
    """A ranking function for `page_recall`: BM25 over the chunks' texts, all chunks ranked."""
    index = BM25([chunk_text(c) for c in chunks])
    return lambda qs: [[i for _, i in index.search(q, k=len(index))] for q in qs]


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m lmbook.tasks.retrieval [chapters/]``: the recall table of 6.3, BM25 vs MiniLM."""
    import argparse

    from lmbook import data
    from lmbook.hf import load_pretrained
    from lmbook.tasks.book_questions import BOOK_QUESTIONS
    from lmbook.tokenizers import WordPieceTokenizer

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("chapters", nargs="?", default="chapters", help="the book's chapters/")
    parser.add_argument("--keywords-only", action="store_true", help="skip MiniLM (fast)")
    args = parser.parse_args(argv)
    chunks = book_chunks(args.chapters)
    rankers = {"BM25 (keywords)": bm25_ranker(chunks)}
    if not args.keywords_only:
        minilm = data.load("minilm")
        tok = WordPieceTokenizer.from_file(minilm / "vocab.txt", lowercase=True)
        index = BookIndex(load_pretrained(minilm).eval(), tok, chunks)
        rankers["MiniLM (dense)"] = lambda qs: index.rank(qs, k=len(chunks))
    table = page_recall(chunks, BOOK_QUESTIONS, rankers)
    n_pages = len({c.source for c in chunks})
    print(f"{len(BOOK_QUESTIONS)} questions, {len(chunks)} chunks from {n_pages} pages")
    print(f"{'':18s} recall@1 recall@3 recall@5")
    for name, r in table.items():
        print(f"{name:18s} {r[1]:8.2f} {r[3]:8.2f} {r[5]:8.2f}")


if __name__ == "__main__":
    main()
