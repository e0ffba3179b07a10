"""Batches for the book's three objectives: next-token LM, masked LM, sentence pairs.

* Language modelling (GPT, n-gram, Chapter 5): the corpus is one long stream of token ids;
  a training example is a contiguous window ``x = ids[i : i + T]`` with targets shifted by
  one, ``y = ids[i + 1 : i + T + 1]`` (nanoGPT's ``get_batch``). ``LMBlocks`` offers both
  sequential, non-overlapping windows (for evaluation: every token is scored once) and random
  offsets drawn from a ``torch.Generator`` (for training: reproducible from the seed).
* Masked LM (BERT, Chapter 5): ``pad_batch`` / ``mlm_batch`` add ``[CLS]``/``[SEP]``, pad,
  and return the ``special_tokens_mask`` that ``lmbook.train.mlm_mask`` needs (the masking
  itself, 80/10/10, lives in the trainer's objectives).
* Sentence pairs (translation, Chapter 6): ``pair_batch`` pads source and target separately.

Padding itself (``pad_batch``, the ``PadToLongest`` collate, ``unpad``) lives in
:mod:`lmbook.data.padding`; they are importable from here too.

Library code never chooses a device: tensors are created on the device of the input ids
(CPU for Python lists); move the batch with ``.to(device)``.

Introduced in: Chapter 2 (contiguous blocks); Chapter 5 (MLM batches); Chapter 6 (pairs).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import Tensor

from lmbook.data.padding import PadToLongest, pad_batch, unpad

__all__ = [
    "LMBlocks",
    "MLMBlocks",
    "PadToLongest",
    "get_batch",
    "mlm_batch",
    "pad_batch",
    "pair_batch",
    "unpad",
    "word_ids_from_continuation",
]


def _as_ids(ids: Any) -> Tensor:
    t = ids if isinstance(ids, Tensor) else torch.as_tensor(ids)
    if t.dim() != 1 or t.dtype.is_floating_point or t.dtype == torch.bool:
        raise ValueError(
            f"token ids must be a 1-D integer sequence, got shape {tuple(t.shape)} and dtype "
            f"{t.dtype}; pass tokenizer.encode(text) or torch.tensor(ids, dtype=torch.long)"
        )
    return t.long()


def _check_block(n: int, block_size: int) -> None:
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    if n < block_size + 1:
        raise ValueError(
            f"{n} tokens are too few for block_size {block_size}: a block needs block_size + 1 "
            "tokens (inputs plus the shifted target); use a longer text or a smaller block_size"
        )


def get_batch(
    ids: Any,
    block_size: int,
    batch_size: int,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Draw ``batch_size`` random contiguous windows and their next-token targets.

    Offsets are uniform over ``[0, N - block_size - 1]``, drawn from ``generator`` (on CPU), so
    the same seed gives the same batches.

    Args:
        ids: 1-D token ids of the whole corpus (list or tensor), length N.
        block_size: T, the window length.
        batch_size: B.
        generator: a ``torch.Generator`` for reproducible offsets (default: global RNG).

    Returns:
        ``(x, y)`` with ``y[b, t] == x[b, t + 1]`` inside the stream.

    Shapes:
        x, y: (B, T), int64, on ``ids``' device.

    Introduced in: Chapter 2.
    """
    t = _as_ids(ids)
    _check_block(len(t), block_size)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    starts = torch.randint(len(t) - block_size, (batch_size,), generator=generator)
    idx = starts.to(t.device)[:, None] + torch.arange(block_size + 1, device=t.device)
    window = t[idx]  # (B, T + 1)
    return window[:, :-1], window[:, 1:]


