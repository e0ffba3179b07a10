"""lmbook.io: atomic writes leave the old file on failure; safe_torch_load refuses pickled code."""

from __future__ import annotations

import json
import pickle

import pytest
import torch

from lmbook.io import (
    CheckpointError,
    atomic_path,
    atomic_write,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    safe_torch_load,
)


def test_atomic_writes_round_trip(tmp_path):
    atomic_write_bytes(tmp_path / "a" / "b.bin", b"\x00\x01")
    atomic_write_text(tmp_path / "t.txt", "héllo")
    atomic_write_json(tmp_path / "j.json", {"x": [1, 2]}, indent=2)
    assert (tmp_path / "a" / "b.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "héllo"
    assert json.loads((tmp_path / "j.json").read_text()) == {"x": [1, 2]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "j.json", "t.txt"]  # no temp left


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_write(target) as f:
            f.write("new, half written")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("new")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_atomic_write_rejects_append_mode(tmp_path):
    with pytest.raises(ValueError, match="mode"):
        with atomic_write(tmp_path / "x", "a"):
            pass


def test_safe_torch_load(tmp_path):
    good = tmp_path / "good.pt"
    torch.save({"w": torch.arange(3), "step": 4}, good)
    state = safe_torch_load(good)
    assert torch.equal(state["w"], torch.arange(3)) and state["step"] == 4

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    evil = tmp_path / "evil.pt"
    with open(evil, "wb") as f:
        pickle.dump({"x": Evil()}, f)
    with pytest.raises(CheckpointError, match="refuses to unpickle"):
        safe_torch_load(evil)
    truncated = tmp_path / "trunc.pt"
    truncated.write_bytes(good.read_bytes()[:20])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        safe_torch_load(truncated)
    with pytest.raises(FileNotFoundError):
        safe_torch_load(tmp_path / "missing.pt")


def test_checkpoint_error_is_shared():
    import lmbook.hf
    import lmbook.train.checkpoint

    assert lmbook.hf.CheckpointError is CheckpointError
    assert lmbook.train.checkpoint.CheckpointError is CheckpointError
    assert issubclass(CheckpointError, ValueError)
