"""Extractive summarization: split, embed, rank sentences, pick the top k.

Extractive summarization copies the k sentences of a document that best cover
it. Here a sentence is embedded by mean-pooling the token vectors of a BERT
encoder (all-MiniLM-L6-v2 was trained for exactly that (Reimers & Gurevych 2019)),
and sentences are ranked either by cosine similarity to the document's mean
embedding (the *centroid* method) or by Maximal Marginal Relevance
(Carbonell & Goldstein 1998), which trades relevance for novelty so the summary does
not repeat itself. The lead-k baseline (the first k sentences) is famously hard
to beat on news and papers, whose authors put the point first.

Shapes: N sentences, D embedding width.

Introduced in: Chapter 6 (6.1 summarization).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from lmbook.tasks.sentence_embedding import embed_sentences  # one home for 6.1 and 6.3

__all__ = [
    "centroid_rank",
    "embed_documents",
    "embed_sentences",
    "lead_k",
    "mmr_rank",
    "split_sentences",
    "summarize",
]

# Abbreviations after which a period does not end a sentence (lowercased, without the dot).
_ABBREVIATIONS = frozenset(
    "e.g i.e et al etc vs cf fig figs eq eqs sec secs tab no dr mr mrs ms prof st jr sr "
    "approx resp ca viz".split()
)
# A candidate boundary: . ! or ? (possibly followed by closing quotes/brackets), then spaces,
# then something that can start a sentence (capital, digit, opening quote or bracket).
_BOUNDARY = re.compile(r"([.!?][\"')\]]*)\s+(?=[\"'(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Split English text into sentences with a rule-based splitter.

    Splits after ``.``, ``!`` or ``?`` followed by whitespace and a capital letter
    or digit, except after common abbreviations ("e.g.", "et al.", "Fig.") and
    single initials ("J. Smith"). Newlines inside a sentence are kept as spaces.

    Args:
        text: a paragraph or document.

    Returns:
        the sentences, stripped, in order; empty text gives [].

    Example:
        >>> split_sentences("We use BERT (Devlin et al. 2019). It works, e.g. on QA. Done!")
        ['We use BERT (Devlin et al. 2019).', 'It works, e.g. on QA.', 'Done!']
    """
    if not isinstance(text, str):
        raise TypeError(f"split_sentences expects a str, got {type(text).__name__}")
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        return []
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end(1)
        before = text[start : match.start(1) + 1]
        last_word = before.rsplit(" ", 1)[-1].rstrip(".!?").lstrip("(\"'[").lower()
        if match.group(1).startswith(".") and (
            last_word in _ABBREVIATIONS or (len(last_word) == 1 and last_word.isalpha())
        ):
            continue
        sentences.append(text[start:end].strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def embed_documents(
    model: nn.Module,
    tokenizer: Any,
    documents: Sequence[Sequence[str]],
    batch_size: int = 64,
    max_length: int = 128,
    normalize: bool = True,
) -> list[torch.Tensor]:
    """Sentence embeddings of many documents at once: one `embed_sentences` call over all.

    Embedding document by document runs many small, ragged batches (a 5-sentence abstract is a
    batch of 5, padded to its longest sentence). Pooling every sentence of every document into
    one length-sorted stream fills each batch and pads it least, the same results in fewer,
    fuller forward passes.

    Args:
        model, tokenizer, batch_size, max_length, normalize: as for `embed_sentences`.
        documents: M documents, each a list of sentences (may be empty).

    Returns:
        M tensors, the i-th of shape (len(documents[i]), D), in input order.

    Introduced in: Chapter 6 (6.1 summarization).
    """
    if isinstance(documents, str) or any(isinstance(d, str) for d in documents):
        raise TypeError(
            "embed_documents expects a list of documents, each a list of sentences; "
            "split each text first (split_sentences)"
        )
    flat = [s for doc in documents for s in doc]
    emb = embed_sentences(model, tokenizer, flat, batch_size, max_length, normalize)  # (ΣN, D)
    return list(torch.split(emb, [len(doc) for doc in documents]))


def _check_embeddings(embeddings: torch.Tensor) -> torch.Tensor:
    if embeddings.dim() != 2 or embeddings.size(0) == 0:
        raise ValueError(
            f"embeddings must be a non-empty (N, D) tensor, got shape {tuple(embeddings.shape)}"
        )
    return nn.functional.normalize(embeddings.float(), dim=-1)


def centroid_rank(embeddings: torch.Tensor) -> list[int]:
    """Sentence indices ordered by cosine similarity to the document centroid, best first.

    The centroid (mean of the normalised sentence embeddings) stands for "what the
    document is about"; the sentences closest to it are the most central ones.

    Args:
        embeddings: (N, D) sentence embeddings.

    Returns:
        a permutation of range(N).
    """
    e = _check_embeddings(embeddings)
    centroid = nn.functional.normalize(e.mean(dim=0), dim=0)  # (N, D) -> (D,)
    scores = e @ centroid  # (N,)
    return torch.argsort(scores, descending=True, stable=True).tolist()


def mmr_rank(
    embeddings: torch.Tensor,
    k: int,
    lambda_: float = 0.7,
    query: torch.Tensor | None = None,
) -> list[int]:
    """Pick k sentences by Maximal Marginal Relevance (Carbonell & Goldstein 1998).

    Each step picks the sentence i maximising
    ``lambda_ * sim(i, query) - (1 - lambda_) * max_{j picked} sim(i, j)``:
    relevant to the query (default: the document centroid) but unlike what is
    already in the summary. ``lambda_ = 1`` is the centroid ranking.

    Args:
        embeddings: (N, D) sentence embeddings.
        k: how many sentences to select (capped at N).
        lambda_: relevance weight in [0, 1].
        query: optional (D,) query vector; default the centroid of the sentences.

    Returns:
        the k selected indices, in selection order.
    """
    if not 0.0 <= lambda_ <= 1.0:
        raise ValueError(f"lambda_ must be in [0, 1], got {lambda_}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    e = _check_embeddings(embeddings)
    q = e.mean(dim=0) if query is None else query.to(e)
    q = nn.functional.normalize(q, dim=0)
    relevance = e @ q  # (N,)
    sim = e @ e.T  # (N, N) cosine similarities
    selected: list[int] = []
    available = torch.ones(e.size(0), dtype=torch.bool, device=e.device)
    redundancy = torch.zeros_like(relevance)  # max similarity to anything selected so far
    for _ in range(min(k, e.size(0))):
        score = lambda_ * relevance - (1.0 - lambda_) * redundancy
        score = score.masked_fill(~available, float("-inf"))
        i = int(score.argmax())
        selected.append(i)
        available[i] = False
        redundancy = torch.maximum(redundancy, sim[i])
    return selected


def lead_k(sentences: Sequence[str], k: int) -> list[str]:
    """The lead-k baseline: the first k sentences of the document."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return list(sentences[:k])


def summarize(
    sentences: Sequence[str],
    k: int,
    method: str = "centroid",
    model: nn.Module | None = None,
    tokenizer: Any = None,
    embeddings: torch.Tensor | None = None,
    lambda_: float = 0.7,
    keep_order: bool = True,
) -> list[str]:
    """An extractive summary of k sentences.

    Args:
        sentences: the document, already split (see `split_sentences`).
        k: summary length in sentences.
        method: "lead" (first k), "centroid" or "mmr".
        model, tokenizer: the encoder used to embed sentences (not needed for
            "lead" or when ``embeddings`` are given).
        embeddings: precomputed (N, D) sentence embeddings, to rank several ways
            without re-encoding.
        lambda_: MMR's relevance weight.
        keep_order: return the chosen sentences in document order (reads better)
            rather than in rank order.

    Returns:
        the chosen sentences.
    """
    methods = ("lead", "centroid", "mmr")
    if method not in methods:
        raise ValueError(f"unknown method {method!r}; use one of {methods}")
    if not sentences:
        return []
    if method == "lead":
        return lead_k(sentences, k)
    if embeddings is None:
        if model is None or tokenizer is None:
            raise ValueError(f"method {method!r} needs model and tokenizer, or embeddings")
        embeddings = embed_sentences(model, tokenizer, sentences)
    if embeddings.size(0) != len(sentences):
        raise ValueError(
            f"got {embeddings.size(0)} embeddings for {len(sentences)} sentences; embed "
            "exactly the sentences you pass"
        )
    if method == "centroid":
        chosen = centroid_rank(embeddings)[:k]
    else:
        chosen = mmr_rank(embeddings, k, lambda_=lambda_)
    if keep_order:
        chosen = sorted(chosen)
    return [sentences[i] for i in chosen]
