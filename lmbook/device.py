"""Device choice, seeding and the run profile.

Library code never picks a device: new tensors follow their input's device and
dtype. Notebooks and the trainer call into this module once, at the top.

Introduced in: Chapter 1 (every notebook's setup cell).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

__all__ = [
    "RunProfile",
    "autocast_dtype",
    "bf16_matmuls",
    "bf16_supported",
    "get_device",
    "has_bf16_matmul_setting",
    "profile",
    "seed_everything",
]


def get_device(prefer: str | None = None) -> torch.device:
    """Return the best available device: CUDA, then Apple MPS, then CPU.

    Args:
        prefer: a device string ("cpu", "cuda", "cuda:1", "mps") to force; the
            environment variable ``LMBOOK_DEVICE`` does the same. ``None`` or
            ``"auto"`` picks automatically.

    Raises:
        ValueError: the preferred device is not available on this machine.
    """
    prefer = prefer or os.environ.get("LMBOOK_DEVICE") or "auto"
    if prefer == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(prefer)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device {prefer!r} was requested but CUDA is not available here; "
            "use 'cpu' or 'auto' (on Colab: Runtime > Change runtime type > GPU)"
        )
    if device.type == "mps" and not (
        getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    ):
        raise ValueError(f"device {prefer!r} was requested but MPS is not available; use 'auto'")
    return device


def seed_everything(seed: int = 1337) -> None:
    """Seed Python, NumPy and PyTorch (all devices) so runs repeat exactly."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def bf16_supported(device: torch.device | str) -> bool:
    """Whether bf16 autocast is fast on ``device`` (CUDA with bf16, or a CPU with AVX-512 BF16/AMX)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        try:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            return False
    return False


def autocast_dtype(device: torch.device | str) -> torch.dtype | None:
    """The reduced-precision dtype the trainer autocasts to on ``device``, or None for fp32.

    bf16 where the hardware supports it; fp16 on CUDA GPUs without bf16 (the
    trainer then adds a GradScaler); None elsewhere (fp16 brings nothing on CPU).
    """
    device = torch.device(device)
    if bf16_supported(device):
        return torch.bfloat16
    if device.type == "cuda":
        return torch.float16
    return None


def has_bf16_matmul_setting() -> bool:
    """Whether this torch can make fp32 matmuls compute in bf16 on a CPU (torch >= 2.9)."""
    return hasattr(getattr(torch.backends.mkldnn, "matmul", None), "fp32_precision")


@contextmanager
def bf16_matmuls() -> Iterator[None]:
    """fp32 tensors, matmuls computed with bf16 products (a CPU's counterpart of TF32).

    Inside the block, oneDNN rounds the inputs of every fp32 matmul (forward and backward)
    to bf16 and accumulates in fp32 ("fpmath mode"); weights, activations, gradients and
    the optimizer stay fp32, so nothing is cast by hand. Pays only on a CPU with native
    bf16 (AMX / AVX-512 BF16); see ``lmbook.train.choices`` for where it is chosen.

    Attention runs on SDPA's math kernel here: the CPU flash kernel issues many tiny matmuls,
    and through oneDNN each of them costs more than it saves (a training step at 128 wide, on
    an AMX Xeon: 0.44x a plain fp32 loop's speed with the flash kernel, 1.19x with the math one).
    The previous settings come back at exit, also on an exception.

    Raises:
        RuntimeError: this torch has no such setting (it needs torch >= 2.9).
    """
    if not has_bf16_matmul_setting():
        raise RuntimeError(
            f"torch {torch.__version__} cannot compute fp32 matmuls in bf16 on a CPU "
            "(torch.backends.mkldnn.matmul.fp32_precision needs torch >= 2.9); use bf16 autocast"
        )
    from torch.nn.attention import SDPBackend, sdpa_kernel

    setting = torch.backends.mkldnn.matmul
    before = setting.fp32_precision
    setting.fp32_precision = "bf16"
    try:
        with sdpa_kernel(SDPBackend.MATH):
            yield
    finally:
        setting.fp32_precision = before


@dataclass(frozen=True)
class RunProfile:
    """How big a notebook's runs are on this machine.

    ``name`` is "cpu" (what CI executes and the stored outputs show) or "gpu"
    (larger models and longer runs, chosen when CUDA is present).
    """

    name: str
    device: torch.device
    amp_dtype: torch.dtype | None

    @property
    def is_gpu(self) -> bool:
        return self.name == "gpu"

    def pick(self, cpu: Any, gpu: Any) -> Any:
        """Return ``cpu`` or ``gpu`` for this profile: ``steps = P.pick(cpu=300, gpu=5000)``."""
        return gpu if self.is_gpu else cpu

    def __str__(self) -> str:
        amp = str(self.amp_dtype).replace("torch.", "") if self.amp_dtype else "fp32"
        return f"profile={self.name} device={self.device} autocast={amp}"


def profile(name: str | None = None) -> RunProfile:
    """Choose the run profile: "gpu" when CUDA is available, else "cpu".

    Args:
        name: force "cpu" or "gpu"; the environment variable ``LMBOOK_PROFILE``
            does the same (CI sets ``LMBOOK_PROFILE=cpu``).
    """
    name = name or os.environ.get("LMBOOK_PROFILE")
    device = get_device()
    if name is None:
        name = "gpu" if device.type == "cuda" else "cpu"
    if name not in ("cpu", "gpu"):
        raise ValueError(f"unknown profile {name!r}; use 'cpu' or 'gpu'")
    if name == "cpu":
        device = torch.device("cpu")
    elif device.type != "cuda":
        raise ValueError("profile 'gpu' needs CUDA, which is not available here; use 'cpu'")
    return RunProfile(name=name, device=device, amp_dtype=autocast_dtype(device))
