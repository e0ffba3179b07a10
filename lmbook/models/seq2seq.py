"""The original encoder-decoder Transformer (Vaswani et al. 2017), built from lmbook.nn.

Reads top to bottom: config -> model (embeddings scaled by sqrt(D) + sinusoidal positions,
encoder blocks, decoder blocks with cross attention, final norms, output head tied to the
target embedding) -> initialisation -> input checks -> encode -> decode -> forward.

The encoder reads the whole source with unmasked self attention (padding hidden by
``src_mask``); the decoder reads the target shifted right (starting with BOS) with causal self
attention and attends to the encoder output ("memory") through cross attention. Decoding
(greedy and beam search) lives in :mod:`lmbook.generation`; ``decode(..., cache=...)`` is the
incremental step it calls.

Introduced in: Chapter 6.2 (machine translation).
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import nn

from lmbook.generation.seq2seq import beam_search, greedy_decode
from lmbook.models.config import ModelConfig, model_config
from lmbook.nn import (
    KVCache,
    PostLNBlock,
    PreLNBlock,
    SinusoidalPositions,
    count_parameters,
    record_attention,
)
from lmbook.nn.checks import check_key_mask, check_token_ids

__all__ = ["Seq2SeqConfig", "Seq2SeqTransformer"]


@model_config
class Seq2SeqConfig(ModelConfig):
    """Hyper-parameters of an encoder-decoder Transformer (defaults: Transformer base).

    Presets: "transformer-base" (Vaswani et al. 2017 base: 6+6 layers, 512 wide, 8 heads,
    d_ff 2048; 63.1M parameters at V=37000, which the paper's Table 3 lists as 65M),
    "cpu-small" (3+3 layers, 128 wide, pre-LN, for minutes of CPU training), "tiny" (odd
    sizes for tests).

    Example:
        >>> Seq2SeqConfig.preset("cpu-small", vocab_size=4000)

    Introduced in: Chapter 6.2.
    """

    vocab_size: int = 37000  # target vocabulary V (the paper's shared EN-DE BPE: 37k)
    src_vocab_size: int | None = None  # source vocabulary; None -> vocab_size
    block_size: int = 512  # longest source or target sequence (sinusoid table length)
    n_encoder_layers: int = 6  # encoder blocks
    n_decoder_layers: int = 6  # decoder blocks
    n_heads: int = 8  # attention heads H
    d_model: int = 512  # width D
    d_ff: int = 2048  # feed-forward width
    dropout: float = 0.1  # P_drop of the paper: embeddings, attention weights, residuals
    activation: str = "relu"  # the paper's FFN is max(0, x W1 + b1) W2 + b2 (eq. 2)
    norm_first: bool = False  # False: post-LN as in the paper; True: pre-LN (no warm-up needed)
    layer_norm_eps: float = 1e-5
    bias: bool = True  # biases in Linear and LayerNorm layers
    # True: one table for source tokens, target tokens and the output head (section 3.4 of
    # the paper; needs one joint vocabulary). False: the source gets its own table; the
    # output head still shares the target table.
    tie_embeddings: bool = True
    n_kv_heads: int | None = None  # grouped-query attention; None -> n_heads
    attn_impl: str = "sdpa"  # "sdpa" (fused) or "naive" (readable, returns weights)

    POSITIVE: ClassVar = (
        "vocab_size",
        "src_vocab_size",
        "block_size",
        "n_encoder_layers",
        "n_decoder_layers",
        "n_heads",
        "d_model",
        "d_ff",
    )
    DERIVED: ClassVar = {"src_vocab_size": lambda c: c.vocab_size}
    RENAMED: ClassVar = {"max_position": "block_size", "share_embeddings": "tie_embeddings"}

    def validate(self) -> None:
        super().validate()
        if self.tie_embeddings and self.src_vocab_size != self.vocab_size:
            raise ValueError(
                f"Seq2SeqConfig: tie_embeddings=True needs one vocabulary, but src_vocab_size="
                f"{self.src_vocab_size} != vocab_size={self.vocab_size}; use a joint tokenizer "
                "or set tie_embeddings=False"
            )


Seq2SeqConfig.PRESETS = {
    "transformer-base": dict(
        vocab_size=37000,
        n_encoder_layers=6,
        n_decoder_layers=6,
        n_heads=8,
        d_model=512,
        d_ff=2048,
        dropout=0.1,
        norm_first=False,
        block_size=512,
    ),
    # Small enough to learn short sentence pairs in a few CPU minutes. Pre-LN because it
    # trains stably without the paper's long learning-rate warm-up (Xiong et al. 2020).
    "cpu-small": dict(
        vocab_size=8000,
        n_encoder_layers=3,
        n_decoder_layers=3,
        n_heads=4,
        d_model=128,
        d_ff=512,
        dropout=0.1,
        norm_first=True,
        block_size=128,
    ),
    # Odd sizes so a transposed or mis-sliced weight cannot pass a test by accident.
    "tiny": dict(
        vocab_size=97,
        n_encoder_layers=2,
        n_decoder_layers=2,
        n_heads=3,
        d_model=36,
        d_ff=37,
        dropout=0.0,
        block_size=23,
    ),
}


class Seq2SeqTransformer(nn.Module):
    """Encoder-decoder Transformer: the architecture of "Attention Is All You Need".

    Args:
        config: a :class:`Seq2SeqConfig`.

    Parameters: tok_emb (shared) or src_emb + tgt_emb, pos_emb (fixed sinusoids, not saved),
    drop, encoder (blocks), encoder_norm, decoder (blocks with cross attention),
    decoder_norm, lm_head (weight tied to the target embedding, section 3.4 of the paper).
    The final norms are LayerNorms for pre-LN and identities for post-LN, whose blocks
    already end with a LayerNorm.

    Shapes:
        src_ids (B, S), tgt_ids (B, T), src_mask (B, S) 0/1 -> logits (B, T, V).

    Example:
        >>> model = Seq2SeqTransformer(Seq2SeqConfig.preset("tiny"))
        >>> logits = model(src_ids, tgt_ids, src_mask=src_mask)  # teacher forcing

    Introduced in: Chapter 6.2.
    """

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.config = c = config
        if c.tie_embeddings:
            self.tok_emb = nn.Embedding(c.vocab_size, c.d_model)
        else:
            self.src_emb = nn.Embedding(c.src_vocab_size, c.d_model)
            self.tgt_emb = nn.Embedding(c.vocab_size, c.d_model)
        self.pos_emb = SinusoidalPositions(c.block_size, c.d_model)
        self.drop = nn.Dropout(c.dropout)

        Block = PreLNBlock if c.norm_first else PostLNBlock
        kw = dict(
            dropout=c.dropout,
            activation=c.activation,
            bias=c.bias,
            eps=c.layer_norm_eps,
            n_kv_heads=c.n_kv_heads,
            attn_impl=c.attn_impl,
        )
        self.encoder = nn.ModuleList(
            Block(c.d_model, c.n_heads, c.d_ff, **kw) for _ in range(c.n_encoder_layers)
        )
        self.decoder = nn.ModuleList(
            Block(c.d_model, c.n_heads, c.d_ff, **kw, cross_attention=True)
            for _ in range(c.n_decoder_layers)
        )
        if c.norm_first:
            # Pre-LN leaves the residual stream unnormalised: normalise it once at the end.
            self.encoder_norm = nn.LayerNorm(c.d_model, eps=c.layer_norm_eps, bias=c.bias)
            self.decoder_norm = nn.LayerNorm(c.d_model, eps=c.layer_norm_eps, bias=c.bias)
        else:
            self.encoder_norm = nn.Identity()
            self.decoder_norm = nn.Identity()
        self.lm_head = nn.Linear(c.d_model, c.vocab_size, bias=False)
        self.reset_parameters()
        self.lm_head.weight = self.target_embedding.weight

    @property
    def source_embedding(self) -> nn.Embedding:
        return self.tok_emb if self.config.tie_embeddings else self.src_emb

    @property
    def target_embedding(self) -> nn.Embedding:
        return self.tok_emb if self.config.tie_embeddings else self.tgt_emb

    def reset_parameters(self) -> None:
        """Xavier-uniform Linear weights, zero biases, embeddings ~ N(0, 1/D).

        Embeddings are multiplied by sqrt(D) in the forward pass (section 3.4), so their
        std of D**-0.5 gives unit-variance inputs, and the tied output head gives logits of
        order one (the initialisation of fairseq's and the Annotated Transformer's models).
        """
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, mean=0.0, std=self.config.d_model**-0.5)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def num_parameters(self, non_embedding: bool = False) -> int:
        """Number of parameters (tied weights counted once; sinusoids are not parameters)."""
        return count_parameters(self, exclude_embeddings=non_embedding)

    def new_cache(self) -> KVCache:
        """An empty cache for incremental decoding: entries 2i (self) and 2i+1 (cross)."""
        return KVCache(2 * len(self.decoder))

    # ------------------------------------------------------------------ input checks
    def _embed(self, emb: nn.Embedding, ids: torch.Tensor, offset: int) -> torch.Tensor:
        # Section 3.4: embeddings are multiplied by sqrt(D) before the positions are added.
        x = emb(ids) * math.sqrt(self.config.d_model)  # (B, L, D)
        x = x + self.pos_emb(ids.shape[1], offset=offset).to(x.dtype)  # + (L, D)
        return self.drop(x)

    # ------------------------------------------------------------------ encoder / decoder
    def encode(self, src_ids: torch.Tensor, src_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Run the encoder.

        Args:
            src_ids: (B, S) source token ids.
            src_mask: (B, S) 1 for real tokens, 0 for padding (None: no padding).

        Returns:
            memory (B, S, D): one contextual vector per source position (padded positions
            hold values that no decoder query ever attends to).
        """
        c = self.config
        check_token_ids(src_ids, c.src_vocab_size, name="src_ids", block_size=c.block_size)
        mask = check_key_mask(src_mask, src_ids.shape, name="src_mask")  # (B, 1, 1, S)
        x = self._embed(self.source_embedding, src_ids, 0)
        for block in self.encoder:
            x = block(x, mask=mask)  # bidirectional: every real token sees every real token
        return self.encoder_norm(x)

    def decode(
        self,
        tgt_ids: torch.Tensor,
        memory: torch.Tensor,
        src_mask: torch.Tensor | None = None,
        tgt_mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
    ) -> torch.Tensor:
        """Run the decoder on (the next part of) the target.

        Args:
            tgt_ids: (B, T) target ids, starting with BOS on the first call.
            memory: (B, S, D) from :meth:`encode`.
            src_mask: the (B, S) source mask given to :meth:`encode`.
            tgt_mask: (B, past + T) 1 for real target tokens, 0 for padding (None: no
                padding). Right padding never needs it: causal attention hides later tokens.
            cache: a :meth:`new_cache` for incremental decoding; the T new tokens take the
                positions after the cached ones.

        Returns:
            logits (B, T, V).
        """
        past = 0 if cache is None else cache.seq_len
        c = self.config
        check_token_ids(tgt_ids, c.vocab_size, name="tgt_ids", block_size=c.block_size, past=past)
        B, T = tgt_ids.shape
        if memory.dim() != 3 or memory.shape[0] != B or memory.shape[2] != self.config.d_model:
            raise ValueError(
                f"memory must be the encoder output (B={B}, S, D={self.config.d_model}), got "
                f"{tuple(memory.shape)}; pass model.encode(src_ids, src_mask)"
            )
        if cache is not None and len(cache) != 2 * len(self.decoder):
            raise ValueError(
                f"cache has {len(cache)} entries but this decoder needs {2 * len(self.decoder)}; "
                "build it with model.new_cache()"
            )
        cross_mask = check_key_mask(src_mask, (B, memory.shape[1]), name="src_mask")
        self_mask = check_key_mask(tgt_mask, (B, past + T), name="tgt_mask")
        x = self._embed(self.target_embedding, tgt_ids, past)
        for i, block in enumerate(self.decoder):
            x = block(
                x,
                mask=self_mask,
                causal=True,
                context=memory,
                context_mask=cross_mask,
                cache=None if cache is None else cache[2 * i],
                cross_cache=None if cache is None else cache[2 * i + 1],
            )
        return self.lm_head(self.decoder_norm(x))  # (B, T, D) -> (B, T, V)

    def forward(
        self,
        src_ids: torch.Tensor,
        tgt_ids: torch.Tensor,
        src_mask: torch.Tensor | None = None,
        tgt_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Teacher-forced logits: encode the source, decode the whole (shifted) target.

        Args:
            src_ids: (B, S) source ids.
            tgt_ids: (B, T) decoder input: BOS followed by the target without its last token.
            src_mask: (B, S) 1 = real source token, 0 = padding.
            tgt_mask: (B, T) 1 = real target token, 0 = padding (only needed for left padding).

        Returns:
            logits (B, T, V); position t predicts target token t + 1.
        """
        if (
            isinstance(src_ids, torch.Tensor)
            and isinstance(tgt_ids, torch.Tensor)
            and src_ids.dim() == 2 == tgt_ids.dim()
            and src_ids.shape[0] != tgt_ids.shape[0]
        ):
            raise ValueError(
                f"src_ids has batch size {src_ids.shape[0]} but tgt_ids has {tgt_ids.shape[0]}; "
                "each source needs its target"
            )
        memory = self.encode(src_ids, src_mask)
        return self.decode(tgt_ids, memory, src_mask, tgt_mask)

    @torch.no_grad()
    def attention_maps(
        self,
        src_ids: torch.Tensor,
        tgt_ids: torch.Tensor,
        src_mask: torch.Tensor | None = None,
    ) -> dict[str, list[torch.Tensor]]:
        """Attention weights of every layer for one teacher-forced pass (for plots).

        Every attention layer runs the readable path (``impl="naive"``) for this pass and
        records its weights (:func:`lmbook.nn.record_attention`).

        Args:
            src_ids: (B, S); tgt_ids: (B, T); src_mask: (B, S) 0/1 or None.

        Returns:
            A dict of per-layer weight lists: ``"encoder"``, one (B, H, S, S) per encoder
            layer; ``"decoder"``, one (B, H, T, T) per decoder layer (causal: zero above the
            diagonal); ``"cross"``, one (B, H, T, S) per decoder layer (zero on padded source
            positions). Every row sums to one over the positions it may attend to.
        """
        was_training = self.training
        self.eval()
        try:
            with record_attention(self) as recorded:
                self(src_ids, tgt_ids, src_mask)
        finally:
            self.train(was_training)
        return {
            "encoder": [recorded[f"encoder.{i}.attn"][0] for i in range(len(self.encoder))],
            "decoder": [recorded[f"decoder.{i}.attn"][0] for i in range(len(self.decoder))],
            "cross": [recorded[f"decoder.{i}.cross_attn"][0] for i in range(len(self.decoder))],
        }

    @torch.no_grad()
    def generate(
        self,
        src_ids: torch.Tensor,
        src_mask: torch.Tensor | None = None,
        *,
        max_len: int,
        bos_id: int,
        eos_id: int,
        beam_size: int = 1,
        length_penalty: float = 0.6,
    ) -> torch.Tensor:
        """Translate: greedy decoding (``beam_size=1``) or beam search.

        Args:
            src_ids: (B, S) source ids; src_mask: (B, S) 0/1 or None.
            max_len: most target tokens to produce (after BOS).
            bos_id, eos_id: the target's start and end tokens.
            beam_size: hypotheses kept per source (1 = greedy).
            length_penalty: GNMT's alpha for beam search (ignored by greedy decoding).

        Returns:
            (B, <= max_len + 1) target ids starting with BOS; finished rows padded with EOS.

        Introduced in: Chapter 6.2.
        """
        if beam_size == 1:
            return greedy_decode(self, src_ids, src_mask, max_len, bos_id, eos_id)
        return beam_search(
            self, src_ids, src_mask, beam_size, max_len, bos_id, eos_id, length_penalty
        )
