"""Padding variable-length examples into batches, and only as far as each batch needs.

``pad_batch`` right-pads id lists into one tensor with its attention mask. The
``PadToLongest`` collate pads each batch only to its own longest example (dynamic padding),
which is the one way lmbook cuts padding columns; ``unpad`` splits a set padded once to its
longest example back into examples for it.

Introduced in: Chapter 5 (MLM batches); Chapter 6 (dynamic padding, 6.2 and 6.3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

__all__ = ["PadToLongest", "pad_batch", "unpad"]


def pad_batch(
    sequences: Sequence[Sequence[int]],
    pad_id: int,
    max_length: int | None = None,
    truncation: bool = True,
) -> tuple[Tensor, Tensor]:
    """Right-pad variable-length id lists into one tensor, with the attention mask.

    Args:
        sequences: B lists of ids.
        pad_id: id written into padding positions.
        max_length: longest allowed length (default: the longest sequence).
        truncation: cut sequences longer than ``max_length``; if False they raise.

    Returns:
        ``(ids, attention_mask)``, attention_mask 1 on real tokens, 0 on padding.

    Shapes:
        ids, attention_mask: (B, L), L = min(longest, max_length), int64.

    Introduced in: Chapter 5.
    """
    if len(sequences) == 0:
        raise ValueError("pad_batch needs at least one sequence")
    longest = max(len(s) for s in sequences)
    if max_length is not None and longest > max_length and not truncation:
        raise ValueError(
            f"a sequence has {longest} tokens, more than max_length={max_length}; "
            "pass truncation=True or a larger max_length"
        )
    length = longest if max_length is None else min(longest, max_length)
    ids = torch.full((len(sequences), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), length), dtype=torch.long)
    for b, seq in enumerate(sequences):
        seq = list(seq)[:length]
        ids[b, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[b, : len(seq)] = 1
    return ids, mask


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


def unpad(batch: Mapping[str, Tensor], mask_key: str = "attention_mask") -> list[dict[str, Tensor]]:
    """Split a padded batch into its examples, each cut to its own length (``PadToLongest``'s input).

    A set encoded at once is padded to the longest example of the *whole set*; splitting it
    and collating with :class:`PadToLongest` pads each batch only to its own longest example.
    Real tokens' outputs do not change (padding is masked out of attention).

    Args:
        batch: tensors of N examples; ``batch[mask_key]`` (N, T) is 1 on real tokens. Every
            (N, T) tensor is cut to its row's length, every other tensor (e.g. labels (N,))
            is split by row.
        mask_key: the key of the attention mask.

    Returns:
        N dicts with the same keys.

    Example:
        >>> batch = {"ids": torch.tensor([[5, 6, 0], [7, 0, 0]]),
        ...          "attention_mask": torch.tensor([[1, 1, 0], [1, 0, 0]])}
        >>> [row["ids"].tolist() for row in unpad(batch)]
        [[5, 6], [7]]

    Introduced in: Chapter 6 (6.1 question answering).
    """
    if mask_key not in batch:
        raise KeyError(
            f"unpad needs batch[{mask_key!r}] (N, T) to know each example's length; pass "
            f"mask_key= the name of the attention mask (keys: {sorted(batch)})"
        )
    mask = batch[mask_key]
    if mask.dim() != 2:
        raise ValueError(f"{mask_key} must be (N, T), got shape {tuple(mask.shape)}")
    # length = 1 + the last real column, so a row's inner zeros (if any) are kept
    columns = torch.arange(1, mask.size(1) + 1, device=mask.device)
    lengths = (mask.bool() * columns).amax(dim=1).tolist()  # (N,)
    return [
        {k: v[n, :length] if v.shape[:2] == mask.shape else v[n] for k, v in batch.items()}
        for n, length in enumerate(lengths)
    ]
