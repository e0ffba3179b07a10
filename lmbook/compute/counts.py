"""Counting a transformer's cost from its shape: parameters, FLOPs, the ``6·N·D`` rule.

Everything here is arithmetic on a model's shape (or a walk over its parameters); nothing
is timed. Measuring on the reader's machine lives in :mod:`lmbook.compute.measure`.

Conventions (Kaplan et al. 2020, Table 1; Chowdhery et al. 2022, Appendix B):

- a multiply-add is 2 FLOPs; a forward pass through a weight matrix of ``n``
  parameters costs ``2·n`` FLOPs per token;
- the backward pass costs twice the forward, so training costs ``3x`` the
  forward: ``6·N`` FLOPs per token, ``6·N·D`` for ``D`` training tokens;
- attention adds ``4·L·T·d_attn`` forward FLOPs per token (``Q·Kᵀ`` and
  ``A·V``) for context ``T`` (PaLM's convention, no credit for causal
  masking; Kaplan's ``2·L·T·d_attn`` is the causal average).

Introduced in: Chapter 8 (compute and scaling).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from lmbook.models.bert import BertConfig
from lmbook.models.gpt import GPTConfig
from lmbook.models.seq2seq import Seq2SeqConfig
from lmbook.nn.params import count_parameters  # re-exported: lmbook.compute.count_parameters

__all__ = [
    "PUBLISHED_MODELS",
    "FlopCount",
    "ModelShape",
    "count_parameters",
    "flops_per_token",
    "model_flops_utilization",
    "param_count",
    "training_flops",
    "training_time_s",
]


# ---------------------------------------------------------------------------
# Shapes and counts
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelShape:
    """The few numbers that fix a decoder/encoder transformer's parameter and FLOP counts.

    Attributes:
        n_layers: number of transformer blocks (L).
        d_model: residual width (D).
        n_heads: attention heads (H); the head width is ``d_model // n_heads``.
        vocab_size: vocabulary size (V).
        block_size: context length (T) the model was trained with.
        d_ff: feed-forward width; ``None`` means ``4 * d_model``.
        n_kv_heads: key/value heads for multi-/grouped-query attention; ``None`` = ``n_heads``.
        bias: whether linear layers and norms carry biases (GPT-2, BERT: yes; LLaMA: no).
        tie_embeddings: whether the output projection reuses the token embedding.
        learned_positions: whether there is a learned position table (GPT-2, BERT: yes;
            rotary models such as LLaMA: no).
        ffn_matrices: 2 for a GELU MLP, 3 for a gated (SwiGLU) MLP.
        type_vocab_size: BERT's segment embeddings (0 for GPT).
        name: a label for tables.
    """

    n_layers: int
    d_model: int
    n_heads: int
    vocab_size: int
    block_size: int
    d_ff: int | None = None
    n_kv_heads: int | None = None
    bias: bool = True
    tie_embeddings: bool = True
    learned_positions: bool = True
    ffn_matrices: int = 2
    type_vocab_size: int = 0
    name: str = ""

    def __post_init__(self) -> None:
        for f in ("n_layers", "d_model", "n_heads", "vocab_size", "block_size"):
            if getattr(self, f) <= 0:
                raise ValueError(f"ModelShape.{f} must be positive, got {getattr(self, f)}")
        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads}); "
                "pick a head count that divides the width"
            )
        if self.n_heads % self.kv_heads:
            raise ValueError(
                f"n_heads ({self.n_heads}) must be divisible by n_kv_heads ({self.kv_heads}); "
                "each key/value head serves a whole group of query heads"
            )
        if self.ffn_matrices not in (2, 3):
            raise ValueError(
                f"ffn_matrices must be 2 (MLP) or 3 (gated MLP), got {self.ffn_matrices}"
            )

    @property
    def ff(self) -> int:
        """The feed-forward width (``4 * d_model`` when ``d_ff`` is None)."""
        return 4 * self.d_model if self.d_ff is None else self.d_ff

    @property
    def kv_heads(self) -> int:
        """Number of key/value heads (``n_heads`` unless grouped-query)."""
        return self.n_heads if self.n_kv_heads is None else self.n_kv_heads

    @classmethod
    def from_config(cls, config: Any, name: str = "") -> ModelShape:
        """Read the shape of an lmbook ``GPTConfig`` or ``BertConfig``.

        A BERT config brings its segment embeddings and its ``block_size`` as the context;
        a GPT config its ``block_size``, grouped-query heads, biases and tying.

        Raises:
            ValueError: a ``Seq2SeqConfig`` (an encoder-decoder has two stacks and
                cross-attention, which one ``ModelShape`` does not describe).
            TypeError: any other object.
        """
        specific: dict[str, Any]
        if isinstance(config, BertConfig):
            specific = {
                "block_size": config.block_size,
                "type_vocab_size": config.type_vocab_size,
            }
        elif isinstance(config, GPTConfig):
            specific = {
                "block_size": config.block_size,
                "n_kv_heads": config.n_kv_heads,
                "bias": config.bias,
                "tie_embeddings": config.tie_embeddings,
            }
        elif isinstance(config, Seq2SeqConfig):
            raise ValueError(
                "ModelShape describes one stack of blocks; an encoder-decoder has two and "
                "cross-attention. Count a Seq2SeqTransformer with count_parameters(model)"
            )
        else:
            raise TypeError(
                f"ModelShape.from_config takes a GPTConfig or BertConfig, got "
                f"{type(config).__name__}; for another model build "
                "ModelShape(n_layers, d_model, n_heads, vocab_size, block_size)"
            )
        return cls(
            n_layers=config.n_layers,
            d_model=config.d_model,
            n_heads=config.n_heads,
            vocab_size=config.vocab_size,
            d_ff=config.d_ff,
            name=name,
            **specific,
        )


def param_count(shape: ModelShape) -> dict[str, int]:
    """Count a transformer's parameters from its shape, by part.

    Counts what GPT-2/BERT-style models hold: token, position (and segment)
    embeddings; per block the Q, K, V and output projections, the MLP and two
    LayerNorms; a final LayerNorm; and an output projection unless tied. BERT's
    pooler and MLM head transform are not counted (they sit outside the encoder).

    Args:
        shape: the model's :class:`ModelShape`.

    Returns:
        dict with ``embedding``, ``attention``, ``ffn``, ``norms``, ``lm_head`` (0 when tied),
        ``non_embedding`` (what Kaplan et al. call N) and ``total``.

    Introduced in: Chapter 8.
    """
    d, L, dh = shape.d_model, shape.n_layers, shape.d_model // shape.n_heads
    b = 1 if shape.bias else 0
    d_kv = shape.kv_heads * dh
    embedding = shape.vocab_size * d
    if shape.learned_positions:
        embedding += shape.block_size * d
    embedding += shape.type_vocab_size * d
    # Q and output projections are d x d; K and V shrink with fewer key/value heads.
    attention = L * (2 * (d * d + b * d) + 2 * (d * d_kv + b * d_kv))
    ffn = L * (shape.ffn_matrices * d * shape.ff + b * (shape.ff * (shape.ffn_matrices - 1) + d))
    norm_params = 2 * d if shape.bias else d  # LayerNorm (scale+shift) or RMSNorm (scale)
    norms = (2 * L + 1) * norm_params
    lm_head = 0 if shape.tie_embeddings else shape.vocab_size * d
    non_embedding = attention + ffn + norms
    return {
        "embedding": embedding,
        "attention": attention,
        "ffn": ffn,
        "norms": norms,
        "lm_head": lm_head,
        "non_embedding": non_embedding,
        "total": embedding + non_embedding + lm_head,
    }


@dataclass(frozen=True)
class FlopCount:
    """Forward FLOPs per token, by part (multiply-add = 2 FLOPs)."""

    attention_proj: float
    attention_scores: float
    ffn: float
    lm_head: float

    @property
    def forward(self) -> float:
        """Forward FLOPs per token."""
        return self.attention_proj + self.attention_scores + self.ffn + self.lm_head

    @property
    def training(self) -> float:
        """Training FLOPs per token: forward + backward (2x forward) = 3x forward."""
        return 3.0 * self.forward

    def as_dict(self) -> dict[str, float]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out.update(forward=self.forward, training=self.training)
        return out


def flops_per_token(
    shape: ModelShape, context: int | None = None, *, causal: bool = False
) -> FlopCount:
    """Forward FLOPs per token of a transformer, counting every matmul.

    ``2·N`` for the weight matmuls (N = non-embedding matmul weights, plus the
    output projection), plus attention's ``Q·Kᵀ`` and ``A·V``:
    ``4·L·T·d_model`` per token at context ``T`` (each of the H heads does
    ``2·T·Dh`` multiply-adds twice). Norms, softmax and GELU are a few percent
    and left out, as in Kaplan et al. (2020) Table 1.

    Args:
        shape: the model's :class:`ModelShape`.
        context: sequence length T; defaults to ``shape.block_size``.
        causal: halve the attention term (a causal model's query i sees i+1 keys:
            T/2 on average; Kaplan et al.'s convention). Default False (PaLM's MFU).

    Returns:
        a :class:`FlopCount`; ``.forward`` and ``.training`` (3x) are per token.

    Introduced in: Chapter 8.
    """
    T = shape.block_size if context is None else context
    if T <= 0:
        raise ValueError(f"context must be positive, got {T}")
    d, L, dh = shape.d_model, shape.n_layers, shape.d_model // shape.n_heads
    d_kv = shape.kv_heads * dh
    attention_proj = 2.0 * L * (2 * d * d + 2 * d * d_kv)
    attention_scores = 2.0 * L * 2 * T * d * (0.5 if causal else 1.0)
    ffn = 2.0 * L * shape.ffn_matrices * d * shape.ff
    lm_head = 2.0 * d * shape.vocab_size
    return FlopCount(attention_proj, attention_scores, ffn, lm_head)


def training_flops(n_params: float, n_tokens: float) -> float:
    """Total training compute by the ``C ≈ 6·N·D`` rule (Kaplan et al. 2020, eq. 2.1).

    Args:
        n_params: N, parameters (non-embedding in Kaplan et al.; Chinchilla counts all).
        n_tokens: D, training tokens processed.

    Returns:
        FLOPs (forward 2N + backward 4N per token, times D).

    Introduced in: Chapter 8.
    """
    if n_params <= 0 or n_tokens <= 0:
        raise ValueError(f"n_params and n_tokens must be positive, got {n_params}, {n_tokens}")
    return 6.0 * float(n_params) * float(n_tokens)


def training_time_s(total_flops: float, peak_flops_per_s: float, mfu: float) -> float:
    """Wall-clock seconds to spend ``total_flops`` at utilization ``mfu`` of a peak.

    Introduced in: Chapter 8.
    """
    if not 0.0 < mfu <= 1.0:
        raise ValueError(f"mfu must be in (0, 1], got {mfu}; pass a fraction, not a percentage")
    if peak_flops_per_s <= 0:
        raise ValueError(f"peak_flops_per_s must be positive, got {peak_flops_per_s}")
    return total_flops / (peak_flops_per_s * mfu)


def model_flops_utilization(
    tokens_per_s: float, training_flops_per_token: float, peak_flops_per_s: float
) -> float:
    """Model FLOPs utilization (Chowdhery et al. 2022, App. B): achieved / peak FLOP/s.

    Args:
        tokens_per_s: measured training throughput.
        training_flops_per_token: e.g. ``flops_per_token(shape).training`` (≈ 6N + attention).
        peak_flops_per_s: the hardware's peak, e.g. from :func:`measure_matmul_peak`.

    Returns:
        a fraction in [0, 1] (can exceed 1 only when the peak was under-measured).

    Introduced in: Chapter 8.
    """
    if peak_flops_per_s <= 0:
        raise ValueError(f"peak_flops_per_s must be positive, got {peak_flops_per_s}")
    return tokens_per_s * training_flops_per_token / peak_flops_per_s


# Published architectures (shapes from each paper; parameter counts are recomputed by
# param_count and compared against the paper's headline figure in the book).
PUBLISHED_MODELS: dict[str, ModelShape] = {
    # Devlin et al. 2019, Sec. 3: L=12, H=768, A=12 (110M) and L=24, H=1024, A=16 (340M).
    "BERT-base": ModelShape(12, 768, 12, 30522, 512, type_vocab_size=2, name="BERT-base"),
    "BERT-large": ModelShape(24, 1024, 16, 30522, 512, type_vocab_size=2, name="BERT-large"),
    # Radford et al. 2019, Table 2 (117M/345M/762M/1542M as published; the 117M is 124M
    # when counted exactly, a known erratum).
    "GPT-2 small": ModelShape(12, 768, 12, 50257, 1024, name="GPT-2 small"),
    "GPT-2 medium": ModelShape(24, 1024, 16, 50257, 1024, name="GPT-2 medium"),
    "GPT-2 large": ModelShape(36, 1280, 20, 50257, 1024, name="GPT-2 large"),
    "GPT-2 XL": ModelShape(48, 1600, 25, 50257, 1024, name="GPT-2 XL"),
    # Brown et al. 2020, Table 2.1: 96 layers, d_model 12288, 96 heads, context 2048.
    "GPT-3": ModelShape(96, 12288, 96, 50257, 2048, name="GPT-3"),
    # Touvron et al. 2023, Table 2 (+ SwiGLU width 11008, RMSNorm, rotary, untied, no bias).
    "LLaMA-7B": ModelShape(
        32,
        4096,
        32,
        32000,
        2048,
        d_ff=11008,
        bias=False,
        tie_embeddings=False,
        learned_positions=False,
        ffn_matrices=3,
        name="LLaMA-7B",
    ),
}
