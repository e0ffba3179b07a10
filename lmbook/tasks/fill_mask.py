"""Fill in the blanks: a masked language model's top-k guesses for each [MASK], and the
baseline every masked LM must beat.

This is how BERT's pretraining objective is inspected by eye (Devlin et al. 2019): hide a
word, ask the model for its most probable replacements. ``FrequencyBaseline`` is the MLM's
trivial baseline: predict every masked token from corpus frequencies alone, ignoring the
context; a model whose masked-token loss is not clearly below it has not learned to use
context.

Introduced in: Chapter 5 (5.1 BERT pretraining: fill-ins before and after training).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

__all__ = ["FrequencyBaseline", "fill_mask"]


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


class FrequencyBaseline:
    """Predict every masked token by its corpus frequency (a unigram model), context ignored.

    p(w) = (count(w) + alpha) / (N + alpha * V), counted on the training token stream.

    Args:
        token_ids: the training text as one stream of token ids.
        vocab_size: V.
        alpha: add-alpha smoothing, so no token has probability zero.

    Example:
        >>> base = FrequencyBaseline(torch.tensor([5, 5, 5, 7]), vocab_size=10, alpha=1.0)
        >>> round(base.nll(torch.tensor([5])), 4)   # -ln((3 + 1) / (4 + 10))
        1.2528
    """

    def __init__(self, token_ids: torch.Tensor, vocab_size: int, alpha: float = 1.0) -> None:
        if token_ids.dim() != 1 or token_ids.numel() == 0:
            raise ValueError("token_ids must be a non-empty 1-D stream of ids; flatten it first")
        if alpha <= 0:
            raise ValueError(
                f"alpha must be > 0 (a zero probability makes the loss infinite), got {alpha}"
            )
        if int(token_ids.max()) >= vocab_size or int(token_ids.min()) < 0:
            raise ValueError(f"token ids must lie in [0, {vocab_size}); check vocab_size")
        counts = torch.bincount(token_ids.long(), minlength=vocab_size).double() + alpha
        self.log_probs = (counts / counts.sum()).log().float()  # (V,)

    def nll(self, labels: torch.Tensor, ignore_index: int = -100) -> float:
        """Mean negative log-likelihood in nats over the labels that are not ``ignore_index``.

        ``labels`` is what ``mlm_mask`` returns: the original id at masked positions, -100
        elsewhere, so this is directly comparable with a masked-LM's loss on the same masks.
        """
        chosen = labels[labels != ignore_index]
        if chosen.numel() == 0:
            raise ValueError("no masked positions in labels (all are ignore_index)")
        return float(-self.log_probs.to(chosen.device)[chosen].mean())
