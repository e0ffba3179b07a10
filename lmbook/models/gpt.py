"""GPT: a decoder-only Transformer language model, GPT-2 compatible.

Reads top to bottom: config -> model (embeddings, pre-LN blocks, final norm,
tied output head) -> initialisation -> forward -> generation.
The building blocks live in ``lmbook.nn``; this file only wires them.
``lmbook.hf`` loads Hugging Face GPT-2 checkpoints into it (same logits to 1e-5).

Introduced in: Chapter 3.2 (GPT forward pass and the generation loop).
"""

from __future__ import annotations

import math
import warnings
from contextlib import nullcontext
from typing import ClassVar

import torch
from torch import nn

from lmbook.generation.sampling import sample_next_token
from lmbook.models.config import ModelConfig, model_config
from lmbook.nn import KVCache, LearnedPositions, PreLNBlock, count_parameters
from lmbook.nn.checks import check_token_ids
from lmbook.nn.layout import decoding_layout

__all__ = ["GPT", "GPTConfig"]


@model_config
class GPTConfig(ModelConfig):
    """Hyper-parameters of a GPT model (defaults: GPT-2 small, 124M parameters).

    Presets: "gpt2", "gpt2-medium", "nanogpt-cpu" (4 layers, 4 heads, 128 wide, block 64),
    "nanogpt-gpu" (6 layers, 6 heads, 384 wide, block 256), "tiny" (odd sizes for tests).

    Example:
        >>> GPTConfig.preset("nanogpt-cpu", vocab_size=65).replace(d_model=256).d_ff
        1024

    Introduced in: Chapter 3.2.
    """

    vocab_size: int = 50257  # V: GPT-2's byte-level BPE vocabulary
    block_size: int = 1024  # context window: longest sequence the model accepts
    n_layers: int = 12  # number of Transformer blocks
    n_heads: int = 12  # attention heads H
    d_model: int = 768  # width D
    d_ff: int | None = None  # feed-forward width; None -> 4 * d_model
    dropout: float = 0.0  # on embeddings, attention weights and residual branches
    bias: bool = True  # biases in Linear and LayerNorm layers (GPT-2 has them)
    layer_norm_eps: float = 1e-5
    activation: str = "gelu_tanh"  # GPT-2 uses the tanh approximation of GELU
    n_kv_heads: int | None = None  # grouped-query attention; None -> n_heads
    attn_impl: str = "sdpa"  # "sdpa" (fused) or "naive" (readable, returns weights)
    tie_embeddings: bool = True  # lm_head shares its weight with tok_emb (Press & Wolf 2017)

    POSITIVE: ClassVar = ("vocab_size", "block_size", "n_layers", "n_heads", "d_model", "d_ff")
    DERIVED: ClassVar = {"d_ff": lambda c: 4 * c.d_model}


_GPT_PRESETS: dict[str, dict] = {
    "gpt2": dict(n_layers=12, n_heads=12, d_model=768, block_size=1024),
    "gpt2-medium": dict(n_layers=24, n_heads=16, d_model=1024, block_size=1024),
    # nanoGPT's shakespeare_char settings, scaled for a CPU and for a single GPU. Like
    # nanoGPT's model.py they use the exact GELU (on CPU PyTorch's tanh-approximate GELU
    # kernel is several times slower), and like its train.py (bias = False) no biases in
    # Linear and LayerNorm layers: as good a loss, and 7% faster per training step here.
    # benchmarks/bench_gpt_train.py measures both choices.
    "nanogpt-cpu": dict(
        n_layers=4,
        n_heads=4,
        d_model=128,
        block_size=64,
        dropout=0.0,
        activation="gelu",
        bias=False,
    ),
    "nanogpt-gpu": dict(
        n_layers=6,
        n_heads=6,
        d_model=384,
        block_size=256,
        dropout=0.2,
        activation="gelu",
        bias=False,
    ),
    # Odd sizes so a transposed or mis-sliced weight cannot pass a test by accident.
    "tiny": dict(vocab_size=97, block_size=23, n_layers=2, n_heads=3, d_model=36, d_ff=37),
}
GPTConfig.PRESETS = _GPT_PRESETS


