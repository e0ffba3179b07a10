"""Word2Vec on a real corpus: a slice of Shakespeare gives sensible neighbours."""

import pytest

from lmbook.embeddings import Word2Vec, corpus_sentences


@pytest.mark.slow
def test_shakespeare_neighbours():
    data = pytest.importorskip("lmbook.data")
    sentences = corpus_sentences(data.load("shakespeare"))
    sentences = sentences[::6]  # every 6th sentence of all 38 plays, about 145k words
    model = Word2Vec(dim=50, epochs=3, seed=0).fit(sentences)
    king = {w for w, _ in model.most_similar("king", topn=10)}
    royals = {"prince", "duke", "queen", "henry", "edward", "richard", "lord", "emperor", "harry"}
    assert len(king & royals) >= 2, king
