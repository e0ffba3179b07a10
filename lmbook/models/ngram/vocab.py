"""The vocabulary of an n-gram model: tokens of any hashable type <-> int64 ids.

Ids 0, 1 and 2 are the begin marker ``<s>``, the end marker ``</s>`` and the unknown token
``<unk>``; the training tokens follow in sorted order (characters and int ids) or in order
of first appearance (words). A character or int vocabulary also keeps its tokens' numeric
keys, so a whole sequence is encoded with one gather (dense keys) or one binary search.

Introduced in: Chapter 1.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

__all__ = ["BOS", "BOS_ID", "EOS", "EOS_ID", "UNK", "UNK_ID", "Vocabulary"]

BOS = "<s>"
EOS = "</s>"
UNK = "<unk>"
BOS_ID, EOS_ID, UNK_ID = 0, 1, 2

_KIND_NAMES = {"char": "character", "int": "integer-id", "object": "word (list of str)"}


def kind_of(seq: Any) -> str:
    """What a sequence's tokens are: ``"char"`` (a str), ``"int"`` (ids) or ``"object"``."""
    if isinstance(seq, str):
        return "char"
    if isinstance(seq, bytes):
        raise ValueError("got bytes; decode them to str first (e.g. data.decode('utf-8'))")
    if hasattr(seq, "dtype") and hasattr(seq, "shape"):  # numpy array or torch tensor
        if len(seq.shape) != 1:
            raise ValueError(
                f"a token sequence must be 1-D, got shape {tuple(seq.shape)}; "
                "pass a list of 1-D sequences (e.g. list(batch)) instead of a 2-D batch"
            )
        dt = str(seq.dtype)
        if "int" not in dt:
            raise ValueError(f"integer token ids are expected, got dtype {dt}")
        return "int"
    if not isinstance(seq, Sequence):
        raise ValueError(
            f"a token sequence must be a str, a list/tuple, a numpy array or a tensor, "
            f"got {type(seq).__name__}"
        )
    if len(seq) and all(isinstance(t, int | np.integer) and not isinstance(t, bool) for t in seq):
        return "int"
    if len(seq) and all(isinstance(t, str) and len(t) == 1 for t in seq):
        return "char"
    return "object"


class Vocabulary:
    """The token <-> id maps of an n-gram model, built from its training sequences.

    Args:
        sequences: the training sequences (all of one kind: strings, id sequences or lists
            of words).

    Attributes:
        kind: ``"char"``, ``"int"`` or ``"object"``.
        itos: id -> token (``itos[0:3]`` are ``<s>``, ``</s>``, ``<unk>``).
        stoi: token -> id.
        lut: a dense key -> id table for small key ranges, else None (binary search).

    Introduced in: Chapter 1.
    """

    def __init__(self, sequences: list[Any]) -> None:
        kinds = {kind_of(s) for s in sequences if len(s)}
        if not kinds:
            raise ValueError("every training sequence is empty; pass non-empty sequences")
        if kinds == {"char", "object"}:
            kinds = {"object"}
        if len(kinds) > 1:
            raise ValueError(
                f"training sequences mix token kinds {sorted(kinds)}; use one tokenization"
            )
        self.kind = kinds.pop()
        if self.kind == "char":
            text = "".join(s if isinstance(s, str) else "".join(s) for s in sequences)
            keys = _distinct(np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32))
            tokens: list[Hashable] = [chr(c) for c in keys]
        elif self.kind == "int":
            keys = _distinct(np.concatenate([_as_int_array(s) for s in sequences]))
            if keys[0] < 0:
                raise ValueError(
                    f"integer token ids must be >= 0, got {keys[0]}; remap the vocabulary"
                )
            tokens = [int(t) for t in keys]
        else:
            seen: dict[Hashable, None] = {}
            for s in sequences:
                seen.update(dict.fromkeys(s))
            for special in (BOS, EOS):
                if special in seen:
                    raise ValueError(
                        f"the training data contains the reserved marker {special!r}; "
                        "remove it (the model adds sequence boundaries itself)"
                    )
            seen.pop(UNK, None)  # a literal <unk> in the data is our unknown token
            tokens = list(seen)
            keys = None
        self.itos: list[Hashable] = [BOS, EOS, UNK, *tokens]
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        self.lut: np.ndarray | None = None
        if keys is not None:
            self._keys = keys  # sorted; token id = position + 3
            if keys[-1] < max(16 * len(keys), 1 << 22):
                self.lut = np.full(int(keys[-1]) + 1, UNK_ID, dtype=np.int64)
                self.lut[keys] = np.arange(len(keys), dtype=np.int64) + 3

    def __len__(self) -> int:
        """Number of ids, ``<s>`` included."""
        return len(self.itos)

    def encode(self, seq: Any) -> np.ndarray:
        """Map one sequence to int64 ids; unseen tokens become ``<unk>``."""
        kind = kind_of(seq)
        if len(seq) == 0:
            return np.zeros(0, dtype=np.int64)
        # A word model may be given a list of one-character words, never a bare str.
        word_ok = self.kind == "object" and kind == "char" and not isinstance(seq, str)
        if kind != self.kind and not word_ok:
            raise ValueError(
                f"this model was fitted on {_KIND_NAMES[self.kind]} tokens but got "
                f"{_KIND_NAMES[kind]} tokens; "
                "use the same tokenization for fitting and scoring"
            )
        if self.kind == "char" and kind == "char":
            text = seq if isinstance(seq, str) else "".join(seq)
            keys = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        elif self.kind == "int":
            keys = _as_int_array(seq)
        else:
            stoi = self.stoi
            return np.fromiter((stoi.get(t, UNK_ID) for t in seq), dtype=np.int64, count=len(seq))
        if self.lut is not None:  # dense key -> id table: one gather, no search
            lut = self.lut
            inside = (keys >= 0) & (keys < len(lut))
            return np.where(inside, lut[np.clip(keys, 0, len(lut) - 1)], UNK_ID)
        pos = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        return np.where(self._keys[pos] == keys, pos + 3, UNK_ID)

    def token_id(self, token: Hashable) -> int:
        """The id of one token (``<unk>``'s for an unseen one); ``<s>`` is refused."""
        if isinstance(token, str) and token in (BOS, EOS, UNK):
            if token == BOS:
                raise ValueError(f"{BOS!r} is never predicted; ask about a real token or {EOS!r}")
            return self.stoi[token]
        if self.kind == "char":
            if not (isinstance(token, str) and len(token) == 1):
                raise ValueError(
                    f"this is a character model; the token must be one character, got {token!r}"
                )
            return int(self.encode(token)[0])
        return int(self.encode([token])[0])


def _as_int_array(seq: Any) -> np.ndarray:
    if hasattr(seq, "detach"):  # torch tensor
        seq = seq.detach().cpu().numpy()
    arr = np.asarray(seq)
    if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"expected a 1-D sequence of int token ids, got {arr.dtype} {arr.shape}")
    return arr.astype(np.int64)


def _distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values as int64 (a presence table for small ranges, else a sort)."""
    values = values.astype(np.int64, copy=False)
    if len(values) and values.min() >= 0 and values.max() < (1 << 22):
        return np.flatnonzero(np.bincount(values)).astype(np.int64)
    v = np.sort(values)
    return v[np.concatenate([[True], v[1:] != v[:-1]])] if len(v) else v
