"""BPETokenizer: GPT-2 parity with tiktoken, round trips, training (the reference trainer
and the fast one learn the same merges), special tokens, save/load."""

from __future__ import annotations

import random

import pytest

from lmbook import data
from lmbook.tokenizers import BPETokenizer, TokenizerFileError
from lmbook.tokenizers.bpe import bytes_to_unicode, get_stats, merge, train_reference

# tiktoken's own gpt2 pattern (possessive quantifiers; equivalent to GPT-2's original one).
TIKTOKEN_GPT2_PAT = (
    r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
)

VARIED = [
    "Hello world",
    "",
    " ",
    "  leading  spaces\n\n\ttabs  \n",
    "trailing spaces   ",
    "中文字符测试，你好！繁體中文：漢字。",
    "naïve café résumé Ångström Ελληνικά русский",
    "e\u0301 combining acute, decomposed: Cafe\u0301",
    "emoji 😀👍🏽👨‍👩‍👧 and flags 🇫🇷🇪🇸",
    "control \x00\x01\x07\x08\x7f\x1b[31mred\x1b[0m \x0b\x0c",
    "whitespace\u00a0\u2003\u3000\u2028\u2029 runs\t\t\t\n\n\n\r\n",
    "a" * 3000,
    "x" * 1001 + " " + "🙂" * 300,
    "don't I'll we've they're it's 'S 'LL O'Neill",
    "1234567 3.14159 ١٢٣ Ⅻ ½",
    "ＦＵＬＬ　ＷＩＤＴＨ ﬁ ligature Ǆǅǆ",
    "<|endoftext|> is plain text here",
    "http://example.com/a?b=c&d=e#frag {json: [1, 2]}",
]


@pytest.fixture(scope="module")
def gpt2_files():
    return data.load("gpt2-bpe")


@pytest.fixture(scope="module")
def tok(gpt2_files):
    return BPETokenizer.from_files(gpt2_files["encoder.json"], gpt2_files["vocab.bpe"])


@pytest.fixture(scope="module")
def reference(gpt2_files):
    tiktoken = pytest.importorskip("tiktoken")
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks

    ranks = data_gym_to_mergeable_bpe_ranks(
        str(gpt2_files["vocab.bpe"]), str(gpt2_files["encoder.json"])
    )
    return tiktoken.Encoding(
        "gpt2-local",
        pat_str=TIKTOKEN_GPT2_PAT,
        mergeable_ranks=ranks,
        special_tokens={"<|endoftext|>": 50256},
    )


def _random_texts(n: int, seed: int) -> list[str]:
    """Random strings drawn from many Unicode blocks, including unassigned and private use."""
    rng = random.Random(seed)
    blocks = [
        (0x20, 0x7E), (0x00, 0x1F), (0xA0, 0x24F), (0x300, 0x36F), (0x370, 0x3FF),
        (0x400, 0x4FF), (0x590, 0x6FF), (0x900, 0x97F), (0xE00, 0xE7F), (0x1100, 0x11FF),
        (0x2000, 0x206F), (0x3000, 0x30FF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3),
        (0xE000, 0xE0FF), (0xFE00, 0xFFFD), (0x1F300, 0x1FAFF), (0x10000, 0x1007F),
        (0xE0000, 0xE007F),
    ]  # fmt: skip
    texts = []
    for _ in range(n):
        chars = []
        for _ in range(rng.randint(1, 60)):
            lo, hi = rng.choice(blocks)
            chars.append(chr(rng.randint(lo, hi)) if rng.random() < 0.7 else rng.choice(" \n'sa1."))
        texts.append("".join(chars))
    return texts


def test_ranks_equal_tiktoken(tok, reference):
    assert tok.vocab_size == reference.n_vocab == 50257
    assert tok.special_tokens == {"<|endoftext|>": 50256}
    assert tok.encode("Hello world") == [15496, 995]


@pytest.mark.parametrize("text", VARIED, ids=range(len(VARIED)))
def test_parity_with_tiktoken_varied(tok, reference, text):
    ids = tok.encode(text, disallowed_special=())
    assert ids == reference.encode_ordinary(text)
    assert tok.decode(ids) == text


