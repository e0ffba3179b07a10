"""Tang poems (全唐诗): records, a by-poem split, a text rendering, and a measure of verse form.

The corpus is the chinese-poetry project's digitisation of the *Quan Tangshi* (npm
``chinese-poetry@2.0.1``, files ``dist/quantangshi/poet.tang.*.json``): 57,607 poems, 3.67 M
characters, in traditional characters. Each source record has an author, a title and a list
of "paragraphs", usually one couplet each: ``秦川雄帝宅，函谷壯皇居。`` — two verses, the
first closed by a comma ``，``, the second by a full stop ``。``.

The characters stay traditional, as the source has them: the poems were written centuries
before simplification, simplification maps several traditional characters onto one (发 is
both 發 and 髮), so converting loses distinctions a character-level model could learn, and
nothing in the book needs simplified text (a character model only needs a consistent
script). The book's own prose and glossary use simplified Chinese.

*Regulated verse* (近体诗: 绝句 and 律诗) has an even number of verses of 5 or 7 characters
each, all the same length, alternating ``，`` and ``。``. :func:`is_regulated` checks exactly
that; 47,042 of the poems pass (2.73 M characters) and the character model of Chapter 5.3
trains on them, because their form is a property a reader can check in a sample.

Introduced in: Chapter 5.3 (a Chinese character-level GPT).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lmbook.data.splits import shuffled_split

__all__ = [
    "Poem",
    "cap_vocab",
    "dedupe",
    "is_regulated",
    "render",
    "split_poems",
    "tang_poems",
    "tang_text",
    "verse_form",
]

# A verse ends with one of these marks; the text keeps them.
_VERSE_END = "，。！？；"
_VERSE_RE = re.compile(f"[^{_VERSE_END}]+[{_VERSE_END}]")


@dataclass(frozen=True)
class Poem:
    """One poem as the source records it.

    Attributes:
        title: e.g. ``"帝京篇十首 一"``.
        author: e.g. ``"太宗皇帝"``.
        lines: the source's lines, usually one couplet each (``"秦川雄帝宅，函谷壯皇居。"``).
        id: the source's UUID.
    """

    title: str
    author: str
    lines: tuple[str, ...]
    id: str = ""

    @property
    def text(self) -> str:
        """The lines joined by newlines."""
        return "\n".join(self.lines)

    @property
    def verses(self) -> list[str]:
        """The verses (half-lines), each with its closing mark: ``["秦川雄帝宅，", ...]``."""
        return [v for line in self.lines for v in _VERSE_RE.findall(line)]


def tang_poems(root: Path) -> list[Poem]:
    """Read every ``dist/quantangshi/poet.tang.<n>.json`` under ``root``, in file order.

    Returns:
        57,607 ``Poem`` records (4 have no lines; they are kept, ``dedupe`` drops them).
    """
    folder = Path(root) / "dist" / "quantangshi"
    files = sorted(folder.glob("poet.tang.*.json"), key=lambda p: int(p.name.split(".")[2]))
    poems = []
    for f in files:
        for rec in json.loads(f.read_text(encoding="utf-8")):
            poems.append(
                Poem(rec["title"], rec["author"], tuple(rec["paragraphs"]), rec.get("id", ""))
            )
    return poems


def is_regulated(poem: Poem) -> bool:
    """True for regulated verse: an even number of 5- or 7-character verses, all one length,
    alternating ``，`` and ``。``, and nothing else in the lines (no notes, no brackets).

    Example:
        >>> is_regulated(Poem("", "", ("床前明月光，疑是地上霜。", "舉頭望明月，低頭思故鄉。")))
        True
        >>> is_regulated(Poem("", "", ("床前明月光，疑是地上霜。", "舉頭望明月。")))
        False
    """
    verses = poem.verses
    if not verses or len(verses) % 2 or "".join(verses) != "".join(poem.lines):
        return False
    if {len(v) for v in verses} not in ({6}, {8}):  # 5 or 7 characters + the mark
        return False
    return all(v[-1] == ("，" if i % 2 == 0 else "。") for i, v in enumerate(verses))


def dedupe(poems: Iterable[Poem]) -> list[Poem]:
    """Drop empty poems and every later copy of a poem whose text occurred already.

    The *Quan Tangshi* attributes some poems to two authors; without this a validation poem
    can be a verbatim copy of a training poem (955 such copies).
    """
    seen: set[str] = set()
    out = []
    for p in poems:
        if p.lines and p.text not in seen:
            seen.add(p.text)
            out.append(p)
    return out


def split_poems(
    poems: Sequence[Poem], val_fraction: float = 0.1, seed: int = 0
) -> tuple[list[Poem], list[Poem]]:
    """Split by poem: deduplicate, then a seeded permutation decides (``shuffled_split``).

    No poem has lines on both sides, and no validation poem is a copy of a training poem.
    """
    return shuffled_split(dedupe(poems), val_fraction, seed)


def render(poems: Iterable[Poem]) -> str:
    """The text a character model reads: each poem's lines, one per line, a blank line between
    poems (titles and authors are left out).

    Example:
        >>> render([Poem("靜夜思", "李白", ("床前明月光，疑是地上霜。", "舉頭望明月，低頭思故鄉。"))])
        '床前明月光，疑是地上霜。\\n舉頭望明月，低頭思故鄉。\\n\\n'
    """
    return "".join(p.text + "\n\n" for p in poems)


def cap_vocab(train: str, val: str, size: int, mark: str = "□") -> tuple[str, str]:
    """Replace every character outside the ``size - 1`` most frequent training characters by
    ``mark`` (□, the source's own sign for a lost character), in both texts.

    Example:
        >>> cap_vocab("aab\\n\\n", "abc\\n", 3)
        ('aa□\\n\\n', 'a□□\\n')
    """
    from collections import Counter

    keep = {ch for ch, _ in Counter(train).most_common(size - 1)}
    keep.add(mark)
    table = {ord(ch): mark for ch in set(train) | set(val) if ch not in keep}
    return train.translate(table), val.translate(table)


def tang_text(
    root: Path, regulated_only: bool = True, val_fraction: float = 0.1, vocab_size: int = 3000
) -> dict[str, str]:
    """The by-poem split of the Tang poems as text: ``{"train": str, "val": str}``.

    Args:
        root: the directory holding ``dist/quantangshi``.
        regulated_only: keep only regulated verse (:func:`is_regulated`).
        val_fraction: share of poems for validation (seed 0).
        vocab_size: keep the ``vocab_size - 1`` most frequent training characters and write
            □ for the rest (:func:`cap_vocab`); the 3,000 kept cover 98 % of the text, and the
            output layer of a character model shrinks from 8,226 rows to 3,000. ``None``
            keeps every character.
    """
    poems = tang_poems(root)
    if regulated_only:
        poems = [p for p in poems if is_regulated(p)]
    train, val = split_poems(poems, val_fraction, seed=0)
    train_text, val_text = render(train), render(val)
    if vocab_size is not None:
        train_text, val_text = cap_vocab(train_text, val_text, vocab_size)
        # Variant spellings of one poem differ only in a rare character; once that is □ the
        # two copies are equal (4 of them): keep such a poem on the training side only.
        seen = set(train_text.split("\n\n"))
        val_text = "".join(p + "\n\n" for p in val_text.split("\n\n") if p and p not in seen)
    return {"train": train_text, "val": val_text}


_HAN = r"[^，。！？；\n\s]"
_LINE_RE = re.compile(f"({_HAN}+)，({_HAN}+)。")


def verse_form(text: str) -> dict[str, float]:
    """Measure the regulated-verse form of a text, one couplet per line.

    A line has the *right punctuation* when it is exactly ``A，B。``; it has the *right
    length* when, in addition, A and B are both 5 or both 7 characters long. Blank lines are
    skipped. Real regulated verse scores 1.0 on both; a model that has not learned the form
    scores near 0.

    Returns:
        ``{"lines": n, "punctuation": share, "length": share}`` (shares in [0, 1]).

    Example:
        >>> verse_form("床前明月光，疑是地上霜。\\n舉頭望明月，低頭思故。\\n頭望明月低頭思故鄉\\n")
        {'lines': 3, 'punctuation': 0.6666666666666666, 'length': 0.3333333333333333}
    """
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    punct = length = 0
    for line in lines:
        m = _LINE_RE.fullmatch(line)
        if m:
            punct += 1
            a, b = len(m.group(1)), len(m.group(2))
            length += a == b and a in (5, 7)
    n = len(lines)
    return {"lines": n, "punctuation": punct / n if n else 0.0, "length": length / n if n else 0.0}
