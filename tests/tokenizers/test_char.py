"""CharTokenizer: vocabulary, round trips, unknown characters, save/load."""

from __future__ import annotations

import pytest

from lmbook import data
from lmbook.tokenizers import CharTokenizer, TokenizerFileError


def test_vocab_is_sorted_distinct_chars():
    tok = CharTokenizer.train("hello world")
    assert tok.chars == sorted(set("hello world"))
    assert tok.vocab_size == len(tok) == 8
    assert tok.encode("hello") == [tok.stoi[c] for c in "hello"]


def test_round_trip_on_shakespeare():
    text = data.load("shakespeare")
    tok = CharTokenizer.train(text)
    sample = text[100_000:110_000]
    ids = tok.encode(sample)
    assert len(ids) == len(sample) and tok.decode(ids) == sample
    assert max(ids) < tok.vocab_size


def test_unknown_characters_raise_or_map_to_unk():
    tok = CharTokenizer.train("abc")
    with pytest.raises(ValueError, match="unk_token"):
        tok.encode("abz")
    tok = CharTokenizer.train("abc", special_tokens=["<|endoftext|>"], unk_token="<unk>")
    assert tok.special_tokens == {"<|endoftext|>": 3, "<unk>": 4}
    assert tok.encode("azb") == [0, 4, 1]
    assert tok.decode([0, 3, 1]) == "a<|endoftext|>b"


def test_decode_rejects_out_of_range_ids():
    tok = CharTokenizer.train("abc")
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tok.decode([0, 3])


def test_save_load(tmp_path):
    tok = CharTokenizer.train("héllo\nwörld 😀", special_tokens=["<pad>"], unk_token="<unk>")
    tok.save(tmp_path / "char.json")
    again = CharTokenizer.load(tmp_path / "char.json")
    assert again.itos == tok.itos and again.special_tokens == tok.special_tokens
    assert again.encode("wörld 😀?") == tok.encode("wörld 😀?")


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        CharTokenizer.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text('{"type": "char", "chars": ["a"')
    with pytest.raises(TokenizerFileError, match="truncated"):
        CharTokenizer.load(tmp_path / "bad.json")
    (tmp_path / "bpe.json").write_text('{"type": "bpe"}')
    with pytest.raises(TokenizerFileError, match="'bpe' tokenizer"):
        CharTokenizer.load(tmp_path / "bpe.json")


def test_bad_vocabularies():
    with pytest.raises(ValueError, match="duplicates"):
        CharTokenizer(["a", "a"])
    with pytest.raises(ValueError, match="single characters"):
        CharTokenizer(["ab"])
    with pytest.raises(ValueError, match="empty"):
        CharTokenizer.train("")
