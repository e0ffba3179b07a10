"""Tests for lmbook.compute: counts against real models, FLOPs against torch's counter, fits,
and the timing harness (on a fake clock: deterministic, no sleeping)."""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import lmbook.nn
from lmbook import compute
from lmbook.compute import ModelShape, measure
from lmbook.models import BERT, GPT, BertConfig, GPTConfig, Seq2SeqConfig, Seq2SeqTransformer

# Odd sizes so a mis-sized term cannot match by accident.
SHAPE = ModelShape(n_layers=2, d_model=36, n_heads=4, vocab_size=97, block_size=23, d_ff=37)


def _hf_gpt2() -> nn.Module:
    transformers = pytest.importorskip("transformers")
    cfg = transformers.GPT2Config(
        vocab_size=97,
        n_positions=23,
        n_embd=36,
        n_layer=2,
        n_head=4,
        n_inner=37,
        bos_token_id=0,
        eos_token_id=0,
    )
    cfg._attn_implementation = "eager"  # attention as explicit matmuls, so FLOPs are counted
    return transformers.GPT2LMHeadModel(cfg).eval()


def test_param_count_matches_transformers_gpt2():
    model = _hf_gpt2()
    assert compute.param_count(SHAPE)["total"] == compute.count_parameters(model)


def test_param_count_matches_transformers_bert_without_pooler():
    transformers = pytest.importorskip("transformers")
    cfg = transformers.BertConfig(
        vocab_size=97,
        hidden_size=36,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=23,
    )
    model = transformers.BertModel(cfg, add_pooling_layer=False)
    shape = ModelShape(2, 36, 4, 97, 23, d_ff=37, type_vocab_size=2)
    assert compute.param_count(shape)["total"] == compute.count_parameters(model)


def test_param_count_grouped_query_shrinks_kv_projections():
    full = compute.param_count(ModelShape(2, 48, 6, 97, 23))
    gqa = compute.param_count(ModelShape(2, 48, 6, 97, 23, n_kv_heads=2))
    # K and V go from 48x48 (+48 bias) to 48x16 (+16 bias) in each of 2 layers.
    assert full["attention"] - gqa["attention"] == 2 * 2 * (48 * 32 + 32)


def test_published_counts_match_papers():
    counts = {k: compute.param_count(s)["total"] for k, s in compute.PUBLISHED_MODELS.items()}
    assert counts["GPT-2 small"] == 124_439_808  # the exact count of the released checkpoint
    assert abs(counts["GPT-3"] / 175e9 - 1) < 0.01
    assert abs(counts["LLaMA-7B"] / 6.7e9 - 1) < 0.01
    assert abs(counts["BERT-base"] / 110e6 - 1) < 0.02
    assert abs(counts["GPT-2 XL"] / 1542e6 - 1) < 0.02


def test_count_parameters_trainable_and_embeddings():
    model = nn.Sequential(nn.Embedding(97, 36), nn.Linear(36, 37))
    model[0].weight.requires_grad_(False)
    assert compute.count_parameters(model) == 97 * 36 + 36 * 37 + 37
    assert compute.count_parameters(model, trainable_only=True) == 36 * 37 + 37
    assert compute.count_parameters(model, exclude_embeddings=True) == 36 * 37 + 37


def test_count_parameters_counts_tied_weights_once():
    emb, head = nn.Embedding(97, 36), nn.Linear(36, 97, bias=False)
    head.weight = emb.weight
    assert compute.count_parameters(nn.ModuleList([emb, head])) == 97 * 36


def test_flops_per_token_matches_torch_flop_counter():
    model = _hf_gpt2()
    B, T = 3, 19
    x = torch.randint(0, 97, (B, T))
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    expected = compute.flops_per_token(SHAPE, context=T).forward * B * T
    assert counter.get_total_flops() == pytest.approx(expected, rel=1e-9)


def test_flops_training_is_three_forward_and_close_to_6n():
    gpt2 = compute.PUBLISHED_MODELS["GPT-2 small"]
    fl = compute.flops_per_token(gpt2)
    assert fl.training == pytest.approx(3 * fl.forward)
    n = compute.param_count(gpt2)["non_embedding"] + gpt2.vocab_size * gpt2.d_model
    # 6N plus attention: at T=1024 attention adds 6*4*L*T*D ~ 26% on top of 6N for GPT-2 small.
    assert 1.1 < fl.training / (6 * n) < 1.4
    causal = compute.flops_per_token(gpt2, causal=True)
    assert causal.attention_scores == pytest.approx(fl.attention_scores / 2)


