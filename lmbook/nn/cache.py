"""Key/value cache for incremental decoding.

During generation each new token only needs its own query; the keys and
values of the earlier tokens do not change (the model is causal), so we keep
them instead of recomputing them. This turns each decoding step from
O(T) token work into O(1) (attention itself stays O(T)).

``KVCache`` holds one ``LayerKVCache`` per attention layer; a layer's
``MultiHeadAttention`` receives its own entry (``cache[i]``):

- self-attention: ``update(k, v)`` appends the new keys/values along the
  sequence axis and returns everything cached so far;
- cross-attention (encoder-decoder): the encoder output does not change while
  decoding, so the first call stores its keys/values and later calls reuse
  them (``MultiHeadAttention`` checks ``is_empty``).

Introduced in: Chapter 3.2 (the generation loop).
"""

from __future__ import annotations

import torch

__all__ = ["KVCache", "LayerKVCache"]


class LayerKVCache:
    """Keys and values of one attention layer, each (B, Hkv, S, Dh).

    Appending by ``torch.cat`` would copy the whole cache at every decoding step (O(S) per
    token, and a fresh allocation each time: 17% of a 128-token greedy run, measured).
    Instead the cache keeps buffers with spare room along the sequence axis, doubling them
    when full, so appending a token writes only that token (amortised O(1)); ``keys`` and
    ``values`` are views of the filled part.
    """

    def __init__(self) -> None:
        self._keys: torch.Tensor | None = None  # (B, Hkv, capacity, Dh)
        self._values: torch.Tensor | None = None
        self._len = 0
        self.static = False  # True once ``set``: keys/values that never change (cross-attention)

    @property
    def keys(self) -> torch.Tensor | None:
        return None if self._keys is None else self._keys[:, :, : self._len]

    @property
    def values(self) -> torch.Tensor | None:
        return None if self._values is None else self._values[:, :, : self._len]

    @property
    def is_empty(self) -> bool:
        return self._keys is None

    @property
    def seq_len(self) -> int:
        """Number of cached positions S (0 when empty)."""
        return self._len

    def update(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append new keys/values (B, Hkv, T, Dh) and return all of them (B, Hkv, S + T, Dh)."""
        if self._keys is None:
            self._keys, self._values, self._len = k, v, k.shape[2]  # the prompt: no copy
            return k, v
        if k.shape[0] != self._keys.shape[0]:
            raise ValueError(
                f"KV cache holds batch size {self._keys.shape[0]} but got {k.shape[0]}; "
                "use one cache per batch (call reset() or build a new KVCache)"
            )
        S, T = self._len, k.shape[2]
        if torch.is_grad_enabled() and (k.requires_grad or v.requires_grad):
            # Backpropagating through a cache (rare: decoding is inference) needs tensors
            # that are never written again, so grow by concatenation instead.
            self._keys = torch.cat([self.keys, k], dim=2)  # (B, Hkv, S + T, Dh)
            self._values = torch.cat([self.values, v], dim=2)
            self._len = S + T
            return self._keys, self._values
        if S + T > self._keys.shape[2]:
            self._grow(max(2 * self._keys.shape[2], S + T))
        self._keys[:, :, S : S + T] = k  # (B, Hkv, T, Dh) into the free room
        self._values[:, :, S : S + T] = v
        self._len = S + T
        return self.keys, self.values

    def _grow(self, capacity: int) -> None:
        """Move the filled part into new buffers with room for ``capacity`` positions."""
        B, H, _, Dh = self._keys.shape
        keys = self._keys.new_empty(B, H, capacity, Dh)
        values = self._values.new_empty(B, H, capacity, self._values.shape[3])
        keys[:, :, : self._len] = self._keys[:, :, : self._len]
        values[:, :, : self._len] = self._values[:, :, : self._len]
        self._keys, self._values = keys, values

    def set(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store keys/values that never change (cross-attention) and return them.

        They are stored contiguous: every later step reads them whole, and attention over the
        transposed view of the projection's output is slower (a 4-beam search that no longer
        reorders them, which made them contiguous as a side effect, lost 9 % without this copy).
        """
        k, v = k.contiguous(), v.contiguous()
        self._keys, self._values, self._len = k, v, k.shape[2]
        self.static = True
        return k, v

    def reorder(self, index: torch.Tensor) -> None:
        """Keep the batch rows ``index`` (beam search reorders hypotheses each step)."""
        if self._keys is not None:
            self._keys = self._keys.index_select(0, index)
            self._values = self._values.index_select(0, index)

    def crop(self, length: int) -> None:
        """Keep only the first ``length`` cached positions."""
        self._len = min(self._len, max(int(length), 0))

    def reset(self) -> None:
        self._keys = self._values = None
        self._len = 0
        self.static = False


class KVCache:
    """One ``LayerKVCache`` per layer of a model.

    Args:
        n_layers: number of attention layers that will use the cache.

    Example:
        >>> cache = KVCache(n_layers=4)
        >>> logits = gpt(prompt, cache=cache)          # fills the cache
        >>> logits = gpt(next_token, cache=cache)      # (B, 1) -> (B, 1, V), reuses it

    Introduced in: Chapter 3.2.
    """

    def __init__(self, n_layers: int) -> None:
        if n_layers < 1:
            raise ValueError(f"KVCache needs n_layers >= 1, got {n_layers}")
        self.layers = [LayerKVCache() for _ in range(n_layers)]

    def __getitem__(self, i: int) -> LayerKVCache:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    @property
    def seq_len(self) -> int:
        """Number of positions already cached (same for every layer)."""
        return self.layers[0].seq_len

    def reorder(self, index: torch.Tensor, *, static: bool = True) -> None:
        """Keep the batch rows ``index`` in every layer.

        Args:
            index: (B',) rows to keep, in their new order.
            static: also reorder the layers whose keys never change (``set``: cross-attention).
                Beam search passes False: the K beams of a source share its encoder output, so
                those rows are equal within a source and reordering them copies for nothing
                (a 4-beam search of 15 sources with the ``cpu-small`` preset: 1.14x faster
                without those copies, 1.28x with the contiguous ``set``; one thread, AMD EPYC).
        """
        for layer in self.layers:
            if static or not layer.static:
                layer.reorder(index)

    def crop(self, length: int) -> None:
        for layer in self.layers:
            layer.crop(length)

    def reset(self) -> None:
        for layer in self.layers:
            layer.reset()
