"""Masks, positions, KV cache, feed-forward and TransformerBlock."""

import math

import pytest
import torch

from lmbook.nn import (
    FeedForward,
    KVCache,
    LearnedPositions,
    SinusoidalPositions,
    TransformerBlock,
    causal_mask,
    combine_masks,
    padding_mask,
    sliding_window_mask,
)


def test_masks():
    assert causal_mask(3).tolist() == [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
    pm = padding_mask(torch.tensor([[1, 1, 0]]))
    assert pm.shape == (1, 1, 1, 3) and pm.dtype == torch.bool
    both = combine_masks(pm, None, causal_mask(3))
    assert both.shape == (1, 1, 3, 3)
    assert both[0, 0].tolist() == [[1, 0, 0], [1, 1, 0], [1, 1, 0]]
    assert combine_masks(None, None) is None
    with pytest.raises(ValueError, match="bool"):
        combine_masks(torch.ones(3, 3))
    with pytest.raises(ValueError, match=r"\(B, S\)"):
        padding_mask(torch.ones(3))
    with pytest.raises(ValueError, match="S >= T"):
        causal_mask(4, 3)


def test_sliding_window_mask():
    m = sliding_window_mask(4, window=2)
    assert m.tolist() == [[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]]
    # With a cache (S > T) the window is aligned to the end of the keys, like causal_mask.
    assert sliding_window_mask(1, window=3, S=6).tolist() == [[0, 0, 0, 1, 1, 1]]
    assert torch.equal(sliding_window_mask(5, window=5), causal_mask(5))
    with pytest.raises(ValueError, match="window"):
        sliding_window_mask(3, window=0)


def test_sinusoidal_positions_formula_and_offset():
    pe = SinusoidalPositions(50, 37)  # odd width
    table = pe(50)
    assert table.shape == (50, 37)
    p, i = 7, 5
    assert table[p, 2 * i].item() == pytest.approx(math.sin(p / 10000 ** (2 * i / 37)), abs=1e-6)
    assert table[p, 2 * i + 1].item() == pytest.approx(
        math.cos(p / 10000 ** (2 * i / 37)), abs=1e-6
    )
    torch.testing.assert_close(pe(3, offset=4), table[4:7])
    assert "pe" not in pe.state_dict()
    with pytest.raises(ValueError, match="longer than the model's context"):
        pe(10, offset=45)


def test_learned_positions():
    lp = LearnedPositions(11, 6)
    assert lp(4, offset=2).shape == (4, 6)
    with pytest.raises(ValueError, match="crop"):
        lp(12)


def test_kv_cache_grows_reorders_and_crops():
    cache = KVCache(2)
    assert cache.seq_len == 0 and len(cache) == 2
    k = torch.randn(3, 2, 4, 5)
    cache[0].update(k, k + 1)
    K, V = cache[0].update(k[:, :, :1], k[:, :, :1])
    assert K.shape == (3, 2, 5, 5) and cache[0].seq_len == 5
    torch.testing.assert_close(V[:, :, :4], k + 1)
    cache[0].reorder(torch.tensor([2, 2, 0]))
    torch.testing.assert_close(cache[0].keys[1], K[2])
    cache.crop(3)
    assert cache[0].seq_len == 3
    cache.reset()
    assert cache.seq_len == 0
    cache[0].update(k, k)
    with pytest.raises(ValueError, match="batch size"):
        cache[0].update(k[:1], k[:1])


def test_kv_cache_reorders_static_layers_only_when_asked():
    cache = KVCache(2)
    k = torch.randn(3, 2, 4, 5)
    cache[0].update(k, k)
    view = k.transpose(1, 2).contiguous().transpose(1, 2)  # as the projection leaves it
    assert not view.is_contiguous()
    cache[1].set(view, k)  # stored contiguous
    assert cache[1].static and not cache[0].static and cache[1].keys.is_contiguous()
    index = torch.tensor([2, 2, 0])
    cache.reorder(index, static=False)  # beam search: cross-attention rows stay as they are
    torch.testing.assert_close(cache[0].keys, k[index])
    torch.testing.assert_close(cache[1].keys, k)
    cache.reorder(index)  # the default keeps the rows of every layer
    torch.testing.assert_close(cache[1].keys, k[index])
    cache.reset()
    assert not cache[1].static


def test_kv_cache_appends_in_place_and_matches_concatenation():
    torch.manual_seed(0)
    cache, steps = KVCache(1)[0], [torch.randn(2, 3, n, 5) for n in (4, 1, 1, 3, 1, 7, 1)]
    for i, k in enumerate(steps):
        K, V = cache.update(k, -k)
        expected = torch.cat(steps[: i + 1], dim=2)
        assert torch.equal(K, expected) and torch.equal(V, -expected)
    assert cache.seq_len == 18
    buffer = cache._keys.data_ptr()
    cache.update(steps[1], steps[1])  # room left after doubling: written in place, no copy
    assert cache._keys.data_ptr() == buffer


def test_kv_cache_keeps_gradients_when_keys_require_them():
    cache = KVCache(1)[0]
    a, b = torch.randn(1, 2, 3, 4, requires_grad=True), torch.randn(1, 2, 1, 4, requires_grad=True)
    cache.update(a, a)
    K, V = cache.update(b, b)
    (K.sum() + 2 * V.sum()).backward()
    assert torch.equal(a.grad, torch.full_like(a, 3.0)) and torch.equal(
        b.grad, torch.full_like(b, 3.0)
    )


@pytest.mark.parametrize("activation", ["gelu", "gelu_tanh", "relu"])
def test_feed_forward(activation):
    torch.manual_seed(0)
    ffn = FeedForward(36, 37, activation=activation)
    x = torch.randn(2, 3, 36)
    act = {"gelu": torch.nn.GELU(), "gelu_tanh": torch.nn.GELU("tanh"), "relu": torch.nn.ReLU()}
    expected = ffn.fc2(act[activation](ffn.fc1(x)))
    torch.testing.assert_close(ffn(x), expected)
    # Without autograd the activation runs in place on fc1's output: same numbers bit for
    # bit, and the caller's input is left alone.
    x_before = x.clone()
    for context in (torch.no_grad, torch.inference_mode):
        with context():
            assert torch.equal(ffn(x), expected.detach())
        assert torch.equal(x, x_before)
    with pytest.raises(ValueError, match="activation"):
        FeedForward(36, 37, activation="swish")


def test_pre_and_post_ln_blocks_follow_their_equations():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 36)
    pre = TransformerBlock(36, 3, 37, norm_first=True).eval()
    h = x + pre.attn(pre.attn_norm(x), causal=True)
    torch.testing.assert_close(pre(x, causal=True), h + pre.ffn(pre.ffn_norm(h)))
    post = TransformerBlock(36, 3, 37, norm_first=False).eval()
    h = post.attn_norm(x + post.attn(x))
    torch.testing.assert_close(post(x), post.ffn_norm(h + post.ffn(h)))


def test_cross_attention_block_with_cache_matches_full_pass():
    torch.manual_seed(0)
    block = TransformerBlock(36, 3, 37, cross_attention=True).eval()
    x, ctx = torch.randn(2, 6, 36), torch.randn(2, 9, 36)
    full = block(x, causal=True, context=ctx)
    cache, cross = KVCache(1), KVCache(1)
    steps = [block(x[:, :4], causal=True, context=ctx, cache=cache[0], cross_cache=cross[0])]
    for t in (4, 5):
        steps.append(block(x[:, t : t + 1], causal=True, context=ctx, cache=cache[0],
                           cross_cache=cross[0]))  # fmt: skip
    torch.testing.assert_close(torch.cat(steps, 1), full, atol=1e-5, rtol=1e-5)
    assert cross[0].seq_len == 9 and cache[0].seq_len == 6
    with pytest.raises(ValueError, match="context"):
        block(x)
