"""WordPieceTokenizer: id parity with transformers (MiniLM's tokenizer.json), batching, save/load."""

from __future__ import annotations

import random

import pytest
import torch

from lmbook import data
from lmbook.tokenizers import TokenizerFileError, WordPieceTokenizer

VARIED = [
    "Hello world",
    "",
    "   ",
    "Tokenization isn't hard! Don't you think? (Yes.)",
    "中文字符测试，你好！繁體中文：漢字。日本語のテキスト",
    "naïve café résumé Ångström Ελληνικά русский İstanbul Ǆǅǆ ß ẞ",
    "Cafe\u0301 decomposed; ﬁ ligature; ＦＵＬＬ　ＷＩＤＴＨ",
    "emoji 😀👍🏽👨‍👩‍👧 ok ❤️ 🇫🇷",
    "ctrl \x00\x01\x07\x7f\x1b[31m \x0b\x0c\x85x\x1cy\u200bz\ufeffw\ufffd\ue000",
    "whitespace\u00a0\u2003\u3000\u2028\u2029 runs\t\t\t\n\n\n\r\n",
    "a" * 150,
    "x" * 100 + " " + "y" * 101,
    "supercalifragilisticexpialidocious" * 2,
    "$5.00 ^_^ `code` ~tilde~ «guillemets» ¿qué? — dash… “quotes”",
    "e-mail: someone@example.com, http://example.com/a?b=c&d=e#frag",
    "numbers 1234567 3.14159 ١٢٣ Ⅻ ½ ²",
]


@pytest.fixture(scope="module")
def minilm():
    return data.load("minilm")


@pytest.fixture(scope="module")
def tok(minilm):
    return WordPieceTokenizer.from_file(minilm / "vocab.txt", lowercase=True)


@pytest.fixture(scope="module")
def reference(minilm):
    # transformers 5: from_pretrained(dir) reads tokenizer.json (DESIGN.md §8: building it
    # from vocab.txt alone is broken). Only the parity tests need transformers.
    transformers = pytest.importorskip("transformers")
    return transformers.AutoTokenizer.from_pretrained(str(minilm))


def test_vocab_and_specials(tok, reference):
    assert tok.vocab_size == 30522 == len(reference)
    assert (tok.pad_id, tok.unk_id, tok.cls_id, tok.sep_id, tok.mask_id) == (0, 100, 101, 102, 103)
    assert tok.special_tokens["[MASK]"] == 103


@pytest.mark.parametrize("text", VARIED, ids=range(len(VARIED)))
def test_parity_varied(tok, reference, text):
    expected = reference(text, add_special_tokens=False)["input_ids"]
    assert tok.encode(text) == expected
    assert tok.encode(text, add_special_tokens=True) == reference(text)["input_ids"]


def test_long_word_becomes_unk(tok):
    assert tok.encode("a" * 101) == [tok.unk_id]
    assert tok.encode("a" * 100) != [tok.unk_id]


def test_chinese_is_unk_with_minilm_vocab(tok):
    # all-MiniLM-L6-v2's vocabulary has no CJK characters (DESIGN.md §8): one [UNK] per char.
    assert tok.encode("你好") == [tok.unk_id, tok.unk_id]


def test_parity_random_unicode(tok, reference):
    rng = random.Random(0)
    blocks = [
        (0x20, 0x7E), (0x00, 0x1F), (0xA0, 0x24F), (0x300, 0x36F), (0x370, 0x3FF),
        (0x400, 0x4FF), (0x590, 0x5FF), (0xE00, 0xE7F), (0x2000, 0x206F), (0x3000, 0x30FF),
        (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xE000, 0xE0FF), (0xFE00, 0xFFFD),
        (0x1F300, 0x1FAFF), (0xE0000, 0xE007F),
    ]  # fmt: skip
    texts = []
    for _ in range(400):
        chars = []
        for _ in range(rng.randint(1, 40)):
            lo, hi = rng.choice(blocks)
            chars.append(chr(rng.randint(lo, hi)) if rng.random() < 0.6 else rng.choice(" aeé'.,1"))
        texts.append("".join(chars))
    expected = reference(texts, add_special_tokens=False)["input_ids"]
    for text, ids in zip(texts, expected, strict=True):
        assert tok.encode(text) == ids, repr(text)


