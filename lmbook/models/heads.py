"""Task heads on top of a pretrained encoder: sequence classification and extractive QA.

A "head" is the small layer that turns the contextual vectors of a pretrained
transformer into the output a task needs. BERT's paper (Devlin et al. 2019)
(section 4) uses exactly two kinds, both here:

- `SequenceClassifier`: pool the sequence into one vector ([CLS] token, the
  mean over real tokens, or the last real token for a causal model), then one
  linear layer to class logits.
- `BertForQA` / `SpanQAHead`: one linear layer D -> 2 gives every token a
  start score and an end score; the answer is the span (i, j), i <= j, that
  maximises start_i + end_j (SQuAD, Rajpurkar et al. 2016).

Shapes: B batch, T sequence length, D width, C classes.

Introduced in: Chapter 6 (6.3 question answering); the classifier in Chapter 9 (Q3).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lmbook.models.gpt import GPT

__all__ = [
    "BertForQA",
    "SequenceClassifier",
    "SpanQAHead",
    "best_span",
    "encoder_hidden_states",
    "last_token_pool",
    "mean_pool",
    "qa_loss",
    "span_loss",
]

POOLINGS = ("cls", "mean", "last")


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Average the vectors of the real (non-padding) tokens of each sequence.

    This is the pooling all-MiniLM-L6-v2 was trained with (Reimers & Gurevych 2019),
    so it gives that model's sentence embeddings.

    Args:
        hidden: token vectors, (B, T, D).
        attention_mask: (B, T), 1 for real tokens and 0 for padding; None means all real.

    Returns:
        (B, D) mean of the real tokens' vectors.
    """
    if hidden.dim() != 3:
        raise ValueError(f"hidden must be (B, T, D), got shape {tuple(hidden.shape)}")
    if attention_mask is None:
        return hidden.mean(dim=1)
    _check_mask(attention_mask, hidden)
    m = attention_mask.to(hidden.dtype).unsqueeze(-1)  # (B, T) -> (B, T, 1)
    # clamp: an all-padding row would divide by zero; it gets the zero vector instead.
    return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)