class LMBlocks(torch.utils.data.Dataset):
    """A token stream cut into contiguous ``(x, y)`` blocks for next-token prediction.

    Indexing gives sequential windows starting at ``0, stride, 2*stride, ...`` (``stride``
    defaults to ``block_size``: non-overlapping blocks that score every token once; the last
    partial block is dropped). ``batches`` iterates them in order or shuffled by a
    generator; ``get_batch`` draws random offsets (any start, like nanoGPT) and returns the
    dict the trainer's batch-source protocol expects.

    Args:
        ids: 1-D token ids (list or tensor).
        block_size: T.
        stride: distance between consecutive block starts (default ``block_size``).

    Shapes:
        self[i]: x (T,), y (T,); batches(): x, y (B, T).

    Example:
        >>> blocks = LMBlocks(list(range(10)), block_size=4)
        >>> len(blocks), blocks[1][0].tolist(), blocks[1][1].tolist()
        (2, [4, 5, 6, 7], [5, 6, 7, 8])

    Introduced in: Chapter 2.
    """

    def __init__(self, ids: Any, block_size: int, stride: int | None = None) -> None:
        self.ids = _as_ids(ids)
        _check_block(len(self.ids), block_size)
        self.block_size = block_size
        self.stride = block_size if stride is None else stride
        if self.stride < 1:
            raise ValueError(f"stride must be >= 1, got {self.stride}")

    def __len__(self) -> int:
        return (len(self.ids) - 1 - self.block_size) // self.stride + 1

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"block {i} out of range for {n} blocks")
        s = i * self.stride
        window = self.ids[s : s + self.block_size + 1]
        return window[:-1], window[1:]

    def batches(
        self,
        batch_size: int,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        drop_last: bool = False,
    ) -> Iterator[tuple[Tensor, Tensor]]:
        """Iterate over all blocks in batches: in order, or in a permutation from ``generator``.

        Shapes:
            yields x, y: (B, T) (the last batch may be smaller unless ``drop_last``).
        """
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        starts = (order * self.stride).to(self.ids.device)
        offsets = torch.arange(self.block_size + 1, device=self.ids.device)
        for b in range(0, n, batch_size):
            chunk = starts[b : b + batch_size]
            if drop_last and len(chunk) < batch_size:
                return
            window = self.ids[chunk[:, None] + offsets]  # (B, T + 1)
            yield window[:, :-1], window[:, 1:]

    def get_batch(self, batch_size: int, generator: torch.Generator | None = None) -> dict:
        """Random offsets (any position), as the trainer's batch-source protocol expects.

        Returns:
            ``{"input_ids": x, "targets": y}``, both (B, T).
        """
        x, y = get_batch(self.ids, self.block_size, batch_size, generator)
        return {"input_ids": x, "targets": y}


def mlm_batch(
    sequences: Sequence[Sequence[int]] | Tensor,
    cls_id: int,
    sep_id: int,
    pad_id: int | None = None,
    max_length: int = 512,
) -> dict[str, Tensor]:
    """Build BERT inputs ``[CLS] ids [SEP]`` for masked-LM training (masking done later).

    Sequences longer than ``max_length - 2`` are cut so that ``[SEP]`` always ends them.

    Args:
        sequences: B lists of WordPiece ids without special tokens, or a (B, n) tensor of
            equal-length rows (no padding: :class:`MLMBlocks`' random windows).
        cls_id, sep_id, pad_id: the tokenizer's special ids (``pad_id`` may be None when no
            row needs padding).
        max_length: total length including ``[CLS]`` and ``[SEP]`` (>= 3).

    Returns:
        dict with ``input_ids``, ``attention_mask``, ``token_type_ids`` (all 0) and
        ``special_tokens_mask`` (True on [CLS], [SEP] and padding), ready for
        ``lmbook.train.mlm_mask(batch["input_ids"], batch["special_tokens_mask"], ...)``.

    Shapes:
        every value: (B, L), L <= max_length.

    Introduced in: Chapter 5.
    """
    if max_length < 3:
        raise ValueError(f"max_length must leave room for [CLS] x [SEP] (>= 3), got {max_length}")
    body = max_length - 2
    if isinstance(sequences, Tensor) and sequences.dim() == 2:  # equal rows: no padding
        rows = sequences[:, :body].long()
        cls = torch.full((len(rows), 1), cls_id, dtype=torch.long, device=rows.device)
        sep = torch.full((len(rows), 1), sep_id, dtype=torch.long, device=rows.device)
        ids = torch.cat([cls, rows, sep], dim=1)  # (B, n) -> (B, n + 2)
        mask = torch.ones_like(ids)
    else:
        wrapped = [[cls_id, *list(s)[:body], sep_id] for s in sequences]
        if pad_id is None and len({len(w) for w in wrapped}) > 1:
            raise ValueError("sequences of different lengths need pad_id (the [PAD] token id)")
        ids, mask = pad_batch(wrapped, 0 if pad_id is None else pad_id)
    special = mask == 0
    special[:, 0] = True
    lengths = mask.sum(dim=1)
    special[torch.arange(len(ids)), lengths - 1] = True
    return {
        "input_ids": ids,
        "attention_mask": mask,
        "token_type_ids": torch.zeros_like(ids),
        "special_tokens_mask": special,
    }