def test_training_flops_and_time():
    assert compute.training_flops(1e9, 2e10) == pytest.approx(1.2e20)
    assert compute.training_time_s(1e12, 1e11, 0.5) == pytest.approx(20.0)
    with pytest.raises(ValueError, match="fraction"):
        compute.training_time_s(1e12, 1e11, 40)
    with pytest.raises(ValueError):
        compute.training_flops(0, 10)


def test_mfu():
    assert compute.model_flops_utilization(1000, 6e6, 1.2e10) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        compute.model_flops_utilization(1000, 6e6, 0)


def test_model_shape_validation():
    with pytest.raises(ValueError, match="divisible by n_heads"):
        ModelShape(2, 36, 5, 97, 23)
    with pytest.raises(ValueError, match="n_kv_heads"):
        ModelShape(2, 36, 4, 97, 23, n_kv_heads=3)
    with pytest.raises(ValueError, match="positive"):
        ModelShape(0, 36, 4, 97, 23)


def test_model_shape_from_gpt_and_bert_configs():
    cfg = GPTConfig(vocab_size=97, block_size=23, n_layers=2, n_heads=4, d_model=36, d_ff=37)
    assert ModelShape.from_config(cfg) == SHAPE
    assert compute.param_count(SHAPE)["total"] == compute.count_parameters(GPT(cfg))

    bcfg = BertConfig(vocab_size=97, block_size=23, n_layers=2, n_heads=4, d_model=36, d_ff=37)
    shape = ModelShape.from_config(bcfg)
    assert shape.block_size == 23 and shape.type_vocab_size == 2 and shape.n_kv_heads is None


def test_model_shape_from_config_rejects_seq2seq_and_others():
    # Seq2SeqConfig has max_position as BERT does; it must not be read as a BERT.
    with pytest.raises(ValueError, match="encoder-decoder"):
        ModelShape.from_config(Seq2SeqConfig(vocab_size=97, d_model=36, n_heads=4, d_ff=37))
    with pytest.raises(TypeError, match="GPTConfig or BertConfig"):
        ModelShape.from_config(object())


def test_count_parameters_non_embedding_skips_token_and_position_tables():
    cfg = GPTConfig(vocab_size=97, block_size=23, n_layers=2, n_heads=4, d_model=36, d_ff=37)
    model = GPT(cfg)
    tables = 97 * 36 + 23 * 36  # tok_emb (tied with lm_head, so once) + learned positions
    full = compute.count_parameters(model)
    assert compute.count_parameters(model, exclude_embeddings=True) == full - tables
    assert compute.param_count(SHAPE)["non_embedding"] == full - tables
    bert = BERT(BertConfig(vocab_size=97, block_size=23, n_layers=2, n_heads=4, d_model=36))
    assert compute.count_parameters(bert) == sum(p.numel() for p in bert.parameters())
    s2s = Seq2SeqTransformer(Seq2SeqConfig(vocab_size=97, d_model=36, n_heads=4, d_ff=37))
    assert compute.count_parameters(s2s, exclude_embeddings=True) == (
        compute.count_parameters(s2s) - 97 * 36  # one table shared by source and target
    )


@pytest.mark.parametrize("offset", [False, True])
def test_fit_power_law_recovers_parameters(offset):
    x = np.logspace(10, 16, 9)
    c = 1.7 if offset else 0.0
    y = 3.0e3 * x**-0.25 + c
    fit = compute.fit_power_law(x, y, offset=offset)
    assert fit.b == pytest.approx(0.25, rel=1e-3)
    assert fit.c == pytest.approx(c, abs=1e-3)
    assert np.allclose(fit(x), y, rtol=1e-4)


def test_fit_power_law_bad_input():
    with pytest.raises(ValueError, match="positive"):
        compute.fit_power_law([1, 2, 3], [1, -1, 2])
    with pytest.raises(ValueError, match="points"):
        compute.fit_power_law([1, 2, 3], [3, 2, 1], offset=True)
    with pytest.raises(ValueError, match="equal length"):
        compute.fit_power_law([1, 2, 3], [3, 2])