@pytest.mark.slow
def test_parity_every_character_of_common_blocks(tok, reference):
    """Each code point alone between letters, over whole blocks (Unicode <= 8.0 scripts)."""
    ranges = [
        (0x0000, 0x05FF), (0x0E00, 0x0E7F), (0x1100, 0x11FF), (0x2000, 0x2DFF),
        (0x3000, 0x9FFF), (0xAC00, 0xD7A3), (0xF900, 0xFFFF), (0x1F000, 0x1FAFF),
        (0x20000, 0x2FFFF),
    ]  # fmt: skip
    cps = [c for lo, hi in ranges for c in range(lo, hi + 1)]
    texts = [f"x{chr(c)}y" for c in cps]
    expected = reference(texts, add_special_tokens=False)["input_ids"]
    bad = [hex(c) for c, t, e in zip(cps, texts, expected, strict=True) if tok.encode(t) != e]
    assert bad == []


def test_parity_on_real_text(tok, reference):
    text = data.load("shakespeare")[2_000_000:2_100_000]
    lines = text.split("\n")
    assert tok.encode_batch(lines) == reference(lines, add_special_tokens=False)["input_ids"]
    papers = data.load("aclsum")["val"]
    sents = [s for p in papers[:10] for s in p["sentences"]["introduction"]]
    assert tok.encode_batch(sents) == reference(sents, add_special_tokens=False)["input_ids"]


@pytest.mark.parametrize("max_length", [8, 13, 24, 64])
def test_batch_call_matches_reference(tok, reference, max_length):
    a = ["The quick brown fox jumps over the lazy dog.", "Hi!", VARIED[5], "One two three four"]
    b = ["A much longer second segment with many, many words in it.", "x", "y z", VARIED[3]]
    for pairs in (None, b):
        ours = tok(a, pairs, padding=True, truncation=True, max_length=max_length)
        ref = reference(
            a, pairs, padding=True, truncation=True, max_length=max_length, return_tensors="pt"
        )
        for key in ("input_ids", "attention_mask", "token_type_ids"):
            assert torch.equal(ours[key], ref[key]), (key, pairs is None)


def test_call_padding_modes_and_errors(tok):
    out = tok(["a b c", "a"], padding="max_length", max_length=10)
    assert out["input_ids"].shape == (2, 10)
    assert out["attention_mask"].sum(1).tolist() == [5, 3]
    mask = tok(["a b"], return_special_tokens_mask=True)["special_tokens_mask"]
    assert mask.tolist() == [[1, 0, 0, 1]]
    lists = tok(["a b", "a"], padding=False, return_tensors=None)
    assert lists["input_ids"] == [[101, 1037, 1038, 102], [101, 1037, 102]]
    single = tok("a b", return_tensors=None)
    assert single["input_ids"] == [101, 1037, 1038, 102]
    with pytest.raises(ValueError, match="padding=True"):
        tok(["a b", "a"], padding=False)
    with pytest.raises(ValueError, match="truncation=True"):
        tok(["a b c d"], truncation=False, max_length=4)
    with pytest.raises(ValueError, match="one pair per text"):
        tok(["a", "b"], ["c"])


def test_decode_matches_reference(tok, reference):
    for text in ["Hello, world! It's a test.", "tokenization isn't hard", VARIED[13]]:
        ids = reference(text)["input_ids"]
        assert tok.decode(ids) == reference.decode(ids)
        assert tok.decode(ids, skip_special_tokens=True) == reference.decode(
            ids, skip_special_tokens=True
        )
    assert tok.tokenize("Tokenization isn't hard!") == reference.tokenize(
        "Tokenization isn't hard!"
    )


def test_save_load(tmp_path, tok):
    tok.save(tmp_path / "wp.json")
    again = WordPieceTokenizer.load(tmp_path / "wp.json")
    assert again.itos == tok.itos and again.lowercase and again.strip_accents
    assert again.encode(VARIED[5]) == tok.encode(VARIED[5])
    (tmp_path / "char.json").write_text('{"type": "char", "chars": []}')
    with pytest.raises(TokenizerFileError, match="'char' tokenizer"):
        WordPieceTokenizer.load(tmp_path / "char.json")


def test_cased_and_bad_vocab(tmp_path):
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "Hello", "hello", "##lo", "Hel", "!"]
    cased = WordPieceTokenizer(vocab, lowercase=False)
    assert cased.tokenize("Hello hello Hello!") == ["Hello", "hello", "Hello", "!"]
    assert cased.encode("Héllo") == [cased.unk_id]  # accents kept when not lowercasing
    with pytest.raises(ValueError, match="unk token"):
        WordPieceTokenizer(["[PAD]", "[CLS]", "[SEP]"])
    with pytest.raises(FileNotFoundError, match="minilm"):
        WordPieceTokenizer.from_file(tmp_path / "nope.txt")
