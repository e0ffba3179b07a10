"""Translation data preparation and the IBM Model 1 word-by-word baseline."""

import pytest
import torch

from lmbook.tasks.translation import (
    RetrievalTranslator,
    WordByWordTranslator,
    dedupe_pairs,
    detokenize,
    encode_pairs,
    filter_pairs,
    word_tokenize,
)


def test_word_tokenize_and_detokenize_round_trip():
    words = word_tokenize("L'Éternel parla à Moïse, et dit: Va!")
    assert words == ["l'", "éternel", "parla", "à", "moïse", ",", "et", "dit", ":", "va", "!"]
    assert detokenize(words) == "l'éternel parla à moïse, et dit: va!"
    assert word_tokenize("In 1611 AD", lowercase=False) == ["In", "1611", "AD"]


def test_filter_pairs():
    pairs = [("a b c", "x y"), ("a " * 20, "x"), ("", "x"), ("a", "x y z")]
    assert filter_pairs(pairs, max_words=3) == [("a b c", "x y"), ("a", "x y z")]
    with pytest.raises(ValueError, match="max_words"):
        filter_pairs(pairs, max_words=0, min_words=2)


def test_encode_pairs_layout():
    encode = lambda s: [ord(c) - 90 for c in s]  # noqa: E731  (a toy tokenizer: 'a' -> 7)
    src, tgt = encode_pairs(encode, [("ab", "c"), ("a", "cde")], bos_id=1, eos_id=2, pad_id=0)
    assert src.tolist() == [[7, 8, 2], [7, 2, 0]]
    assert tgt.tolist() == [[1, 9, 2, 0, 0], [1, 9, 10, 11, 2]]
    assert src.dtype == tgt.dtype == torch.long
    with pytest.raises(ValueError, match="max_len"):
        encode_pairs(encode, [("abcdef", "c")], 1, 2, 0, max_len=4)


def test_ibm1_learns_a_dictionary_and_likelihood_rises():
    pairs = [
        ("the house", "la maison"),
        ("the car", "la voiture"),
        ("a house", "une maison"),
        ("a small car", "une petite voiture"),
        ("the small house", "la petite maison"),
    ]
    m = WordByWordTranslator(iterations=10).fit(pairs)
    assert m.dictionary["house"] == "maison"
    assert m.dictionary["car"] == "voiture"
    assert m.dictionary["small"] == "petite"
    assert m.dictionary["the"] == "la"
    assert m.translate("the small car") == "la petite voiture"
    assert m.translate("the zebra") == "la zebra"  # unknown words are copied
    # EM never decreases the likelihood
    ll = m.log_likelihoods
    assert all(b >= a - 1e-9 for a, b in zip(ll, ll[1:], strict=False)) and ll[-1] > ll[0]


def test_translator_errors():
    with pytest.raises(ValueError, match="not fitted"):
        WordByWordTranslator().translate("x")
    with pytest.raises(ValueError, match="at least one"):
        WordByWordTranslator().fit([])
    with pytest.raises(ValueError, match="iterations"):
        WordByWordTranslator(iterations=0)


def test_decode_output_strips_bos_and_stops_at_eos():
    from lmbook.tasks.translation import decode_output

    dec = lambda ids: "".join(chr(96 + i) for i in ids)  # noqa: E731
    assert decode_output(dec, torch.tensor([1, 3, 4, 2, 2, 5]), bos_id=1, eos_id=2) == "cd"
    assert decode_output(dec, [3, 4], bos_id=1, eos_id=2) == "cd"  # no BOS, never finished


def test_dedupe_pairs_keeps_first_per_source():
    pairs = [("And God said,", "Dieu dit:"), ("Amen.", "Amen!"), ("And  God said,", "Et Dieu dit")]
    assert dedupe_pairs(pairs) == [("And God said,", "Dieu dit:"), ("Amen.", "Amen!")]


def test_retrieval_translator_returns_the_nearest_training_target():
    pairs = [
        ("the house of the king", "la maison du roi"),
        ("the car", "la voiture"),
        ("and the LORD said", "et l'Éternel dit"),
    ]
    m = RetrievalTranslator(pairs)
    assert m.translate("And the Lord said unto Moses") == "et l'Éternel dit"
    assert m.translate("a red car") == "la voiture"
    assert m.translate("the king's house") == "la maison du roi"
    with pytest.raises(ValueError, match="at least one"):
        RetrievalTranslator([])


def test_word_by_word_keeps_case_when_asked():
    pairs = [("LORD", "Éternel"), ("The LORD", "L'Éternel")] * 3
    assert WordByWordTranslator(lowercase=False).fit(pairs).translate("LORD") == "Éternel"
    assert WordByWordTranslator().fit(pairs).translate("LORD") == "éternel"
