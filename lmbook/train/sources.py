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

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from torch import Tensor

from lmbook.data.batching import LMBlocks, MLMBlocks
from lmbook.data.padding import PadToLongest

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


# The batch sources for token streams live with the batching code in lmbook.data (one class
# each): LMBlocks (random windows, nanoGPT's get_batch), MLMBlocks ([CLS] window [SEP]) and the
# PadToLongest collate. TokenBlocks is LMBlocks under the name Chapter 5.2 uses.
TokenBlocks = LMBlocks


def default_collate(examples: list[dict[str, Any]]) -> dict[str, Tensor]:
    """Stack a list of dict examples into a batch (values must have equal shapes)."""
    if not examples or not isinstance(examples[0], dict):
        raise TypeError(
            "default_collate needs dict examples such as {'input_ids': ..., 'labels': ...}; "
            "pass collate_fn for other layouts"
        )
    return {k: torch.stack([torch.as_tensor(e[k]) for e in examples]) for k in examples[0]}


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
        return LMBlocks(data, block_size)
    if isinstance(data, Sequence) and len(data) > 0 and isinstance(data[0], int | np.integer):
        return LMBlocks(data, block_size)
    if hasattr(data, "__getitem__") and hasattr(data, "__len__"):
        return Examples(data)
    raise TypeError(
        f"cannot draw batches from {type(data).__name__}; pass a 1-D tensor of token ids, a "
        "list of dict examples, or an object with get_batch(batch_size, generator)"
    )
