"""The settings the trainer chooses for the machine and the model, each with its reason.

- the autocast dtype (``dtype="auto"``): bf16 only where the hardware has it and the model
  is wide enough to gain;
- bf16 matmul products under fp32 tensors (``dtype="auto"``, a native-bf16 CPU, models
  too narrow for autocast but wide enough for oneDNN to gain);
- ``torch.compile`` (``compile="auto"``): only when the warm-up pays back within the run;
- AdamW's parameter groups and its fused kernel.

Each function returns its choice and a sentence saying why; the trainer shows them all
(``trainer.choices``). The thresholds are measurements, cited where they are defined.

Introduced in: Chapter 5 (pretraining BERT and GPT).
"""

from __future__ import annotations

import sys
from typing import Any

import torch
from torch import nn

from lmbook.device import bf16_supported, has_bf16_matmul_setting
from lmbook.train.distributed import unwrap_model

__all__ = [
    "BF16_MATMUL_MIN_WIDTH_CPU",
    "BF16_MIN_WIDTH_CPU",
    "COMPILE_PAYBACK",
    "choose_dtype",
    "choose_matmul_precision",
    "compile_blocker",
    "compile_pays_back",
    "configure_optimizer",
    "has_cpp_compiler",
    "in_jupyter_kernel",
    "model_width",
]

# bf16 autocast on a CPU with native bf16 (AVX-512 BF16 / AMX) pays only for wide models:
# measured on a 2-core AMX CPU with nanoGPT's shapes, 0.68x the fp32 speed at 128 wide and
# 1.84x at 384 wide. On AVX2-only CPUs bf16 is emulated (10-15x slower) and never chosen.
BF16_MIN_WIDTH_CPU = 256
# Below that width, on the same CPUs, fp32 training is faster with bf16 matmul products
# (lmbook.device.bf16_matmuls: no casts, oneDNN rounds the matmul inputs). Paired per-step
# ratios over plain fp32, Intel Xeon with AMX, 2 cores, one thread, nanoGPT's GPT (4 layers):
# 0.77x at 32 wide, 1.04x at 64, 1.38x at 128, 1.64x at 192; against bf16 autocast it is
# 1.73x at 128, 1.03x at 192, 0.92x at 256 and 0.68x at 384, where autocast takes over.
BF16_MATMUL_MIN_WIDTH_CPU = 128
# torch.compile, per device type: (speed-up of a training step over eager, warm-up seconds).
# CPU: measured with benchmarks/bench_vs_plain.py --compile true on an AMD EPYC (AVX2, shared
# 2-core machine, one thread) at nanoGPT's CPU shape: compiled steps 1.01x (0.98-1.08x) a plain
# eager loop, which eager lmbook matched, so ~1.05x; the first compiled step took 70-300 s
# (CPU time / wall on the busy machine); the same with the CPU held to AVX2 on an AMX Xeon: 1.02x.
# On that Xeon itself (bf16 matmul products, a fresh inductor cache) compiled steps ran 1.24x
# eager (1.72x vs 1.39x the plain loop) after 24 s: the table keeps the lower, AVX2 figure.
# CUDA: nanoGPT's figures (~1.3x, under a minute).
COMPILE_PAYBACK = {"cpu": (1.05, 90.0), "cuda": (1.3, 60.0)}


def configure_optimizer(
    model: nn.Module,
    lr: float,
    weight_decay: float,
    betas: tuple[float, float],
    eps: float = 1e-8,
    device_type: str = "cpu",
) -> torch.optim.AdamW:
    """AdamW with two parameter groups: matrices decay, vectors do not.

    nanoGPT's rule: parameters with ``dim >= 2`` (linear weights, embeddings, the tied
    head) get weight decay; biases and LayerNorm gains (``dim < 2``) do not, since
    shrinking them towards 0 has no regularizing meaning (Loshchilov & Hutter 2019).
    Tied tensors appear once (``named_parameters`` de-duplicates them).
    """
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    # The fused kernel updates every tensor in one pass: one launch per step on CUDA, and on
    # a CPU 3.4x faster than the default per-tensor loop at 128 wide (1.8 vs 6.2 ms per step;
    # foreach: 7.2 ms) and 5.2x at 384 wide (16 vs 85 ms), AMD EPYC AVX2, one thread.
    kw: dict[str, Any] = {"fused": True} if device_type in ("cuda", "cpu") else {"foreach": True}
    return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps, **kw)


def model_width(model: nn.Module) -> int | None:
    """The model's hidden width (``config.d_model`` or ``hidden_size``), None if unknown.

    A task model without a config of its own (``BertForQA``, ``SequenceClassifier``) has the
    width of its ``encoder``.
    """
    model = unwrap_model(model)
    cfg = getattr(model, "config", None) or getattr(getattr(model, "encoder", None), "config", None)
    for name in ("d_model", "hidden_size", "n_embd"):
        if isinstance(getattr(cfg, name, None), int):
            return getattr(cfg, name)
    return None


