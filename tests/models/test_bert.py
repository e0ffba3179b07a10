"""BERT: config, padding invariance, segments, MLM head, weights, bad input."""

import pytest
import torch

from lmbook.models import BERT, BertConfig


def _model(**kw):
    torch.manual_seed(0)
    return BERT(BertConfig.preset("tiny", **kw)).eval()


def _ids(B=2, T=9, seed=0):
    return torch.randint(1, 97, (B, T), generator=torch.Generator().manual_seed(seed))


def test_presets_and_validation():
    c = BertConfig.preset("minilm-l6")
    assert (c.n_layers, c.d_model, c.n_heads, c.d_ff, c.vocab_size) == (6, 384, 12, 1536, 30522)
    assert BertConfig.preset("bert-base").d_model == 768
    with pytest.raises(ValueError, match="divisible"):
        BertConfig(d_model=36, n_heads=5)
    with pytest.raises(ValueError, match="unknown BertConfig preset"):
        BertConfig.preset("roberta")


def test_bert_base_parameter_count():
    # BertForMaskedLM-base has 109,514,298 parameters: BertModel 109,482,240 (with pooler)
    # minus the pooler 590,592, plus the MLM transform 592,128 and its bias 30,522.
    with torch.device("meta"):
        m = BERT(BertConfig.preset("bert-base"))
    assert m.num_parameters() == 109_482_240 + 592_128 + 30_522


def test_output_shapes_and_tied_mlm_head():
    m = _model()
    out = m(_ids())
    assert out.last_hidden_state.shape == (2, 9, 36)
    assert out.pooler_output.shape == (2, 36) and out.attentions is None
    assert m.mlm_logits(out.last_hidden_state).shape == (2, 9, 97)
    assert m.mlm_head.decoder.weight is m.tok_emb.weight
    assert _model(add_pooler=False)(_ids()).pooler_output is None


def test_bidirectional_every_position_sees_the_future():
    m = _model()
    a = _ids()
    b = a.clone()
    b[:, -1] = (b[:, -1] + 1) % 97
    assert (m(a).last_hidden_state[:, 0] - m(b).last_hidden_state[:, 0]).abs().max() > 1e-4


@pytest.mark.parametrize("impl", ["sdpa", "naive"])
def test_padding_does_not_change_real_positions(impl):
    m = _model(attn_impl=impl)
    short = _ids(B=1, T=5)
    tt = torch.tensor([[0, 0, 1, 1, 2]])
    alone = m(short, token_type_ids=tt).last_hidden_state
    padded = torch.cat([short, torch.full((1, 4), 7)], dim=1)  # garbage ids in the padding
    mask = torch.tensor([[1] * 5 + [0] * 4])
    tt_pad = torch.cat([tt, torch.ones(1, 4, dtype=torch.long)], dim=1)
    out = m(padded, attention_mask=mask, token_type_ids=tt_pad).last_hidden_state
    torch.testing.assert_close(out[:, :5], alone, atol=1e-5, rtol=1e-5)


def test_segment_ids_change_the_output():
    m = _model()
    x = _ids()
    a = m(x).last_hidden_state
    b = m(x, token_type_ids=torch.ones_like(x)).last_hidden_state
    assert (a - b).abs().max() > 1e-3


def test_attention_weights_returned_and_match_sdpa_output():
    m = _model()
    x = _ids()
    mask = torch.ones_like(x)
    mask[1, 6:] = 0
    out = m(x, attention_mask=mask, return_weights=True)
    assert len(out.attentions) == 2 and out.attentions[0].shape == (2, 3, 9, 9)
    assert out.attentions[0][1, :, :, 6:].abs().max() == 0  # padded keys get no weight
    torch.testing.assert_close(out.last_hidden_state, m(x, attention_mask=mask).last_hidden_state,
                               atol=1e-5, rtol=1e-5)  # fmt: skip


def test_mlm_overfits_one_batch():
    torch.manual_seed(0)
    m = BERT(BertConfig.preset("tiny", dropout=0.0))
    x = _ids(B=4, T=12)
    inputs = x.clone()
    inputs[:, ::3] = 3  # pretend 3 is [MASK]
    opt = torch.optim.AdamW(m.parameters(), lr=1e-2)
    for _ in range(60):
        logits = m.mlm_logits(m(inputs).last_hidden_state)
        loss = torch.nn.functional.cross_entropy(logits[:, ::3].flatten(0, 1), x[:, ::3].flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05


def test_bad_inputs_raise_clear_errors():
    m = _model()
    x = _ids()
    with pytest.raises(ValueError, match="must match exactly"):
        m(x, attention_mask=torch.ones(2, 8))  # one column short: refused
    with pytest.raises(ValueError, match="must match exactly"):
        m(x, attention_mask=torch.ones(2, 10))
    with pytest.raises(ValueError, match="token_type_ids"):
        m(x, token_type_ids=torch.zeros(2, 8, dtype=torch.long))
    with pytest.raises(ValueError, match="token_type_ids must be in"):
        m(x, token_type_ids=torch.full_like(x, 3))
    with pytest.raises(ValueError, match="block_size=29"):
        m(_ids(T=30))
    with pytest.raises(ValueError, match=r"input_ids must be in \[0, 97\)"):
        m(torch.tensor([[2, 97]]))
    with pytest.raises(ValueError, match="all padding"):
        m(x, attention_mask=torch.cat([torch.ones(1, 9), torch.zeros(1, 9)]).long())


def test_old_config_names_still_load_with_a_warning():
    with pytest.warns(DeprecationWarning, match="block_size"):
        c = BertConfig.preset("tiny", max_position=64)
    with pytest.warns(DeprecationWarning, match="pad_id"):
        c = c.replace(pad_token_id=1)
    assert (c.block_size, c.pad_id) == (64, 1)
    with pytest.warns(DeprecationWarning, match="block_size"):
        assert c.max_position == 64


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("impl", ["sdpa", "naive"])
def test_cuda_bf16_autocast_matches_fp32(impl):
    m = _model(attn_impl=impl).cuda()
    x = _ids().cuda()
    mask = torch.ones_like(x)
    mask[1, 5:] = 0
    ref = m(x, attention_mask=mask).last_hidden_state
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = m(x, attention_mask=mask).last_hidden_state
    torch.testing.assert_close(out.float(), ref, atol=6e-2, rtol=6e-2)


# ---------------------------------------------------------------------------------------------
# Next-sentence-prediction head (BertForPreTraining)
# ---------------------------------------------------------------------------------------------


def test_nsp_head_shapes_and_clear_errors():
    m = _model(add_nsp_head=True)
    out = m(_ids())
    assert m.nsp_logits(out.pooler_output).shape == (2, 2)
    with pytest.raises(ValueError, match="no next-sentence-prediction head.*add_nsp_head=True"):
        _model().nsp_logits(out.pooler_output)
    with pytest.raises(ValueError, match="pooler_output"):
        m.nsp_logits(out.last_hidden_state)
    with pytest.raises(ValueError, match="add_pooler=True"):
        BertConfig.preset("tiny", add_nsp_head=True, add_pooler=False)


def test_nsp_head_is_trained_by_its_loss():
    torch.manual_seed(0)
    m = BERT(BertConfig.preset("tiny", dropout=0.0, add_nsp_head=True))
    x, labels = _ids(B=8, T=10), torch.tensor([0, 1] * 4)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-2)
    for _ in range(40):
        loss = torch.nn.functional.cross_entropy(m.nsp_logits(m(x).pooler_output), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05
