"""Tests for lmbook.models.seq2seq: shapes, padding and causal invariance, KV-cache decoding,
naive = sdpa, overfitting a reversal task, and bad input."""

from __future__ import annotations

import pytest
import torch

from lmbook.generation import greedy_decode
from lmbook.models import Seq2SeqConfig, Seq2SeqTransformer
from lmbook.nn import KVCache

V = 97


def tiny(**overrides) -> Seq2SeqTransformer:
    torch.manual_seed(0)
    return Seq2SeqTransformer(Seq2SeqConfig.preset("tiny", **overrides)).eval()


def ids(B: int, L: int, vocab: int = V, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab, (B, L), generator=g)


# ---------------------------------------------------------------------- config
def test_presets_and_parameter_count():
    base = Seq2SeqConfig.preset("transformer-base")
    assert (base.n_encoder_layers, base.n_decoder_layers, base.d_model, base.n_heads) == (
        6, 6, 512, 8
    )  # fmt: skip
    assert base.d_ff == 2048 and base.norm_first is False and base.activation == "relu"
    assert Seq2SeqConfig.preset("cpu-small", vocab_size=500).vocab_size == 500
    # Parameter count of the tiny model, by hand: embeddings V*D, encoder block
    # 4(D^2+D) + 2 D F + F + D + 2*2D, decoder block adds cross attention 4(D^2+D) + 2D.
    D, F = 36, 37
    attn = 4 * (D * D + D)
    ffn = D * F + F + F * D + D
    enc = attn + ffn + 2 * 2 * D
    dec = 2 * attn + ffn + 3 * 2 * D
    assert tiny().num_parameters() == V * D + 2 * enc + 2 * dec  # post-LN: no final norms
    assert tiny(norm_first=True).num_parameters() == V * D + 2 * enc + 2 * dec + 2 * 2 * D


def test_config_validation():
    with pytest.raises(ValueError, match="divisible"):
        Seq2SeqConfig(d_model=36, n_heads=5)
    with pytest.raises(ValueError, match="tie_embeddings"):
        Seq2SeqConfig(vocab_size=10, src_vocab_size=12)
    with pytest.raises(ValueError, match="unknown Seq2SeqConfig preset"):
        Seq2SeqConfig.preset("transformer-huge")
    with pytest.raises(ValueError, match="unknown Seq2SeqConfig fields"):
        Seq2SeqConfig.preset("tiny", n_layers=3)
    with pytest.raises(ValueError, match="dropout"):
        Seq2SeqConfig(dropout=1.0)


def test_replace_recomputes_derived_fields_and_old_names_warn():
    c = Seq2SeqConfig(vocab_size=100).replace(vocab_size=200)
    assert (c.vocab_size, c.src_vocab_size) == (200, 200)  # derived: follows vocab_size
    c = Seq2SeqConfig(vocab_size=100, src_vocab_size=50, tie_embeddings=False)
    assert c.replace(vocab_size=200).src_vocab_size == 50  # given explicitly: stays
    with pytest.warns(DeprecationWarning, match="block_size"):
        old = Seq2SeqConfig.preset("tiny", max_position=31)
    with pytest.warns(DeprecationWarning, match="tie_embeddings"):
        assert Seq2SeqConfig(share_embeddings=False).tie_embeddings is False
    assert old.block_size == 31
    with pytest.raises(ValueError, match="not also"):
        Seq2SeqConfig(block_size=8, max_position=9)


# ---------------------------------------------------------------------- shapes and tying
@pytest.mark.parametrize("share", [True, False])
def test_shapes_and_tied_head(share):
    model = tiny(tie_embeddings=share, src_vocab_size=V if share else 53)
    src = ids(2, 7, vocab=model.config.src_vocab_size)
    memory = model.encode(src)
    assert memory.shape == (2, 7, 36)
    logits = model(src, ids(2, 5))
    assert logits.shape == (2, 5, V)
    assert model.lm_head.weight is model.target_embedding.weight
    names = {n for n, _ in model.named_parameters()}
    assert ("tok_emb.weight" in names) == share and ("src_emb.weight" in names) == (not share)
    assert "pos_emb.pe" not in model.state_dict()  # sinusoids are recomputed, never saved


# ---------------------------------------------------------------------- invariances
@pytest.mark.parametrize("norm_first", [False, True])
def test_source_padding_changes_nothing(norm_first):
    model = tiny(norm_first=norm_first)
    src, tgt = ids(3, 9, seed=1), ids(3, 6, seed=2)
    lengths = [9, 5, 2]
    mask = torch.zeros(3, 9, dtype=torch.long)
    for b, n in enumerate(lengths):
        mask[b, :n] = 1
    padded = src.masked_fill(mask == 0, 0)
    garbage = src.masked_fill(mask == 0, 42)  # the value of padding tokens must not matter
    out_a = model(padded, tgt, src_mask=mask)
    out_b = model(garbage, tgt, src_mask=mask)
    torch.testing.assert_close(out_a, out_b, rtol=1e-5, atol=1e-5)
    for b, n in enumerate(lengths):
        alone = model(src[b : b + 1, :n], tgt[b : b + 1])
        torch.testing.assert_close(out_a[b : b + 1], alone, rtol=1e-5, atol=1e-5)


