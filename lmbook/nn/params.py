"""Counting a model's parameters: one counter for every model and for the compute chapter.

Introduced in: Chapter 8 (compute and scaling).
"""

from __future__ import annotations

from torch import nn

from lmbook.nn.positional import LearnedPositions

__all__ = ["count_parameters"]


def count_parameters(
    model: nn.Module, *, trainable_only: bool = False, exclude_embeddings: bool = False
) -> int:
    """Count a model's parameters (shared tensors, such as tied embeddings, once).

    This is the one parameter counter of lmbook: the models' ``num_parameters`` call it, and
    :mod:`lmbook.compute` re-exports it.

    Args:
        model: any ``nn.Module``.
        trainable_only: count only parameters with ``requires_grad`` (e.g. after LoRA).
        exclude_embeddings: skip the token tables (``nn.Embedding``) and learned position
            tables (``LearnedPositions``): Kaplan et al.'s non-embedding N. A tied output
            projection shares the token table's tensor, so it is skipped with it.

    Returns:
        the number of scalar parameters.

    Introduced in: Chapter 8.
    """
    tables = (nn.Embedding, LearnedPositions)
    skip: set[int] = set()
    if exclude_embeddings:
        skip = {id(m.weight) for m in model.modules() if isinstance(m, tables)}
    total = 0
    for p in model.parameters():  # parameters() yields a shared tensor once
        if id(p) in skip or (trainable_only and not p.requires_grad):
            continue
        total += p.numel()
    return total
