"""The "who speaks this line?" QA set, its encoding for a span model, SQuAD metrics, retrieval."""

import json
from types import SimpleNamespace

import pytest
import torch

from lmbook.models import BERT, BertConfig
from lmbook.tasks.qa import (
    BookIndex,
    QAExample,
    book_chunks,
    build_speaker_qa,
    encode_qa,
    exact_match,
    normalize_answer,
    speaker_baseline,
    squad_f1,
    squad_scores,
)


def speech(speaker, *lines, scene="SCENE I"):
    return SimpleNamespace(act="ACT I", scene=scene, speaker=speaker, lines=list(lines))


PLAY = SimpleNamespace(
    slug="toy",
    speeches=[
        speech("ORLANDO", "As I remember, Adam, it was upon this fashion", "bequeathed me"),
        speech("ADAM", "Yonder comes my master, your brother."),
        speech("ORLANDO", "Go apart, Adam, and thou shalt hear how he will"),
        speech("OLIVER", "Now, sir! what make you here?"),
        speech("ORLANDO", "Nothing: I am not taught to make any thing."),
        speech("ORLANDO", "one"),
        speech("ORLANDO", "two"),
        speech("ORLANDO", "three"),
        speech("FIRST LORD", "My lord, the duke is coming hither now.", scene="SCENE II"),
        speech("JAQUES", "A fool, a fool! I met a fool i' the forest,", scene="SCENE II"),
    ],
)


def test_build_speaker_qa_answers_are_spans_of_the_passage():
    examples = build_speaker_qa([PLAY], n_speeches=2, max_lines=1, min_words=5)
    assert examples, "expected some examples"
    for ex in examples:
        assert ex.context[ex.answer_start : ex.answer_start + len(ex.answer)] == ex.answer
        quoted = ex.question.split('"')[1]
        # the answer is the name in front of the quoted line's block
        block = next(b for b in ex.context.split("\n") if quoted in b)
        assert block.startswith(ex.answer + ". ")
        assert ex.context.count(quoted) == 1
    # scene I: windows (ORLANDO, ADAM), (ORLANDO, OLIVER); the all-ORLANDO windows are
    # skipped; scene II: (FIRST LORD, JAQUES)
    assert len(examples) == 3
    assert {ex.answer for ex in examples} <= {"ORLANDO", "ADAM", "OLIVER", "FIRST LORD", "JAQUES"}
    assert all("one" not in ex.context for ex in examples)
    with pytest.raises(ValueError, match="n_speeches"):
        build_speaker_qa([PLAY], n_speeches=1)


def test_build_is_deterministic_per_seed():
    a = build_speaker_qa([PLAY], n_speeches=2, max_lines=1, seed=3)
    b = build_speaker_qa([PLAY], n_speeches=2, max_lines=1, seed=3)
    assert a == b


def test_baselines():
    ex = QAExample("x", "q", "A. x y\nB. z\nB. w", "B", 7)
    assert speaker_baseline(ex, "first") == "A"
    assert speaker_baseline(ex, "majority") == "B"
    assert speaker_baseline(ex, "random") in {"A", "B"}
    with pytest.raises(ValueError, match="unknown rule"):
        speaker_baseline(ex, "last")


def test_squad_metrics_worked_examples():
    assert normalize_answer("The  Duke, of York!") == "duke of york"
    assert exact_match("the duke", "Duke") == 1.0
    # pred {first, lord}, gold {lord}: P = 1/2, R = 1 -> F1 = 2/3
    assert squad_f1("FIRST LORD", "LORD") == pytest.approx(2 / 3)
    assert squad_f1("", "") == 1.0 and squad_f1("a", "b") == 0.0
    got = squad_scores(["FIRST LORD", "x"], [["LORD", "FIRST LORD"], "y"])
    assert got == {"exact_match": 50.0, "f1": 50.0}
    with pytest.raises(ValueError, match="one prediction per question"):
        squad_scores(["a"], ["a", "b"])


@pytest.fixture(scope="module")
def wordpiece():
    from lmbook import data
    from lmbook.tokenizers import WordPieceTokenizer

    return WordPieceTokenizer.from_file(data.load("minilm") / "vocab.txt", lowercase=True)


def test_encode_qa_positions_point_at_the_answer(wordpiece):
    examples = build_speaker_qa([PLAY], n_speeches=2, max_lines=1, min_words=5)
    batch, kept = encode_qa(wordpiece, examples, max_length=64)
    assert kept == list(range(len(examples)))
    for r, n in enumerate(kept):
        s, e = int(batch["start_positions"][r]), int(batch["end_positions"][r])
        span = wordpiece.decode(batch["input_ids"][r, s : e + 1].tolist())
        assert normalize_answer(span) == normalize_answer(examples[n].answer)
        assert (batch["token_type_ids"][r, s : e + 1] == 1).all()  # inside the passage
    assert batch["input_ids"].shape == batch["attention_mask"].shape


def test_encode_qa_drops_answers_cut_by_truncation(wordpiece):
    ctx = "ADAM. " + "word " * 50 + "\nOLIVER. Now, sir! what make you here?"
    ex = QAExample(
        "t", 'Who says "Now, sir! what make you here?"?', ctx, "OLIVER", ctx.index("OLIVER")
    )
    batch, kept = encode_qa(wordpiece, [ex], max_length=32)
    assert kept == [] and batch["input_ids"].shape[0] == 0
    bad = QAExample("b", "q", "ADAM. hello", "DAM", 1)
    with pytest.raises(ValueError, match="token boundaries"):
        encode_qa(wordpiece, [bad])


def test_book_chunks_and_retrieval(tmp_path, wordpiece):
    (tmp_path / "ch").mkdir()
    (tmp_path / "ch" / "index.md").write_text(
        "# Attention\n\nWe divide the scores by the square root of the key width so that the "
        "softmax does not saturate when the width grows.\n\n```python\nprint('code is skipped')\n```\n"
        # a directive with a code block inside it: the inner ``` fences do not close it
        "\n````{solution} ex-1\nThe solution's words are skipped too.\n```python\n"
        "print('nested code is skipped as well, all eight words of it')\n```\n"
        "And so is this sentence after the code, still inside the directive.\n````\n"
    )
    nb = {
        "cells": [
            {
                "cell_type": "markdown",
                "source": [
                    "## Translation\n",
                    "Beam search keeps the best few "
                    "partial translations at every step of decoding.",
                ],
            },
            {"cell_type": "code", "source": "x = 1 # this code cell is ignored by the chunker"},
        ]
    }
    (tmp_path / "ch" / "mt.ipynb").write_text(json.dumps(nb))
    chunks = book_chunks(tmp_path)
    assert [c.heading for c in chunks] == ["Attention", "Translation"]
    assert all("code" not in c.text and "directive" not in c.text for c in chunks)
    torch.manual_seed(0)
    model = BERT(BertConfig.preset("tiny", vocab_size=30522, block_size=300))
    index = BookIndex(model, wordpiece, chunks)
    hits = index.search(chunks[1].heading + ". " + chunks[1].text, k=2)
    assert hits[0][1] == chunks[1] and hits[0][0] == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(FileNotFoundError):
        book_chunks(tmp_path / "missing")
    with pytest.raises(ValueError, match="empty"):
        index.search("  ")