def test_benchmark_pairs_rounds_and_ranks_variants(monkeypatch):
    # A fake clock that each variant advances by a known amount: deterministic, no sleeping.
    clock = [0.0]
    monkeypatch.setattr(measure.time, "perf_counter", lambda: clock[0])
    calls = []
    noise = iter([1.0, 1.0, 3.0, 3.0, 1.0, 1.0, 2.0, 2.0, 1.0, 1.0])  # a busy neighbour per round

    def variant(name, cost):
        def fn():
            calls.append(name)
            clock[0] += cost * scale[0]

        return fn

    scale = [1.0]
    slow, fast = variant("slow", 4e-3), variant("fast", 1e-3)

    def next_scale():
        scale[0] = next(noise)

    res = compute.benchmark(
        {"slow": lambda: (next_scale(), slow()), "fast": lambda: (fast(),)}, rounds=4, warmup=1
    )
    assert len(res.times["slow"]) == len(res.times["fast"]) == 4
    assert res.speedup("slow") == pytest.approx(1.0)
    assert res.median("slow") > res.median("fast")
    # interleaved: the order rotates, so "fast" runs first in some rounds
    assert calls[2:4] == ["slow", "fast"] and calls[4:6] == ["fast", "slow"]
    assert "speedup vs slow" in res.table()
    with pytest.raises(ValueError, match="reference"):
        compute.benchmark({"a": slow}, reference="b")


