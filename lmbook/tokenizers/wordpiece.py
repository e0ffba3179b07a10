"""BERT's WordPiece tokenizer: basic tokenization, then greedy longest-match-first subwords.

BERT (Devlin et al. 2019, §3 and Appendix A; Wu et al. 2016 for WordPiece) tokenizes in
three steps, reproduced here exactly as the reference ``tokenizers`` library runs them
for an uncased model (its ``BertNormalizer``, ``BertPreTokenizer`` and ``WordPiece``):

1. **Normalize** (``normalize``): drop NUL, U+FFFD and control/format characters (Unicode
   categories C*), turn every whitespace character into a space, put spaces around CJK
   ideographs (Chinese has no spaces, so each character becomes a word), and, for an
   uncased vocabulary, strip accents (decompose to NFD, drop combining marks, category Mn)
   and lowercase.
2. **Pre-tokenize** (``pre_tokenize``): split on whitespace and make each punctuation
   character (ASCII symbols and Unicode P*) a word of its own.
3. **WordPiece** (``wordpiece``): cut each word, left to right, into the longest piece that
   is in the vocabulary, pieces after the first carrying the ``##`` prefix. A word longer
   than 100 characters, or one that cannot be covered, becomes a single ``[UNK]``.

``__call__`` then adds ``[CLS] a [SEP]`` (or ``[CLS] a [SEP] b [SEP]`` for pairs, segment
ids 0 then 1), truncates, pads, and returns PyTorch tensors, like a Hugging Face tokenizer.

Speed: step 1 and most of step 2 are one ``str.translate`` pass whose per-character table
is filled lazily (each distinct character is classified once), and the WordPiece split of
each distinct word is cached, so the Python loop runs once per word, not per character.

Unicode versions: ``tokenizers`` classifies characters (punctuation, control, combining
mark) with older Unicode tables than Python's ``unicodedata``. Ids are identical for every
character of Unicode 8.0 (2015) and for unassigned code points; 503 of the 1.1 million
code points differ, all from scripts and marks added since (e.g. U+061D, U+2E43..U+2E5D,
Arabic Extended-B U+0890..U+08FF), where this tokenizer follows current Unicode.

Note: all-MiniLM-L6-v2's vocabulary has no CJK characters, so Chinese text becomes ``[UNK]``
with it (a multilingual vocabulary would keep it).

Introduced in: Chapter 3 (3.1 BERT's input pipeline); used in Chapters 5, 6, 9.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch

from lmbook.tokenizers.base import Tokenizer, TokenizerFileError
from lmbook.tokenizers.bert_normalizer import CharTable

__all__ = ["WordPieceTokenizer"]

_CACHE_LIMIT = 200_000

# The reference decoder's clean-up, applied to each token separately.
_CLEANUP = (
    (" .", "."),
    (" ?", "?"),
    (" !", "!"),
    (" ,", ","),
    (" ' ", "'"),
    (" n't", "n't"),
    (" 'm", "'m"),
    (" do not", " don't"),
    (" 's", "'s"),
    (" 've", "'ve"),
    (" 're", "'re"),
)


class WordPieceTokenizer(Tokenizer):
    """BERT's tokenizer (uncased by default), id-for-id equal to the ``tokenizers`` library's.

    Args:
        vocab: tokens in id order (``vocab.txt``'s lines).
        lowercase: lowercase the text (uncased models).
        strip_accents: strip accents; ``None`` means "when lowercasing", as in BERT.
        handle_chinese_chars: split CJK ideographs into single-character words.
        unk_token, cls_token, sep_token, pad_token, mask_token: special tokens (must be in
            ``vocab``; ``mask_token`` may be absent).
        max_input_chars_per_word: longer words become ``[UNK]`` (100 in BERT).
        model_max_length: default ``max_length`` for truncation (512 for BERT).

    Example:
        >>> from lmbook import data
        >>> tok = WordPieceTokenizer.from_file(data.path("minilm") / "vocab.txt")
        >>> tok.tokenize("Tokenization isn't hard!")
        ['token', '##ization', 'isn', "'", 't', 'hard', '!']

    Introduced in: Chapter 3.
    """

    type_name = "wordpiece"
    prefix = "##"

    def __init__(
        self,
        vocab: Sequence[str],
        lowercase: bool = True,
        strip_accents: bool | None = None,
        handle_chinese_chars: bool = True,
        unk_token: str = "[UNK]",
        cls_token: str = "[CLS]",
        sep_token: str = "[SEP]",
        pad_token: str = "[PAD]",
        mask_token: str = "[MASK]",
        max_input_chars_per_word: int = 100,
        model_max_length: int = 512,
    ) -> None:
        self.itos = list(vocab)
        self.vocab = {t: i for i, t in enumerate(self.itos)}
        if len(self.vocab) != len(self.itos):
            raise ValueError("the vocabulary has duplicate tokens; is this a BERT vocab.txt?")
        self.lowercase = lowercase
        self.strip_accents = lowercase if strip_accents is None else strip_accents
        self.handle_chinese_chars = handle_chinese_chars
        self.max_input_chars_per_word = max_input_chars_per_word
        self.model_max_length = model_max_length
        self.special_tokens = {}
        for role, tok in (
            ("unk", unk_token),
            ("cls", cls_token),
            ("sep", sep_token),
            ("pad", pad_token),
            ("mask", mask_token),
        ):
            if tok not in self.vocab:
                if role == "mask":
                    continue
                raise ValueError(
                    f"{role} token {tok!r} is not in the vocabulary; pass {role}_token= with the "
                    "vocabulary's own spelling"
                )
            self.special_tokens[tok] = self.vocab[tok]
        self.unk_token, self.cls_token, self.sep_token = unk_token, cls_token, sep_token
        self.pad_token, self.mask_token = pad_token, mask_token
        self.unk_id, self.cls_id = self.vocab[unk_token], self.vocab[cls_token]
        self.sep_id, self.pad_id = self.vocab[sep_token], self.vocab[pad_token]
        self.mask_id = self.vocab.get(mask_token)
        self._table = CharTable(self.lowercase, self.strip_accents, handle_chinese_chars)
        # No vocabulary piece is longer than this, so longer candidates need not be tried.
        self._max_piece = max(
            len(t[len(self.prefix) :]) if t.startswith(self.prefix) else len(t) for t in self.itos
        )
        self._cache: dict[str, list[int]] = {}

    @classmethod
    def from_file(
        cls, vocab_txt: str | os.PathLike[str], lowercase: bool = True, **kwargs: Any
    ) -> WordPieceTokenizer:
        """Read a BERT ``vocab.txt`` (one token per line, line number = id).

        Args:
            vocab_txt: path, e.g. ``data.path("minilm") / "vocab.txt"``.
            lowercase: True for uncased models (all-MiniLM-L6-v2, bert-base-uncased).
            **kwargs: other constructor arguments.
        """
        path = Path(vocab_txt)
        if not path.is_file():
            raise FileNotFoundError(
                f"vocabulary file {path} does not exist; for MiniLM use "
                "lmbook.data.path('minilm') / 'vocab.txt'"
            )
        # Only "\n" ends a line: a token may contain other line-break characters.
        tokens = path.read_text(encoding="utf-8").split("\n")
        if tokens and tokens[-1] == "":
            tokens.pop()
        return cls([t.rstrip("\r") for t in tokens], lowercase=lowercase, **kwargs)

    @property
    def vocab_size(self) -> int:
        """Number of tokens in the vocabulary."""
        return len(self.itos)

    # -------------------------------------------------------------------- the three steps
    def normalize(self, text: str) -> str:
        """Step 1 (plus spaces around punctuation, so ``str.split`` does step 2)."""
        if self.strip_accents and not text.isascii():
            text = unicodedata.normalize("NFD", text)
        return text.translate(self._table)

    def pre_tokenize(self, text: str) -> list[str]:
        """Steps 1 and 2: the list of words and punctuation marks."""
        return self.normalize(text).split()

    def wordpiece(self, word: str) -> list[int]:
        """Step 3 for one pre-tokenized word: greedy longest-match-first ids."""
        if len(word) > self.max_input_chars_per_word:
            return [self.unk_id]
        vocab, prefix, longest = self.vocab, self.prefix, self._max_piece
        ids, start, n = [], 0, len(word)
        while start < n:
            end = min(n, start + longest)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else prefix + word[start:end]
                found = vocab.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return [self.unk_id]  # one uncoverable piece makes the whole word unknown
            ids.append(found)
            start = end
        return ids

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        """Text -> WordPiece ids (``[CLS] ... [SEP]`` only with ``add_special_tokens``)."""
        cache = self._cache
        ids: list[int] = [self.cls_id] if add_special_tokens else []
        for word in self.normalize(text).split():
            pieces = cache.get(word)
            if pieces is None:
                pieces = self.wordpiece(word)
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[word] = pieces
            ids.extend(pieces)
        if add_special_tokens:
            ids.append(self.sep_id)
        return ids

    def tokenize(self, text: str) -> list[str]:
        """Text -> WordPiece strings (``##`` marks a piece that continues a word)."""
        return [self.itos[i] for i in self.encode(text)]

    # ------------------------------------------------------------------------- decoding
    def convert_ids_to_tokens(self, ids: Iterable[int]) -> list[str]:
        """Ids -> token strings."""
        return [self.itos[i] for i in self._check_ids(ids)]

    def token_to_id(self, token: str) -> int:
        """The id of a token string (``[MASK]`` -> 103).

        Raises:
            KeyError: the token is not in the vocabulary.
        """
        try:
            return self.vocab[token]
        except KeyError:
            raise KeyError(f"{token!r} is not in the vocabulary") from None

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        """Ids -> readable text (lossy: case, accents and spacing are not restored).

        As the reference WordPiece decoder: a ``##`` piece is glued to the previous token,
        any other token gets a leading space, and each token is cleaned on its own (so only
        a lone ``.``, ``?``, ``!`` or ``,`` loses its space: ``it ' s`` stays as it is).
        """
        special = set(self.special_tokens.values())
        tokens = [
            self.itos[i] for i in self._check_ids(ids) if not (skip_special_tokens and i in special)
        ]
        out = []
        for n, token in enumerate(tokens):
            if n > 0:
                token = token[len(self.prefix) :] if token.startswith(self.prefix) else " " + token
            for old, new in _CLEANUP:
                token = token.replace(old, new)
            out.append(token)
        return "".join(out)

    # ---------------------------------------------------------------------------- batches
    def _truncate_pair(
        self, a: list[int], b: list[int], budget: int
    ) -> tuple[list[int], list[int]]:
        """The reference "longest first" rule: cut the longer side, split evenly if needed."""
        if len(a) + len(b) <= budget:
            return a, b
        n1, n2 = len(a), len(b)
        swap = n1 > n2
        if swap:
            n1, n2 = n2, n1
        n2 = n1 if n1 > budget else max(n1, budget - n1)
        if n1 + n2 > budget:
            n1 = budget // 2
            n2 = n1 + budget % 2
        if swap:
            n1, n2 = n2, n1
        return a[:n1], b[:n2]

    def __call__(
        self,
        texts: str | Sequence[str],
        text_pairs: str | Sequence[str] | None = None,
        padding: bool | str = True,
        truncation: bool = True,
        max_length: int | None = None,
        return_tensors: str | None = "pt",
        return_special_tokens_mask: bool = False,
    ) -> dict[str, Any]:
        """Encode a batch for BERT: ``[CLS] a [SEP]`` or ``[CLS] a [SEP] b [SEP]``.

        Args:
            texts: one text or a batch of B texts.
            text_pairs: optional second segments (same number as ``texts``).
            padding: ``True``/``"longest"`` pads to the longest row, ``"max_length"`` to
                ``max_length``, ``False`` does not pad (then ``return_tensors`` must be None
                unless all rows have the same length).
            truncation: cut rows to ``max_length`` (pairs: the longer segment first).
            max_length: longest row including special tokens (default ``model_max_length``).
            return_tensors: ``"pt"`` for int64 tensors, ``None`` for lists.
            return_special_tokens_mask: also return 1 at [CLS]/[SEP]/[PAD] positions.

        Returns:
            dict with ``input_ids``, ``token_type_ids`` (0 for ``a``, 1 for ``b``),
            ``attention_mask`` (1 real, 0 padding) and optionally ``special_tokens_mask``.

        Shapes:
            each value: (B, L) (a single str input gives B = 1 with tensors, flat lists without).

        Raises:
            ValueError: mismatched batch sizes, a row too long with ``truncation=False``, or
                ragged rows with ``return_tensors="pt"`` and no padding.
        """
        single = isinstance(texts, str)
        batch_a = [texts] if single else list(texts)
        if text_pairs is None:
            batch_b = None
        else:
            batch_b = [text_pairs] if isinstance(text_pairs, str) else list(text_pairs)
            if len(batch_b) != len(batch_a):
                raise ValueError(
                    f"got {len(batch_a)} texts but {len(batch_b)} text_pairs; pass one pair per text"
                )
        if return_tensors not in (None, "pt"):
            raise ValueError(f"return_tensors must be 'pt' or None, got {return_tensors!r}")
        limit = self.model_max_length if max_length is None else max_length
        n_special = 2 if batch_b is None else 3
        if limit < n_special:
            raise ValueError(f"max_length={limit} leaves no room for the special tokens")
        rows, types = [], []
        for i, a_text in enumerate(batch_a):
            a = self.encode(a_text)
            b = self.encode(batch_b[i]) if batch_b is not None else None
            length = len(a) + (len(b) if b is not None else 0) + n_special
            if length > limit:
                if not truncation:
                    raise ValueError(
                        f"row {i} has {length} tokens, more than max_length={limit}; pass "
                        "truncation=True or a larger max_length"
                    )
                if b is None:
                    a = a[: limit - n_special]
                else:
                    a, b = self._truncate_pair(a, b, limit - n_special)
            ids = [self.cls_id, *a, self.sep_id]
            tt = [0] * len(ids)
            if b is not None:
                ids += [*b, self.sep_id]
                tt += [1] * (len(b) + 1)
            rows.append(ids)
            types.append(tt)
        if padding in (True, "longest"):
            width = max(len(r) for r in rows)
        elif padding == "max_length":
            width = limit
        elif padding in (False, "do_not_pad"):
            width = None
        else:
            raise ValueError(
                f"padding must be True, False, 'longest' or 'max_length', got {padding!r}"
            )
        out: dict[str, Any] = {"input_ids": [], "token_type_ids": [], "attention_mask": []}
        if return_special_tokens_mask:
            out["special_tokens_mask"] = []
        special = {self.cls_id, self.sep_id}
        for ids, tt in zip(rows, types, strict=True):
            pad = 0 if width is None else width - len(ids)
            out["input_ids"].append(ids + [self.pad_id] * pad)
            out["token_type_ids"].append(tt + [0] * pad)
            out["attention_mask"].append([1] * len(ids) + [0] * pad)
            if return_special_tokens_mask:
                out["special_tokens_mask"].append([int(i in special) for i in ids] + [1] * pad)
        if return_tensors == "pt":
            if len({len(r) for r in out["input_ids"]}) > 1:
                raise ValueError(
                    "rows have different lengths and padding is off; pass padding=True or "
                    "return_tensors=None"
                )
            return {k: torch.tensor(v, dtype=torch.long) for k, v in out.items()}
        if single:
            return {k: v[0] for k, v in out.items()}
        return out

    # ------------------------------------------------------------------------------- files
    def to_dict(self) -> dict[str, Any]:
        return {
            "vocab": self.itos,
            "lowercase": self.lowercase,
            "strip_accents": self.strip_accents,
            "handle_chinese_chars": self.handle_chinese_chars,
            "unk_token": self.unk_token,
            "cls_token": self.cls_token,
            "sep_token": self.sep_token,
            "pad_token": self.pad_token,
            "mask_token": self.mask_token,
            "max_input_chars_per_word": self.max_input_chars_per_word,
            "model_max_length": self.model_max_length,
        }

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> WordPieceTokenizer:
        """Read a tokenizer written by ``save`` (JSON with the vocabulary and the options)."""
        payload = cls._read(path)
        payload.pop("type")
        payload.pop("format_version", None)
        try:
            return cls(**payload)
        except TypeError as err:
            raise TokenizerFileError(
                f"{path} has unexpected fields ({err}); save it again"
            ) from err
