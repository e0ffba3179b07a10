"""Building blocks shared by every model: attention, masks, positions, layers, KV cache, checks,
and the weights' memory order while decoding.

Introduced in: Chapter 4.2 (attention) and 4.3 (blocks).
"""

from lmbook.nn.attention import (
    ATTENTION_IMPLS,
    MultiHeadAttention,
    attention,
    override_attention,
    record_attention,
)
from lmbook.nn.cache import KVCache, LayerKVCache
from lmbook.nn.checks import check_key_mask, check_token_ids
from lmbook.nn.layers import (
    ACTIVATIONS,
    FeedForward,
    PostLNBlock,
    PreLNBlock,
    TransformerBlock,
    activation,
)
from lmbook.nn.layout import decoding_layout
from lmbook.nn.masks import causal_mask, combine_masks, padding_mask, sliding_window_mask
from lmbook.nn.params import count_parameters
from lmbook.nn.positional import LearnedPositions, SinusoidalPositions

__all__ = [
    "ACTIVATIONS",
    "ATTENTION_IMPLS",
    "FeedForward",
    "KVCache",
    "LayerKVCache",
    "LearnedPositions",
    "MultiHeadAttention",
    "PostLNBlock",
    "PreLNBlock",
    "SinusoidalPositions",
    "TransformerBlock",
    "activation",
    "attention",
    "causal_mask",
    "check_key_mask",
    "check_token_ids",
    "combine_masks",
    "count_parameters",
    "decoding_layout",
    "override_attention",
    "padding_mask",
    "record_attention",
    "sliding_window_mask",
]