def test_benchmark_min_time_repeats_short_calls(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(measure.time, "perf_counter", lambda: clock[0])
    n = [0]

    def tick():
        n[0] += 1
        clock[0] += 0.01

    res = compute.benchmark({"tick": tick}, rounds=2, warmup=0, min_time_s=0.045)
    assert n[0] == 10  # five 10 ms calls per round pass 45 ms
    assert res.median("tick") == pytest.approx(0.01)


def test_measure_matmul_peak_is_plausible():
    peak = compute.measure_matmul_peak(n=256, rounds=2, min_time_s=0.01)
    assert 1e8 < peak < 1e15  # between a 1990s CPU and a whole GPU node


def test_measure_matmul_peak_gives_a_slow_dtype_fewer_rounds(monkeypatch):
    calls, mm = [], torch.mm

    def slow_mm(a, b):  # 50 ms a call, as emulated bf16 is slow on an AVX2 CPU
        calls.append(1)
        time.sleep(0.05)
        return mm(a, b)

    monkeypatch.setattr(torch, "mm", slow_mm)
    peak = compute.measure_matmul_peak(n=8, rounds=5, min_time_s=0.01, max_time_s=0.1)
    assert len(calls) == 3  # the first call (its own warm-up) and 2 rounds, not 2 + 5
    assert peak == pytest.approx(2 * 8**3 / 0.05, rel=0.5)


def test_saved_tensor_bytes_sees_attention_matrix():
    B, H, T, Dh = 1, 2, 64, 8
    q, k, v = (torch.randn(B, H, T, Dh, requires_grad=True) for _ in range(3))

    def naive():
        return ((q @ k.transpose(-1, -2)) / Dh**0.5).softmax(-1) @ v

    def fused():
        return torch.nn.functional.scaled_dot_product_attention(q, k, v)

    naive_bytes, fused_bytes = compute.saved_tensor_bytes(naive), compute.saved_tensor_bytes(fused)
    assert naive_bytes >= B * H * T * T * 4  # the (T, T) weights are kept for backward
    assert fused_bytes < naive_bytes
    with torch.no_grad():
        assert compute.saved_tensor_bytes(naive) == 0


def test_peak_memory_refuses_cpu():
    with pytest.raises(ValueError, match="saved_tensor_bytes"):
        compute.peak_memory_bytes(lambda: None, "cpu")


def _fake_clock_variants(costs_a, costs_b):
    """Two variants that advance a fake clock by the given cost in each round."""
    clock = [0.0]
    it_a, it_b = iter(costs_a), iter(costs_b)

    def a():
        clock[0] += next(it_a)

    def b():
        clock[0] += next(it_b)

    return a, b, (lambda: clock[0])


def test_compare_reports_the_paired_ratio():
    a, b, clock = _fake_clock_variants([1.0, 2.0, 1.0, 3.0, 1.0], [2.0, 4.0, 2.0, 6.0, 2.0])
    res = compute.compare(a, b, names=("fast", "slow"), rounds=5, warmup=0, clock=clock)
    assert res.ratio == pytest.approx(2.0) and res.consistent and res.speedup == pytest.approx(2.0)
    assert str(res).startswith("fast is 2.00x faster than slow (paired median ratio over 5 rounds")
    assert "medians 1 s vs 2 s" in str(res)
    # the same data with the names swapped: the other variant is the slower one
    a, b, clock = _fake_clock_variants([2.0, 4.0, 2.0, 6.0, 2.0], [1.0, 2.0, 1.0, 3.0, 1.0])
    res = compute.compare(a, b, names=("slow", "fast"), rounds=5, warmup=0, clock=clock)
    assert str(res).startswith("fast is 2.00x faster than slow")
    # the numbers read in the sentence's order: the faster variant's median first
    assert "IQR 2.00-2.00; medians 1 s vs 2 s" in str(res)


def test_table_prints_no_speedup_its_medians_contradict():
    # the same uneven rounds as below: paired ratio says a, medians say b
    a, b, clock = _fake_clock_variants([1, 1, 9, 9, 9], [1.1, 1.1, 9.5, 9.5, 1.0])
    res = compute.benchmark({"b": b, "a": a}, rounds=5, warmup=0, clock=clock)
    rows = dict(line.split(None, 1) for line in res.table(unit="s").splitlines()[1:])
    assert rows["a"].split()[1:] == ["~1x", "(no", "consistent", "difference)"]
    assert rows["b"].split()[1] == "1.00x"  # the reference


def test_compare_refuses_a_speedup_when_medians_and_ratio_disagree():
    # a wins 4 of 5 paired rounds, yet b's median time is the smaller: a busy neighbour hit
    # the rounds unevenly, so neither variant can honestly be called faster.
    a, b, clock = _fake_clock_variants([1, 1, 9, 9, 9], [1.1, 1.1, 9.5, 9.5, 1.0])
    res = compute.compare(a, b, rounds=5, warmup=0, clock=clock)
    assert res.ratio > 1  # paired: a is faster in 4 of 5 rounds ...
    assert statistics.median(res.times_a) > statistics.median(res.times_b)  # ... medians: b
    assert not res.consistent and res.speedup is None
    assert str(res).startswith("no consistent difference between a and b")


def test_compare_refuses_a_speedup_when_the_spread_straddles_one():
    a, b, clock = _fake_clock_variants([1.0] * 5, [0.8, 1.3, 1.2, 0.9, 1.25])
    res = compute.compare(a, b, rounds=5, warmup=0, clock=clock)
    low, high = res.spread
    assert low < 1 < high and res.ratio > 1
    assert not res.consistent and "no consistent difference" in str(res)


def test_compare_bad_input():
    with pytest.raises(ValueError, match="rounds >= 3"):
        compute.compare(lambda: None, lambda: None, rounds=2)
    with pytest.raises(ValueError, match="two different labels"):
        compute.compare(lambda: None, lambda: None, names=("x", "x"))
    with pytest.raises(ValueError, match="paired"):
        compute.median_ratio([1.0, 2.0], [1.0])


def test_benchmark_repeats_keep_the_fastest_measurement():
    costs = iter([5.0, 1.0, 3.0, 2.0, 4.0, 2.0])  # 2 rounds x 3 repeats
    clock = [0.0]

    def work():
        clock[0] += next(costs)

    res = compute.benchmark({"w": work}, rounds=2, warmup=0, repeats=3, clock=lambda: clock[0])
    assert res.times["w"] == [1.0, 2.0]


def test_models_count_their_parameters_as_compute_does():
    # One counter: each model's num_parameters agrees with compute.count_parameters, which is
    # lmbook.nn's (the models call it there, below compute in the import graph).
    assert compute.count_parameters is lmbook.nn.count_parameters
    gpt = GPT(GPTConfig(vocab_size=97, block_size=23, n_layers=2, n_heads=4, d_model=36, d_ff=37))
    assert gpt.num_parameters() == compute.count_parameters(gpt)
    assert gpt.num_parameters(non_embedding=True) == compute.count_parameters(
        gpt, exclude_embeddings=True
    )
    bert = BERT(BertConfig(vocab_size=97, block_size=23, n_layers=2, n_heads=4, d_model=36))
    assert bert.num_parameters() == compute.count_parameters(bert)
    s2s = Seq2SeqTransformer(Seq2SeqConfig(vocab_size=97, d_model=36, n_heads=4, d_ff=37))
    assert s2s.num_parameters() == compute.count_parameters(s2s)
    assert s2s.num_parameters(non_embedding=True) == compute.count_parameters(
        s2s, exclude_embeddings=True
    )
