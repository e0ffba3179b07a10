"""What every lmbook tokenizer shares: the interface, JSON save/load, and id checks.

A tokenizer maps text to a list of integer ids and back. All of lmbook's tokenizers
(``CharTokenizer``, ``BPETokenizer``, ``WordPieceTokenizer``) have ``encode(str) ->
list[int]``, ``decode(ids) -> str``, ``vocab_size``, ``special_tokens`` (name -> id) and
``save(path)`` / ``load(path)``. Files are JSON with a ``"type"`` field, so loading the
wrong kind of file fails with a clear error instead of a wrong vocabulary.

Introduced in: Chapter 2.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from lmbook.io import atomic_write_json

__all__ = ["Tokenizer", "TokenizerFileError"]


class TokenizerFileError(ValueError):
    """A tokenizer file is missing, of the wrong type, or malformed."""


class Tokenizer:
    """Base class: shared helpers. Subclasses implement encode, decode, vocab_size, to_dict."""

    type_name = "base"
    special_tokens: dict[str, int]

    @property
    def vocab_size(self) -> int:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def encode(self, text: str) -> list[int]:  # pragma: no cover
        raise NotImplementedError

    def decode(self, ids: Iterable[int]) -> str:  # pragma: no cover
        raise NotImplementedError

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """Encode several texts (a list comprehension over ``encode``)."""
        if isinstance(texts, str):
            raise TypeError("encode_batch takes a list of strings; for one string use encode")
        return [self.encode(t) for t in texts]

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size})"

    # -- ids ------------------------------------------------------------------------------
    def _check_ids(self, ids: Iterable[int]) -> list[int]:
        if hasattr(ids, "tolist"):  # a tensor or a numpy array
            ids = ids.tolist()
        out = list(ids)
        if out and isinstance(out[0], list):
            raise TypeError(
                "decode takes one sequence of ids; for a batch use [decode(x) for x in ids]"
            )
        n = self.vocab_size
        for i in out:
            if not 0 <= i < n:
                raise ValueError(
                    f"token id {i} is outside the vocabulary [0, {n}); wrong tokenizer?"
                )
        return out

    # -- files ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the tokenizer as JSON (atomically: a temporary file, then a rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"type": self.type_name, "format_version": 1, **self.to_dict()}
        atomic_write_json(path, payload, ensure_ascii=False)

    @classmethod
    def _read(cls, path: str | os.PathLike[str]) -> dict[str, Any]:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"tokenizer file {path} does not exist; save one with .save(path)"
            )
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise TokenizerFileError(
                f"{path} is not a valid tokenizer JSON file ({err}); it may be truncated: save it again"
            ) from err
        kind = payload.get("type") if isinstance(payload, dict) else None
        if kind != cls.type_name:
            raise TokenizerFileError(
                f"{path} holds a {kind!r} tokenizer, not {cls.type_name!r}; load it with the "
                "matching class (CharTokenizer, BPETokenizer or WordPieceTokenizer)"
            )
        return payload