def test_parity_with_tiktoken_random_unicode(tok, reference):
    for text in _random_texts(300, seed=0):
        ids = tok.encode_ordinary(text)
        assert ids == reference.encode_ordinary(text), repr(text)
        assert tok.decode(ids) == text


def test_parity_on_shakespeare(tok, reference):
    text = data.load("shakespeare")
    excerpt = text[1_000_000:1_300_000]
    assert tok.encode(excerpt) == reference.encode_ordinary(excerpt)


def test_special_tokens_follow_tiktoken(tok, reference):
    text = "first<|endoftext|>second"
    with pytest.raises(ValueError, match="allowed_special"):
        tok.encode(text)
    with pytest.raises(ValueError):
        reference.encode(text)
    allowed = tok.encode(text, allowed_special={"<|endoftext|>"})
    assert allowed == reference.encode(text, allowed_special={"<|endoftext|>"})
    assert 50256 in allowed and tok.decode(allowed) == text
    assert tok.encode(text, allowed_special="all") == allowed
    plain = tok.encode(text, disallowed_special=())
    assert 50256 not in plain and plain == reference.encode_ordinary(text)


def test_partial_utf8_decodes_with_replacement(tok):
    ids = tok.encode("😀")  # 4 UTF-8 bytes, more than one token
    assert len(ids) > 1
    assert tok.decode(ids) == "😀"
    assert tok.decode(ids[:-1]).endswith("\ufffd")
    assert tok.decode_bytes(ids[:-1]) + tok.decode_bytes(ids[-1:]) == "😀".encode()


def test_lone_surrogates_are_replaced_like_tiktoken(tok, reference):
    text = "a\ud800b"
    assert tok.encode(text) == reference.encode_ordinary(text)
    assert tok.decode(tok.encode(text)) == "a\ufffdb"


def test_bad_ids(tok):
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tok.decode([50257])
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tok.decode([-1])


def test_bytes_to_unicode_is_a_printable_bijection():
    m = bytes_to_unicode()
    assert len(m) == 256 and len(set(m.values())) == 256
    assert all(c.isprintable() and not c.isspace() for c in m.values())
    assert m[ord("A")] == "A" and m[ord(" ")] == "Ġ"  # the "Ġ" seen in GPT-2 vocabularies


def test_mismatched_files_are_refused(tmp_path, gpt2_files):
    bpe = gpt2_files["vocab.bpe"].read_text(encoding="utf-8").split("\n")
    (tmp_path / "short.bpe").write_text("\n".join(bpe[:-1000]), encoding="utf-8")
    with pytest.raises(TokenizerFileError, match="do not match|not from the same"):
        BPETokenizer.from_files(gpt2_files["encoder.json"], tmp_path / "short.bpe")
    (tmp_path / "bad.bpe").write_text("#version: 0.2\nab\n", encoding="utf-8")
    with pytest.raises(TokenizerFileError, match="two tokens"):
        BPETokenizer.from_files(gpt2_files["encoder.json"], tmp_path / "bad.bpe")


# ------------------------------------------------------------------------------- training


@pytest.fixture(scope="module")
def corpus():
    return data.load("shakespeare")[:300_000]


@pytest.fixture(scope="module")
def trained(corpus):
    return BPETokenizer.train(corpus, vocab_size=397, progress=False)


def test_training_learns_requested_vocab(trained, corpus):
    assert trained.vocab_size == 397
    assert trained.special_tokens == {"<|endoftext|>": 396}
    # the first merges are the corpus's most frequent byte pairs
    assert trained.token_bytes(256) in {b" t", b"e ", b"th", b" a", b"he"}
    learned = {trained.token_bytes(i) for i in range(256, 396)}
    assert b" the" in learned and b" and" in learned
    ids = trained.encode(corpus[:5000])
    assert len(ids) < 0.6 * len(corpus[:5000].encode())  # it compresses


def test_trained_round_trips_any_text(trained, corpus):
    for text in [*VARIED, *_random_texts(50, seed=1), corpus[-3000:]]:
        assert trained.decode(trained.encode(text, disallowed_special=())) == text


def test_training_is_deterministic(trained, corpus):
    again = BPETokenizer.train(corpus, vocab_size=397, progress=False)
    assert again.ranks == trained.ranks


