"""Attention: naive == sdpa (outputs and gradients), masks, causal alignment, GQA, errors."""

import pytest
import torch

from lmbook.nn import MultiHeadAttention, attention, causal_mask, padding_mask


def _qkv(B=2, H=3, Hkv=3, T=5, S=7, Dh=12, seed=0, grad=False):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(B, H, T, Dh, generator=g, dtype=torch.float64)
    k = torch.randn(B, Hkv, S, Dh, generator=g, dtype=torch.float64)
    v = torch.randn(B, Hkv, S, Dh, generator=g, dtype=torch.float64)
    return [t.requires_grad_(grad) for t in (q, k, v)]


def _reference(q, k, v, mask):
    """Loop-based attention, one (batch, head, query) at a time."""
    B, H, T, Dh = q.shape
    rep = H // k.shape[1]
    out = torch.zeros_like(q)
    for b in range(B):
        for h in range(H):
            for i in range(T):
                s = k[b, h // rep] @ q[b, h, i] / Dh**0.5
                allowed = mask[b if mask.shape[0] > 1 else 0, 0, i]
                if allowed.any():
                    w = torch.softmax(s.masked_fill(~allowed, float("-inf")), dim=0)
                    out[b, h, i] = w @ v[b, h // rep]
    return out


@pytest.mark.parametrize("impl", ["naive", "sdpa"])
@pytest.mark.parametrize("Hkv", [3, 1])
def test_matches_loop_reference_with_padding_and_causal(impl, Hkv):
    q, k, v = _qkv(Hkv=Hkv)
    am = torch.tensor([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0]])
    mask = padding_mask(am) & causal_mask(5, 7)  # (B, 1, T, S)
    out = attention(q, k, v, mask=padding_mask(am), causal=True, impl=impl)
    torch.testing.assert_close(out, _reference(q, k, v, mask))


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("T,S", [(5, 5), (3, 8), (1, 6)])
def test_naive_equals_sdpa_outputs_and_gradients(causal, T, S):
    q, k, v = _qkv(T=T, S=S, grad=True)
    mask = torch.rand(2, 1, T, S, generator=torch.Generator().manual_seed(1)) > 0.3
    mask[..., -1] = True  # every query keeps at least one key
    outs, grads = [], []
    for impl in ("naive", "sdpa"):
        out = attention(q, k, v, mask=mask, causal=causal, impl=impl)
        (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
        outs.append(out.detach())
        grads.append([t.grad.clone() for t in (q, k, v)])
        for t in (q, k, v):
            t.grad = None
    torch.testing.assert_close(outs[0], outs[1])
    for a, b in zip(grads[0], grads[1], strict=True):
        torch.testing.assert_close(a, b)


def test_fully_masked_query_gives_zero_in_both_impls():
    q, k, v = _qkv(T=2, S=3)
    mask = torch.tensor([[False, False, False], [True, True, False]])
    for impl in ("naive", "sdpa"):
        out = attention(q, k, v, mask=mask, impl=impl)
        assert torch.isfinite(out).all()
        assert out[:, :, 0].abs().max() == 0


def test_causal_is_aligned_to_end_of_keys():
    # One query against 6 keys is the last position of the sequence: it sees all 6 keys.
    q, k, v = _qkv(T=1, S=6)
    for impl in ("naive", "sdpa"):
        torch.testing.assert_close(
            attention(q, k, v, causal=True, impl=impl), attention(q, k, v, impl=impl)
        )
    assert causal_mask(2, 4).tolist() == [[True, True, True, False], [True, True, True, True]]


def test_weights_are_a_distribution_and_only_naive_returns_them():
    q, k, v = _qkv()
    out, w = attention(q, k, v, causal=True, impl="naive", return_weights=True)
    assert w.shape == (2, 3, 5, 7)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 3, 5, dtype=w.dtype))
    with pytest.raises(ValueError, match="naive"):
        attention(q, k, v, impl="sdpa", return_weights=True)