def test_target_left_padding_with_tgt_mask():
    model = tiny()
    src, tgt = ids(1, 6, seed=3), ids(1, 4, seed=4)
    padded = torch.cat([torch.zeros(1, 2, dtype=torch.long), tgt], dim=1)
    tgt_mask = torch.tensor([[0, 0, 1, 1, 1, 1]])
    # Positions shift with left padding, so compare against the same shifted layout: the
    # padded keys must be invisible, whatever their token values.
    out_a = model(src, padded, tgt_mask=tgt_mask)
    out_b = model(src, padded.index_fill(1, torch.tensor([0, 1]), 55), tgt_mask=tgt_mask)
    torch.testing.assert_close(out_a[:, 2:], out_b[:, 2:], rtol=1e-5, atol=1e-5)


def test_decoder_is_causal():
    model = tiny()
    src, tgt = ids(2, 7, seed=5), ids(2, 8, seed=6)
    changed = tgt.clone()
    changed[:, 5:] = (changed[:, 5:] + 1) % V
    a, b = model(src, tgt), model(src, changed)
    torch.testing.assert_close(a[:, :5], b[:, :5], rtol=1e-5, atol=1e-5)
    assert not torch.allclose(a[:, 5:], b[:, 5:])


def test_encoder_is_bidirectional():
    model = tiny()
    src = ids(1, 7, seed=7)
    changed = src.clone()
    changed[0, -1] = (changed[0, -1] + 1) % V
    assert not torch.allclose(model.encode(src)[:, 0], model.encode(changed)[:, 0])


@pytest.mark.parametrize("norm_first", [False, True])
def test_incremental_decoding_with_cache_matches_full_pass(norm_first):
    model = tiny(norm_first=norm_first)
    src, tgt = ids(2, 7, seed=9), ids(2, 6, seed=10)
    mask = torch.tensor([[1] * 7, [1] * 4 + [0] * 3])
    memory = model.encode(src, mask)
    full = model.decode(tgt, memory, mask)
    cache = model.new_cache()
    steps = [model.decode(tgt[:, :2], memory, mask, cache=cache)]  # a 2-token prompt first
    for t in range(2, 6):
        steps.append(model.decode(tgt[:, t : t + 1], memory, mask, cache=cache))
    torch.testing.assert_close(torch.cat(steps, dim=1), full, rtol=1e-5, atol=1e-5)
    assert cache.seq_len == 6


def test_naive_and_sdpa_agree():
    sdpa, naive = tiny(attn_impl="sdpa"), tiny(attn_impl="naive")
    naive.load_state_dict(sdpa.state_dict())
    src, tgt = ids(2, 7, seed=11), ids(2, 5, seed=12)
    mask = torch.tensor([[1] * 7, [1] * 3 + [0] * 4])
    torch.testing.assert_close(
        sdpa(src, tgt, src_mask=mask), naive(src, tgt, src_mask=mask), rtol=1e-5, atol=1e-5
    )


