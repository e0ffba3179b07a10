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
from dataclasses import dataclass, fields, replace

import torch
from torch import nn

from lmbook.nn import (
    ACTIVATIONS,
    ATTENTION_IMPLS,
    KVCache,
    SinusoidalPositions,
    TransformerBlock,
    padding_mask,
)

__all__ = ["Seq2SeqConfig", "Seq2SeqTransformer"]


@dataclass
class Seq2SeqConfig:
    """Hyper-parameters of an encoder-decoder Transformer (defaults: Transformer base).

    Introduced in: Chapter 6.2.
    """

    vocab_size: int = 37000  # target vocabulary V (the paper's shared EN-DE BPE: 37k)
    src_vocab_size: int | None = None  # source vocabulary; None -> vocab_size
    max_position: int = 512  # longest source or target sequence (sinusoid table length)
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
    share_embeddings: bool = True  # one table for source and target (needs one vocabulary)
    n_kv_heads: int | None = None  # grouped-query attention; None -> n_heads
    attn_impl: str = "sdpa"  # "sdpa" (fused) or "naive" (readable, returns weights)

    def __post_init__(self) -> None:
        if self.src_vocab_size is None:
            self.src_vocab_size = self.vocab_size
        for name in ("vocab_size", "src_vocab_size", "max_position", "n_encoder_layers",
                     "n_decoder_layers", "n_heads", "d_model", "d_ff"):  # fmt: skip
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"Seq2SeqConfig.{name} must be an int >= 1, got {value!r}")
        if self.d_model % self.n_heads != 0:
            raise ValueError(
                f"Seq2SeqConfig: d_model ({self.d_model}) must be divisible by n_heads "
                f"({self.n_heads}); change one of them"
            )
        kv = self.n_heads if self.n_kv_heads is None else self.n_kv_heads
        if kv < 1 or self.n_heads % kv != 0:
            raise ValueError(
                f"Seq2SeqConfig: n_heads ({self.n_heads}) must be a multiple of n_kv_heads ({kv})"
            )
        if self.share_embeddings and self.src_vocab_size != self.vocab_size:
            raise ValueError(
                f"Seq2SeqConfig: share_embeddings=True needs one vocabulary, but src_vocab_size="
                f"{self.src_vocab_size} != vocab_size={self.vocab_size}; use a joint tokenizer "
                "or set share_embeddings=False"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"Seq2SeqConfig.dropout must be in [0, 1), got {self.dropout}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"Seq2SeqConfig.activation must be one of {ACTIVATIONS}, got {self.activation!r}"
            )
        if self.attn_impl not in ATTENTION_IMPLS:
            raise ValueError(
                f"Seq2SeqConfig.attn_impl must be one of {ATTENTION_IMPLS}, got {self.attn_impl!r}"
            )

    @classmethod
    def preset(cls, name: str, **overrides) -> Seq2SeqConfig:
        """A named configuration, with optional field overrides.

        Names: "transformer-base" (Vaswani et al. 2017 base: 6+6 layers, 512 wide, 8 heads,
        d_ff 2048; 63.1M parameters at V=37000, which the paper's Table 3 lists as 65M),
        "cpu-small" (3+3 layers, 128 wide, pre-LN, for minutes of CPU training), "tiny" (odd
        sizes for tests).

        Example:
            >>> Seq2SeqConfig.preset("cpu-small", vocab_size=4000)
        """
        if name not in _SEQ2SEQ_PRESETS:
            raise ValueError(
                f"unknown Seq2Seq preset {name!r}; choose one of {sorted(_SEQ2SEQ_PRESETS)}"
            )
        valid = {f.name for f in fields(cls)}
        unknown = set(overrides) - valid
        if unknown:
            raise ValueError(
                f"unknown Seq2SeqConfig fields {sorted(unknown)}; valid: {sorted(valid)}"
            )
        return cls(**{**_SEQ2SEQ_PRESETS[name], **overrides})

    def replace(self, **changes) -> Seq2SeqConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)


