"""The memory order of weight matrices while a model decodes one token at a time.

With a KV cache, each decoding step multiplies every weight matrix by a single vector: it reads
each weight once and does two flops per number read, so the step takes as long as streaming
the weights from memory. How fast the BLAS library streams a matrix depends on its memory
order. On an AMD EPYC (AVX2, torch's MKL, one thread) a (1536, 384) ``nn.Linear`` weight
(384 inputs, 1536 outputs) multiplies a vector 1.7x faster stored column-major, contiguous
along its outputs, than in PyTorch's row-major order; a (384, 1536) weight is 1.5x *slower*
that way; weights that fit in the cache hardly care. Training multiplies each weight by a
whole batch and is faster row-major (0.9x column-major at nanoGPT's CPU shape).

:func:`decoding_layout` stores each ``nn.Linear`` weight in the faster order for the steps of
one generation and restores it afterwards: same values, same shapes, same ``Parameter``
objects; only the strides change. Which order is faster is measured on this machine
(:func:`vector_product_times`), once per weight shape, dtype and thread count, streaming as
many bytes as the model holds (so a model that fits in the cache is measured in the cache).
A weight is reordered only where the steps save more time than the copy costs; the original
is kept aside meanwhile (decoding never writes weights) and put back at exit, without a copy.

Introduced in: Chapter 3.2 (the generation loop).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["decoding_bytes", "decoding_layout", "vector_product_times"]

# A reordering must be this much faster to be chosen, so noise on a shared machine does not
# flip weights back and forth between runs.
MIN_GAIN = 1.1
_PROBE_MAX_BYTES = 256 * 2**20  # the most a measurement streams per memory order
_TIMES: dict[tuple, tuple[float, float, float]] = {}


def vector_product_times(
    n_out: int, n_in: int, dtype: torch.dtype = torch.float32, stream_bytes: int = 0
) -> tuple[float, float, float]:
    """Seconds per weight byte of ``F.linear(x, W)`` for one vector ``x``, measured here.

    Args:
        n_out, n_in: the weight's shape (an ``nn.Linear(n_in, n_out)``).
        dtype: the weight's dtype.
        stream_bytes: how many weight bytes a decoding step reads in all; the measurement
            cycles through that many bytes of copies (at least one, at most 256 MiB), so the
            weights come from the cache or from memory as they will while decoding.

    Returns:
        ``(row_major, column_major, reorder)``: seconds per byte for the product with the
        weight stored row-major (PyTorch's default) and column-major, and for copying it into
        column-major order. Cached per shape, dtype, thread count and size class.
    """
    size = n_out * n_in * torch.finfo(dtype).bits // 8
    copies = max(1, min(stream_bytes, _PROBE_MAX_BYTES) // size)
    key = (n_out, n_in, dtype, torch.get_num_threads(), copies.bit_length())
    if key not in _TIMES:
        rows = [torch.full((n_out, n_in), 0.5, dtype=dtype) for _ in range(copies)]
        start = time.perf_counter()
        # The same (n_out, n_in) shapes with transposed strides: column-major.
        cols = [w.t().contiguous().t() for w in rows]
        reorder = time.perf_counter() - start
        x = torch.full((1, n_in), 0.5, dtype=dtype)
        seconds: dict[str, list[float]] = {"row": [], "col": []}
        for _ in range(5):  # interleaved rounds, median: robust to a busy neighbour
            for order, weights in (("row", rows), ("col", cols)):
                start = time.perf_counter()
                for w in weights:
                    F.linear(x, w)
                seconds[order].append(time.perf_counter() - start)
        total = copies * size
        _TIMES[key] = (
            statistics.median(seconds["row"]) / total,
            statistics.median(seconds["col"]) / total,
            reorder / total,
        )
    return _TIMES[key]


def _column_major_wins(weight: torch.Tensor, steps: int, stream_bytes: int) -> bool:
    """Whether ``steps`` vector products save more by reordering ``weight`` than it costs."""
    row, col, reorder = vector_product_times(*weight.shape, weight.dtype, stream_bytes)
    saved = steps * (row - col)  # seconds per byte over the whole generation
    return row >= MIN_GAIN * col and saved > reorder


def _decoding_weights(model: nn.Module) -> list[nn.Parameter]:
    """The CPU ``nn.Linear`` weights a decoding step streams; a tied weight (lm_head = tok_emb) once."""
    weights = {}  # id -> Parameter
    for module in model.modules():
        if isinstance(module, nn.Linear):
            w = module.weight
            if w.device.type == "cpu" and w.is_floating_point() and w.is_contiguous():
                weights[id(w)] = w
    return list(weights.values())


def _bytes(weights: list[nn.Parameter]) -> int:
    return sum(w.numel() * w.element_size() for w in weights)


def decoding_bytes(model: nn.Module) -> int:
    """Weight bytes one decoding step of ``model`` streams: the ``stream_bytes`` that
    :func:`decoding_layout` passes to :func:`vector_product_times`."""
    return _bytes(_decoding_weights(model))


@contextmanager
def decoding_layout(model: nn.Module, steps: int) -> Iterator[None]:
    """Store ``model``'s ``nn.Linear`` weights in the order this machine decodes faster.

    For ``steps`` one-token steps, each CPU weight that multiplies a vector measurably faster
    column-major (see the module docstring) is copied into that order on entry; its original
    tensor is kept and put back on exit, also when decoding raises (the copy costs the memory
    of the reordered weights while the block runs). Values, shapes and ``Parameter`` objects
    are unchanged, so outputs differ at most by the rounding of another summation order.
    Weights on other devices are left alone. The block must not write the weights.

    Example:
        >>> with decoding_layout(model, steps=128):
        ...     for _ in range(128):
        ...         logits = model(next_ids, cache=cache)  # one token per step

    Introduced in: Chapter 3.2.
    """
    weights = _decoding_weights(model)
    stream_bytes = _bytes(weights)
    chosen = [w for w in weights if _column_major_wins(w, steps, stream_bytes)]
    originals = [(w, w.data) for w in chosen]
    try:
        for w, data in originals:
            w.data = data.t().contiguous().t()  # (n_out, n_in) stored column-major
        yield
    finally:
        for w, data in originals:
            w.data = data  # decoding never writes weights: restore the original, no copy back