@pytest.mark.parametrize(
    "mask_shape", [(2, 1, 1, 6), (2, 1, 1, 8), (3, 1, 1, 7), (2, 4, 5, 7), (5, 7, 1, 1, 1)]
)
def test_wrong_mask_shape_is_refused(mask_shape):
    q, k, v = _qkv()
    with pytest.raises(ValueError, match="broadcast"):
        attention(q, k, v, mask=torch.ones(mask_shape, dtype=torch.bool))


def test_bad_inputs():
    q, k, v = _qkv()
    with pytest.raises(ValueError, match="bool"):
        attention(q, k, v, mask=torch.ones(2, 1, 1, 7))
    with pytest.raises(ValueError, match="impl"):
        attention(q, k, v, impl="flash")
    with pytest.raises(ValueError, match="multiple"):
        attention(*_qkv(H=3, Hkv=2))
    with pytest.raises(ValueError, match=r"\(B, H, T, Dh\)"):
        attention(q[0], k, v)


def test_mha_grouped_query_shapes_and_impls_agree():
    torch.manual_seed(0)
    mha = MultiHeadAttention(36, n_heads=6, n_kv_heads=2)
    assert mha.k_proj.weight.shape == (12, 36)
    x = torch.randn(2, 5, 36)
    y = mha(x, causal=True)
    mha.impl = "naive"
    y2, w = mha(x, causal=True, return_weights=True)
    torch.testing.assert_close(y, y2, atol=1e-5, rtol=1e-5)
    assert w.shape == (2, 6, 5, 5)
    assert torch.all(w[..., 0, 1:] == 0)  # the first token sees only itself


def test_mha_cross_attention_and_errors():
    torch.manual_seed(0)
    mha = MultiHeadAttention(36, 3, cross=True)
    y = mha(torch.randn(2, 4, 36), context=torch.randn(2, 9, 36))
    assert y.shape == (2, 4, 36)
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttention(36, 5)
    with pytest.raises(ValueError, match=r"\(B, T, 36\)"):
        mha(torch.randn(2, 4, 35), context=torch.randn(2, 9, 36))
    with pytest.raises(ValueError, match="context"):
        mha(torch.randn(2, 4, 36))  # cross attention without an encoder output
    with pytest.raises(ValueError, match="context"):
        MultiHeadAttention(36, 3)(torch.randn(2, 4, 36), context=torch.randn(2, 9, 36))


def test_attention_arguments_after_qkv_are_keyword_only():
    q, k, v = _qkv()
    with pytest.raises(TypeError):
        attention(q, k, v, None, True)


