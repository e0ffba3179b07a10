"""Fill in the blanks: a masked language model's top-k guesses for each [MASK].

This is how BERT's pretraining objective is inspected by eye (Devlin et al. 2019): hide a
word, ask the model for its most probable replacements.

Introduced in: Chapter 5 (5.1 BERT pretraining: fill-ins before and after training).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

__all__ = ["fill_mask"]


@torch.no_grad()
def fill_mask(
    model: nn.Module, tokenizer: Any, texts: Sequence[str], k: int = 5
) -> list[list[list[tuple[str, float]]]]:
    """Top-k predictions for every ``[MASK]`` token in each text.

    Args:
        model: an lmbook ``BERT`` (its MLM head is used); run in eval mode.
        tokenizer: its ``WordPieceTokenizer`` (``encode``, ``special_tokens`` with [MASK],
            [CLS], [SEP], [PAD], ``convert_ids_to_tokens``); write each blank as the
            literal ``[MASK]`` in the text.
        texts: sentences with one or more ``[MASK]``.
        k: how many guesses per blank.

    Returns:
        for each text, for each [MASK] in order, k ``(token, probability)`` pairs, best first.
    """
    if isinstance(texts, str):
        raise TypeError("fill_mask expects a list of texts, not one str; wrap it: [text]")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    special = tokenizer.special_tokens
    mask_id, cls_id, sep_id, pad_id = (special[t] for t in ("[MASK]", "[CLS]", "[SEP]", "[PAD]"))
    rows_ids = []
    for text in texts:
        pieces = text.split("[MASK]")
        if len(pieces) == 1:
            raise ValueError(f"no [MASK] token in {text!r}; write the blank as [MASK]")
        # encode the text around each blank and put the mask id in between, so the blank
        # is one token whatever the tokenizer does with the literal "[MASK]"
        ids = [cls_id]
        for i, piece in enumerate(pieces):
            if i:
                ids.append(mask_id)
            ids += tokenizer.encode(piece)
        rows_ids.append([*ids, sep_id])
    T = max(map(len, rows_ids))
    device = next(model.parameters()).device
    input_ids = torch.full((len(texts), T), pad_id, dtype=torch.long)
    attention_mask = torch.zeros_like(input_ids)
    for r, ids in enumerate(rows_ids):
        input_ids[r, : len(ids)] = torch.tensor(ids)
        attention_mask[r, : len(ids)] = 1
    batch = {"input_ids": input_ids.to(device), "attention_mask": attention_mask.to(device)}
    is_mask = batch["input_ids"] == mask_id  # (B, T)
    was_training = model.training
    model.eval()
    try:
        out = model(
            batch["input_ids"],
            attention_mask=batch["attention_mask"],
        )
        # only the masked positions go through the (T, V) output layer: (N, D) -> (N, V)
        logits = model.mlm_logits(out.last_hidden_state[is_mask].unsqueeze(0)).squeeze(0)
    finally:
        model.train(was_training)
    probs, ids = torch.softmax(logits.float(), dim=-1).topk(k, dim=-1)  # (N, k)
    results: list[list[list[tuple[str, float]]]] = [[] for _ in texts]
    rows = is_mask.nonzero()[:, 0].tolist()  # row of each masked position, in order
    for n, row in enumerate(rows):
        tokens = tokenizer.convert_ids_to_tokens(ids[n].tolist())
        results[row].append([(t, float(p)) for t, p in zip(tokens, probs[n], strict=True)])
    return results