# ---------------------------------------------------------------------- attention maps
def test_attention_maps_shapes_masks_and_values():
    model = tiny()  # post-LN
    src, tgt = ids(2, 7, seed=13), ids(2, 5, seed=14)
    mask = torch.tensor([[1] * 7, [1] * 4 + [0] * 3])
    maps = model.attention_maps(src, tgt, mask)
    assert [m.shape for m in maps["encoder"]] == [(2, 3, 7, 7)] * 2
    assert [m.shape for m in maps["decoder"]] == [(2, 3, 5, 5)] * 2
    assert [m.shape for m in maps["cross"]] == [(2, 3, 5, 7)] * 2
    for kind in maps:
        for w in maps[kind]:
            torch.testing.assert_close(w.sum(-1), torch.ones(w.shape[:-1]))
    assert (maps["cross"][1][1, :, :, 4:] == 0).all()  # padded source positions get nothing
    assert (maps["decoder"][0].triu(diagonal=1) == 0).all()  # causal
    # First decoder layer's cross attention by hand: post-LN self-attention sub-layer, then
    # softmax(Q K^T / sqrt(Dh)) with Q from it and K from the encoder output.
    block = model.decoder[0]
    with torch.no_grad():
        x = model._embed(model.target_embedding, tgt, 0)
        x = block.attn_norm(x + block.attn(x, causal=True))
        memory = model.encode(src, mask)
        q = block.cross_attn.q_proj(x).view(2, 5, 3, 12).transpose(1, 2)  # (B, H, T, Dh)
        k = block.cross_attn.k_proj(memory).view(2, 7, 3, 12).transpose(1, 2)  # (B, H, S, Dh)
        scores = (q @ k.transpose(-2, -1)) / 12**0.5
        scores = scores.masked_fill(mask[:, None, None, :] == 0, float("-inf"))
    torch.testing.assert_close(maps["cross"][0], scores.softmax(-1), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------- learning
def test_overfits_a_reversal_task_and_greedy_decodes_it():
    torch.manual_seed(0)
    PAD, BOS, EOS, V_small = 0, 1, 2, 13
    config = Seq2SeqConfig.preset(
        "tiny", vocab_size=V_small, d_model=48, n_heads=4, d_ff=96, norm_first=True
    )
    model = Seq2SeqTransformer(config)
    g = torch.Generator().manual_seed(0)
    B, L = 16, 6
    lengths = torch.randint(3, L + 1, (B,), generator=g)
    src = torch.full((B, L), PAD)
    tgt = torch.full((B, L + 2), PAD)
    for b, n in enumerate(lengths.tolist()):
        seq = torch.randint(3, V_small, (n,), generator=g)
        src[b, :n] = seq
        tgt[b, : n + 2] = torch.cat([torch.tensor([BOS]), seq.flip(0), torch.tensor([EOS])])
    src_mask = (src != PAD).long()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(300):
        logits = model(src, tgt[:, :-1], src_mask=src_mask)
        loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, V_small), tgt[:, 1:].reshape(-1), ignore_index=PAD
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        if loss.item() < 0.01:
            break
    assert loss.item() < 0.05, f"loss {loss.item():.3f} after training"
    out = greedy_decode(model, src, src_mask, max_len=L + 1, bos_id=BOS, eos_id=EOS)
    for b, n in enumerate(lengths.tolist()):
        assert out[b, : n + 2].tolist() == tgt[b, : n + 2].tolist()
    # The method is the same decoding: greedy by default, beam search with beam_size > 1.
    kw = dict(max_len=L + 1, bos_id=BOS, eos_id=EOS)
    assert torch.equal(model.generate(src, src_mask, **kw), out)
    beam = model.generate(src, src_mask, beam_size=3, **kw)
    for b, n in enumerate(lengths.tolist()):
        assert beam[b, : n + 2].tolist() == tgt[b, : n + 2].tolist()


# ---------------------------------------------------------------------- bad input
def test_bad_input_errors():
    model = tiny()
    src, tgt = ids(2, 7), ids(2, 5)
    with pytest.raises(ValueError, match="block_size=23"):
        model(ids(2, 24), tgt)
    with pytest.raises(ValueError, match="block_size=23"):
        model(src, ids(2, 24))
    with pytest.raises(ValueError, match=r"must be in \[0, 97\)"):
        model(src.clone().fill_(97), tgt)
    with pytest.raises(ValueError, match=r"must be in \[0, 97\)"):
        model(src, tgt.clone().fill_(-1))
    with pytest.raises(ValueError, match="shape"):
        model(src, tgt, src_mask=torch.ones(2, 6))
    with pytest.raises(ValueError, match="shape"):
        model(src, tgt, tgt_mask=torch.ones(2, 6))
    with pytest.raises(ValueError, match="all padding"):
        model(src, tgt, src_mask=torch.tensor([[1] * 7, [0] * 7]))
    with pytest.raises(ValueError, match="only 0 and 1"):
        model(src, tgt, src_mask=torch.full((2, 7), 2))
    with pytest.raises(ValueError, match="batch size"):
        model(src, ids(3, 5))
    with pytest.raises(ValueError, match="add a batch axis"):
        model(src[0], tgt)
    with pytest.raises(ValueError, match="integer token ids"):
        model(src.float(), tgt)
    with pytest.raises(ValueError, match="memory"):
        model.decode(tgt, torch.zeros(2, 7, 35))
    with pytest.raises(ValueError, match="new_cache"):
        model.decode(tgt, model.encode(src), cache=KVCache(1))


# ---------------------------------------------------------------------- GPU
@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu_and_decodes_on_device():
    from lmbook.generation import beam_search, sequence_scores

    model = tiny(norm_first=True)
    src, tgt = ids(2, 7, seed=15), ids(2, 5, seed=16)
    mask = torch.tensor([[1] * 7, [1] * 4 + [0] * 3])
    ref = model(src, tgt, src_mask=mask)
    model = model.cuda()
    src, tgt, mask = src.cuda(), tgt.cuda(), mask.cuda()
    torch.testing.assert_close(model(src, tgt, src_mask=mask).cpu(), ref, rtol=1e-4, atol=1e-4)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = model(src, tgt, src_mask=mask)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float().cpu(), ref, atol=5e-2, rtol=5e-2)
    greedy = greedy_decode(model, src, mask, max_len=8, bos_id=1, eos_id=2)
    beam1 = beam_search(model, src, mask, beam_size=1, max_len=8, bos_id=1, eos_id=2)
    assert greedy.is_cuda and torch.equal(greedy, beam1)
    best, score = beam_search(model, src, mask, 3, 8, 1, 2, return_scores=True)
    torch.testing.assert_close(sequence_scores(model, src, mask, best, 2, 0.6), score)
