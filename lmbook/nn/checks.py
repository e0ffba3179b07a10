"""Input checks shared by GPT, BERT and the encoder-decoder: token ids and padding masks.

One definition, so the three models accept the same inputs and refuse the same mistakes
with the same messages: a tensor of the wrong rank or dtype, an empty or too-long sequence,
an id outside the vocabulary, a mask of the wrong shape, a row that is all padding.

Shape checks are free. Checks that read tensor *values* (the vocabulary range, a mask's
rows) cost a host synchronisation on a GPU (once per decoding step) and a graph break under
``torch.compile``; they run in eager CPU code, where they are cheap and where learners
make these mistakes. On other devices the id range is checked asynchronously on the device
(``torch._assert_async``: a failure surfaces as a device-side assert at the next sync), and
under ``torch.compile`` it is skipped.

Introduced in: Chapter 3.2 (what a GPT's forward pass checks).
"""

from __future__ import annotations

import torch

from lmbook.nn.masks import padding_mask

__all__ = ["TOKEN_ID_DTYPES", "check_key_mask", "check_token_ids", "value_checks_enabled"]

# What nn.Embedding accepts as indices.
TOKEN_ID_DTYPES = (torch.int64, torch.int32)


def value_checks_enabled(t: torch.Tensor) -> bool:
    """Whether checks that read ``t``'s values run: eager mode on the CPU only."""
    return t.device.type == "cpu" and not torch.compiler.is_compiling()


def check_token_ids(
    ids: torch.Tensor,
    vocab_size: int,
    *,
    name: str = "input_ids",
    block_size: int | None = None,
    past: int = 0,
) -> None:
    """Check a (B, T) tensor of token ids; raise ValueError naming the problem and the fix.

    Args:
        ids: (B, T) token ids, int64 or int32.
        vocab_size: ids must lie in [0, vocab_size).
        name: the argument's name, used in the messages.
        block_size: the model's context length; ``past + T`` must not exceed it.
        past: tokens already in the KV cache.
    """
    if not isinstance(ids, torch.Tensor) or ids.dim() != 2:
        got = tuple(ids.shape) if isinstance(ids, torch.Tensor) else type(ids).__name__
        raise ValueError(
            f"{name} must be a (B, T) tensor of token ids, got {got}; add a batch axis with "
            "ids[None]"
        )
    if ids.dtype not in TOKEN_ID_DTYPES:
        raise ValueError(
            f"{name} must hold integer token ids (int64 or int32), got dtype {ids.dtype}; "
            "convert with ids.long()"
        )
    T = ids.shape[1]
    if T == 0:
        raise ValueError(f"{name} is empty (T = 0); pass at least one token")
    if block_size is not None and past + T > block_size:
        raise ValueError(
            f"{name} needs {past + T} positions ({past} cached + {T} new) but the model's "
            f"context is block_size={block_size}; crop or truncate to the last {block_size} "
            "tokens (generate() does this for you)"
        )
    if value_checks_enabled(ids):
        lo, hi = torch.aminmax(ids)
        if lo < 0 or hi >= vocab_size:
            raise ValueError(
                f"{name} must be in [0, {vocab_size}), got min {int(lo)} and max {int(hi)}; "
                "encode with the tokenizer this model was built for"
            )
    elif not torch.compiler.is_compiling():
        torch._assert_async(((ids >= 0) & (ids < vocab_size)).all(), f"{name} out of range")


def check_key_mask(
    mask: torch.Tensor | None, shape: tuple[int, int], *, name: str = "attention_mask"
) -> torch.Tensor | None:
    """Check a (B, L) padding mask and turn it into the (B, 1, 1, L) bool mask attention takes.

    Args:
        mask: (B, L), 1 or True for real tokens, 0 or False for padding; None means no padding.
        shape: the (B, L) of the ids it belongs to.
        name: the argument's name, used in the messages.

    Returns:
        (B, 1, 1, L) bool (True = may attend), or None when nothing is padded (eager CPU
        only: it lets sdpa take its unmasked and causal fast paths).

    Raises:
        ValueError: wrong shape, values other than 0/1, or a row that is all padding (its
            queries would attend to nothing).
    """
    if mask is None:
        return None
    if not isinstance(mask, torch.Tensor) or tuple(mask.shape) != tuple(shape):
        got = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValueError(
            f"{name} has shape {got} but the ids have shape {tuple(shape)}; they must match "
            "exactly (one entry per token, 1 = real, 0 = padding), so build both with the same "
            "tokenizer call"
        )
    keep = mask.bool()
    if value_checks_enabled(mask):
        if mask.dtype != torch.bool and not bool(((mask == 0) | (mask == 1)).all()):
            raise ValueError(f"{name} must hold only 0 and 1 (or be bool)")
        if not bool(keep.any(dim=1).all()):
            raise ValueError(
                f"a row of {name} is all padding: every sequence needs at least one real token"
            )
        if bool(keep.all()):
            return None
    return padding_mask(keep)  # (B, L) -> (B, 1, 1, L)