def test_truncated_equals_training_with_the_smaller_vocabulary(trained, corpus):
    smaller = BPETokenizer.train(corpus, vocab_size=331, special_tokens=(), progress=False)
    cut = trained.truncated(331)
    assert cut.ranks == smaller.ranks and cut.special_tokens == {}
    assert cut.encode(corpus[:2000]) == smaller.encode(corpus[:2000])
    assert trained.truncated(256).encode("ab") == list(b"ab")  # bytes only
    assert trained.truncated(397).ranks == trained.ranks  # ids below 397: every BPE token
    for bad in (255, 398):
        with pytest.raises(ValueError, match="between 256"):
            trained.truncated(bad)


def test_training_min_frequency_and_errors():
    small = BPETokenizer.train("ab ab ab cd", vocab_size=300, min_frequency=2, progress=False)
    assert small.vocab_size < 300  # stopped early: no pair occurs twice any more
    with pytest.raises(ValueError, match="vocab_size >= 257"):
        BPETokenizer.train("abc", vocab_size=200)


@pytest.mark.parametrize("which", ["trained", "gpt2"])
def test_save_load_round_trip(tmp_path, trained, tok, which, corpus):
    original = trained if which == "trained" else tok
    original.save(tmp_path / "bpe.json")
    again = BPETokenizer.load(tmp_path / "bpe.json")
    assert again.ranks == original.ranks and again.special_tokens == original.special_tokens
    text = VARIED[8] + corpus[:2000]
    assert again.encode(text) == original.encode(text)


def test_constructor_validation():
    with pytest.raises(ValueError, match="256"):
        BPETokenizer({bytes([b]): b for b in range(255)})
    with pytest.raises(ValueError, match="0..len"):
        BPETokenizer({bytes([b]): b + 1 for b in range(256)})
    ranks = {bytes([b]): b for b in range(256)}
    with pytest.raises(ValueError, match="already uses"):
        BPETokenizer(ranks, {"<s>": 3})


# -------------------------------------------------------------------- reference trainer


def test_get_stats_and_merge_worked_example():
    assert get_stats([1, 2, 3, 1, 2]) == {(1, 2): 2, (2, 3): 1, (3, 1): 1}
    counts = get_stats([1, 2])
    assert get_stats([1, 2, 9], counts) is counts and counts == {(1, 2): 2, (2, 9): 1}
    assert merge([1, 2, 3, 1, 2], (1, 2), 4) == [4, 3, 4]
    assert merge([7, 7, 7], (7, 7), 8) == [8, 7]  # left to right, no overlap
    assert merge([], (1, 2), 3) == []


@pytest.mark.parametrize("start", [0, 500_000])
def test_reference_trainer_learns_the_fast_trainers_merges(start):
    text = data.load("shakespeare")[start : start + 3000]
    slow = train_reference(text, vocab_size=400)
    fast = BPETokenizer.train(text, 400, special_tokens=(), min_frequency=1, progress=False)
    assert len(slow) == 400 - 256
    assert fast.merges == slow  # same pairs, same ids, same order
    assert list(fast.merges) == list(slow)


def test_reference_trainer_breaks_ties_like_the_fast_one():
    # every pair occurs once: the order is decided by the tie rule alone
    text = "zyxwvu"
    fast = BPETokenizer.train(text, 260, special_tokens=(), min_frequency=1, progress=False)
    assert train_reference(text, 260) == fast.merges
    assert next(iter(fast.merges)) == (ord("v"), ord("u"))  # the smallest ids first


def test_reference_trainer_stops_when_nothing_is_left_to_merge():
    assert train_reference("ab ab", vocab_size=1000) == {(97, 98): 256, (32, 256): 257}


def test_gpt2_merges_are_vocab_bpe(tok, gpt2_files):
    lines = gpt2_files["vocab.bpe"].read_text(encoding="utf-8").split("\n")[1:]
    byte_decoder = {c: b for b, c in bytes_to_unicode().items()}
    merges = tok.merges
    assert len(merges) == 50000
    for (left, right), rank in list(merges.items())[::997]:  # a sample across the file
        a, b = lines[rank - 256].split(" ")
        assert tok.token_bytes(left) == bytes(byte_decoder[c] for c in a)
        assert tok.token_bytes(right) == bytes(byte_decoder[c] for c in b)
