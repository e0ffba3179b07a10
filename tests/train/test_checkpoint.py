import json
import random

import numpy as np
import pytest
import torch
from torch import nn

import lmbook.train.checkpoint as ckpt_mod
from lmbook.train.checkpoint import (
    CheckpointError,
    capture_rng_state,
    latest_checkpoint,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)


class Tied(nn.Module):
    def __init__(self, V=97, D=36):
        super().__init__()
        self.tok_emb = nn.Embedding(V, D)
        self.norm = nn.LayerNorm(D)
        self.lm_head = nn.Linear(D, V, bias=False)
        self.lm_head.weight = self.tok_emb.weight  # tied, as in GPT

    def forward(self, x):
        return self.lm_head(self.norm(self.tok_emb(x)))


def _state(model, it):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.randint(97, (2, 5))).sum().backward()
    opt.step()
    return {"iter": it, "optimizer": opt.state_dict(), "rng": capture_rng_state()}


def test_round_trip_weights_state_and_tied_tensors(tmp_path):
    torch.manual_seed(0)
    model = Tied()
    path = save_checkpoint(tmp_path, model, _state(model, 5), {"note": "x"})
    assert path.name == "ckpt-0000005" and latest_checkpoint(tmp_path) == path
    ck = load_checkpoint(tmp_path)
    assert ck.iter == 5 and ck.config["note"] == "x"
    assert ck.config["model_identity"]["class"] == "Tied"
    other = Tied()
    ck.load_weights(other)
    for (k, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items(), strict=True):
        assert torch.equal(a, b), k
    assert other.lm_head.weight.data_ptr() == other.tok_emb.weight.data_ptr()
    assert ck.state["optimizer"]["state"]  # AdamW moments came back


def test_rng_states_round_trip():
    state = capture_rng_state()
    a = (random.random(), np.random.rand(), torch.rand(3))
    restore_rng_state(state)
    b = (random.random(), np.random.rand(), torch.rand(3))
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])


def test_interrupted_write_leaves_previous_checkpoint_loadable(tmp_path, monkeypatch):
    model = Tied()
    first = save_checkpoint(tmp_path, model, _state(model, 10), {})

    def crash_midway(state, path):
        torch.save(state, path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])  # half the file is on disk ...
        raise OSError("disk full")  # ... when the write dies

    monkeypatch.setattr(ckpt_mod, "_save_state", crash_midway)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(tmp_path, model, _state(model, 20), {})
    assert latest_checkpoint(tmp_path) == first
    ck = load_checkpoint(tmp_path)
    assert ck.iter == 10
    ck.load_weights(Tied())
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")]
    assert leftovers == []


def test_truncated_state_file_is_a_clear_error(tmp_path):
    model = Tied()
    path = save_checkpoint(tmp_path, model, _state(model, 3), {})
    state_file = path / "trainer_state.pt"
    state_file.write_bytes(state_file.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(tmp_path)


def test_truncated_weights_and_wrong_shapes_are_clear_errors(tmp_path):
    model = Tied()
    path = save_checkpoint(tmp_path, model, _state(model, 3), {})
    with pytest.raises(CheckpointError, match="do not fit|do not match"):
        load_checkpoint(path).load_weights(Tied(V=98))
    weights = path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(path).load_weights(Tied())


def test_state_file_with_code_is_refused(tmp_path):
    model = Tied()
    path = save_checkpoint(tmp_path, model, _state(model, 3), {})
    # A pickled callable would run code on an unsafe load; weights_only refuses it.
    torch.save({"iter": 3, "evil": print}, path / "trainer_state.pt")
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_missing_and_dangling_checkpoints(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path)
    assert latest_checkpoint(tmp_path) is None
    (tmp_path / "latest.json").write_text(json.dumps({"checkpoint": "ckpt-0000099"}))
    with pytest.raises(CheckpointError, match="does not exist"):
        latest_checkpoint(tmp_path)


def test_only_keep_newest(tmp_path):
    model = Tied()
    for it in (1, 2, 3):
        save_checkpoint(tmp_path, model, _state(model, it), {}, keep=2)
    names = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("ckpt-"))
    assert names == ["ckpt-0000002", "ckpt-0000003"]
