"""GPT: a decoder-only Transformer language model, GPT-2 compatible.

Reads top to bottom: config -> model (embeddings, pre-LN blocks, final norm,
tied output head) -> initialisation -> forward -> generation.
The building blocks live in ``lmbook.nn``; this file only wires them.
``lmbook.hf`` loads Hugging Face GPT-2 checkpoints into it (same logits to 1e-5).

Introduced in: Chapter 3.2 (GPT forward pass and the generation loop).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import torch
from torch import nn

from lmbook.nn import ACTIVATIONS, ATTENTION_IMPLS, KVCache, LearnedPositions, TransformerBlock

__all__ = ["GPT", "GPTConfig"]


@dataclass
class GPTConfig:
    """Hyper-parameters of a GPT model (defaults: GPT-2 small, 124M parameters).

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

    def __post_init__(self) -> None:
        if self.d_ff is None:
            self.d_ff = 4 * self.d_model
        for name in ("vocab_size", "block_size", "n_layers", "n_heads", "d_model", "d_ff"):
            if getattr(self, name) < 1:
                raise ValueError(f"GPTConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.d_model % self.n_heads != 0:
            raise ValueError(
                f"GPTConfig: d_model ({self.d_model}) must be divisible by n_heads "
                f"({self.n_heads}); change one of them"
            )
        kv = self.n_heads if self.n_kv_heads is None else self.n_kv_heads
        if kv < 1 or self.n_heads % kv != 0:
            raise ValueError(
                f"GPTConfig: n_heads ({self.n_heads}) must be a multiple of n_kv_heads ({kv})"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"GPTConfig.dropout must be in [0, 1), got {self.dropout}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"GPTConfig.activation must be one of {ACTIVATIONS}, got {self.activation!r}"
            )
        if self.attn_impl not in ATTENTION_IMPLS:
            raise ValueError(
                f"GPTConfig.attn_impl must be one of {ATTENTION_IMPLS}, got {self.attn_impl!r}"
            )

    @classmethod
    def preset(cls, name: str, **overrides) -> GPTConfig:
        """A named configuration, with optional field overrides.

        Names: "gpt2", "gpt2-medium", "nanogpt-cpu" (4 layers, 4 heads, 128 wide, block 64),
        "nanogpt-gpu" (6 layers, 6 heads, 384 wide, block 256), "tiny" (odd sizes for tests).

        Example:
            >>> GPTConfig.preset("nanogpt-cpu", vocab_size=65)
        """
        if name not in _GPT_PRESETS:
            raise ValueError(f"unknown GPT preset {name!r}; choose one of {sorted(_GPT_PRESETS)}")
        valid = {f.name for f in fields(cls)}
        unknown = set(overrides) - valid
        if unknown:
            raise ValueError(f"unknown GPTConfig fields {sorted(unknown)}; valid: {sorted(valid)}")
        base = dict(_GPT_PRESETS[name])
        base.update(overrides)
        if "d_model" in overrides and "d_ff" not in overrides:
            base["d_ff"] = None  # keep d_ff = 4 * d_model when only the width changes
        return cls(**base)

    def replace(self, **changes) -> GPTConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)


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
            TransformerBlock(
                c.d_model,
                c.n_heads,
                c.d_ff,
                norm_first=True,
                dropout=c.dropout,
                activation=c.activation,
                bias=c.bias,
                eps=c.layer_norm_eps,
                n_kv_heads=c.n_kv_heads,
                attn_impl=c.attn_impl,
            )  # fmt: skip
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
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= self.pos_emb.weight.numel() + self.tok_emb.weight.numel()
        return n

    def new_cache(self) -> KVCache:
        """An empty KV cache with one entry per block (for incremental decoding)."""
        return KVCache(len(self.blocks))

    def _check_input(self, input_ids: torch.Tensor, past: int) -> None:
        if input_ids.dim() != 2:
            raise ValueError(
                f"input_ids must have shape (B, T), got {tuple(input_ids.shape)}; "
                "add a batch axis with input_ids[None]"
            )
        if input_ids.dtype not in (torch.long, torch.int32, torch.int64):
            raise ValueError(f"input_ids must be integer token ids, got dtype {input_ids.dtype}")
        T = input_ids.shape[1]
        if T == 0:
            raise ValueError("input_ids is empty (T = 0); pass at least one token")
        if past + T > self.config.block_size:
            raise ValueError(
                f"sequence of {past + T} tokens ({past} cached + {T} new) is longer than the "
                f"context window block_size={self.config.block_size}; crop to the last "
                f"{self.config.block_size} tokens (generate() does this for you)"
            )
        lo, hi = torch.aminmax(input_ids)
        if lo < 0 or hi >= self.config.vocab_size:
            raise ValueError(
                f"token ids must be in [0, {self.config.vocab_size}), got min {int(lo)} and max "
                f"{int(hi)}; encode with the tokenizer this model was trained with"
            )

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
        self._check_input(input_ids, past)
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
        eos_token_id: int | None = None,
        use_cache: bool = True,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Continue ``input_ids`` by sampling; see :func:`lmbook.generation.generate`.

        ``temperature=0.0`` is greedy decoding. Returns (B, T + n) with n <= max_new_tokens.
        """
        from lmbook.generation import generate

        return generate(
            self, input_ids, max_new_tokens, temperature=temperature, top_k=top_k,
            top_p=top_p, eos_token_id=eos_token_id, use_cache=use_cache, generator=generator,
        )  # fmt: skip
