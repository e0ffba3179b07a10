"""Where batches come from: a tiny protocol, so every objective shares one training loop.

A *batch source* has ``get_batch(batch_size, generator) -> dict[str, Tensor]`` and draws
all its randomness from ``generator`` (the trainer's seeded generator, saved in every
checkpoint: it *is* the data position). Sources with more state (an epoch permutation)
also have ``state_dict()`` / ``load_state_dict()``. :func:`as_source` wraps the common
cases: a 1-D tensor of token ids becomes random contiguous blocks (nanoGPT), a list or
map-style dataset of examples becomes shuffled epochs.

Introduced in: Chapter 5 (training data as contiguous blocks).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from torch import Tensor

from lmbook.data.batching import LMBlocks, _as_ids, pad_batch

__all__ = [
    "BatchSource",
    "Examples",
    "MLMBlocks",
    "PadToLongest",
    "TokenBlocks",
    "as_source",
    "default_collate",
]


@runtime_checkable
class BatchSource(Protocol):
    def get_batch(self, batch_size: int, generator: torch.Generator) -> dict[str, Tensor]: ...


# Random contiguous windows of a token stream (nanoGPT's get_batch) already exist in the data
# module with the trainer's protocol: get_batch(batch_size, generator) -> {"input_ids", "targets"}.
TokenBlocks = LMBlocks


class MLMBlocks:
    """Random windows of a WordPiece stream as ``[CLS] ... [SEP]`` MLM examples.

    Args:
        ids: the token stream (no special tokens).
        block_size: total length including [CLS] and [SEP].
        cls_token_id, sep_token_id: special ids.
        is_continuation: optional bool per vocabulary id (True for ``##x`` pieces) to
            provide ``word_ids`` for whole-word masking.

    Shapes:
        get_batch -> input_ids, attention_mask, special_tokens_mask, [word_ids]: (B, T).
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
        from lmbook.train.objectives import word_ids_from_continuation

        n = self.block_size - 2
        starts = torch.randint(len(self.ids) - n, (batch_size,), generator=generator)
        body = self.ids[starts[:, None] + torch.arange(n)]  # (B, T-2)
        cls = torch.full((batch_size, 1), self.cls, dtype=torch.long)
        sep = torch.full((batch_size, 1), self.sep, dtype=torch.long)
        input_ids = torch.cat([cls, body, sep], dim=1)  # (B, T)
        special = torch.zeros_like(input_ids, dtype=torch.bool)
        special[:, 0] = special[:, -1] = True
        batch = {
            "input_ids": input_ids,
            "attention_mask": torch.ones_like(input_ids),
            "special_tokens_mask": special,
        }
        if self.is_continuation is not None:
            batch["word_ids"] = word_ids_from_continuation(self.is_continuation[input_ids], special)
        return batch


def default_collate(examples: list[dict[str, Any]]) -> dict[str, Tensor]:
    """Stack a list of dict examples into a batch (values must have equal shapes)."""
    if not examples or not isinstance(examples[0], dict):
        raise TypeError(
            "default_collate needs dict examples such as {'input_ids': ..., 'labels': ...}; "
            "pass collate_fn for other layouts"
        )
    return {k: torch.stack([torch.as_tensor(e[k]) for e in examples]) for k in examples[0]}


class PadToLongest:
    """Collate examples of different lengths, right-padding each to the batch's longest.

    Padding every example to the longest one in the *whole dataset* wastes compute on pad
    tokens; padding per batch (dynamic padding, as Hugging Face's ``DataCollatorWithPadding``)
    costs only the batch's own longest example. On short sentence pairs this cut a
    translation step by a quarter (6.2).

    Args:
        pad_values: the keys to pad, each with its padding value (a pad token id for ids,
            0 for attention masks, ``IGNORE_INDEX`` for labels). Other keys are stacked
            and must have equal shapes.

    Example:
        >>> collate = PadToLongest({"src_ids": 0, "src_mask": 0})
        >>> batch = collate([{"src_ids": [5, 6, 7], "src_mask": [1, 1, 1]},
        ...                  {"src_ids": [8], "src_mask": [1]}])
        >>> batch["src_ids"]
        tensor([[5, 6, 7],
                [8, 0, 0]])

    Introduced in: Chapter 6 (6.2 machine translation).
    """

    def __init__(self, pad_values: Mapping[str, int]) -> None:
        if not pad_values:
            raise ValueError("pad_values is empty; name the keys to pad, e.g. {'input_ids': 0}")
        self.pad_values = dict(pad_values)

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Tensor]:
        if not examples or not isinstance(examples[0], dict):
            raise TypeError("PadToLongest needs dict examples such as {'input_ids': [...]}")
        missing = sorted(set(self.pad_values) - set(examples[0]))
        if missing:
            raise KeyError(
                f"keys {missing} of pad_values are not in the examples (keys: "
                f"{sorted(examples[0])}); pass the keys the examples have"
            )
        batch = {}
        for key in examples[0]:
            if key in self.pad_values:
                rows = [torch.as_tensor(e[key]).tolist() for e in examples]
                batch[key] = pad_batch(rows, self.pad_values[key])[0]  # (B, longest)
            else:
                batch[key] = torch.stack([torch.as_tensor(e[key]) for e in examples])
        return batch


class Examples:
    """Shuffled epochs over a list (or map-style dataset) of examples.

    The permutation is drawn from the trainer's generator at the start of each epoch;
    the permutation and the position in it are this source's ``state_dict`` (saved in
    checkpoints, so a resumed run continues mid-epoch exactly).
    """

    def __init__(self, examples: Sequence[Any], collate_fn: Callable | None = None) -> None:
        if len(examples) == 0:
            raise ValueError("the example list is empty; pass at least one example")
        self.examples = examples
        self.collate_fn = collate_fn or default_collate
        self._perm: Tensor | None = None
        self._pos = 0

    def get_batch(self, batch_size: int, generator: torch.Generator) -> dict[str, Tensor]:
        picked: list[int] = []
        while len(picked) < batch_size:
            if self._perm is None or self._pos >= len(self._perm):
                self._perm = torch.randperm(len(self.examples), generator=generator)
                self._pos = 0
            take = self._perm[self._pos : self._pos + batch_size - len(picked)]
            picked.extend(take.tolist())
            self._pos += len(take)
        return self.collate_fn([self.examples[i] for i in picked])

    def state_dict(self) -> dict[str, Any]:
        return {"perm": self._perm, "pos": self._pos}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._perm, self._pos = state["perm"], int(state["pos"])


def as_source(data: Any, block_size: int) -> BatchSource:
    """Wrap ``data`` as a batch source (see the module docstring)."""
    if data is None:
        raise ValueError("no data given; pass token ids, a list of examples, or a batch source")
    if isinstance(data, BatchSource):
        return data
    if isinstance(data, Tensor | np.ndarray):
        return TokenBlocks(data, block_size)
    if isinstance(data, Sequence) and len(data) > 0 and isinstance(data[0], int | np.integer):
        return TokenBlocks(data, block_size)
    if hasattr(data, "__getitem__") and hasattr(data, "__len__"):
        return Examples(data)
    raise TypeError(
        f"cannot draw batches from {type(data).__name__}; pass a 1-D tensor of token ids, a "
        "list of dict examples, or an object with get_batch(batch_size, generator)"
    )
