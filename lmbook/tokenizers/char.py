"""Character-level tokenizer: one id per character.

The simplest tokenizer, used for the first language models in the book (Karpathy's
char-level Shakespeare). The vocabulary is the sorted set of characters seen in a
training text, so ids agree with nanoGPT's ``shakespeare_char`` preparation for the same
text; special tokens, if any, get the ids after the characters.

Introduced in: Chapter 2 (2.1 tokenization).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

from lmbook.tokenizers.base import Tokenizer, TokenizerFileError

__all__ = ["CharTokenizer"]


class CharTokenizer(Tokenizer):
    """Map each character to an id.

    Args:
        chars: the vocabulary's characters, in id order (duplicates are an error).
        special_tokens: extra token strings (e.g. ``"<|endoftext|>"``), given ids after the
            characters. ``encode`` never produces them from text; use ``special_tokens[name]``.
        unk_token: optional token for characters outside the vocabulary (added as a special
            token). Without it, an unknown character raises ``ValueError``.

    Example:
        >>> tok = CharTokenizer.train("hello")
        >>> tok.encode("hell"), tok.decode([1, 0, 2])
        ([1, 0, 2, 2], 'hel')

    Introduced in: Chapter 2.
    """

    type_name = "char"

    def __init__(
        self,
        chars: Iterable[str],
        special_tokens: Sequence[str] = (),
        unk_token: str | None = None,
    ) -> None:
        self.chars = list(chars)
        for c in self.chars:
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"vocabulary entries must be single characters, got {c!r}")
        if len(set(self.chars)) != len(self.chars):
            raise ValueError("the character list has duplicates; pass sorted(set(text))")
        specials = list(special_tokens)
        if unk_token is not None and unk_token not in specials:
            specials.append(unk_token)
        if len(set(specials)) != len(specials):
            raise ValueError(f"special tokens must be distinct, got {specials}")
        self.stoi = {c: i for i, c in enumerate(self.chars)}
        self.special_tokens = {s: len(self.chars) + i for i, s in enumerate(specials)}
        self.unk_token = unk_token
        self._unk_id = self.special_tokens[unk_token] if unk_token is not None else None
        self.itos = self.chars + specials

    @classmethod
    def train(
        cls, text: str, special_tokens: Sequence[str] = (), unk_token: str | None = None
    ) -> CharTokenizer:
        """Build the vocabulary from a text: its distinct characters, sorted by code point."""
        if not text:
            raise ValueError("cannot build a character vocabulary from an empty text")
        return cls(sorted(set(text)), special_tokens, unk_token)

    @property
    def vocab_size(self) -> int:
        """Number of ids: characters plus special tokens."""
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        """Text -> ids, one per character.

        Raises:
            ValueError: a character is not in the vocabulary and there is no ``unk_token``.
        """
        stoi = self.stoi
        try:
            return [stoi[c] for c in text]
        except KeyError:
            if self._unk_id is None:
                bad = sorted({c for c in text if c not in stoi})
                raise ValueError(
                    f"characters {bad[:10]!r} are not in the vocabulary; train the tokenizer on "
                    "text that contains them or create it with unk_token='<unk>'"
                ) from None
            unk = self._unk_id
            return [stoi.get(c, unk) for c in text]

    def decode(self, ids: Iterable[int]) -> str:
        """Ids -> text (special tokens are written as their strings)."""
        itos = self.itos
        return "".join(itos[i] for i in self._check_ids(ids))

    def to_dict(self) -> dict[str, Any]:
        specials = sorted(self.special_tokens, key=self.special_tokens.get)
        return {"chars": self.chars, "special_tokens": specials, "unk_token": self.unk_token}

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> CharTokenizer:
        """Read a tokenizer written by ``save``."""
        payload = cls._read(path)
        try:
            return cls(payload["chars"], payload["special_tokens"], payload["unk_token"])
        except KeyError as err:
            raise TokenizerFileError(
                f"{path} lacks the field {err}; save the tokenizer again"
            ) from err
