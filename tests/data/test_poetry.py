"""Tang poems: records, regulated verse, the by-poem split, the text rendering, verse form."""

from __future__ import annotations

import pytest

from lmbook import data
from lmbook.data.poetry import (
    Poem,
    cap_vocab,
    dedupe,
    is_regulated,
    render,
    split_poems,
    verse_form,
)

QUIET_NIGHT = Poem("靜夜思", "李白", ("床前明月光，疑是地上霜。", "舉頭望明月，低頭思故鄉。"))


def test_verses_keep_their_marks():
    assert QUIET_NIGHT.verses == ["床前明月光，", "疑是地上霜。", "舉頭望明月，", "低頭思故鄉。"]
    assert QUIET_NIGHT.text == "床前明月光，疑是地上霜。\n舉頭望明月，低頭思故鄉。"


@pytest.mark.parametrize(
    "lines, expected",
    [
        (("床前明月光，疑是地上霜。",), True),
        (("白日依山盡，黃河入海流。", "欲窮千里目，更上一層樓。"), True),
        (("朝辭白帝彩雲間，千里江陵一日還。",), True),
        (("床前明月光，疑是地上霜。", "舉頭望明月。"), False),  # odd number of verses
        (("床前明月光，疑是地上。",), False),  # 5 then 4 characters
        (("床前明月光。疑是地上霜，",), False),  # marks swapped
        (("床前明月光，疑是（注）地上霜。",), False),  # a note inside the line
        ((), False),
    ],
)
def test_is_regulated(lines, expected):
    assert is_regulated(Poem("", "", lines)) is expected


def test_dedupe_drops_empty_poems_and_later_copies():
    copy = Poem("another title", "another author", QUIET_NIGHT.lines)
    empty = Poem("", "", ())
    assert dedupe([QUIET_NIGHT, empty, copy]) == [QUIET_NIGHT]


def test_split_is_by_poem_deterministic_and_disjoint():
    poems = [Poem(str(i), "", (f"{i:05d}字字字，字字字字字。",)) for i in range(50)]
    train, val = split_poems(poems + poems[:5], 0.2, seed=0)  # 5 duplicates removed first
    assert len(train) == 40 and len(val) == 10
    assert not {p.text for p in train} & {p.text for p in val}
    assert (train, val) == split_poems(poems, 0.2, seed=0)


def test_render_and_verse_form_of_real_verse():
    text = render([QUIET_NIGHT, QUIET_NIGHT])
    assert text.count("\n\n") == 2
    assert verse_form(text) == {"lines": 4, "punctuation": 1.0, "length": 1.0}


def test_verse_form_counts_each_failure():
    text = "床前明月光，疑是地上霜。\n床前明月光疑是地上霜。\n床前明月，疑是地上霜。\n\n"
    form = verse_form(text)
    assert form["lines"] == 3
    assert form["punctuation"] == pytest.approx(2 / 3)  # the second line has no comma
    assert form["length"] == pytest.approx(1 / 3)  # the third has 4 + 5 characters
    assert verse_form("") == {"lines": 0, "punctuation": 0.0, "length": 0.0}


def test_cap_vocab_uses_training_counts_only():
    train, val = cap_vocab("明明明月月光\n\n", "明月霜\n", 4)
    assert train == "明明明月月□\n\n"  # keeps 明, 月, \n (the 3 most frequent) and □
    assert val == "明月□\n"  # 霜 never occurs in training


def test_tang_poems_load_from_the_npm_archive():
    poems = data.load("tang-poems")
    assert len(poems) == 57_607
    first = poems[0]
    assert first.author == "太宗皇帝" and first.lines[0] == "秦川雄帝宅，函谷壯皇居。"
    assert sum(is_regulated(p) for p in poems) == 47_042


def test_tang_text_split_by_poem():
    split = data.load("tang-poems-text")
    train_poems = set(split["train"].split("\n\n")) - {""}
    val_poems = set(split["val"].split("\n\n")) - {""}
    assert not train_poems & val_poems  # no poem on both sides
    assert len(val_poems) / (len(train_poems) + len(val_poems)) == pytest.approx(0.1, abs=0.005)
    assert len(set(split["train"])) <= 3000  # the most frequent characters, □ among them
    assert verse_form(split["val"])["length"] > 0.97  # □ stands in for one character


def test_tang_char_preset_trains_on_the_split_by_poem(tmp_path):
    # The CLI takes the corpus's own split (not a 90/10 cut of the text) and runs.
    from lmbook.train.__main__ import apply_overrides, build_run, load_recipe, main

    recipe = apply_overrides(load_recipe("tang-char"), ["--model.n_layers=1"])
    run = build_run(recipe)
    split = data.load("tang-poems-text")
    assert len(run["train_data"].ids) == len(split["train"])
    assert len(run["val_data"].ids) == len(split["val"])
    assert run["tokenizer"].vocab_size == len(set(split["train"]) | set(split["val"]))
    args = [
        "--max_iters=2",
        "--eval_iters=1",
        "--model.n_layers=1",
        "--model.d_model=36",
        "--model.n_heads=2",
        f"--out_dir={tmp_path / 'run'}",
    ]
    assert main(["tang-char", *args]) == 0