def choose_dtype(
    dtype: str, device: torch.device, width: int | None
) -> tuple[torch.dtype | None, str]:
    """The autocast dtype for ``dtype`` ("auto" included) on ``device``, and why.

    Returns:
        ``(amp_dtype, reason)``; ``amp_dtype`` None means plain fp32.
    """
    if dtype == "float32":
        return None, "float32 (as configured)"
    if dtype == "bfloat16":
        if device.type == "cuda" and not bf16_supported(device):
            raise ValueError(
                "dtype='bfloat16' was requested but this GPU has no bf16; use 'float16' or 'auto'"
            )
        return torch.bfloat16, "bfloat16 autocast (as configured)"
    if dtype == "float16":
        return torch.float16, "float16 autocast + GradScaler (as configured)"
    # dtype == "auto"
    if device.type == "cuda":
        if bf16_supported(device):
            return torch.bfloat16, "bfloat16 autocast (auto: the GPU has bf16)"
        return torch.float16, "float16 autocast + GradScaler (auto: the GPU has no bf16)"
    if device.type != "cpu":
        return None, f"float32 (auto: no autocast on {device.type})"
    if not bf16_supported(device):
        return None, "float32 (auto: this CPU has no native bf16; emulated bf16 is 10-15x slower)"
    if width is None or width < BF16_MIN_WIDTH_CPU:
        return None, (
            f"float32 (auto: {width or 'unknown'} wide is below {BF16_MIN_WIDTH_CPU}, where bf16's "
            "casts cost more than its faster matmuls gain)"
        )
    return torch.bfloat16, f"bfloat16 autocast (auto: native bf16 CPU, {width} wide)"


def choose_matmul_precision(
    dtype: str, device: torch.device, amp_dtype: torch.dtype | None, width: int | None
) -> tuple[bool, str]:
    """Whether fp32 matmuls should compute in bf16 (``lmbook.device.bf16_matmuls``), and why.

    Only with ``dtype="auto"``, on a CPU with native bf16, when autocast was not chosen and
    the model is at least ``BF16_MATMUL_MIN_WIDTH_CPU`` wide. An explicit
    ``dtype="float32"`` keeps exact fp32 matmuls.
    """
    if amp_dtype is not None:
        return False, "as the autocast dtype"
    if dtype != "auto":
        return False, "float32 (as configured)"
    if device.type != "cpu" or not bf16_supported(device):
        return False, "float32"
    if width is None or width < BF16_MATMUL_MIN_WIDTH_CPU:
        return False, (
            f"float32 (auto: {width or 'unknown'} wide is below {BF16_MATMUL_MIN_WIDTH_CPU}, "
            "too small for bf16 products to pay)"
        )
    if not has_bf16_matmul_setting():
        return False, f"float32 (auto: torch {torch.__version__} has no bf16 matmul setting)"
    return True, (
        f"bf16 products, fp32 accumulation (auto: native bf16 CPU, {width} wide; tensors "
        "stay fp32, attention on SDPA's math kernel)"
    )


def compile_blocker(device: torch.device) -> str | None:
    """Why ``compile="auto"`` must stay off here, or None when compiling is possible."""
    if device.type not in COMPILE_PAYBACK:
        return f"no measured payback on {device.type}"
    if in_jupyter_kernel():
        return "inside a Jupyter kernel (outputs and CI stay eager)"
    return None


def in_jupyter_kernel() -> bool:
    """True when this code runs in a notebook's kernel (not merely with ipykernel imported)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def has_cpp_compiler() -> bool:
    """Whether inductor finds the C++ compiler it needs to compile for a CPU."""
    try:
        from torch._inductor.cpp_builder import get_cpp_compiler

        get_cpp_compiler()
    except Exception:  # inductor raises its own error types when none is found
        return False
    return True


def compile_pays_back(device_type: str, step_s: float, remaining: int) -> tuple[bool, str]:
    """Whether compiling now saves more time over ``remaining`` steps than its warm-up costs.

    Args:
        device_type: "cpu" or "cuda" (see ``COMPILE_PAYBACK``).
        step_s: the measured eager seconds per step (CPU: process time per thread).
        remaining: optimizer steps left in the run.
    """
    gain, warmup = COMPILE_PAYBACK[device_type]
    saving = remaining * step_s * (1.0 - 1.0 / gain)
    verdict = "on" if saving > warmup else "off"
    return saving > warmup, (
        f"{verdict} (auto: {remaining} steps left x {step_s * 1e3:.0f} ms would save ~{saving:.0f} "
        f"s at {gain:.2f}x, against ~{warmup:.0f} s of compilation)"
    )
