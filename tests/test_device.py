"""lmbook.device: device choice, seeding, autocast dtype and the run profile.

CUDA and MPS are switched off with monkeypatch where a test needs "no accelerator", so the
tests mean the same on a laptop, a CI runner and a GPU machine.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from lmbook import device as dev


@pytest.fixture
def cpu_only(monkeypatch):
    """A machine without CUDA or MPS."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    if getattr(torch.backends, "mps", None) is not None:
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.delenv("LMBOOK_DEVICE", raising=False)
    monkeypatch.delenv("LMBOOK_PROFILE", raising=False)


def test_get_device_auto_falls_back_to_cpu(cpu_only):
    assert dev.get_device() == torch.device("cpu")
    assert dev.get_device("auto") == torch.device("cpu")
    assert dev.get_device("cpu") == torch.device("cpu")


def test_get_device_prefers_cuda_when_present(cpu_only, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert dev.get_device() == torch.device("cuda")


def test_get_device_environment_variable(cpu_only, monkeypatch):
    monkeypatch.setenv("LMBOOK_DEVICE", "cpu")
    assert dev.get_device() == torch.device("cpu")
    monkeypatch.setenv("LMBOOK_DEVICE", "cuda")
    with pytest.raises(ValueError, match="CUDA is not available"):
        dev.get_device()
    assert dev.get_device("cpu") == torch.device("cpu")  # an explicit argument wins


def test_get_device_refuses_missing_accelerators(cpu_only):
    with pytest.raises(ValueError, match="CUDA is not available.*'cpu' or 'auto'"):
        dev.get_device("cuda:1")
    with pytest.raises(ValueError, match="MPS is not available"):
        dev.get_device("mps")


def test_seed_everything_repeats_python_numpy_and_torch():
    def draw():
        return random.random(), np.random.rand(), torch.rand(3).tolist()

    dev.seed_everything(7)
    first = draw()
    dev.seed_everything(7)
    assert draw() == first
    dev.seed_everything(8)
    assert draw() != first


def test_autocast_dtype_follows_hardware(monkeypatch):
    monkeypatch.setattr(dev, "bf16_supported", lambda d: True)
    assert dev.autocast_dtype("cpu") is torch.bfloat16
    monkeypatch.setattr(dev, "bf16_supported", lambda d: False)
    assert dev.autocast_dtype("cpu") is None  # fp16 brings nothing on a CPU
    assert dev.autocast_dtype("cuda") is torch.float16  # an older GPU: fp16 + GradScaler


def test_bf16_supported_answers_a_bool():
    assert isinstance(dev.bf16_supported("cpu"), bool)
    assert dev.bf16_supported("meta") is False


def test_profile_cpu(cpu_only):
    p = dev.profile()
    assert p.name == "cpu" and p.device == torch.device("cpu") and not p.is_gpu
    assert p.pick(cpu=300, gpu=5000) == 300
    assert str(p).startswith("profile=cpu device=cpu autocast=")


def test_profile_choice_and_errors(cpu_only, monkeypatch):
    monkeypatch.setenv("LMBOOK_PROFILE", "gpu")
    with pytest.raises(ValueError, match="needs CUDA"):
        dev.profile()
    with pytest.raises(ValueError, match="unknown profile 'tpu'"):
        dev.profile("tpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(dev, "autocast_dtype", lambda d: torch.bfloat16)
    p = dev.profile()
    assert p.is_gpu and p.device == torch.device("cuda") and p.pick(cpu=1, gpu=2) == 2
    assert str(p) == "profile=gpu device=cuda autocast=bfloat16"
    assert dev.profile("cpu").device == torch.device("cpu")  # CPU on a GPU machine, as CI


@pytest.mark.skipif(not dev.has_bf16_matmul_setting(), reason="needs torch >= 2.9")
def test_bf16_matmuls_round_the_products_and_restore_the_settings():
    setting = torch.backends.mkldnn.matmul
    before = setting.fp32_precision
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(64, 256, generator=g), torch.randn(256, 96, generator=g)
    exact = a @ b
    with dev.bf16_matmuls():
        assert setting.fp32_precision == "bf16"
        assert not torch.backends.cuda.flash_sdp_enabled()  # attention on the math kernel
        approx = a @ b
    assert setting.fp32_precision == before and torch.backends.cuda.flash_sdp_enabled()
    err = ((approx - exact).abs().max() / exact.abs().max()).item()
    assert approx.dtype == torch.float32 and err < 2e-2  # bf16 inputs: ~3 significant digits
    if dev.bf16_supported("cpu"):  # oneDNN really rounded (on AVX2 it may compute exactly)
        assert err > 1e-5
    with pytest.raises(KeyError), dev.bf16_matmuls():  # restored on an exception too
        raise KeyError("boom")
    assert setting.fp32_precision == before and torch.backends.cuda.flash_sdp_enabled()
