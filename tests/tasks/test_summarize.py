"""Extractive summarization: sentence splitting, embeddings, centroid/MMR ranking, lead-k."""

import pytest
import torch

from lmbook.models import BERT, BertConfig
from lmbook.tasks.summarize import (
    centroid_rank,
    embed_documents,
    embed_sentences,
    lead_k,
    mmr_rank,
    split_sentences,
    summarize,
)


def test_split_sentences_handles_abbreviations_initials_and_decimals():
    text = (
        "We follow Devlin et al. (2019) closely. Scores rise by 3.5 points, e.g. on SQuAD. "
        "See Fig. 2 for J. Smith's plot! Does it hold? Yes."
    )
    assert split_sentences(text) == [
        "We follow Devlin et al. (2019) closely.",
        "Scores rise by 3.5 points, e.g. on SQuAD.",
        "See Fig. 2 for J. Smith's plot!",
        "Does it hold?",
        "Yes.",
    ]
    assert split_sentences("  ") == []
    assert split_sentences("no final stop") == ["no final stop"]
    with pytest.raises(TypeError):
        split_sentences(["a list"])


def test_centroid_rank_orders_by_similarity_to_the_mean():
    e = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.2]])
    # centroid direction ~ (3, 2.2): closest is (1, 1)... then (1, 0.2)
    assert centroid_rank(e)[:2] == [2, 3]


def test_mmr_trades_relevance_for_novelty():
    # two near-duplicates close to the centroid and one different sentence
    e = torch.tensor([[1.0, 0.1], [1.0, 0.11], [0.2, 1.0]])
    assert mmr_rank(e, k=2, lambda_=1.0) == centroid_rank(e)[:2]  # pure relevance: duplicates
    assert mmr_rank(e, k=2, lambda_=0.3) == [centroid_rank(e)[0], 2]  # novelty: the other one
    assert sorted(mmr_rank(e, k=10)) == [0, 1, 2]  # capped at N, no repeats
    with pytest.raises(ValueError, match="lambda_"):
        mmr_rank(e, 2, lambda_=1.5)


class ToyTokenizer:
    """Whitespace tokenizer with the WordPiece call signature (ids 0 pad, 1 cls, 2 sep)."""

    def __init__(self):
        self.vocab = {}

    def __call__(self, texts, padding=True, truncation=True, max_length=None, return_tensors="pt"):
        rows = [
            [1] + [3 + self.vocab.setdefault(w, len(self.vocab) % 90) for w in t.split()] + [2]
            for t in texts
        ]
        if max_length:
            rows = [r[:max_length] for r in rows]
        T = max(map(len, rows))
        ids = torch.zeros(len(rows), T, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r)
            mask[i, : len(r)] = 1
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}


def test_embed_sentences_unit_norm_batch_independent():
    torch.manual_seed(0)
    model = BERT(BertConfig.preset("tiny"))
    model.train()
    tok = ToyTokenizer()
    sents = ["a b c", "d e", "a b c d e f g", "g"]
    e1 = embed_sentences(model, tok, sents, batch_size=4)
    e2 = embed_sentences(model, tok, sents, batch_size=1)  # no padding at all
    assert e1.shape == (4, 36)
    torch.testing.assert_close(e1.norm(dim=-1), torch.ones(4))
    torch.testing.assert_close(e1, e2, atol=1e-5, rtol=1e-5)  # padding changes nothing
    assert model.training  # mode restored
    with pytest.raises(TypeError, match="list of sentences"):
        embed_sentences(model, tok, "a b c")


def test_embed_documents_equals_one_document_at_a_time():
    torch.manual_seed(0)
    model = BERT(BertConfig.preset("tiny"))
    tok = ToyTokenizer()
    docs = [["a b c", "d e"], [], ["a b c d e f g", "g", "e f"]]
    out = embed_documents(model, tok, docs, batch_size=4)
    assert [tuple(e.shape) for e in out] == [(2, 36), (0, 36), (3, 36)]
    for doc, e in zip(docs, out, strict=True):
        if doc:
            torch.testing.assert_close(e, embed_sentences(model, tok, doc), atol=1e-5, rtol=1e-5)
    with pytest.raises(TypeError, match="list of sentences"):
        embed_documents(model, tok, ["a b c", "d e"])


def test_summarize_methods():
    sents = ["first one", "second one", "third one", "fourth one"]
    assert summarize(sents, 2, method="lead") == lead_k(sents, 2) == sents[:2]
    e = torch.tensor([[0.0, 1.0], [1.0, 0.1], [1.0, 0.0], [1.0, 0.05]])
    out = summarize(sents, 2, method="centroid", embeddings=e)
    assert out == [sents[1], sents[3]]  # the two closest to the centroid, in document order
    with pytest.raises(ValueError, match="model and tokenizer"):
        summarize(sents, 2, method="mmr")
    with pytest.raises(ValueError, match="unknown method"):
        summarize(sents, 2, method="textrank")
    with pytest.raises(ValueError, match="embeddings for"):
        summarize(sents, 2, method="mmr", embeddings=e[:3])
