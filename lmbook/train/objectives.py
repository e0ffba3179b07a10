"""Training objectives: causal LM, masked LM (BERT's 80/10/10), seq2seq, classification.

Each objective is two things:

* a plain loss function on tensors (``clm_loss``, ``seq2seq_loss``, ...) that a
  notebook can call directly, and
* an :class:`Objective` object the :class:`~lmbook.train.Trainer` drives:
  ``prepare(batch, generator)`` does any random corruption of the *global* batch
  (MLM masking) with the trainer's seeded generator, so a resumed run and a
  multi-process run see exactly the same masks; ``__call__(model, batch)`` runs
  the model and returns the scalar loss.

Batches are dicts of tensors:

=================  ====================================================================
objective          batch keys
=================  ====================================================================
``clm``            ``input_ids`` (B, T), ``targets`` (B, T)
``mlm``            ``input_ids`` (B, T), ``special_tokens_mask`` (B, T) bool, optional
                   ``attention_mask``, ``token_type_ids``, ``word_ids`` (whole-word masking)
``seq2seq``        ``src_ids`` (B, S), ``tgt_ids`` (B, T+1) starting with BOS, optional
                   ``src_mask`` (B, S) 0/1
``classification`` ``input_ids`` (B, T), ``labels`` (B,), optional ``attention_mask``
=================  ====================================================================

Introduced in: Chapter 2.3 (CLM vs MLM) and Chapter 5 (pretraining).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmbook.data.batching import word_ids_from_continuation  # re-exported: its old home
from lmbook.train.distributed import unwrap_model

__all__ = [
    "IGNORE_INDEX",
    "CausalLM",
    "Classification",
    "MaskedLM",
    "Objective",
    "Seq2Seq",
    "classification_loss",
    "clm_loss",
    "get_objective",
    "mlm_loss",
    "mlm_mask",
    "seq2seq_loss",
    "teacher_forcing",
    "word_ids_from_continuation",
]

IGNORE_INDEX = -100  # label value skipped by every loss here (PyTorch's and HF's convention)


# ---------------------------------------------------------------------------- losses


def clm_loss(logits: Tensor, targets: Tensor, ignore_index: int = IGNORE_INDEX) -> Tensor:
    """Next-token cross-entropy, averaged over all non-ignored positions.

    Args:
        logits: model outputs, position t predicting token t + 1.
        targets: the input shifted left by one (``targets[:, t] = input_ids[:, t + 1]``).
        ignore_index: target value to skip (padding).

    Returns:
        Scalar mean negative log-likelihood in nats (its ``exp`` is the perplexity).

    Shapes:
        logits (B, T, V), targets (B, T) -> ().
    """
    if logits.shape[:-1] != targets.shape:
        raise ValueError(
            f"logits {tuple(logits.shape)} and targets {tuple(targets.shape)} disagree; "
            "expected logits (B, T, V) and targets (B, T)"
        )
    # (B, T, V) -> (B*T, V); cross_entropy upcasts bf16 logits internally under autocast.
    return F.cross_entropy(
        logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=ignore_index
    )


def mlm_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """Cross-entropy over masked positions only (labels are ``IGNORE_INDEX`` elsewhere).

    Shapes:
        logits (..., V), labels (...) -> ().
    """
    return F.cross_entropy(
        logits.reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=IGNORE_INDEX
    )


def seq2seq_loss(
    logits: Tensor, labels: Tensor, label_smoothing: float = 0.1, ignore_index: int = IGNORE_INDEX
) -> Tensor:
    """Decoder cross-entropy with label smoothing (Vaswani et al. 2017, §5.4: eps_ls = 0.1).

    Label smoothing puts ``label_smoothing / V`` of the target mass on every token, which
    hurts perplexity but improves BLEU. Padding positions (``ignore_index``) are skipped.

    Shapes:
        logits (B, T, V), labels (B, T) -> ().
    """
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
    if logits.shape[:-1] != labels.shape:
        raise ValueError(
            f"logits {tuple(logits.shape)} and labels {tuple(labels.shape)} disagree; "
            "expected (B, T, V) and (B, T)"
        )
    return F.cross_entropy(
        logits.reshape(-1, logits.size(-1)),
        labels.reshape(-1),
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
    )


def classification_loss(logits: Tensor, labels: Tensor, label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of class logits against integer labels.

    Shapes:
        logits (B, C), labels (B,) -> ().
    """
    if logits.dim() != 2 or labels.shape != logits.shape[:1]:
        raise ValueError(
            f"expected logits (B, C) and labels (B,), got {tuple(logits.shape)} and "
            f"{tuple(labels.shape)}"
        )
    return F.cross_entropy(logits, labels, label_smoothing=label_smoothing)


