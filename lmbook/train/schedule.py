"""Learning-rate schedules: linear warmup, then cosine decay to a floor.

The schedule is a pure function of the optimizer step, so a resumed run needs
no scheduler object in its checkpoint: the step number *is* the scheduler state.

Introduced in: Chapter 5 (pretraining GPT).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["WarmupCosine", "warmup_cosine_lr"]


def warmup_cosine_lr(
    it: int, *, lr: float, min_lr: float, warmup_iters: int, decay_iters: int
) -> float:
    """Learning rate at optimizer step ``it`` (0-based): linear warmup, cosine decay, floor.

    Follows nanoGPT's ``get_lr`` (itself GPT-3's recipe, Brown et al. 2020, §B):
    ``lr * (it + 1) / (warmup_iters + 1)`` during warmup (never exactly zero, so the
    first step moves the weights), then a half cosine from ``lr`` down to ``min_lr``
    reached at ``decay_iters``, then ``min_lr``.

    Args:
        it: the optimizer step about to be taken, starting at 0.
        lr: peak learning rate.
        min_lr: floor reached at ``decay_iters``.
        warmup_iters: steps of linear warmup (0 for none).
        decay_iters: step at which the cosine reaches ``min_lr``; must be >= warmup_iters.

    Returns:
        The learning rate (a float).
    """
    if it < 0:
        raise ValueError(f"step must be >= 0, got {it}")
    if decay_iters < warmup_iters:
        raise ValueError(
            f"decay_iters ({decay_iters}) must be >= warmup_iters ({warmup_iters}); "
            "raise lr_decay_iters or lower warmup_iters"
        )
    if it < warmup_iters:
        return lr * (it + 1) / (warmup_iters + 1)
    if it >= decay_iters:
        return min_lr
    progress = (it - warmup_iters) / max(1, decay_iters - warmup_iters)  # in [0, 1)
    coeff = 0.5 * (1.0 + math.cos(math.pi * progress))  # 1 -> 0
    return min_lr + coeff * (lr - min_lr)


@dataclass(frozen=True)
class WarmupCosine:
    """A :func:`warmup_cosine_lr` schedule with its settings bound: ``sched(it) -> lr``.

    Example:
        >>> s = WarmupCosine(lr=1e-3, min_lr=1e-4, warmup_iters=100, decay_iters=2000)
        >>> round(s(0), 8), round(s(100), 8), s(2000)
        (9.9e-06, 0.001, 0.0001)
    """

    lr: float
    min_lr: float
    warmup_iters: int
    decay_iters: int

    def __post_init__(self) -> None:
        if self.lr <= 0 or self.min_lr < 0 or self.min_lr > self.lr:
            raise ValueError(
                f"need 0 <= min_lr <= lr and lr > 0, got lr={self.lr}, min_lr={self.min_lr}"
            )
        if self.warmup_iters < 0 or self.decay_iters < self.warmup_iters:
            raise ValueError(
                f"need 0 <= warmup_iters <= decay_iters, got warmup_iters={self.warmup_iters}, "
                f"decay_iters={self.decay_iters}"
            )

    def __call__(self, it: int) -> float:
        return warmup_cosine_lr(
            it,
            lr=self.lr,
            min_lr=self.min_lr,
            warmup_iters=self.warmup_iters,
            decay_iters=self.decay_iters,
        )
