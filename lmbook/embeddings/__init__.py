"""Word embeddings: Word2Vec (skip-gram with negative sampling) and GloVe, with evaluation.

Example:
    >>> from lmbook import data
    >>> from lmbook.embeddings import Word2Vec, analogy_accuracy, corpus_sentences
    >>> sentences = corpus_sentences(data.load("shakespeare"))
    >>> w2v = Word2Vec(dim=100, epochs=5).fit(sentences)  # doctest: +SKIP
    >>> w2v.most_similar("king", topn=5)  # doctest: +SKIP

Introduced in: Chapter 4 (4.1 word embeddings).
"""

from .corpus import build_vocab, corpus_sentences, encode_sentences
from .evaluate import (
    AnalogyResult,
    SimilarityResult,
    analogy_accuracy,
    bootstrap_interval,
    neighbour_agreement,
    read_analogies,
    read_word_pairs,
    similarity_spearman,
    spearman,
)
from .glove import GloVe, cooccurrence
from .vectors import UnknownWordError, WordVectors
from .word2vec import Word2Vec, skipgram_pairs

__all__ = [
    "Word2Vec",
    "GloVe",
    "WordVectors",
    "UnknownWordError",
    "corpus_sentences",
    "build_vocab",
    "encode_sentences",
    "skipgram_pairs",
    "cooccurrence",
    "analogy_accuracy",
    "bootstrap_interval",
    "similarity_spearman",
    "neighbour_agreement",
    "read_analogies",
    "read_word_pairs",
    "spearman",
    "AnalogyResult",
    "SimilarityResult",
]