def teacher_forcing(tgt_ids: Tensor, pad_token_id: int | None = None) -> tuple[Tensor, Tensor]:
    """Split a target sequence into decoder input and labels (teacher forcing).

    The decoder reads the *true* previous tokens ``tgt[:, :-1]`` (starting with BOS) and
    predicts ``tgt[:, 1:]``; padding in the labels becomes ``IGNORE_INDEX``.

    Shapes:
        tgt_ids (B, T+1) -> decoder_input (B, T), labels (B, T).
    """
    if tgt_ids.dim() != 2 or tgt_ids.size(1) < 2:
        raise ValueError(
            f"tgt_ids must be (B, T+1) with T+1 >= 2 (BOS + at least one token), got "
            f"{tuple(tgt_ids.shape)}"
        )
    decoder_input = tgt_ids[:, :-1]
    labels = tgt_ids[:, 1:].clone()
    if pad_token_id is not None:
        labels[labels == pad_token_id] = IGNORE_INDEX
    return decoder_input, labels


# ---------------------------------------------------------------------------- MLM masking


def mlm_mask(
    input_ids: Tensor,
    special_tokens_mask: Tensor,
    mask_token_id: int,
    vocab_size: int,
    mlm_probability: float = 0.15,
    generator: torch.Generator | None = None,
    word_ids: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """BERT's masked-LM corruption (Devlin et al. 2019, §3.1, "Task #1").

    Each non-special token is selected with probability ``mlm_probability``; of the
    selected tokens 80% become ``[MASK]``, 10% a uniformly random token, 10% stay as they
    are (so the model cannot learn that only ``[MASK]`` positions matter). With
    ``word_ids``, whole words are selected (every WordPiece of a chosen word; Google's
    "whole word masking" release), and the 80/10/10 split is still drawn per token.

    Args:
        input_ids: token ids.
        special_tokens_mask: True where a token must never be masked ([CLS], [SEP], [PAD]).
        mask_token_id: id of ``[MASK]``.
        vocab_size: random replacements are drawn from ``[0, vocab_size)``.
        mlm_probability: selection rate (0.15 in BERT).
        generator: torch generator for reproducible masks (on ``input_ids``' device).
        word_ids: optional word index per token (-1 for special), e.g. from
            :func:`word_ids_from_continuation`; enables whole-word masking.

    Returns:
        ``(masked_input_ids, labels)``: labels hold the original id at selected positions
        and ``IGNORE_INDEX`` elsewhere.

    Shapes:
        input_ids (B, T), special_tokens_mask (B, T), word_ids (B, T) -> (B, T), (B, T).
    """
    if not 0.0 < mlm_probability < 1.0:
        raise ValueError(f"mlm_probability must be in (0, 1), got {mlm_probability}")
    if special_tokens_mask.shape != input_ids.shape:
        raise ValueError(
            f"special_tokens_mask {tuple(special_tokens_mask.shape)} must have the shape of "
            f"input_ids {tuple(input_ids.shape)}"
        )
    if not 0 <= mask_token_id < vocab_size:
        raise ValueError(
            f"mask_token_id {mask_token_id} is outside the vocabulary [0, {vocab_size})"
        )
    special = special_tokens_mask.bool()
    gen_kw: dict[str, Any] = {"generator": generator, "device": input_ids.device}
    u_select = torch.rand(input_ids.shape, **gen_kw)
    if word_ids is not None:
        if word_ids.shape != input_ids.shape:
            raise ValueError(
                f"word_ids {tuple(word_ids.shape)} must have the shape of input_ids "
                f"{tuple(input_ids.shape)}"
            )
        # Use the draw at each word's first token for all of its pieces: pieces are
        # contiguous, so the first position is a running max of word-start positions.
        T = input_ids.size(1)
        pos = torch.arange(T, device=input_ids.device).expand_as(input_ids)
        prev = torch.cat([torch.full_like(word_ids[:, :1], -2), word_ids[:, :-1]], dim=1)
        start_pos = torch.where(word_ids != prev, pos, torch.zeros_like(pos))
        first = torch.cummax(start_pos, dim=1).values  # (B, T) index of the word's first piece
        u_select = u_select.gather(1, first)
        special = special | (word_ids < 0)
    selected = (u_select < mlm_probability) & ~special
    labels = torch.where(selected, input_ids, torch.full_like(input_ids, IGNORE_INDEX))
    u_action = torch.rand(input_ids.shape, **gen_kw)
    to_mask = selected & (u_action < 0.8)
    to_random = selected & (u_action >= 0.8) & (u_action < 0.9)
    random_ids = torch.randint(vocab_size, input_ids.shape, **gen_kw, dtype=input_ids.dtype)
    out = torch.where(to_mask, torch.full_like(input_ids, mask_token_id), input_ids)
    out = torch.where(to_random, random_ids, out)
    return out, labels


# ---------------------------------------------------------------------------- objectives


def _logits_of(output: Any) -> Tensor:
    if isinstance(output, Tensor):
        return output
    if hasattr(output, "logits"):
        return output.logits
    if isinstance(output, tuple | list):
        return output[0]
    raise TypeError(
        f"the model returned {type(output).__name__}; the objective needs logits (a Tensor, "
        "an object with .logits, or a tuple whose first item is the logits)"
    )


def _require(batch: dict[str, Tensor], keys: tuple[str, ...], objective: str) -> None:
    missing = [k for k in keys if k not in batch]
    if missing:
        raise KeyError(
            f"the {objective} objective needs batch keys {list(keys)}, missing {missing}; "
            f"the batch has {sorted(batch)}"
        )


class Objective:
    """Base class: ``prepare`` corrupts the global batch, ``__call__`` returns the loss."""

    name = "custom"

    def prepare(self, batch: dict[str, Tensor], generator: torch.Generator) -> dict[str, Tensor]:
        """Random corruption drawn from the trainer's generator (default: none)."""
        return batch

    def __call__(self, model: nn.Module, batch: dict[str, Tensor]) -> Tensor:
        raise NotImplementedError

    def num_tokens(self, batch: dict[str, Tensor]) -> int:
        """Tokens the model reads in this batch (for tokens/s)."""
        for key in ("input_ids", "src_ids"):
            if key in batch:
                n = batch[key].numel()
                if key == "src_ids" and "tgt_ids" in batch:
                    n += batch["tgt_ids"].numel()
                return n
        return sum(v.numel() for v in batch.values() if v.dtype == torch.long)


class _FunctionObjective(Objective):
    def __init__(self, fn: Callable[[nn.Module, dict[str, Tensor]], Tensor]) -> None:
        self.fn = fn
        self.name = getattr(fn, "__name__", "custom")

    def __call__(self, model: nn.Module, batch: dict[str, Tensor]) -> Tensor:
        return self.fn(model, batch)


class CausalLM(Objective):
    """Next-token prediction: ``clm_loss(model(input_ids), targets)``."""

    name = "clm"

    def __call__(self, model: nn.Module, batch: dict[str, Tensor]) -> Tensor:
        _require(batch, ("input_ids", "targets"), self.name)
        return clm_loss(_logits_of(model(batch["input_ids"])), batch["targets"])


class MaskedLM(Objective):
    """BERT's masked-LM objective; masks are drawn in :meth:`prepare`.

    The MLM head runs only on the selected positions (about 15% of tokens), which saves
    most of the (T, V) output projection.
    """

    name = "mlm"

    def __init__(
        self,
        mask_token_id: int,
        vocab_size: int,
        mlm_probability: float = 0.15,
        whole_word: bool = False,
    ) -> None:
        self.mask_token_id = mask_token_id
        self.vocab_size = vocab_size
        self.mlm_probability = mlm_probability
        self.whole_word = whole_word

    def prepare(self, batch: dict[str, Tensor], generator: torch.Generator) -> dict[str, Tensor]:
        _require(batch, ("input_ids", "special_tokens_mask"), self.name)
        if self.whole_word and "word_ids" not in batch:
            raise KeyError(
                "whole_word=True needs a 'word_ids' batch key (see word_ids_from_continuation)"
            )
        ids, labels = mlm_mask(
            batch["input_ids"],
            batch["special_tokens_mask"],
            self.mask_token_id,
            self.vocab_size,
            self.mlm_probability,
            generator=generator,
            word_ids=batch.get("word_ids") if self.whole_word else None,
        )
        return {**batch, "input_ids": ids, "labels": labels}

    def __call__(self, model: nn.Module, batch: dict[str, Tensor]) -> Tensor:
        _require(batch, ("input_ids", "labels"), self.name)
        kwargs = {k: batch[k] for k in ("attention_mask", "token_type_ids") if k in batch}
        out = model(batch["input_ids"], **kwargs)
        hidden = out.last_hidden_state if hasattr(out, "last_hidden_state") else out
        selected = batch["labels"] != IGNORE_INDEX  # (B, T)
        # (B, T, D) -> (N, D) with N selected tokens; -> (1, N, V) through the tied head
        logits = unwrap_model(model).mlm_logits(hidden[selected].unsqueeze(0)).squeeze(0)
        # sum / count instead of mean: a (small) batch with no selected token gives 0, not
        # the NaN of an empty mean, and needs no host sync to check.
        total = F.cross_entropy(logits.float(), batch["labels"][selected], reduction="sum")
        return total / selected.sum().clamp(min=1)


class Seq2Seq(Objective):
    """Encoder-decoder cross-entropy with teacher forcing and label smoothing."""

    name = "seq2seq"

    def __init__(self, pad_token_id: int | None = None, label_smoothing: float = 0.1) -> None:
        self.pad_token_id = pad_token_id
        self.label_smoothing = label_smoothing

    def __call__(self, model: nn.Module, batch: dict[str, Tensor]) -> Tensor:
        _require(batch, ("src_ids", "tgt_ids"), self.name)
        decoder_input, labels = teacher_forcing(batch["tgt_ids"], self.pad_token_id)
        kwargs = {"src_mask": batch["src_mask"]} if "src_mask" in batch else {}
        logits = _logits_of(model(batch["src_ids"], decoder_input, **kwargs))
        return seq2seq_loss(logits, labels, self.label_smoothing)


class Classification(Objective):
    """Sequence classification: the model maps ``input_ids`` to class logits (B, C)."""

    name = "classification"

    def __init__(self, label_smoothing: float = 0.0) -> None:
        self.label_smoothing = label_smoothing

    def __call__(self, model: nn.Module, batch: dict[str, Tensor]) -> Tensor:
        _require(batch, ("input_ids", "labels"), self.name)
        kwargs = {k: batch[k] for k in ("attention_mask", "token_type_ids") if k in batch}
        logits = _logits_of(model(batch["input_ids"], **kwargs))
        return classification_loss(logits, batch["labels"], self.label_smoothing)


_OBJECTIVES: dict[str, type[Objective]] = {
    "clm": CausalLM,
    "mlm": MaskedLM,
    "seq2seq": Seq2Seq,
    "classification": Classification,
}


def get_objective(objective: str | Objective | Callable, **kwargs: Any) -> Objective:
    """An :class:`Objective` from a name ("clm", "mlm", "seq2seq", "classification"),
    an Objective, or a function ``(model, batch) -> loss``."""
    if isinstance(objective, Objective):
        return objective
    if isinstance(objective, str):
        if objective not in _OBJECTIVES:
            raise ValueError(
                f"unknown objective {objective!r}; choose one of {sorted(_OBJECTIVES)} or pass "
                "a function (model, batch) -> loss"
            )
        return _OBJECTIVES[objective](**kwargs)
    if callable(objective):
        return _FunctionObjective(objective)
    raise TypeError(f"objective must be a name, an Objective or a callable, got {objective!r}")
