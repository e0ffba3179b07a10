"""Compute cost: parameter and FLOP counts, measured throughput, utilization, scaling fits.

Everything the book says about cost is either counted from a model's shape
(parameters, FLOPs per token, the ``6·N·D`` training rule) or measured on the
reader's machine (matmul peak, tokens per second). The measurement helpers
interleave the variants they compare and report medians of *paired* ratios: on
a shared machine a busy neighbour slows every variant of one round together,
so the ratio inside a round is far steadier than any absolute time.

Conventions (Kaplan et al. 2020, Table 1; Chowdhery et al. 2022, Appendix B):

- a multiply-add is 2 FLOPs; a forward pass through a weight matrix of ``n``
  parameters costs ``2·n`` FLOPs per token;
- the backward pass costs twice the forward, so training costs ``3x`` the
  forward: ``6·N`` FLOPs per token, ``6·N·D`` for ``D`` training tokens;
- attention adds ``4·L·T·d_attn`` forward FLOPs per token (``Q·Kᵀ`` and
  ``A·V``) for context ``T`` (PaLM's convention, no credit for causal
  masking; Kaplan's ``2·L·T·d_attn`` is the causal average).

Introduced in: Chapter 8 (compute and scaling); reused in Chapter 9 and by ``benchmarks/``.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "PUBLISHED_MODELS",
    "BenchmarkResult",
    "FlopCount",
    "ModelShape",
    "PowerLaw",
    "benchmark",
    "count_parameters",
    "fit_power_law",
    "flops_per_token",
    "measure_matmul_peak",
    "model_flops_utilization",
    "param_count",
    "peak_memory_bytes",
    "saved_tensor_bytes",
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
        """Read a shape from an lmbook ``GPTConfig`` or ``BertConfig`` (or anything with their fields).

        BERT configs are recognised by ``max_position``; their biases, untied-but-shared
        decoder and segment embeddings follow ``BertConfig``.
        """
        is_bert = hasattr(config, "max_position")
        return cls(
            n_layers=config.n_layers,
            d_model=config.d_model,
            n_heads=config.n_heads,
            vocab_size=config.vocab_size,
            block_size=config.max_position if is_bert else config.block_size,
            d_ff=getattr(config, "d_ff", None),
            n_kv_heads=getattr(config, "n_kv_heads", None),
            bias=getattr(config, "bias", True),
            tie_embeddings=getattr(config, "tie_embeddings", True),
            type_vocab_size=getattr(config, "type_vocab_size", 0) if is_bert else 0,
            name=name,
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


def count_parameters(
    model: nn.Module, *, trainable_only: bool = False, exclude_embeddings: bool = False
) -> int:
    """Count a model's parameters (shared tensors, such as tied embeddings, once).

    Args:
        model: any ``nn.Module``.
        trainable_only: count only parameters with ``requires_grad`` (e.g. after LoRA).
        exclude_embeddings: skip ``nn.Embedding`` weights (Kaplan et al.'s non-embedding N).

    Returns:
        the number of scalar parameters.

    Introduced in: Chapter 8.
    """
    skip: set[int] = set()
    if exclude_embeddings:
        skip = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    seen: set[int] = set()
    total = 0
    for p in model.parameters():  # parameters() already yields a shared tensor once
        if id(p) in seen or id(p) in skip or (trainable_only and not p.requires_grad):
            continue
        seen.add(id(p))
        total += p.numel()
    return total


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


# ---------------------------------------------------------------------------
# Measurement
# ---------------------------------------------------------------------------


def _sync(device: torch.device | None) -> None:
    if device is not None and device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class BenchmarkResult:
    """Timings of interleaved variants.

    Attributes:
        times: variant name -> list of seconds per call, one entry per round.
        reference: the variant the ratios are relative to.
    """

    times: dict[str, list[float]]
    reference: str

    def median(self, name: str) -> float:
        """Median seconds per call of ``name``."""
        return statistics.median(self.times[name])

    def speedup(self, name: str) -> float:
        """Median over rounds of ``time(reference) / time(name)``: > 1 means ``name`` is faster."""
        ref = self.times[self.reference]
        return statistics.median(r / t for r, t in zip(ref, self.times[name], strict=True))

    def table(self, unit: str = "ms") -> str:
        """A small text table: median time per call and speedup against the reference."""
        scale = {"s": 1.0, "ms": 1e3, "us": 1e6}[unit]
        width = max(len(n) for n in self.times)
        lines = [f"{'variant':<{width}}  median {unit:>3}  speedup vs {self.reference}"]
        for name in self.times:
            lines.append(
                f"{name:<{width}}  {self.median(name) * scale:10.3f}  {self.speedup(name):6.2f}x"
            )
        return "\n".join(lines)


def benchmark(
    variants: Mapping[str, Callable[[], Any]],
    *,
    reference: str | None = None,
    rounds: int = 7,
    warmup: int = 1,
    min_time_s: float = 0.0,
    device: torch.device | str | None = None,
) -> BenchmarkResult:
    """Time several variants of the same work, interleaved, and pair their times by round.

    Each round calls every variant once (the order rotates from round to round,
    so no variant always runs first after a pause). When ``min_time_s`` > 0, a
    variant's call is repeated within the round until that much time has passed
    and the mean per call is recorded, which keeps very short calls measurable.

    Args:
        variants: name -> zero-argument callable doing one unit of work.
        reference: the variant speedups are relative to (default: the first).
        rounds: number of interleaved rounds (the median is over these).
        warmup: untimed calls of each variant first (allocations, lazy init).
        min_time_s: minimum wall time per variant per round.
        device: synchronize this CUDA device around each timing (ignored on CPU).

    Returns:
        a :class:`BenchmarkResult` (``.median(name)``, ``.speedup(name)``, ``.table()``).

    Introduced in: Chapter 8; used in Chapter 9 and ``benchmarks/``.
    """
    if not variants:
        raise ValueError("benchmark needs at least one variant: pass {'name': callable, ...}")
    names = list(variants)
    reference = names[0] if reference is None else reference
    if reference not in variants:
        raise ValueError(f"reference {reference!r} is not a variant; choose one of {names}")
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    dev = torch.device(device) if device is not None else None
    for _ in range(warmup):
        for name in names:
            variants[name]()
    _sync(dev)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            fn = variants[name]
            calls = 0
            _sync(dev)
            start = time.perf_counter()
            while True:
                fn()
                calls += 1
                _sync(dev)
                elapsed = time.perf_counter() - start
                if elapsed >= min_time_s:
                    break
            times[name].append(elapsed / calls)
    return BenchmarkResult(times=times, reference=reference)


def measure_matmul_peak(
    dtype: torch.dtype = torch.float32,
    *,
    n: int = 1024,
    device: torch.device | str = "cpu",
    rounds: int = 5,
    min_time_s: float = 0.1,
) -> float:
    """Measure this machine's dense matmul throughput, the practical "peak" for MFU.

    Multiplies two ``n x n`` matrices repeatedly (``2·n³`` FLOPs each) and returns
    the best round: the peak is what the hardware can reach, so noise from a busy
    neighbour should not lower it.

    Args:
        dtype: torch.float32, torch.bfloat16 or torch.float16.
        n: matrix size (1024 keeps one call around 10 ms on a laptop core).
        device: where to run.
        rounds: timed rounds (best is returned).
        min_time_s: minimum duration of each round.

    Returns:
        FLOP/s (float).

    Introduced in: Chapter 8.
    """
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    device = torch.device(device)
    g = torch.Generator(device="cpu").manual_seed(0)
    a = torch.randn(n, n, generator=g).to(device=device, dtype=dtype)
    b = torch.randn(n, n, generator=g).to(device=device, dtype=dtype)
    res = benchmark(
        {"matmul": lambda: torch.mm(a, b)},
        rounds=rounds,
        warmup=2,
        min_time_s=min_time_s,
        device=device,
    )
    return 2.0 * n**3 / min(res.times["matmul"])


def saved_tensor_bytes(fn: Callable[[], Any]) -> int:
    """Bytes of tensors autograd keeps for the backward pass while running ``fn``.

    This is the activation memory a training step pays for, measured exactly on
    any device (each storage counted once): naive attention keeps the (T, T)
    attention matrix, a fused kernel keeps only O(T) statistics
    (Dao et al. 2022). Inputs must require grad for anything to be saved.

    Args:
        fn: zero-argument callable running a forward pass.

    Returns:
        total bytes of distinct storages saved for backward.

    Introduced in: Chapter 8 (efficient attention).
    """
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        st = t.untyped_storage()
        storages[st.data_ptr()] = st.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(storages.values())


def peak_memory_bytes(fn: Callable[[], Any], device: torch.device | str) -> int:
    """Peak CUDA memory allocated while running ``fn`` (above what was allocated before).

    Raises:
        ValueError: ``device`` is not a CUDA device (on CPU use :func:`saved_tensor_bytes`).

    Introduced in: Chapter 8.
    """
    device = torch.device(device)
    if device.type != "cuda":
        raise ValueError(
            "peak_memory_bytes needs a CUDA device (PyTorch tracks no CPU allocator peak); "
            "on CPU use saved_tensor_bytes(fn) for activation memory"
        )
    torch.cuda.synchronize(device)
    base = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    fn()
    torch.cuda.synchronize(device)
    return torch.cuda.max_memory_allocated(device) - base


# ---------------------------------------------------------------------------
# Scaling fits
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PowerLaw:
    """``L(C) = a · C^(-b) + c`` (``c`` = 0 for a pure power law)."""

    a: float
    b: float
    c: float = 0.0

    def __call__(self, x: float | np.ndarray) -> float | np.ndarray:
        return self.a * np.power(x, -self.b) + self.c

    def __str__(self) -> str:
        core = f"{self.a:.3g} * C^-{self.b:.3g}"
        return core + (f" + {self.c:.3g}" if self.c else "")


def fit_power_law(
    x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, *, offset: bool = False
) -> PowerLaw:
    """Fit ``y = a · x^(-b)`` (+ ``c``) as in Kaplan et al. 2020 / Hoffmann et al. 2022.

    Without an offset this is least squares on ``log y = log a - b log x``. With
    one, ``c`` is the irreducible loss: fitted by least squares on ``log y``
    (scipy), constrained to ``0 <= c < min(y)``, started from the pure fit.

    Args:
        x: compute (or parameters, tokens), all positive.
        y: loss at each x, all positive.
        offset: also fit the irreducible term ``c`` (needs at least 4 points).

    Returns:
        a :class:`PowerLaw`, callable on new x.

    Introduced in: Chapter 8 (scaling experiment).
    """
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    if xa.shape != ya.shape or xa.ndim != 1:
        raise ValueError(f"x and y must be 1-D of equal length, got {xa.shape} and {ya.shape}")
    need = 4 if offset else 2
    if len(xa) < need:
        raise ValueError(f"fitting {'a·x^-b + c' if offset else 'a·x^-b'} needs >= {need} points")
    if (xa <= 0).any() or (ya <= 0).any() or not np.isfinite(xa).all() or not np.isfinite(ya).all():
        raise ValueError("x and y must be finite and positive for a power-law fit (logs are taken)")
    slope, intercept = np.polyfit(np.log(xa), np.log(ya), 1)
    pure = PowerLaw(a=float(math.exp(intercept)), b=float(-slope))
    if not offset:
        return pure
    from scipy.optimize import curve_fit  # scipy only for the offset fit

    # Fit in scaled coordinates: x spans many decades, so use x / x0 to keep a sane.
    x0 = float(np.exp(np.mean(np.log(xa))))

    def log_model(xs: np.ndarray, log_a: float, b: float, c: float) -> np.ndarray:
        return np.log(np.exp(log_a) * np.power(xs / x0, -b) + c)

    c0 = 0.5 * float(ya.min())
    a0 = max(float(ya.max()) - c0, 1e-6)
    params, _ = curve_fit(
        log_model,
        xa,
        np.log(ya),
        p0=(math.log(a0), max(pure.b, 1e-3), c0),
        bounds=([-50.0, 0.0, 0.0], [50.0, 10.0, float(ya.min()) * (1 - 1e-9)]),
        maxfev=20000,
    )
    log_a, b, c = (float(v) for v in params)
    # Undo the x scaling: a (x/x0)^-b = (a x0^b) x^-b
    return PowerLaw(a=math.exp(log_a) * x0**b, b=b, c=c)