# fmt: off
_SEQ2SEQ_PRESETS: dict[str, dict] = {
    "transformer-base": dict(vocab_size=37000, n_encoder_layers=6, n_decoder_layers=6, n_heads=8,
                             d_model=512, d_ff=2048, dropout=0.1, norm_first=False,
                             max_position=512),
    # Small enough to learn short sentence pairs in a few CPU minutes. Pre-LN because it
    # trains stably without the paper's long learning-rate warm-up (Xiong et al. 2020).
    "cpu-small": dict(vocab_size=8000, n_encoder_layers=3, n_decoder_layers=3, n_heads=4,
                      d_model=128, d_ff=512, dropout=0.1, norm_first=True, max_position=128),
    # Odd sizes so a transposed or mis-sliced weight cannot pass a test by accident.
    "tiny": dict(vocab_size=97, n_encoder_layers=2, n_decoder_layers=2, n_heads=3, d_model=36,
                 d_ff=37, dropout=0.0, max_position=23),
}
# fmt: on


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
        if c.share_embeddings:
            self.tok_emb = nn.Embedding(c.vocab_size, c.d_model)
        else:
            self.src_emb = nn.Embedding(c.src_vocab_size, c.d_model)
            self.tgt_emb = nn.Embedding(c.vocab_size, c.d_model)
        self.pos_emb = SinusoidalPositions(c.max_position, c.d_model)
        self.drop = nn.Dropout(c.dropout)

        def block(cross: bool) -> TransformerBlock:
            return TransformerBlock(
                c.d_model, c.n_heads, c.d_ff, norm_first=c.norm_first, cross_attention=cross,
                dropout=c.dropout, activation=c.activation, bias=c.bias, eps=c.layer_norm_eps,
                n_kv_heads=c.n_kv_heads, attn_impl=c.attn_impl,
            )  # fmt: skip

        self.encoder = nn.ModuleList(block(False) for _ in range(c.n_encoder_layers))
        self.decoder = nn.ModuleList(block(True) for _ in range(c.n_decoder_layers))
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
        return self.tok_emb if self.config.share_embeddings else self.src_emb

    @property
    def target_embedding(self) -> nn.Embedding:
        return self.tok_emb if self.config.share_embeddings else self.tgt_emb

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
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= sum(e.weight.numel() for e in {self.source_embedding, self.target_embedding})
        return n

    def new_cache(self) -> KVCache:
        """An empty cache for incremental decoding: entries 2i (self) and 2i+1 (cross)."""
        return KVCache(2 * len(self.decoder))

    # ------------------------------------------------------------------ input checks
    def _check_ids(self, ids: torch.Tensor, name: str, vocab: int, past: int = 0) -> None:
        if not isinstance(ids, torch.Tensor) or ids.dim() != 2:
            shape = tuple(ids.shape) if isinstance(ids, torch.Tensor) else type(ids).__name__
            raise ValueError(f"{name} must be a (B, L) tensor of token ids, got {shape}; "
                             "add a batch axis with ids[None]")  # fmt: skip
        if ids.dtype not in (torch.long, torch.int32, torch.int16, torch.uint8):
            raise ValueError(f"{name} must hold integer token ids, got dtype {ids.dtype}")
        L = ids.shape[1]
        if L == 0:
            raise ValueError(f"{name} is empty (length 0); pass at least one token")
        if past + L > self.config.max_position:
            raise ValueError(
                f"{name} needs {past + L} positions ({past} cached + {L} new) but the model "
                f"supports max_position={self.config.max_position}; truncate the sequences "
                "or build the model with a larger max_position"
            )
        lo, hi = torch.aminmax(ids)
        if lo < 0 or hi >= vocab:
            raise ValueError(
                f"{name} must be in [0, {vocab}), got min {int(lo)} and max {int(hi)}; encode "
                "with the tokenizer the model was built for (or fix the config's vocab size)"
            )

    @staticmethod
    def _key_mask(mask: torch.Tensor | None, name: str, B: int, L: int) -> torch.Tensor | None:
        """Check a (B, L) 0/1 mask; return a (B, 1, 1, L) bool key mask, None if no padding."""
        if mask is None:
            return None
        if not isinstance(mask, torch.Tensor) or tuple(mask.shape) != (B, L):
            got = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
            raise ValueError(
                f"{name} must have shape (B, L) = ({B}, {L}) with 1 for real tokens and 0 for "
                f"padding, got {got}"
            )
        if mask.dtype != torch.bool and not bool(((mask == 0) | (mask == 1)).all()):
            raise ValueError(f"{name} must hold only 0 and 1 (or be bool)")
        keep = mask.bool()
        if not bool(keep.any(dim=1).all()):
            raise ValueError(
                f"a row of {name} is all padding: every sequence needs at least one real token"
            )
        if bool(keep.all()):
            return None  # nothing to hide: lets sdpa take its unmasked (and causal) fast paths
        return padding_mask(keep)  # (B, L) -> (B, 1, 1, L)

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
        self._check_ids(src_ids, "src_ids", self.config.src_vocab_size)
        mask = self._key_mask(src_mask, "src_mask", *src_ids.shape)
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
        self._check_ids(tgt_ids, "tgt_ids", self.config.vocab_size, past)
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
        cross_mask = self._key_mask(src_mask, "src_mask", B, memory.shape[1])
        self_mask = self._key_mask(tgt_mask, "tgt_mask", B, past + T)
        x = self._embed(self.target_embedding, tgt_ids, past)
        for i, block in enumerate(self.decoder):
            x = block(
                x, mask=self_mask, causal=True, context=memory, context_mask=cross_mask,
                cache=None if cache is None else cache[2 * i],
                cross_cache=None if cache is None else cache[2 * i + 1],
            )  # fmt: skip
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

        Each attention sub-layer is re-run once on the readable path (``impl="naive"``) with
        exactly the inputs it received, through forward hooks, so the blocks' own code stays
        the single definition of the model.

        Args:
            src_ids: (B, S); tgt_ids: (B, T); src_mask: (B, S) 0/1 or None.

        Returns:
            A dict of per-layer weight lists: ``"encoder"``, one (B, H, S, S) per encoder
            layer; ``"decoder"``, one (B, H, T, T) per decoder layer (causal: zero above the
            diagonal); ``"cross"``, one (B, H, T, S) per decoder layer (zero on padded source
            positions). Every row sums to one over the positions it may attend to.
        """
        maps: dict[str, list[torch.Tensor]] = {"encoder": [], "decoder": [], "cross": []}
        busy = False

        def recorder(kind: str):
            def hook(module, args, kwargs, output):
                nonlocal busy
                if busy:  # the re-run below calls the same module: do not record it twice
                    return
                busy = True
                try:
                    skip = ("cache", "return_weights")
                    call = {k: v for k, v in kwargs.items() if k not in skip}
                    _, w = module(*args, **call, return_weights=True)
                finally:
                    busy = False
                maps[kind].append(w)

            return hook

        handles = [b.attn.register_forward_hook(recorder("encoder"), with_kwargs=True)
                   for b in self.encoder]  # fmt: skip
        for b in self.decoder:
            handles.append(b.attn.register_forward_hook(recorder("decoder"), with_kwargs=True))
            handles.append(b.cross_attn.register_forward_hook(recorder("cross"), with_kwargs=True))
        was_training = self.training
        self.eval()
        try:
            self(src_ids, tgt_ids, src_mask)
        finally:
            self.train(was_training)
            for h in handles:
                h.remove()
        return maps
