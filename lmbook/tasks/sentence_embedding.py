"""Sentence embeddings: the mean of a BERT encoder's token vectors over real tokens.

One function used by extractive summarization (6.1: rank sentences) and by dense
retrieval (6.3: rank the book's passages); both import it from here. all-MiniLM-L6-v2
was trained for exactly this pooling (Reimers & Gurevych 2019).

Shapes: N sentences, D embedding width.

Introduced in: Chapter 6 (6.1 summarization).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from lmbook.models.heads import encoder_hidden_states, mean_pool

__all__ = ["embed_sentences"]


@torch.no_grad()
def embed_sentences(
    model: nn.Module,
    tokenizer: Any,
    sentences: Sequence[str],
    batch_size: int = 64,
    max_length: int = 128,
    normalize: bool = True,
) -> torch.Tensor:
    """Sentence embeddings: mean of the encoder's token vectors over real tokens.

    Args:
        model: an lmbook ``BERT`` (e.g. the all-MiniLM-L6-v2 weights); put it on the
            device you want, it is run in eval mode.
        tokenizer: a ``WordPieceTokenizer`` (callable on a list of texts, returning
            input_ids / attention_mask / token_type_ids tensors).
        sentences: N texts.
        batch_size: sentences per forward pass.
        max_length: longer sentences are truncated to this many tokens.
        normalize: L2-normalise, so a dot product is the cosine similarity.

    Returns:
        (N, D) float tensor on the model's device.
    """
    if isinstance(sentences, str):
        raise TypeError("embed_sentences expects a list of sentences, not one str; wrap it: [s]")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    # Batch sentences of similar length together (sorted by characters), so little compute
    # goes to padding; the rows are put back in input order at the end.
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
    out = []
    try:
        for i in range(0, len(order), batch_size):
            batch = tokenizer(
                [sentences[j] for j in order[i : i + batch_size]],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            batch = {k: v.to(device) for k, v in batch.items()}
            hidden = encoder_hidden_states(
                model, batch["input_ids"], batch["attention_mask"], batch.get("token_type_ids")
            )
            emb = mean_pool(hidden, batch["attention_mask"]).float()  # (b, T, D) -> (b, D)
            out.append(nn.functional.normalize(emb, dim=-1) if normalize else emb)
    finally:
        model.train(was_training)
    if not out:
        return torch.zeros(0, getattr(model.config, "d_model", 0), device=device)
    emb = torch.cat(out)
    inverse = torch.empty(len(order), dtype=torch.long)
    inverse[torch.tensor(order)] = torch.arange(len(order))
    return emb[inverse.to(device)]
