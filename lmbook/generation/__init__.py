"""Decoding: turning next-token distributions into text.

- :mod:`lmbook.generation.sampling`: temperature, top-k (Fan et al. 2018), top-p (nucleus,
  Holtzman et al. 2020) and ``sample_next_token``; ``GPT.generate`` is the decoder-only loop
  that calls them at every step.
- :mod:`lmbook.generation.seq2seq`: greedy and beam-search decoding for an encoder-decoder
  (``Seq2SeqTransformer.generate`` calls them).

Introduced in: Chapter 3.2 (the generation loop) and 6.2 (beam search).
"""

from __future__ import annotations

import torch
from torch import nn

from lmbook.generation.sampling import sample_next_token, top_k_filter, top_p_filter
from lmbook.generation.seq2seq import (
    beam_search,
    gnmt_length_penalty,
    greedy_decode,
    sequence_scores,
)

__all__ = [
    "beam_search",
    "generate",
    "gnmt_length_penalty",
    "greedy_decode",
    "sample_next_token",
    "sequence_scores",
    "top_k_filter",
    "top_p_filter",
]


def generate(
    model: nn.Module, input_ids: torch.Tensor, max_new_tokens: int, **kwargs
) -> torch.Tensor:
    """``model.generate(input_ids, max_new_tokens, **kwargs)``: the loop lives in the model
    (:meth:`lmbook.models.GPT.generate`); this function is kept for code that called it here.
    """
    return model.generate(input_ids, max_new_tokens, **kwargs)
