"""lmbook.nn.layout: weights reordered for one-token decoding, chosen by measurement, restored."""

import pytest
import torch

from lmbook.models import GPT, GPTConfig
from lmbook.nn import layout


def _model() -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig.preset("tiny")).eval()


def _times(row: float, col: float, reorder: float):
    return lambda n_out, n_in, dtype, stream_bytes: (row, col, reorder)


def test_chosen_weights_are_column_major_inside_and_the_originals_come_back(monkeypatch):
    monkeypatch.setattr(layout, "vector_product_times", _times(2.0, 1.0, 0.0))
    model = _model()
    params = {name: p for name, p in model.named_parameters()}
    before = {name: (p.data_ptr(), p.detach().clone()) for name, p in params.items()}
    ids = torch.randint(0, model.config.vocab_size, (2, 7))
    with torch.no_grad():
        expected = model(ids)
        with layout.decoding_layout(model, steps=100):
            w = model.blocks[0].attn.qkv_proj.weight
            assert w.shape == (w.shape[0], model.config.d_model)
            assert w.t().is_contiguous() and not w.is_contiguous()  # column-major
            assert model.lm_head.weight is model.tok_emb.weight  # still tied:
            assert not model.tok_emb.weight.is_contiguous()  # the table reads the same tensor
            inside = model(ids)
    torch.testing.assert_close(inside, expected, rtol=1e-5, atol=1e-5)
    assert dict(model.named_parameters()) == params  # the same Parameter objects
    for name, p in model.named_parameters():
        ptr, value = before[name]
        assert p.is_contiguous() and p.data_ptr() == ptr, name  # the original tensor is back
        assert torch.equal(p, value), name


def test_the_originals_come_back_when_decoding_raises(monkeypatch):
    monkeypatch.setattr(layout, "vector_product_times", _times(2.0, 1.0, 0.0))
    model = _model()
    ptrs = [p.data_ptr() for p in model.parameters()]
    with pytest.raises(RuntimeError, match="interrupted"):
        with layout.decoding_layout(model, steps=100):
            assert not model.blocks[0].ffn.fc1.weight.is_contiguous()
            raise RuntimeError("interrupted")
    assert [p.data_ptr() for p in model.parameters()] == ptrs


@pytest.mark.parametrize(
    "times, steps, reordered",
    [
        ((2.0, 1.0, 0.0), 100, True),  # column-major twice as fast, the copy free
        ((1.05, 1.0, 0.0), 100, False),  # within the noise margin (MIN_GAIN)
        ((1.0, 2.0, 0.0), 100, False),  # row-major faster
        ((2.0, 1.0, 50.0), 10, False),  # ten steps save 10 units, the copy costs 50
        ((2.0, 1.0, 50.0), 100, True),  # a hundred save 100
    ],
)
def test_a_weight_is_reordered_only_where_the_steps_pay_for_the_copy(
    monkeypatch, times, steps, reordered
):
    monkeypatch.setattr(layout, "vector_product_times", _times(*times))
    model = _model()
    with layout.decoding_layout(model, steps=steps):
        assert (not model.blocks[1].ffn.fc2.weight.is_contiguous()) == reordered


def test_weights_off_the_cpu_are_left_alone(monkeypatch):
    monkeypatch.setattr(layout, "vector_product_times", _times(2.0, 1.0, 0.0))
    with torch.device("meta"):
        model = GPT(GPTConfig.preset("tiny"))
    with layout.decoding_layout(model, steps=100):
        assert all(p.is_contiguous() for p in model.parameters())


def test_measured_times_are_positive_and_cached_per_shape():
    layout._TIMES.clear()
    row, col, reorder = layout.vector_product_times(48, 16, torch.float32, stream_bytes=0)
    assert row > 0 and col > 0 and reorder > 0
    assert len(layout._TIMES) == 1
    assert layout.vector_product_times(48, 16, torch.float32, stream_bytes=0) == (row, col, reorder)
    assert len(layout._TIMES) == 1  # measured once


def test_generate_reorders_only_while_decoding_and_keeps_the_tokens(monkeypatch):
    monkeypatch.setattr(layout, "vector_product_times", _times(2.0, 1.0, 0.0))
    model = _model()
    seen = []
    hook = model.blocks[0].ffn.fc1.register_forward_pre_hook(
        lambda m, args: seen.append(m.weight.is_contiguous())
    )
    prompt = torch.randint(0, model.config.vocab_size, (2, 5))
    cached = model.generate(prompt, 8, temperature=0.0)
    assert seen and not any(seen)  # every cached step ran on the column-major weight
    seen.clear()
    uncached = model.generate(prompt, 8, temperature=0.0, use_cache=False)
    assert seen and all(seen)  # recomputing multiplies whole sequences: row-major kept
    hook.remove()
    assert torch.equal(cached, uncached)
    assert all(p.is_contiguous() for p in model.parameters())


def test_decoding_bytes_is_what_the_layout_measures_with(monkeypatch):
    model = _model()
    seen = set()

    def times(n_out, n_in, dtype, stream_bytes):
        seen.add(stream_bytes)
        return (1.0, 1.0, 0.0)

    monkeypatch.setattr(layout, "vector_product_times", times)
    with layout.decoding_layout(model, steps=10):
        pass
    linear = {id(m.weight): m.weight for m in model.modules() if isinstance(m, torch.nn.Linear)}
    expected = sum(w.numel() * w.element_size() for w in linear.values())  # the tied head once
    assert seen == {layout.decoding_bytes(model)} == {expected}
