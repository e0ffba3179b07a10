"""Turning raw text into the word sentences, vocabulary and id arrays that embedding models train on.

Word2Vec and GloVe do not see characters or subwords: they see a list of sentences, each a list
of lowercase words. This module holds the small, shared preprocessing both models use, so that
lmbook's models and gensim can be fed exactly the same sentences in the book's comparisons.

Introduced in: Chapter 4 (4.1 word embeddings).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["corpus_sentences", "build_vocab", "encode_sentences"]

# A word is a run of letters, with inner apostrophes kept ("what's", "o'er", "bewitch'd"):
# in early-modern English the elided forms are distinct words, not typos.
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
# Sentence ends: . ! ? ; and : all close a clause in Shakespeare's punctuation.
_SENTENCE_END = re.compile(r"[.!?;:]+")
# Scaffolding of play texts: Markdown headings ("## ACT I"), bold speaker tags ("**HAMLET**"),
# and all-capital lines ("HAMLET:", "ACT I", titles). A capital-only line needs two capitals in
# a row, so the exclamation "O, O!" stays.
_MARKUP = re.compile(r"^\s*#|^\s*\*\*[^*]+\*\*\s*$|^[^a-z]*[A-Z]{2}[^a-z]*$")


def corpus_sentences(
    text: str, split: str = "sentence", min_length: int = 2, drop_markup: bool = True
) -> list[list[str]]:
    """Tokenize text into lowercase word sentences for Word2Vec / GloVe.

    Words are runs of letters with inner apostrophes kept; digits and punctuation are dropped.
    With ``split="sentence"`` lines are joined and cut at ``. ! ? ; :`` (a verse line is rarely
    a sentence, and cutting at line ends would shorten every context window); with
    ``split="line"`` each non-empty line is a sentence.

    Args:
        text: raw text, e.g. ``lmbook.data.load("shakespeare")``.
        split: ``"sentence"`` or ``"line"``.
        min_length: sentences with fewer words are dropped (a one-word sentence has no context).
        drop_markup: skip lines that label the text rather than belong to it: Markdown
            headings (``# ...``), speaker tags (``**NAME**``, ``HAMLET:``) and other lines in
            capitals only (``ACT I``, titles).

    Returns:
        A list of sentences, each a list of lowercase words.

    Example:
        >>> corpus_sentences("**HAMLET**\\nTo be, or not to be: that is the question.")
        [['to', 'be', 'or', 'not', 'to', 'be'], ['that', 'is', 'the', 'question']]

    Introduced in: Chapter 4.
    """
    if not isinstance(text, str):
        raise ValueError(
            f"corpus_sentences expects a str, got {type(text).__name__}; pass the raw text "
            "(e.g. lmbook.data.load('shakespeare'))"
        )
    if split not in ("sentence", "line"):
        raise ValueError(f"split must be 'sentence' or 'line', got {split!r}")
    lines = text.splitlines()
    if drop_markup:
        lines = [ln for ln in lines if not _MARKUP.match(ln)]
    chunks = lines if split == "line" else _SENTENCE_END.split("\n".join(lines))
    sentences = []
    for chunk in chunks:
        # Curly apostrophes are normalised so "o’er" and "o'er" are one word.
        words = _WORD.findall(chunk.lower().replace("\u2019", "'"))
        if len(words) >= min_length:
            sentences.append(words)
    return sentences


def _check_sentences(sentences: Iterable[Sequence[str]]) -> Sequence[Sequence[str]]:
    """Reject a raw string or a flat list of words; turn a one-shot iterator into a list."""
    if isinstance(sentences, str):
        raise ValueError(
            "sentences must be a list of lists of words, got one str; "
            "tokenize it first with lmbook.embeddings.corpus_sentences(text)"
        )
    if not isinstance(sentences, Sequence):
        sentences = list(sentences)  # fit reads the corpus twice (vocabulary, then ids)
    if sentences and isinstance(sentences[0], str):
        raise ValueError(
            "sentences must be a list of lists of words, got a list of str; "
            "wrap it ([words]) or use lmbook.embeddings.corpus_sentences(text)"
        )
    return sentences


def build_vocab(
    sentences: Iterable[Sequence[str]], min_count: int = 5
) -> tuple[list[str], np.ndarray]:
    """Count words and keep those seen at least ``min_count`` times, most frequent first.

    Ties are broken alphabetically so the vocabulary (and hence every id) is deterministic.

    Args:
        sentences: a list of word lists.
        min_count: minimum number of occurrences for a word to get a vector.

    Returns:
        ``(vocab, counts)``: the words, and their counts as an int64 array of shape (V,).

    Raises:
        ValueError: when no word reaches ``min_count`` (an empty corpus, or min_count too high).

    Introduced in: Chapter 4.
    """
    sentences = _check_sentences(sentences)
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1, got {min_count}")
    counter: Counter[str] = Counter()
    n_sentences = 0
    for s in sentences:
        counter.update(s)
        n_sentences += 1
    items = sorted(
        ((w, c) for w, c in counter.items() if c >= min_count), key=lambda wc: (-wc[1], wc[0])
    )
    if not items:
        if not counter:
            raise ValueError(
                f"the corpus is empty ({n_sentences} sentences, no words); pass a non-empty "
                "list of word lists, e.g. corpus_sentences(text)"
            )
        raise ValueError(
            f"no word occurs at least min_count={min_count} times (most frequent: "
            f"{counter.most_common(1)[0][1]} times); lower min_count or use a larger corpus"
        )
    vocab = [w for w, _ in items]
    counts = np.array([c for _, c in items], dtype=np.int64)
    return vocab, counts


def encode_sentences(
    sentences: Iterable[Sequence[str]], index: dict[str, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Map sentences to one flat id array, dropping out-of-vocabulary words.

    Dropping (rather than replacing) rare words is what word2vec.c and gensim do: the words on
    either side of a dropped word become neighbours.

    Args:
        sentences: a list of word lists.
        index: word -> id.

    Returns:
        ``(ids, sentence_id)``: both int64 arrays of shape (N,), N the number of kept tokens;
        ``sentence_id[i]`` says which sentence token ``i`` came from, so context windows never
        cross a sentence boundary.

    Introduced in: Chapter 4.
    """
    ids: list[int] = []
    sent: list[int] = []
    for k, s in enumerate(sentences):
        row = [index[w] for w in s if w in index]
        ids.extend(row)
        sent.extend([k] * len(row))
    return np.asarray(ids, dtype=np.int64), np.asarray(sent, dtype=np.int64)
