"""Position information: fixed sinusoids and learned tables.

Attention is permutation-equivariant, so the order of tokens must be added to
the input. Both modules return a (T, D) table for positions
``offset .. offset + T - 1`` that the model adds to its token embeddings.

Introduced in: Chapter 3.1 (BERT embeddings) and 3.2 (GPT).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["LearnedPositions", "SinusoidalPositions"]


def _check_range(T: int, offset: int, max_len: int) -> None:
    if offset < 0 or T < 0:
        raise ValueError(f"positions need T >= 0 and offset >= 0, got T={T}, offset={offset}")
    if offset + T > max_len:
        raise ValueError(
            f"sequence of {offset + T} positions is longer than the model's context of "
            f"{max_len}; crop the input to the last {max_len} tokens or use a model with a "
            "longer context"
        )


class SinusoidalPositions(nn.Module):
    """Fixed sinusoidal positions (Vaswani et al. 2017, section 3.5).

    PE[p, 2i] = sin(p / 10000^(2i/D)), PE[p, 2i+1] = cos(p / 10000^(2i/D)).
    The table is a non-persistent buffer: it is recomputed, never saved.

    Args:
        max_len: longest sequence supported.
        d_model: width D (odd D is allowed: the last cosine column is dropped).

    Shapes: forward(T, offset) -> (T, D).

    Introduced in: Chapter 5 (the encoder-decoder).
    """

    def __init__(self, max_len: int, d_model: int) -> None:
        super().__init__()
        if max_len < 1 or d_model < 1:
            raise ValueError(f"need max_len >= 1 and d_model >= 1, got {max_len}, {d_model}")
        self.max_len, self.d_model = max_len, d_model
        pos = torch.arange(max_len, dtype=torch.float32)[:, None]  # (L, 1)
        inv_freq = torch.exp(
            torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model)
        )  # (ceil(D/2),)
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(pos * inv_freq)
        pe[:, 1::2] = torch.cos(pos * inv_freq[: d_model // 2])
        self.register_buffer("pe", pe, persistent=False)

    def forward(self, T: int, offset: int = 0) -> torch.Tensor:
        _check_range(T, offset, self.max_len)
        return self.pe[offset : offset + T]


class LearnedPositions(nn.Module):
    """A learned (max_len, D) table of position vectors (GPT-2, BERT).

    Args:
        max_len: longest sequence supported (the model's context).
        d_model: width D.

    Shapes: forward(T, offset) -> (T, D).

    Introduced in: Chapter 3.1.
    """

    def __init__(self, max_len: int, d_model: int) -> None:
        super().__init__()
        self.max_len, self.d_model = max_len, d_model
        self.weight = nn.Parameter(torch.empty(max_len, d_model))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, T: int, offset: int = 0) -> torch.Tensor:
        _check_range(T, offset, self.max_len)
        return self.weight[offset : offset + T]