@pytest.mark.parametrize("n_kv_heads", [None, 1])
def test_fused_qkv_is_three_projections_in_one(n_kv_heads):
    """qkv_proj = [q_proj | k_proj | v_proj]: the output equals the three-matmul formula."""
    torch.manual_seed(0)
    mha = MultiHeadAttention(36, 6, n_kv_heads=n_kv_heads).eval()
    kv = 36 if n_kv_heads is None else 6
    assert mha.qkv_proj.weight.shape == (36 + 2 * kv, 36)
    assert not {"q_proj", "k_proj", "v_proj"} & {n for n, _ in mha.named_children()}
    x = torch.randn(2, 5, 36)
    B, T, H, Dh = 2, 5, 6, 6
    q = mha.q_proj(x).view(B, T, H, Dh).transpose(1, 2)  # views of qkv_proj's rows
    k = mha.k_proj(x).view(B, T, kv // Dh, Dh).transpose(1, 2)
    v = mha.v_proj(x).view(B, T, kv // Dh, Dh).transpose(1, 2)
    ref = attention(q, k, v, causal=True, impl="naive").transpose(1, 2).reshape(B, T, 36)
    torch.testing.assert_close(mha(x, causal=True), mha.out_proj(ref), atol=1e-5, rtol=1e-5)
    assert mha.k_proj.weight.data_ptr() == mha.qkv_proj.weight[36:].data_ptr()


def test_unfused_state_dict_loads_into_fused_projection():
    """Checkpoints saved with separate q/k/v (self) or k/v (cross) projections still load."""
    torch.manual_seed(0)
    for cross, parts, fused in ((False, ("q", "k", "v"), "qkv"), (True, ("k", "v"), "kv")):
        mha = MultiHeadAttention(36, 3, cross=cross)
        sd = mha.state_dict()
        old = {k: t for k, t in sd.items() if not k.startswith(fused + "_proj")}
        for kind in ("weight", "bias"):
            for p, t in zip(parts, sd[f"{fused}_proj.{kind}"].chunk(len(parts)), strict=True):
                old[f"{p}_proj.{kind}"] = t.clone()
        fresh = MultiHeadAttention(36, 3, cross=cross)
        fresh.load_state_dict(old)
        torch.testing.assert_close(fresh.state_dict(), sd)


def test_record_attention_collects_every_layer_and_restores():
    from lmbook.nn import record_attention

    mha = MultiHeadAttention(36, 3).eval()
    x = torch.randn(2, 5, 36)
    with record_attention(mha) as maps:
        y = mha(x, causal=True)
    assert list(maps) == [""] and maps[""][0].shape == (2, 3, 5, 5)
    torch.testing.assert_close(maps[""][0].sum(-1), torch.ones(2, 3, 5))
    torch.testing.assert_close(y, mha(x, causal=True), atol=1e-5, rtol=1e-5)
    assert mha.recorded is None


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("backend", ["FLASH_ATTENTION", "EFFICIENT_ATTENTION", "MATH"])
def test_sdpa_backends_match_naive_on_cuda(backend):
    from torch.nn.attention import SDPBackend, sdpa_kernel

    g = torch.Generator(device="cuda").manual_seed(0)
    q, k, v = (torch.randn(2, 4, 64, 32, device="cuda", dtype=torch.bfloat16, generator=g)
               for _ in range(3))  # fmt: skip
    ref = attention(q.float(), k.float(), v.float(), causal=True, impl="naive")
    with sdpa_kernel(getattr(SDPBackend, backend)):
        out = attention(q, k, v, causal=True, impl="sdpa")
    torch.testing.assert_close(out.float(), ref, atol=2e-2, rtol=2e-2)


def test_override_attention_replaces_arguments_inside_the_block_only():
    from lmbook.models import GPT, GPTConfig
    from lmbook.nn import override_attention, sliding_window_mask

    torch.manual_seed(0)
    gpt = GPT(GPTConfig.preset("tiny")).eval()
    ids = torch.randint(0, gpt.config.vocab_size, (2, 9))
    changed = ids.clone()
    changed[:, 5] = (ids[:, 5] + 1) % gpt.config.vocab_size  # only position 5 differs
    with torch.no_grad():
        causal = gpt(ids)
        assert torch.equal(gpt(changed)[:, :5], causal[:, :5])  # the past cannot see position 5
        with override_attention(gpt, causal=False):
            assert (gpt(changed)[:, :5] - gpt(ids)[:, :5]).abs().max() > 1e-4  # now it can
        with override_attention(
            gpt, causal=False, mask=lambda x: sliding_window_mask(x.shape[1], 9)
        ):
            torch.testing.assert_close(gpt(ids), causal)  # a window as long as T: plain causal
        with override_attention(
            gpt, causal=False, mask=lambda x: sliding_window_mask(x.shape[1], 2)
        ):
            narrow = gpt(ids)
        assert (narrow[:, 2:] - causal[:, 2:]).abs().max() > 1e-4
        torch.testing.assert_close(narrow[:, :2], causal[:, :2])  # the first two see no more
        assert torch.equal(gpt(ids), causal)  # hooks removed at exit
    assert all(not blk.attn._forward_pre_hooks for blk in gpt.blocks)


def test_override_attention_refuses_unknown_arguments_and_models_without_attention():
    from lmbook.models import GPT, GPTConfig
    from lmbook.nn import override_attention

    with pytest.raises(ValueError, match="no argument \\['causl'\\]"):
        with override_attention(GPT(GPTConfig.preset("tiny")), causl=False):
            pass
    with pytest.raises(ValueError, match="no self-attention layer"):
        with override_attention(torch.nn.Linear(2, 2), causal=False):
            pass
