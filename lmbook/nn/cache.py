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
    """Keys and values of one attention layer, each (B, Hkv, S, Dh)."""

    def __init__(self) -> None:
        self.keys: torch.Tensor | None = None
        self.values: torch.Tensor | None = None

    @property
    def is_empty(self) -> bool:
        return self.keys is None

    @property
    def seq_len(self) -> int:
        """Number of cached positions S (0 when empty)."""
        return 0 if self.keys is None else self.keys.shape[2]

    def update(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append new keys/values (B, Hkv, T, Dh) and return all of them (B, Hkv, S + T, Dh)."""
        if self.keys is None:
            self.keys, self.values = k, v
        else:
            if k.shape[0] != self.keys.shape[0]:
                raise ValueError(
                    f"KV cache holds batch size {self.keys.shape[0]} but got {k.shape[0]}; "
                    "use one cache per batch (call reset() or build a new KVCache)"
                )
            self.keys = torch.cat([self.keys, k], dim=2)  # (B, Hkv, S, Dh) + (B, Hkv, T, Dh)
            self.values = torch.cat([self.values, v], dim=2)
        return self.keys, self.values

    def set(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store keys/values that never change (cross-attention) and return them."""
        self.keys, self.values = k, v
        return k, v

    def reorder(self, index: torch.Tensor) -> None:
        """Keep the batch rows ``index`` (beam search reorders hypotheses each step)."""
        if self.keys is not None:
            self.keys = self.keys.index_select(0, index)
            self.values = self.values.index_select(0, index)

    def crop(self, length: int) -> None:
        """Keep only the first ``length`` cached positions."""
        if self.keys is not None:
            self.keys = self.keys[:, :, :length]
            self.values = self.values[:, :, :length]

    def reset(self) -> None:
        self.keys = self.values = None


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

    def reorder(self, index: torch.Tensor) -> None:
        for layer in self.layers:
            layer.reorder(index)

    def crop(self, length: int) -> None:
        for layer in self.layers:
            layer.crop(length)

    def reset(self) -> None:
        for layer in self.layers:
            layer.reset()
