"""Tests for lmbook.nn.lora: zero-init identity, frozen base, merge/unmerge, training."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lmbook.compute import count_parameters
from lmbook.nn.lora import LoRALinear, apply_lora, lora_parameters, merge_lora, unmerge_lora


class Toy(nn.Module):
    """Odd sizes; attribute names as in lmbook's attention (q_proj, k_proj, v_proj, out_proj)."""

    def __init__(self) -> None:
        super().__init__()
        self.q_proj, self.k_proj = nn.Linear(36, 36), nn.Linear(36, 36)
        self.v_proj, self.out_proj = nn.Linear(36, 36), nn.Linear(36, 36)
        self.head = nn.Linear(36, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.q_proj(x) * torch.sigmoid(self.k_proj(x)) + self.v_proj(x)
        return self.head(torch.tanh(self.out_proj(h)))


def _randomize_b(model: nn.Module) -> None:
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, LoRALinear):
                m.lora_B.normal_()


def test_zero_init_matches_base_exactly():
    torch.manual_seed(0)
    model = Toy()
    x = torch.randn(5, 7, 36)
    before = model(x)
    apply_lora(model, r=4, alpha=8)
    assert torch.equal(model(x), before)


def test_only_lora_and_requested_params_train():
    model = apply_lora(Toy(), r=4, alpha=8, trainable=("head",))
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    assert names == {
        "q_proj.lora_A",
        "q_proj.lora_B",
        "v_proj.lora_A",
        "v_proj.lora_B",
        "head.weight",
        "head.bias",
    }
    # 2 layers x (4x36 + 36x4) + head (36x3 + 3)
    assert count_parameters(model, trainable_only=True) == 2 * (4 * 36 * 2) + 36 * 3 + 3
    assert len(lora_parameters(model)) == 4


def test_gradients_reach_only_trainable_params():
    torch.manual_seed(0)
    model = apply_lora(Toy(), r=4)
    _randomize_b(model)
    model(torch.randn(3, 36)).sum().backward()
    assert model.q_proj.base.weight.grad is None and model.k_proj.weight.grad is None
    assert model.q_proj.lora_A.grad is not None and model.q_proj.lora_A.grad.abs().sum() > 0


def test_merge_and_unmerge_round_trip():
    torch.manual_seed(0)
    model = apply_lora(Toy(), r=3, alpha=5)
    _randomize_b(model)
    x = torch.randn(4, 36)
    w0 = model.v_proj.base.weight.clone()
    unmerged = model(x)
    merge_lora(model)
    assert model.v_proj.merged
    assert torch.allclose(model(x), unmerged, atol=1e-5)
    assert not torch.allclose(model.v_proj.base.weight, w0)
    merge_lora(model)  # idempotent: merging twice must not add the update twice
    assert torch.allclose(model(x), unmerged, atol=1e-5)
    unmerge_lora(model)
    assert torch.allclose(model.v_proj.base.weight, w0, atol=1e-6)
    assert torch.allclose(model(x), unmerged, atol=1e-5)


def test_scaling_is_alpha_over_r():
    layer = LoRALinear(nn.Linear(36, 37), r=4, alpha=10)
    with torch.no_grad():
        layer.lora_B.fill_(1.0)
    assert layer.scaling == pytest.approx(2.5)
    expected = layer.lora_B @ layer.lora_A * 2.5
    assert torch.allclose(layer.delta_weight(), expected)
    assert layer.delta_weight().shape == layer.weight.shape == (37, 36)


def test_lora_learns_a_low_rank_target():
    torch.manual_seed(0)
    base = nn.Linear(36, 37)
    target = nn.Linear(36, 37)
    with torch.no_grad():  # target = base + a rank-2 change
        target.weight.copy_(base.weight + 0.5 * torch.randn(37, 2) @ torch.randn(2, 36))
        target.bias.copy_(base.bias)
    layer = LoRALinear(base, r=2, alpha=2)
    opt = torch.optim.Adam([layer.lora_A, layer.lora_B], lr=3e-2)
    x = torch.randn(256, 36)
    y = target(x).detach()
    first = None
    for _ in range(300):
        loss = nn.functional.mse_loss(layer(x), y)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.01 * first, (first, loss.item())


def test_works_inside_lmbook_attention_on_the_fused_projection():
    """LoRA on q and v of a fused qkv_proj: two rank-r updates on those rows, k untouched."""
    from lmbook.nn import MultiHeadAttention

    torch.manual_seed(0)
    mha = MultiHeadAttention(36, 4, n_kv_heads=2)  # q rows 0:36, k 36:54, v 54:72
    x = torch.randn(2, 5, 36)
    before = mha(x)
    apply_lora(mha, r=2)
    assert isinstance(mha.qkv_proj, LoRALinear) and mha.qkv_proj.rows == [(0, 36), (54, 72)]
    assert sum(p.numel() for p in lora_parameters(mha)) == 2 * (2 * 36) + 2 * (36 + 18)
    assert torch.allclose(mha(x), before)  # B starts at zero
    with torch.no_grad():
        mha.qkv_proj.lora_B.normal_()
    delta = mha.qkv_proj.delta_weight()
    assert (
        delta[36:54].abs().max() == 0 and delta[:36].abs().min() >= 0 and delta[54:].abs().max() > 0
    )
    h = mha.qkv_proj(x)
    torch.testing.assert_close(
        h, nn.functional.linear(x, mha.qkv_proj.weight + delta, mha.qkv_proj.bias)
    )
    merge_lora(mha)
    torch.testing.assert_close(mha.qkv_proj(x), h, atol=1e-5, rtol=1e-5)


def test_bad_input():
    with pytest.raises(ValueError, match="no nn.Linear named"):
        apply_lora(Toy(), target=("query",))
    with pytest.raises(ValueError, match="positive"):
        LoRALinear(nn.Linear(36, 37), r=0)
    with pytest.raises(ValueError, match="exceeds"):
        LoRALinear(nn.Linear(36, 5), r=6)
    with pytest.raises(TypeError, match="nn.Linear"):
        LoRALinear(nn.Conv1d(3, 3, 1))
    with pytest.raises(ValueError, match="no parameter name starts"):
        apply_lora(Toy(), trainable=("classifier",))