def last_token_pool(
    hidden: torch.Tensor, attention_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """The vector of the last real token of each sequence (for causal models like GPT).

    In a causal model only the last token has seen the whole sequence, so it is
    the one to classify from (Radford et al. 2018). Assumes right padding.

    Args:
        hidden: (B, T, D).
        attention_mask: (B, T) 0/1 with padding on the right; None means no padding.

    Returns:
        (B, D).
    """
    if attention_mask is None:
        return hidden[:, -1]
    _check_mask(attention_mask, hidden)
    last = attention_mask.long().sum(dim=1).clamp(min=1) - 1  # (B,) index of last real token
    return hidden[torch.arange(hidden.size(0), device=hidden.device), last]


def _check_mask(attention_mask: torch.Tensor, hidden: torch.Tensor) -> None:
    if tuple(attention_mask.shape) != tuple(hidden.shape[:2]):
        raise ValueError(
            f"attention_mask has shape {tuple(attention_mask.shape)} but the tokens are "
            f"{tuple(hidden.shape[:2])} (B, T); pass the mask the tokenizer returned for "
            "these input_ids"
        )


def _width(encoder: nn.Module) -> int:
    config = getattr(encoder, "config", None)
    width = getattr(config, "d_model", None)
    if not isinstance(width, int):
        raise ValueError(
            f"{type(encoder).__name__} has no config.d_model; pass an lmbook BERT or GPT "
            "(or any module with .config.d_model whose forward returns .last_hidden_state)"
        )
    return width


def encoder_hidden_states(
    encoder: nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    token_type_ids: torch.Tensor | None = None,
) -> torch.Tensor:
    """Run ``encoder`` and return its last hidden states (B, T, D).

    Works for lmbook's BERT (whose output has ``.last_hidden_state``) and for
    lmbook's GPT (:meth:`GPT.hidden_states`, the output of its final LayerNorm).
    """
    if isinstance(encoder, GPT):
        # GPT takes no attention mask: with right padding, causal attention keeps the real
        # tokens from ever seeing the padding, so the last real token's vector is unaffected.
        return encoder.hidden_states(input_ids)
    kwargs: dict[str, Any] = {"attention_mask": attention_mask}
    if token_type_ids is not None:
        kwargs["token_type_ids"] = token_type_ids
    out = encoder(input_ids, **kwargs)
    hidden = getattr(out, "last_hidden_state", out)
    if not isinstance(hidden, torch.Tensor) or hidden.dim() != 3:
        raise ValueError(
            f"{type(encoder).__name__}'s forward did not return (B, T, D) hidden states; "
            "use an encoder whose output has .last_hidden_state"
        )
    return hidden


class SequenceClassifier(nn.Module):
    """A pretrained encoder plus a linear classifier over a pooled sequence vector.

    Args:
        encoder: an lmbook ``BERT`` (or ``GPT`` with ``pooling="last"``); it is
            fine-tuned together with the head unless you freeze it.
        n_classes: number of classes C (>= 2).
        pooling: "cls" (the [CLS] token's vector, as in BERT), "mean" (mean over
            real tokens, as in sentence-BERT) or "last" (last real token; the
            choice for causal models).
        dropout: dropout on the pooled vector before the classifier (BERT used 0.1).

    Shapes:
        input_ids (B, T) -> logits (B, C).

    Introduced in: Chapter 9 (Q3, fine-tuning).
    """

    def __init__(
        self, encoder: nn.Module, n_classes: int, pooling: str = "cls", dropout: float = 0.1
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; use one of {POOLINGS}")
        if not isinstance(n_classes, int) or n_classes < 2:
            raise ValueError(f"n_classes must be an int >= 2, got {n_classes!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.encoder = encoder
        self.pooling = pooling
        self.n_classes = n_classes
        self.drop = nn.Dropout(dropout)
        self.classifier = nn.Linear(_width(encoder), n_classes)
        nn.init.normal_(self.classifier.weight, std=0.02)
        nn.init.zeros_(self.classifier.bias)

    def pool(self, hidden: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        """(B, T, D) -> (B, D) by this classifier's pooling."""
        if self.pooling == "cls":
            return hidden[:, 0]
        if self.pooling == "mean":
            return mean_pool(hidden, attention_mask)
        return last_token_pool(hidden, attention_mask)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        hidden = encoder_hidden_states(self.encoder, input_ids, attention_mask, token_type_ids)
        return self.classifier(self.drop(self.pool(hidden, attention_mask)))  # (B, C)


class SpanQAHead(nn.Module):
    """Start and end scores for every token: one linear layer D -> 2 (BERT, section 4.2).

    Shapes:
        hidden (B, T, D) -> (start_logits (B, T), end_logits (B, T)).
    """

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.qa_outputs = nn.Linear(d_model, 2)
        nn.init.normal_(self.qa_outputs.weight, std=0.02)
        nn.init.zeros_(self.qa_outputs.bias)

    def forward(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.qa_outputs(hidden)  # (B, T, D) -> (B, T, 2)
        start, end = logits.unbind(dim=-1)  # (B, T, 2) -> 2 x (B, T)
        return start, end


class BertForQA(nn.Module):
    """Extractive question answering: an encoder with a `SpanQAHead`.

    The input is ``[CLS] question [SEP] passage [SEP]`` with token_type_ids 0 for
    the question and 1 for the passage; the model scores where the answer starts
    and ends in the passage.

    Args:
        encoder: an lmbook ``BERT`` (e.g. ``load_pretrained(data.load("minilm"))``).

    Shapes:
        input_ids (B, T) -> (start_logits (B, T), end_logits (B, T)).

    Introduced in: Chapter 6 (6.3 question answering).
    """

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.qa_head = SpanQAHead(_width(encoder))

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = encoder_hidden_states(self.encoder, input_ids, attention_mask, token_type_ids)
        return self.qa_head(hidden)

    @torch.no_grad()
    def predict_spans(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        max_answer_len: int = 30,
    ) -> torch.Tensor:
        """Best (start, end) token positions per example, restricted to the passage.

        The passage is where token_type_ids == 1 and attention_mask == 1 (the final
        [SEP] is excluded); without token_type_ids every real token may be chosen.

        Returns:
            (B, 2) long tensor of inclusive (start, end) positions.
        """
        start, end = self(input_ids, attention_mask, token_type_ids)
        # under bf16 autocast the logits are bf16; decode in float32 so near-equal span
        # scores are not rounded into ties
        start, end = start.float(), end.float()
        allowed = None
        if token_type_ids is not None:
            allowed = token_type_ids.bool()
            if attention_mask is not None:
                allowed = allowed & attention_mask.bool()
            # the last passage token is the closing [SEP]; an answer never ends there
            last = allowed.long().cumsum(dim=1).argmax(dim=1)  # (B,) index of last allowed
            allowed = allowed.clone()
            allowed[torch.arange(allowed.size(0), device=allowed.device), last] = False
        elif attention_mask is not None:
            allowed = attention_mask.bool()
        return best_span(start, end, max_answer_len=max_answer_len, allowed=allowed)


def span_loss(
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    start_positions: torch.Tensor,
    end_positions: torch.Tensor,
) -> torch.Tensor:
    """Mean of the cross-entropies of the true start and the true end (BERT, section 4.2).

    Args:
        start_logits, end_logits: (B, T).
        start_positions, end_positions: (B,) token indices of the answer (inclusive end).

    Returns:
        scalar loss.
    """
    T = start_logits.size(1)
    start_positions, end_positions = start_positions.long(), end_positions.long()
    for name, t in (("start_positions", start_positions), ("end_positions", end_positions)):
        if t.shape != start_logits.shape[:1]:
            raise ValueError(f"{name} must have shape (B,) = {tuple(start_logits.shape[:1])}")
        if t.numel() and (t.min() < 0 or t.max() >= T):
            raise ValueError(
                f"{name} must lie in [0, {T}) (the sequence length); an answer truncated "
                "away by max_length cannot be a target: drop such examples first"
            )
    if (end_positions < start_positions).any():
        raise ValueError("end_positions must be >= start_positions (inclusive spans)")
    return 0.5 * (
        F.cross_entropy(start_logits, start_positions) + F.cross_entropy(end_logits, end_positions)
    )


def best_span(
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    max_answer_len: int = 30,
    allowed: torch.Tensor | None = None,
) -> torch.Tensor:
    """The span (i, j) with i <= j < i + max_answer_len maximising start_i + end_j.

    This is the standard SQuAD decoding (BERT, section 4.2): scores of all pairs
    at once as an outer sum, invalid pairs set to -inf, one argmax.

    Args:
        start_logits, end_logits: (B, T).
        max_answer_len: longest answer in tokens.
        allowed: optional (B, T) bool, True where a span may start or end (the
            passage tokens); other positions are never chosen.

    Returns:
        (B, 2) long tensor of inclusive (start, end) positions.
    """
    if start_logits.shape != end_logits.shape or start_logits.dim() != 2:
        raise ValueError(
            f"start and end logits must both be (B, T); got {tuple(start_logits.shape)} and "
            f"{tuple(end_logits.shape)}"
        )
    if max_answer_len < 1:
        raise ValueError(f"max_answer_len must be >= 1, got {max_answer_len}")
    B, T = start_logits.shape
    scores = start_logits.unsqueeze(2) + end_logits.unsqueeze(1)  # (B, T, 1)+(B, 1, T)->(B, T, T)
    i = torch.arange(T, device=start_logits.device)
    valid = (i[None, :] >= i[:, None]) & (i[None, :] - i[:, None] < max_answer_len)  # (T, T)
    valid = valid.unsqueeze(0).expand(B, T, T)
    if allowed is not None:
        if allowed.shape != (B, T):
            raise ValueError(f"allowed must be (B, T) = {(B, T)}, got {tuple(allowed.shape)}")
        allowed = allowed.bool()
        valid = valid & allowed.unsqueeze(2) & allowed.unsqueeze(1)
        if not valid.flatten(1).any(dim=1).all():
            raise ValueError("some example has no allowed position; check its passage mask")
    scores = scores.masked_fill(~valid, float("-inf"))
    flat = scores.flatten(1).argmax(dim=1)  # (B, T*T) -> (B,)
    return torch.stack([flat // T, flat % T], dim=1)  # (B, 2)


def qa_loss(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The trainer objective for extractive QA: `span_loss` of ``model`` on ``batch``.

    Pass it as ``Trainer(..., objective=qa_loss)``; ``batch`` holds input_ids,
    attention_mask, token_type_ids, start_positions and end_positions (what
    ``lmbook.tasks.qa.encode_qa`` returns). Padding positions get no probability
    (their logits are set to -inf: they are never answers), so the loss is the same however
    much padding a batch carries; to carry little, collate the examples with
    ``lmbook.data.batching.PadToLongest`` (each batch padded to its own longest example).
    """
    missing = {
        "input_ids",
        "attention_mask",
        "token_type_ids",
        "start_positions",
        "end_positions",
    } - set(batch)
    if missing:
        raise KeyError(f"qa_loss needs batch keys {sorted(missing)}; build batches with encode_qa")
    start, end = model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    # padding is never an answer: give it no probability, so the loss does not depend on
    # how many padding columns the batch happens to carry
    pad = batch["attention_mask"] == 0
    start, end = start.masked_fill(pad, float("-inf")), end.masked_fill(pad, float("-inf"))
    return span_loss(start, end, batch["start_positions"], batch["end_positions"])
