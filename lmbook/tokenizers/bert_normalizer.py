"""BERT's normalizer and pre-tokenizer, as one per-character table for ``str.translate``.

Each character is classified once, on first sight (Unicode categories, BERT's CJK ranges,
the White_Space property), and mapped to what BERT's ``BasicTokenizer`` makes of it: dropped
(control and format characters, and combining accents when stripping them), a space
(whitespace), itself padded with spaces (CJK ideographs and punctuation, which become
words of their own), or itself, lowercased for an uncased vocabulary.

Introduced in: Chapter 3 (3.1 BERT's input pipeline).
"""

from __future__ import annotations

import unicodedata

__all__ = ["CharTable", "is_cjk", "is_punctuation"]

# CJK Unified Ideographs and extensions, compatibility ideographs, as in the reference
# implementation (google-research/bert tokenization.py `_is_chinese_char`).
_CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B920, 0x2CEAF),  # sic: the tokenizers library starts here (BERT's Python: 0x2B820)
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)
# Unicode's White_Space property (what Rust's char::is_whitespace tests), which differs from
# Python's str.isspace on U+001C..U+001F (those are control characters and are dropped).
_WHITE_SPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def is_cjk(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    # BERT treats every non-alphanumeric ASCII symbol as punctuation ($, ^, `, ...).
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


class CharTable(dict):
    """Per-character normalization table for ``str.translate``, filled on first sight."""

    def __init__(self, lowercase: bool, strip_accents: bool, handle_chinese_chars: bool) -> None:
        super().__init__()
        self.lowercase = lowercase
        self.strip_accents = strip_accents
        self.handle_chinese_chars = handle_chinese_chars

    def __missing__(self, cp: int) -> str:
        ch = chr(cp)
        if ch in "\t\n\r":
            out = " "
        elif cp == 0 or cp == 0xFFFD or unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs"):
            # control, format, private-use and surrogate characters; checked before
            # whitespace, so U+000B, U+000C and U+0085 are dropped, as in the reference.
            # Unassigned code points (Cn) are kept, as the reference keeps them.
            out = ""
        elif ch in _WHITE_SPACE:
            out = " "
        elif self.handle_chinese_chars and is_cjk(cp):
            out = f" {ch} "
        elif self.strip_accents and unicodedata.category(ch) == "Mn":
            out = ""  # a combining mark left by the NFD decomposition: the accent
        elif is_punctuation(ch):
            out = f" {ch} "
        else:
            out = ch.lower() if self.lowercase else ch
        self[cp] = out
        return out