def pair_batch(
    pairs: Sequence[tuple[Sequence[int], Sequence[int]]],
    pad_id: int,
    bos_id: int | None = None,
    eos_id: int | None = None,
    max_source_length: int | None = None,
    max_target_length: int | None = None,
) -> dict[str, Tensor]:
    """Pad (source, target) id pairs for an encoder-decoder model (teacher forcing).

    The target gets ``bos_id`` in front and ``eos_id`` at the end when given; then
    ``decoder_input_ids = target[:-1]`` and ``labels = target[1:]`` with padding set to -100
    (ignored by ``cross_entropy``).

    Args:
        pairs: B ``(source_ids, target_ids)``.
        pad_id: padding id for both sides.
        bos_id, eos_id: optional start/end ids added to the target.
        max_source_length, max_target_length: truncate longer sides.

    Returns:
        dict with ``src_ids``, ``src_mask`` (B, S) and ``decoder_input_ids``, ``labels``,
        ``tgt_mask`` (B, T).

    Introduced in: Chapter 6.
    """
    if len(pairs) == 0:
        raise ValueError("pair_batch needs at least one (source, target) pair")
    src = [list(s) for s, _ in pairs]
    tgt = []
    for _, t in pairs:
        t = list(t)
        if max_target_length is not None:
            keep = max_target_length - (bos_id is not None) - (eos_id is not None)
            t = t[: max(keep, 0)]
        tgt.append(
            ([bos_id] if bos_id is not None else []) + t + ([eos_id] if eos_id is not None else [])
        )
    if any(len(t) < 2 for t in tgt):
        raise ValueError(
            "each target needs at least 2 tokens after adding bos/eos (one input, one label); "
            "pass bos_id/eos_id or drop empty targets"
        )
    src_ids, src_mask = pad_batch(src, pad_id, max_source_length)
    tgt_ids, tgt_mask = pad_batch(tgt, pad_id)
    labels = tgt_ids[:, 1:].masked_fill(tgt_mask[:, 1:] == 0, -100)
    return {
        "src_ids": src_ids,
        "src_mask": src_mask,
        "decoder_input_ids": tgt_ids[:, :-1],
        "labels": labels,
        "tgt_mask": tgt_mask[:, :-1],
    }


def word_ids_from_continuation(is_continuation: Tensor, special_tokens_mask: Tensor) -> Tensor:
    """Word index of every token, for whole-word masking; -1 on special tokens.

    Args:
        is_continuation: True where a token continues the previous word (WordPiece ``##x``).
        special_tokens_mask: True on [CLS], [SEP], [PAD].

    Shapes:
        (B, T) bool, (B, T) bool -> (B, T) long.
    """
    starts = (~is_continuation.bool()) | special_tokens_mask.bool()
    word_ids = torch.cumsum(starts.long(), dim=1) - 1
    return word_ids.masked_fill(special_tokens_mask.bool(), -1)


class MLMBlocks:
    """Random windows of a WordPiece stream as ``[CLS] ... [SEP]`` MLM examples.

    Args:
        ids: the token stream (no special tokens).
        block_size: total length including [CLS] and [SEP].
        cls_token_id, sep_token_id: special ids.
        is_continuation: optional bool per vocabulary id (True for ``##x`` pieces) to
            provide ``word_ids`` for whole-word masking.

    Shapes:
        get_batch -> input_ids, attention_mask, token_type_ids, special_tokens_mask,
        [word_ids]: (B, T).

    Introduced in: Chapter 5 (BERT pretraining).
    """

    def __init__(
        self,
        ids: Any,
        block_size: int,
        cls_token_id: int,
        sep_token_id: int,
        is_continuation: Tensor | None = None,
    ) -> None:
        self.ids = _as_ids(ids)
        if block_size < 3:
            raise ValueError(f"block_size must be >= 3 ([CLS] x [SEP]), got {block_size}")
        self.block_size = block_size
        self.cls, self.sep = cls_token_id, sep_token_id
        self.is_continuation = is_continuation

    @classmethod
    def from_wordpiece(cls, ids: Any, block_size: int, tokenizer: Any) -> MLMBlocks:
        """Build from a :class:`~lmbook.tokenizers.WordPieceTokenizer` (its [CLS], [SEP] ids
        and its ``##`` continuation pieces, for whole-word masking)."""
        vocab = tokenizer.vocab  # token -> id
        flags = torch.zeros(tokenizer.vocab_size, dtype=torch.bool)
        cont = [i for t, i in vocab.items() if t.startswith("##")]
        flags[torch.tensor(cont, dtype=torch.long)] = True
        return cls(ids, block_size, tokenizer.cls_id, tokenizer.sep_id, flags)

    def get_batch(self, batch_size: int, generator: torch.Generator) -> dict[str, Tensor]:
        """Random windows as :func:`mlm_batch` builds them, plus ``word_ids`` when known."""
        n = self.block_size - 2
        starts = torch.randint(len(self.ids) - n, (batch_size,), generator=generator)
        body = self.ids[starts[:, None] + torch.arange(n)]  # (B, T-2)
        batch = mlm_batch(body, self.cls, self.sep, max_length=self.block_size)  # (B, T) each
        if self.is_continuation is not None:
            batch["word_ids"] = word_ids_from_continuation(
                self.is_continuation[batch["input_ids"]], batch["special_tokens_mask"]
            )
        return batch
