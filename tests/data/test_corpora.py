"""Corpora parsed from the registry's files: Shakespeare text and records, ACLSum, polarity, Bible."""

from __future__ import annotations

import pytest

from lmbook import data
from lmbook.data.shakespeare import parse_play, render_play


@pytest.fixture(scope="module")
def plays():
    return data.load("shakespeare-plays")


def test_shakespeare_text_is_clean_plain_text():
    text = data.load("shakespeare")
    assert 4_800_000 < len(text) < 5_200_000
    assert text.startswith("A MIDSUMMER NIGHT'S DREAM\n\nACT I\n")
    # No Markdown survives the cleaning.
    for mark in ("**", "_", "\\", "#", "&amp;", "  "):
        assert mark not in text, mark
    assert "HAMLET:\nTo be, or not to be: that is the question:" in text
    assert data.load("shakespeare") is text  # parsed once per process


def test_shakespeare_speeches_is_tiny_shakespeare_format(plays):
    text = data.load("shakespeare-speeches")
    full = data.load("shakespeare")
    assert 0.9 * len(full) < len(text) < len(full)
    assert text.startswith("THESEUS:\nNow, fair Hippolyta, our nuptial hour\n")
    assert "HAMLET:\nTo be, or not to be: that is the question:" in text
    # Every paragraph is one speech: "SPEAKER:" then spoken lines; no headings or directions.
    paragraphs = text.split("\n\n")
    assert all(p.split("\n", 1)[0].endswith(":") and "\n" in p for p in paragraphs)
    assert "[" not in text and "\nACT " not in text
    # Two "SCENE" lines survive inside speeches, where the source itself puts them in a
    # speaker's paragraph (The Merchant of Venice, Pericles' chorus); no real heading does.
    assert text.count("\nSCENE ") == 2
    # Nothing spoken is lost: every attributed line of every play is in the text, in order.
    hamlet = next(p for p in plays if p.slug == "hamlet")
    lines = [line for speaker, line in hamlet.lines if speaker]
    start = text.index(lines[0])
    for line in lines[1:200]:
        start = text.index(line, start)
    assert data.load("shakespeare-speeches") is text


def test_shakespeare_plays_records(plays):
    assert len(plays) == 38
    titles = {p.title for p in plays}
    assert {"Hamlet", "Macbeth", "The Tempest", "Edward III"} <= titles
    genres = {p.genre for p in plays}
    assert genres == {"comedies", "histories", "problems", "roman", "romances", "tragedies"}
    hamlet = next(p for p in plays if p.slug == "hamlet")
    assert hamlet.lines[0] == ("BERNARDO", "Who's there?")
    assert hamlet.lines[1] == ("FRANCISCO", "Nay, answer me: stand, and unfold yourself.")
    speakers = {s for s, _ in hamlet.lines}
    assert {"HAMLET", "OPHELIA", "HORATIO", "LORD POLONIUS", "KING CLAUDIUS"} <= speakers
    total = sum(len(p.speeches) for p in plays)
    attributed = sum(1 for p in plays for s in p.speeches if s.speaker)
    assert total > 30_000 and attributed / total > 0.999


def test_parser_rules_on_a_crafted_play():
    md = (
        "# A Play\n\n## ACT I\n\n### SCENE I. A room.\n\n_Enter ALICE and\nBOB_\n\n"
        "**ALICE**  \nHello, Bob &amp; all.  \n__\\[Aside]_  \nNo, no; he'll __\\[ ]_  \n\n"
        "_Exit BOB_\n\nAnd now I am alone.\n\nRICHARD\n\n**PLANTAGENET**  \nI too \\--speak.\n"
    )
    play = parse_play(md, "comedies", "a-play")
    assert play.title == "A Play"
    sp = play.speeches
    assert (sp[0].speaker, sp[0].lines, sp[0].directions) == (
        "ALICE",
        ["Hello, Bob & all.", "No, no; he'll"],
        ["Aside"],
    )
    assert (sp[1].speaker, sp[1].lines) == ("ALICE", ["And now I am alone."])  # continuation
    assert (sp[2].speaker, sp[2].lines) == ("RICHARD PLANTAGENET", ["I too --speak."])
    assert sp[0].act == "ACT I" and sp[0].scene == "SCENE I. A room."
    text = render_play(play)
    assert text.startswith(
        "A PLAY\n\nACT I\n\nSCENE I. A room.\n\n[Enter ALICE and BOB]\n\nALICE:\n"
    )
    assert "[Exit BOB]" in text


def test_aclsum_splits():
    splits = data.load("aclsum")
    assert {k: len(v) for k, v in splits.items()} == {"train": 100, "val": 50, "test": 100}
    rec = splits["train"][0]
    assert set(rec["summary"]) == {"challenge", "approach", "outcome"}
    assert set(rec["sentences"]) >= {"abstract", "introduction", "conclusion"}
    ids = [r["id"] for s in splits.values() for r in s]
    assert len(set(ids)) == 250


def test_polarity_balanced_binary():
    rows = data.load("polarity")
    assert len(rows) == 5500
    assert {label for _, label in rows} == {0, 1}
    assert sum(label for _, label in rows) == 2750
    assert all(isinstance(t, str) and t for t, _ in rows)
    assert not rows[0][0].startswith("\ufeff")


@pytest.mark.parametrize(
    ("name", "first"),
    [
        ("bible-en-fr", "Au commencement, Dieu créa les cieux et la terre."),
        ("bible-en-es", "EN el principio crió Dios los cielos y la tierra."),
    ],
)
def test_bible_pairs_are_aligned(name, first):
    pairs = data.load(name)
    assert len(pairs) == 31102
    assert pairs[0] == ("In the beginning God created the heaven and the earth.", first)
    assert pairs[-1][0].startswith("The grace of our Lord Jesus Christ be with you all")


def test_bible_refuses_copyrighted_translation():
    from lmbook.data.corpora import bible_pairs

    with pytest.raises(ValueError, match="not public domain"):
        bible_pairs(data.path("bible-en-fr"), "c")


def test_paths():
    minilm = data.load("minilm")
    assert (minilm / "config.json").is_file() and (minilm / "vocab.txt").is_file()
    assert data.path("minilm") == minilm
    assert data.load("analogies").name == "questions-words.txt"
    bpe = data.load("gpt2-bpe")
    assert set(bpe) == {"encoder.json", "vocab.bpe"} and all(p.is_file() for p in bpe.values())
