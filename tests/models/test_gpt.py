"""GPT: config validation, invariants, KV cache, overfitting, bad input, GPU autocast."""

import math

import pytest
import torch
import torch.nn.functional as F

from lmbook.models import GPT, GPTConfig


def _model(**kw):
    torch.manual_seed(0)
    return GPT(GPTConfig.preset("tiny", **kw)).eval()


def _ids(B=2, T=11, V=97, seed=0):
    return torch.randint(0, V, (B, T), generator=torch.Generator().manual_seed(seed))


def test_presets_and_validation():
    c = GPTConfig.preset("nanogpt-cpu", vocab_size=65)
    assert (c.n_layers, c.n_heads, c.d_model, c.block_size, c.vocab_size, c.d_ff) == (
        4,
        4,
        128,
        64,
        65,
        512,
    )
    assert GPTConfig.preset("nanogpt-gpu").d_model == 384
    assert GPTConfig.preset("gpt2-medium").n_layers == 24
    assert GPTConfig().d_ff == 3072
    with pytest.raises(ValueError, match="divisible"):
        GPTConfig(d_model=36, n_heads=5)
    with pytest.raises(ValueError, match="unknown GPTConfig preset"):
        GPTConfig.preset("gpt5")
    with pytest.raises(ValueError, match="unknown GPTConfig fields"):
        GPTConfig.preset("tiny", width=3)
    with pytest.raises(ValueError, match="activation"):
        GPTConfig(activation="swish")


def test_replace_recomputes_derived_fields():
    assert GPTConfig().replace(d_model=256, n_heads=4).d_ff == 1024  # d_ff = 4 d_model follows
    assert GPTConfig.preset("tiny").replace(d_model=72).d_ff == 37  # given explicitly: stays
    with pytest.raises(ValueError, match="divisible"):
        GPTConfig().replace(n_heads=5)
    c = GPTConfig.preset("nanogpt-cpu", vocab_size=65)
    assert c.replace(vocab_size=80) == GPTConfig.preset("nanogpt-cpu", vocab_size=80)


def test_pre_ln_block_is_the_two_residual_lines():
    """The block computes x + attn(norm(x)), then + ffn(norm(.)), as nanoGPT writes it."""
    m = _model()
    block, x = m.blocks[0], torch.randn(2, 5, 36)
    h = x + block.attn(block.attn_norm(x), causal=True)
    torch.testing.assert_close(block(x, causal=True), h + block.ffn(block.ffn_norm(h)))


def test_gpt2_parameter_count_and_tied_head():
    # GPT-2 small has 124,439,808 parameters (tied head counted once).
    with torch.device("meta"):
        gpt2 = GPT(GPTConfig.preset("gpt2"))
    assert gpt2.num_parameters() == 124_439_808
    assert gpt2.num_parameters(non_embedding=True) == 124_439_808 - 50257 * 768 - 1024 * 768
    m = _model()
    assert m.lm_head.weight is m.tok_emb.weight


def test_gpt2_initialisation_scales_residual_projections():
    torch.manual_seed(0)
    m = GPT(GPTConfig(vocab_size=500, block_size=64, n_layers=8, n_heads=4, d_model=256))
    assert m.blocks[0].attn.q_proj.weight.std().item() == pytest.approx(0.02, rel=0.05)
    resid = 0.02 / math.sqrt(2 * 8)
    assert m.blocks[3].ffn.fc2.weight.std().item() == pytest.approx(resid, rel=0.05)
    assert m.blocks[3].attn.out_proj.weight.std().item() == pytest.approx(resid, rel=0.05)
    assert m.blocks[0].attn.q_proj.bias.abs().max() == 0


def test_shapes_and_untrained_loss_near_log_vocab():
    m = _model()
    logits = m(_ids())
    assert logits.shape == (2, 11, 97)
    loss = F.cross_entropy(logits.flatten(0, 1), _ids(seed=1).flatten())  # unrelated targets
    assert abs(loss.item() - math.log(97)) < 0.2


def test_hidden_states_feed_the_tied_head():
    m = _model()
    h = m.hidden_states(_ids())
    assert h.shape == (2, 11, 36)
    torch.testing.assert_close(m(_ids()), h @ m.tok_emb.weight.T)


def test_causal_future_tokens_do_not_change_the_past():
    m = _model()
    a = _ids()
    b = a.clone()
    b[:, 6:] = (b[:, 6:] + 1) % 97
    la, lb = m(a), m(b)
    torch.testing.assert_close(la[:, :6], lb[:, :6], atol=1e-6, rtol=1e-6)
    assert (la[:, 6:] - lb[:, 6:]).abs().max() > 1e-3


def test_naive_and_sdpa_models_agree_in_logits_and_gradients():
    ms = [_model(attn_impl=impl, n_kv_heads=1) for impl in ("sdpa", "naive")]
    ms[1].load_state_dict(ms[0].state_dict())
    x = _ids()
    grads = []
    for m in ms:
        out = m(x)
        out.pow(2).mean().backward()
        grads.append({n: p.grad for n, p in m.named_parameters()})
    torch.testing.assert_close(ms[0](x), ms[1](x), atol=1e-5, rtol=1e-5)
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name], atol=1e-5, rtol=1e-4)


def test_incremental_forward_with_cache_matches_full_forward():
    m = _model()
    x = _ids(T=12)
    full = m(x)
    cache = m.new_cache()
    parts = [m(x[:, :5], cache=cache)] + [m(x[:, t : t + 1], cache=cache) for t in range(5, 12)]
    torch.testing.assert_close(torch.cat(parts, dim=1), full, atol=1e-5, rtol=1e-5)
    assert cache.seq_len == 12


def test_overfits_one_batch():
    torch.manual_seed(0)
    m = GPT(GPTConfig.preset("tiny"))
    x = _ids(B=4, T=16)
    opt = torch.optim.AdamW(m.parameters(), lr=2e-2)
    for _ in range(45):
        loss = F.cross_entropy(m(x[:, :-1]).flatten(0, 1), x[:, 1:].flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05


def test_dropout_is_active_only_in_training():
    m = _model(dropout=0.3)
    x = _ids()
    torch.testing.assert_close(m(x), m(x))
    m.train()
    assert (m(x) - m(x)).abs().max() > 0


def test_bad_inputs_raise_clear_errors():
    m = _model()
    with pytest.raises(ValueError, match="block_size=23"):
        m(_ids(T=24))
    with pytest.raises(ValueError, match=r"input_ids must be in \[0, 97\)"):
        m(torch.tensor([[1, 97]]))
    with pytest.raises(ValueError, match=r"input_ids must be in"):
        m(torch.tensor([[-1, 3]]))
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        m(torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="integer"):
        m(torch.zeros(1, 3))
    cache = m.new_cache()
    m(_ids(T=20), cache=cache)
    with pytest.raises(ValueError, match="20 cached"):
        m(_ids(T=4), cache=cache)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_bf16_autocast_training_step_and_matching_logits():
    m = _model().cuda()
    x = _ids().cuda()
    ref = m(x).float()
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = m(x)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), ref, atol=5e-2, rtol=5e-2)
    m.train()
    with torch.autocast("cuda", dtype=torch.bfloat16):
        loss = F.cross_entropy(m(x[:, :-1]).flatten(0, 1).float(), x[:, 1:].flatten())
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in m.parameters() if p.grad is not None)
    assert m.generate(x[:, :3], 5, temperature=0.0).shape == (2, 8)
