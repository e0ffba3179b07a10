"""Building blocks shared by every model: attention, masks, positions, layers, KV cache.

Introduced in: Chapter 4.2 (attention) and 4.3 (blocks).
"""

from lmbook.nn.attention import ATTENTION_IMPLS, MultiHeadAttention, attention
from lmbook.nn.cache import KVCache, LayerKVCache
from lmbook.nn.layers import ACTIVATIONS, FeedForward, TransformerBlock
from lmbook.nn.masks import causal_mask, combine_masks, padding_mask, sliding_window_mask
from lmbook.nn.positional import LearnedPositions, SinusoidalPositions

__all__ = [
    "ACTIVATIONS",
    "ATTENTION_IMPLS",
    "FeedForward",
    "KVCache",
    "LayerKVCache",
    "LearnedPositions",
    "MultiHeadAttention",
    "SinusoidalPositions",
    "TransformerBlock",
    "attention",
    "causal_mask",
    "combine_masks",
    "padding_mask",
    "sliding_window_mask",
]
