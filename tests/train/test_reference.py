"""The reference-model cache: trained once by the CLI, keyed by preset and code, loaded back."""

import json

import pytest
import torch

from lmbook.io import CheckpointError
from lmbook.train.reference import code_key, reference_dir, reference_model, train_reference

TINY = {
    "description": "a 1-layer, 32-wide GPT trained for 4 steps: the cache's unit test",
    "model": {"type": "gpt", "preset": "nanogpt-cpu", "n_layers": 1, "n_heads": 2, "d_model": 32},
    "data": {"dataset": "shakespeare-speeches", "tokenizer": "char", "max_chars": 60000},
    "objective": {"name": "clm"},
    "train": {"max_iters": 4, "eval_interval": 2, "eval_iters": 1, "log_interval": 2,
              "batch_size": 4, "block_size": 16, "warmup_iters": 1, "device": "cpu"},
}  # fmt: skip


def test_tiny_preset_trains_once_then_loads_from_the_cache(tmp_path, capsys):
    preset = tmp_path / "tiny-ref.json"
    preset.write_text(json.dumps(TINY))
    root = tmp_path / "models"
    model, tok, info = reference_model(str(preset), root=root, threads=1)
    out = capsys.readouterr().out
    assert "is not cached for this code: training it now" in out and "trainer: " in out
    assert info["source"] == "trained now" and info["iter"] == 4
    directory = reference_dir(str(preset), root)
    assert info["path"] == str(directory) and directory.name == f"tiny-ref-{code_key(str(preset))}"
    assert [p.name for p in root.iterdir() if p.name.startswith(".tmp")] == []  # renamed into place
    assert info["choices"].startswith("trainer: device cpu")
    # the loaded model is the trained shape, in eval mode, and runs
    ids = torch.tensor(tok.encode("ROMEO:\nBut soft, what light through yonder window breaks?"))
    assert model.config.d_model == 32 and not model.training
    with torch.no_grad():
        assert torch.isfinite(model(ids[None, :16])).all()

    model2, _, info2 = reference_model(str(preset), root=root)  # second time: no training
    assert info2["source"] == "cache" and "training" not in capsys.readouterr().out
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                 model2.state_dict().values(), strict=True))  # fmt: skip
    # train_reference on a cache hit returns at once, the directory untouched
    stamp = (directory / "info.json").stat().st_mtime_ns
    assert train_reference(str(preset), root) == directory
    assert (directory / "info.json").stat().st_mtime_ns == stamp

    # another preset (one more step) is another key, hence another model
    preset.write_text(json.dumps({**TINY, "train": {**TINY["train"], "max_iters": 5}}))
    assert reference_dir(str(preset), root) != directory
    with pytest.raises(FileNotFoundError, match="make models"):
        reference_model(str(preset), root=root, train_if_missing=False)
    preset.write_text(json.dumps(TINY))

    # a damaged file is reported with what to delete
    weights = next(directory.glob("ckpt-*/model.safetensors"))
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(CheckpointError, match=f"delete {directory}"):
        reference_model(str(preset), root=root)
    (directory / "info.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="is broken"):
        reference_model(str(preset), root=root)


def test_code_key_follows_the_preset_and_the_source():
    key = code_key("shakespeare-char")
    assert len(key) == 12 and key == code_key("shakespeare-char")
    assert key != code_key("shakespeare-char-gpu")