class GPT(nn.Module):
    """Decoder-only Transformer: token + position embeddings, pre-LN causal blocks, tied head.

    Args:
        config: a :class:`GPTConfig`.

    Parameters: tok_emb, pos_emb, drop, blocks, final_norm, lm_head (weight tied to tok_emb).

    Shapes: input_ids (B, T) -> logits (B, T, V).

    Introduced in: Chapter 3.2.
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = c = config
        self.tok_emb = nn.Embedding(c.vocab_size, c.d_model)
        self.pos_emb = LearnedPositions(c.block_size, c.d_model)
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(
            PreLNBlock(
                c.d_model,
                c.n_heads,
                c.d_ff,
                dropout=c.dropout,
                activation=c.activation,
                bias=c.bias,
                eps=c.layer_norm_eps,
                n_kv_heads=c.n_kv_heads,
                attn_impl=c.attn_impl,
            )
            for _ in range(c.n_layers)
        )
        self.final_norm = nn.LayerNorm(c.d_model, eps=c.layer_norm_eps, bias=c.bias)
        self.lm_head = nn.Linear(c.d_model, c.vocab_size, bias=False)
        self.reset_parameters()
        if c.tie_embeddings:
            self.lm_head.weight = self.tok_emb.weight

    def reset_parameters(self) -> None:
        """GPT-2 initialisation (Radford et al. 2019, section 2.3).

        Every weight ~ N(0, 0.02), biases 0, LayerNorms identity; the projections that
        write into the residual stream (attention out_proj, ffn.fc2) are scaled by
        1 / sqrt(2 n_layers) so the stream's variance does not grow with depth.
        """
        std = 0.02
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, mean=0.0, std=std)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, mean=0.0, std=std)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        nn.init.normal_(self.pos_emb.weight, mean=0.0, std=std)
        resid_std = std / math.sqrt(2 * self.config.n_layers)
        for block in self.blocks:
            nn.init.normal_(block.attn.out_proj.weight, mean=0.0, std=resid_std)
            nn.init.normal_(block.ffn.fc2.weight, mean=0.0, std=resid_std)

    def num_parameters(self, non_embedding: bool = False) -> int:
        """Number of parameters (tied weights counted once).

        Args:
            non_embedding: leave out the token and position tables (the "non-embedding"
                parameter count N of the scaling-law papers, Kaplan et al. 2020).
        """
        return count_parameters(self, exclude_embeddings=non_embedding)

    def new_cache(self) -> KVCache:
        """An empty KV cache with one entry per block (for incremental decoding)."""
        return KVCache(len(self.blocks))

    def hidden_states(self, input_ids: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """The final (normalised) hidden vectors, before the output head.

        Args:
            input_ids: (B, T) token ids.
            cache: a :class:`KVCache` (``model.new_cache()``) for incremental decoding. The
                ``T`` new tokens take positions after the cached ones, and their keys and
                values are appended to the cache.

        Returns:
            (B, T, D); used by task heads (classification on the last token) and by forward().
        """
        past = 0 if cache is None else cache.seq_len
        check_token_ids(
            input_ids, self.config.vocab_size, block_size=self.config.block_size, past=past
        )
        T = input_ids.shape[1]
        x = self.tok_emb(input_ids) + self.pos_emb(T, offset=past)  # (B, T, D) + (T, D)
        x = self.drop(x)
        for i, block in enumerate(self.blocks):
            x = block(x, causal=True, cache=None if cache is None else cache[i])
        return self.final_norm(x)

    def forward(self, input_ids: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """Next-token logits for every position: (B, T) -> (B, T, V).

        Args:
            input_ids: (B, T) token ids.
            cache: optional :class:`KVCache` for incremental decoding (see hidden_states).

        Returns:
            logits (B, T, V).
        """
        return self.lm_head(self.hidden_states(input_ids, cache))  # (B, T, D) -> (B, T, V)

    @torch.no_grad()
    def generate(
        self,
        input_ids: torch.Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        eos_id: int | None = None,
        use_cache: bool = True,
        generator: torch.Generator | None = None,
        **deprecated,
    ) -> torch.Tensor:
        """Continue ``input_ids`` one token at a time (greedy, temperature, top-k, top-p).

        Each step feeds the model only the newest token and reuses the cached keys and values
        of the earlier ones. When the sequence outgrows the context window, the model sees
        the last ``block_size`` tokens, exactly as without a cache (the cache is rebuilt).

        Args:
            input_ids: (B, T) prompt token ids.
            max_new_tokens: how many tokens to add at most.
            temperature: 0.0 for greedy decoding, otherwise the sampling temperature.
            top_k: sample from the k most likely tokens only.
            top_p: sample from the nucleus of probability p only.
            eos_id: stop a sequence once it emits this token; finished rows are padded
                with it, and decoding stops when every row has finished.
            use_cache: reuse keys/values between steps (same tokens, faster).
            generator: ``torch.Generator`` for reproducible sampling.

        Returns:
            (B, T + n) token ids, n <= max_new_tokens.

        Introduced in: Chapter 3.2.
        """
        eos_id = _renamed_eos(eos_id, deprecated)
        if max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
        check_token_ids(input_ids, self.config.vocab_size)
        block_size = self.config.block_size
        was_training = self.training
        self.eval()
        ids = input_ids
        cache = self.new_cache() if use_cache else None
        finished = torch.zeros(ids.shape[0], dtype=torch.bool, device=ids.device)
        step_input = ids[:, -block_size:]  # crop the prompt to the context window
        # One token per step multiplies each weight by a vector: store the weights in the
        # memory order this machine streams faster for that (lmbook.nn.layout).
        layout = decoding_layout(self, max_new_tokens) if use_cache else nullcontext()
        try:
            with layout:
                for _ in range(max_new_tokens):
                    if cache is not None and cache.seq_len + step_input.shape[1] > block_size:
                        # Window full: positions shift, so cached keys are stale. Rebuild from
                        # the last block_size tokens (what the uncached model would see).
                        cache.reset()
                        step_input = ids[:, -block_size:]
                    if cache is None:
                        step_input = ids[:, -block_size:]
                    logits = self(step_input, cache=cache)[:, -1]  # (B, T, V) -> (B, V)
                    next_ids = sample_next_token(logits, temperature, top_k, top_p, generator)
                    if eos_id is not None:
                        next_ids = next_ids.masked_fill(finished, eos_id)
                        finished |= next_ids == eos_id
                    ids = torch.cat([ids, next_ids[:, None]], dim=1)  # (B, T) -> (B, T + 1)
                    step_input = next_ids[:, None]
                    if eos_id is not None and bool(finished.all()):
                        break
        finally:
            self.train(was_training)
        return ids


def _renamed_eos(eos_id: int | None, deprecated: dict) -> int | None:
    if set(deprecated) - {"eos_token_id"}:
        raise TypeError(f"generate() got unexpected arguments {sorted(deprecated)}")
    if "eos_token_id" in deprecated:
        warnings.warn("generate(eos_token_id=) is deprecated; use eos_id=", DeprecationWarning, 3)
        return deprecated["eos_token_id"]
    return eos_id
