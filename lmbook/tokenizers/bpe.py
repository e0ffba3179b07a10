"""Byte-level byte-pair encoding (BPE), trainable, and compatible with GPT-2's tokenizer.

Byte-level BPE (Radford et al. 2019, "Language Models are Unsupervised Multitask
Learners", §2.2) works on the UTF-8 bytes of the text, so every string can be encoded
with no unknown token. Encoding has two steps:

1. **Pre-tokenization.** A regular expression cuts the text into pieces (a word with its
   leading space, a run of digits, of punctuation, of whitespace), so merges never cross a
   word boundary. GPT-2's pattern is ``GPT2_PATTERN``; it needs the ``regex`` package for
   ``\\p{L}`` (any letter) and ``\\p{N}`` (any number).
2. **Merging.** Each piece starts as single bytes; repeatedly, the adjacent pair whose
   concatenation has the lowest *rank* (the earliest-learned merge) is merged, leftmost
   first, until no adjacent pair is in the vocabulary. Each final part's rank is its id.

This is exactly the algorithm of OpenAI's ``tiktoken`` (a token's rank is its id), so
``BPETokenizer.from_files(encoder_json, vocab_bpe)`` gives the same ids as tiktoken's
``gpt2`` encoding. Training (``BPETokenizer.train``) is Sennrich et al. (2016)'s
algorithm on bytes: count adjacent pairs over the corpus's pre-tokenized words, merge the
most frequent pair into a new token, repeat.

The file reads in teaching order. First the reference trainer as minbpe writes it
(Karpathy 2024): ``get_stats`` counts adjacent pairs, ``merge`` replaces one pair by a new
id, ``train_reference`` repeats the two. Then ``BPETokenizer``: encoding and decoding,
the fast trainer (the same merges as ``train_reference``, tested, but each merge touches
only the words that contain its pair), saving, and loading GPT-2's own files.

Speed: each distinct piece is merged once and its ids cached, so encoding English costs
one regex scan plus one dictionary lookup per piece (see ``benchmarks/bench_tokenizers.py``).

Introduced in: Chapter 2 (2.1 tokenization: byte-level BPE trained here).
"""

from __future__ import annotations

import heapq
import json
import os
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from typing import Any, Literal

import regex

from lmbook.tokenizers.base import Tokenizer, TokenizerFileError

__all__ = [
    "GPT2_PATTERN",
    "BPETokenizer",
    "bytes_to_unicode",
    "get_stats",
    "merge",
    "train_reference",
]

# GPT-2's pre-tokenizer (openai/gpt-2, src/encoder.py): English contractions, then optional
# space + letters, optional space + digits, optional space + other symbols, whitespace runs
# that leave the last space to the next word, and any remaining whitespace.
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

ENDOFTEXT = "<|endoftext|>"
_CACHE_LIMIT = 200_000  # distinct pieces remembered by encode (about 50 MB at most)


# ---------------------------------------------------------------------------------------
# The reference trainer: BPE in twenty lines (the version the book prints)
# ---------------------------------------------------------------------------------------


def get_stats(
    ids: Sequence[int], counts: dict[tuple[int, int], int] | None = None
) -> dict[tuple[int, int], int]:
    """Count each adjacent pair of ids; add to ``counts`` when given.

    >>> get_stats([1, 2, 3, 1, 2])
    {(1, 2): 2, (2, 3): 1, (3, 1): 1}
    """
    counts = {} if counts is None else counts
    for pair in zip(ids, ids[1:], strict=False):
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def merge(ids: Sequence[int], pair: tuple[int, int], idx: int) -> list[int]:
    """Replace every occurrence of ``pair`` in ``ids`` (left to right) by the new id ``idx``.

    >>> merge([1, 2, 3, 1, 2], (1, 2), 4)
    [4, 3, 4]
    """
    newids, i = [], 0
    while i < len(ids):
        if i < len(ids) - 1 and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            newids.append(idx)
            i += 2
        else:
            newids.append(ids[i])
            i += 1
    return newids


def train_reference(
    text: str, vocab_size: int, pattern: str = GPT2_PATTERN
) -> dict[tuple[int, int], int]:
    """Learn byte-level BPE merges the slow, readable way: recount every pair, every merge.

    Args:
        text: training corpus.
        vocab_size: 256 bytes + the number of merges to learn.
        pattern: pre-tokenizer; merges never cross the pieces it cuts.

    Returns:
        merges, ``(left id, right id) -> new id`` in the order learned: the same dict as
        ``BPETokenizer.train(text, vocab_size, special_tokens=(), min_frequency=1).merges``.

    Introduced in: Chapter 2 (2.1 tokenization).
    """
    chunks = [list(piece.encode("utf-8")) for piece in regex.findall(pattern, text)]
    merges: dict[tuple[int, int], int] = {}
    for idx in range(256, vocab_size):
        stats: dict[tuple[int, int], int] = {}
        for ids in chunks:
            get_stats(ids, stats)
        if not stats:  # every piece is a single token: nothing left to merge
            break
        pair = min(stats, key=lambda p: (-stats[p], p))  # most frequent; ties: smallest ids
        chunks = [merge(ids, pair, idx) for ids in chunks]
        merges[pair] = idx
    return merges


class BPETokenizer(Tokenizer):
    """Byte-level BPE with tiktoken's merge rule.

    Args:
        ranks: token bytes -> rank (= id), ranks exactly ``0..len(ranks)-1``; all 256 single
            bytes must be present (so any text can be encoded).
        special_tokens: special token string -> id (ids not used by ``ranks``).
        pattern: the pre-tokenizer regular expression (``regex`` syntax).

    Attributes:
        vocab_size: one more than the largest id.
        special_tokens: dict string -> id, e.g. ``{"<|endoftext|>": 50256}`` for GPT-2.

    Example:
        >>> from lmbook import data
        >>> paths = data.load("gpt2-bpe")
        >>> tok = BPETokenizer.from_files(paths["encoder.json"], paths["vocab.bpe"])
        >>> tok.encode("Hello world")
        [15496, 995]

    Introduced in: Chapter 2.
    """

    type_name = "bpe"

    def __init__(
        self,
        ranks: dict[bytes, int],
        special_tokens: dict[str, int] | None = None,
        pattern: str = GPT2_PATTERN,
    ) -> None:
        n = len(ranks)
        if sorted(ranks.values()) != list(range(n)):
            raise ValueError("BPE ranks must be exactly 0..len(ranks)-1 (one id per token)")
        missing = [b for b in range(256) if bytes([b]) not in ranks]
        if missing:
            raise ValueError(
                f"{len(missing)} single bytes are missing from the vocabulary (e.g. {missing[:5]}); "
                "a byte-level BPE needs all 256 so that any text can be encoded"
            )
        self.ranks = dict(ranks)
        self.special_tokens = dict(special_tokens or {})
        for tok, i in self.special_tokens.items():
            if i < n:
                raise ValueError(
                    f"special token {tok!r} has id {i}, which a BPE token already uses"
                )
        self.pattern = pattern
        self._pat = regex.compile(pattern)
        self._decoder: dict[int, bytes] = {i: b for b, i in self.ranks.items()}
        self._decoder.update({i: s.encode("utf-8") for s, i in self.special_tokens.items()})
        self._special_pat = (
            regex.compile(
                "|".join(
                    regex.escape(s) for s in sorted(self.special_tokens, key=len, reverse=True)
                )
            )
            if self.special_tokens
            else None
        )
        self._cache: dict[str, list[int]] = {}
        self._merges: dict[tuple[int, int], int] | None = None

    # ---------------------------------------------------------------------------- encoding
    @property
    def vocab_size(self) -> int:
        """One more than the largest id (BPE tokens plus special tokens)."""
        return max([len(self.ranks) - 1, *self.special_tokens.values()]) + 1

    def _bpe(self, piece: bytes) -> list[int]:
        """Merge one pre-token's bytes (tiktoken's rule: lowest-rank pair first, leftmost)."""
        ranks = self.ranks
        token = ranks.get(piece)
        if token is not None:
            return [token]
        parts = [piece[i : i + 1] for i in range(len(piece))]
        inf = len(ranks)  # larger than every rank
        # pair_ranks[i] = rank of parts[i] + parts[i+1]; after a merge only its neighbours change
        pair_ranks = [ranks.get(parts[i] + parts[i + 1], inf) for i in range(len(parts) - 1)]
        while pair_ranks:
            best = min(pair_ranks)
            if best == inf:
                break
            i = pair_ranks.index(best)  # leftmost occurrence of the best pair
            parts[i : i + 2] = [parts[i] + parts[i + 1]]
            del pair_ranks[i]
            if i > 0:
                pair_ranks[i - 1] = ranks.get(parts[i - 1] + parts[i], inf)
            if i < len(pair_ranks):
                pair_ranks[i] = ranks.get(parts[i] + parts[i + 1], inf)
        return [ranks[p] for p in parts]

    def encode_ordinary(self, text: str) -> list[int]:
        """Encode ``text`` ignoring special tokens (their strings are encoded as plain text)."""
        cache = self._cache
        bpe = self._bpe
        ids: list[int] = []
        extend = ids.extend
        try:
            for piece in self._pat.findall(text):
                toks = cache.get(piece)
                if toks is None:
                    toks = bpe(piece.encode("utf-8"))
                    if len(cache) >= _CACHE_LIMIT:
                        cache.clear()
                    cache[piece] = toks
                extend(toks)
        except UnicodeEncodeError:
            # Lone surrogates are not valid Unicode and have no UTF-8 form; like tiktoken,
            # replace them with U+FFFD (such strings cannot round-trip).
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
            return self.encode_ordinary(text)
        return ids

    def encode(
        self,
        text: str,
        allowed_special: Literal["all"] | Collection[str] = frozenset(),
        disallowed_special: Literal["all"] | Collection[str] = "all",
    ) -> list[int]:
        """Text -> ids, with tiktoken's rules for special tokens.

        By default a special token's string in the text (``"<|endoftext|>"``) is an error, so
        that user text cannot inject control tokens by accident; list it in
        ``allowed_special`` (or pass ``"all"``) to encode it as its special id, or pass
        ``disallowed_special=()`` to encode it as plain text.

        Raises:
            ValueError: the text contains a disallowed special token.
        """
        specials = set(self.special_tokens)
        allowed = specials if allowed_special == "all" else set(allowed_special)
        disallowed = specials - allowed if disallowed_special == "all" else set(disallowed_special)
        if disallowed and self._special_pat is not None:
            found = next(
                (m for m in self._special_pat.finditer(text) if m.group() in disallowed), None
            )
            if found is not None:
                raise ValueError(
                    f"the text contains the special token {found.group()!r}; pass "
                    f"allowed_special={{{found.group()!r}}} to encode it as a special token, or "
                    "disallowed_special=() to encode it as plain text"
                )
        if not allowed or self._special_pat is None:
            return self.encode_ordinary(text)
        ids: list[int] = []
        start = 0
        for m in self._special_pat.finditer(text):
            if m.group() not in allowed:
                continue
            ids.extend(self.encode_ordinary(text[start : m.start()]))
            ids.append(self.special_tokens[m.group()])
            start = m.end()
        ids.extend(self.encode_ordinary(text[start:]))
        return ids

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """Ids -> the raw bytes they stand for (a prefix may end inside a UTF-8 character)."""
        dec = self._decoder
        try:
            return b"".join([dec[i] for i in self._check_ids(ids)])
        except KeyError as err:
            raise ValueError(f"token id {err.args[0]} is not in the vocabulary") from None

    def decode(self, ids: Iterable[int]) -> str:
        """Ids -> text. ``decode(encode(t)) == t`` for every valid string ``t``.

        A slice of ids may cut a multi-byte UTF-8 character; its partial bytes decode to
        U+FFFD (``errors="replace"``), as in tiktoken. Use ``decode_bytes`` to keep them.
        """
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes of one token (for showing a vocabulary: ``b' the'``)."""
        return self.decode_bytes([token_id])

    @property
    def merges(self) -> dict[tuple[int, int], int]:
        """``(left id, right id) -> merged id`` for every multi-byte token, in the order learned.

        minbpe's ``merges``. tiktoken-style ranks do not store the pairs; each token's pair is
        found again by merging its bytes with the earlier merges only (for GPT-2 this gives
        back ``vocab.bpe`` line by line).
        """
        if self._merges is None:
            by_rank = sorted(self.ranks.items(), key=lambda item: item[1])
            self._merges = {self._split(t, r): r for t, r in by_rank if len(t) > 1}
        return dict(self._merges)

    def _split(self, token: bytes, rank: int) -> tuple[int, int]:
        """The two tokens whose merge made ``token`` (rank ``rank``): BPE with earlier ranks."""
        parts = [token[i : i + 1] for i in range(len(token))]
        while len(parts) > 2:
            pair_ranks = [
                self.ranks.get(a + b, rank) for a, b in zip(parts, parts[1:], strict=False)
            ]
            best = min(pair_ranks)
            if best >= rank:
                raise ValueError(f"token {token!r} cannot be built from earlier merges")
            i = pair_ranks.index(best)
            parts[i : i + 2] = [parts[i] + parts[i + 1]]
        return self.ranks[parts[0]], self.ranks[parts[1]]

    # ---------------------------------------------------------------------------- training
    def truncated(self, vocab_size: int) -> BPETokenizer:
        """The tokenizer made of this one's BPE tokens with ids below ``vocab_size``.

        BPE learns its merges greedily, one at a time, so this is the tokenizer that training
        on the same text with the smaller vocabulary learns: vocabulary sizes can be compared
        from one training run. Special tokens are not kept.

        Introduced in: Chapter 2.1 (vocabulary size and compression).
        """
        if not 256 <= vocab_size <= self.vocab_size:
            raise ValueError(
                f"vocab_size must be between 256 (the single bytes) and {self.vocab_size} (this "
                f"tokenizer's), got {vocab_size}"
            )
        return BPETokenizer(
            {b: i for b, i in self.ranks.items() if i < vocab_size}, pattern=self.pattern
        )

    @classmethod
    def train(
        cls,
        text: str,
        vocab_size: int,
        special_tokens: Sequence[str] = (ENDOFTEXT,),
        pattern: str = GPT2_PATTERN,
        min_frequency: int = 2,
        progress: bool = True,
    ) -> BPETokenizer:
        """Learn a byte-level BPE vocabulary from a text.

        Ids 0..255 are the single bytes (id = byte value); each merge adds one token; the
        special tokens take the last ids. The pair counts are updated incrementally (only
        the words containing the merged pair are touched), and the most frequent pair is
        found with a lazy max-heap, so a merge costs time proportional to the words it
        changes, not to the corpus.

        Args:
            text: training corpus.
            vocab_size: final vocabulary size including the 256 bytes and the special tokens.
            special_tokens: strings given their own ids (never produced by merges).
            pattern: pre-tokenizer regular expression (GPT-2's by default).
            min_frequency: stop early when the best pair occurs fewer times than this.
            progress: show a tqdm progress bar over merges.

        Returns:
            The trained tokenizer (``vocab_size`` may be smaller if ``min_frequency`` stops it).

        Raises:
            ValueError: ``vocab_size`` is smaller than 256 + the number of special tokens.

        Ties between equally frequent pairs go to the smallest pair of ids, so training is
        deterministic, and the merges are those of ``train_reference`` (tested).
        """
        n_merges = vocab_size - 256 - len(special_tokens)
        if n_merges < 0:
            raise ValueError(
                f"vocab_size={vocab_size} is too small: byte-level BPE needs 256 byte tokens plus "
                f"{len(special_tokens)} special token(s); pass vocab_size >= {256 + len(special_tokens)}"
            )
        pat = regex.compile(pattern)
        word_counts = Counter(pat.findall(text))
        words: list[list[int]] = [list(w.encode("utf-8")) for w in word_counts]
        freqs: list[int] = list(word_counts.values())
        vocab: list[bytes] = [bytes([b]) for b in range(256)]
        ranks: dict[bytes, int] = {b: i for i, b in enumerate(vocab)}

        pair_counts: dict[tuple[int, int], int] = defaultdict(int)
        where: dict[tuple[int, int], set[int]] = defaultdict(set)
        for wi, w in enumerate(words):
            for pair in zip(w, w[1:], strict=False):
                pair_counts[pair] += freqs[wi]
                where[pair].add(wi)
        heap = [(-c, p) for p, c in pair_counts.items()]
        heapq.heapify(heap)

        from tqdm.auto import tqdm

        bar = tqdm(total=n_merges, desc="BPE merges", disable=not progress)
        done = 0
        while done < n_merges and heap:
            neg, pair = heapq.heappop(heap)
            count = pair_counts.get(pair, 0)
            if count != -neg:  # stale heap entry: the count changed since it was pushed
                if count > 0:
                    heapq.heappush(heap, (-count, pair))
                continue
            if count < min_frequency:
                break
            merged = vocab[pair[0]] + vocab[pair[1]]
            new_id = ranks.get(merged)
            if new_id is None:  # a genuinely new token (else: same bytes via another path)
                new_id = len(vocab)
                vocab.append(merged)
                ranks[merged] = new_id
                done += 1
                bar.update(1)
            touched: dict[tuple[int, int], int] = {}
            for wi in list(where[pair]):
                w, f = words[wi], freqs[wi]
                for p in zip(w, w[1:], strict=False):
                    pair_counts[p] -= f
                    touched[p] = pair_counts[p]
                out, i = [], 0
                while i < len(w):
                    if i + 1 < len(w) and w[i] == pair[0] and w[i + 1] == pair[1]:
                        out.append(new_id)
                        i += 2
                    else:
                        out.append(w[i])
                        i += 1
                words[wi] = out
                for p in zip(out, out[1:], strict=False):
                    pair_counts[p] += f
                    touched[p] = pair_counts[p]
                    where[p].add(wi)
            for p in touched:
                c = pair_counts[p]
                if c <= 0:
                    pair_counts.pop(p, None)
                    where.pop(p, None)
                else:
                    heapq.heappush(heap, (-c, p))
            pair_counts.pop(pair, None)
            where.pop(pair, None)
        bar.close()
        specials = {s: len(vocab) + i for i, s in enumerate(special_tokens)}
        return cls(ranks, specials, pattern)

    # ------------------------------------------------------------------------------- files
    def to_dict(self) -> dict[str, Any]:
        tokens = [b"" for _ in range(len(self.ranks))]
        for b, i in self.ranks.items():
            tokens[i] = b
        return {
            "pattern": self.pattern,
            "tokens": [t.hex() for t in tokens],
            "special_tokens": self.special_tokens,
        }

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> BPETokenizer:
        """Read a tokenizer written by ``save`` (JSON: pattern, token bytes in id order, specials)."""
        payload = cls._read(path)
        try:
            ranks = {bytes.fromhex(h): i for i, h in enumerate(payload["tokens"])}
            return cls(ranks, payload["special_tokens"], payload["pattern"])
        except (KeyError, ValueError) as err:
            raise TokenizerFileError(
                f"{path} is not a valid BPE tokenizer file ({err}); save it again"
            ) from err

    # ---------------------------------------------------------------------- GPT-2 files
    @classmethod
    def from_files(
        cls, encoder_json: str | os.PathLike[str], vocab_bpe: str | os.PathLike[str]
    ) -> BPETokenizer:
        """Build GPT-2's tokenizer from its ``encoder.json`` and ``vocab.bpe``.

        ``vocab.bpe`` lists the 50,000 merges in the order they were learned; the rank of a
        token is 256 + its merge's line number, after the 256 single bytes in
        ``bytes_to_unicode`` order. ``encoder.json`` must agree with those ranks (it is the
        same vocabulary written as a dict); its extra entries are special tokens.

        Args:
            encoder_json: path to ``encoder.json`` (e.g. ``data.load("gpt2-bpe")["encoder.json"]``).
            vocab_bpe: path to ``vocab.bpe``.

        Raises:
            FileNotFoundError: a file is missing.
            TokenizerFileError: the two files disagree or are malformed.
        """
        byte_decoder = {c: b for b, c in bytes_to_unicode().items()}

        def to_bytes(token: str, where: str) -> bytes:
            try:
                return bytes(byte_decoder[c] for c in token)
            except KeyError as err:
                raise TokenizerFileError(
                    f"{where}: token {token!r} has a character outside GPT-2's byte alphabet; "
                    "is this a GPT-2 style byte-level BPE file?"
                ) from err

        with open(vocab_bpe, encoding="utf-8") as fh:
            lines = fh.read().split("\n")
        # The first 256 ranks are the single bytes in bytes_to_unicode's order.
        ranks = {bytes([b]): i for i, b in enumerate(bytes_to_unicode())}
        for lineno, line in enumerate(lines):
            if not line or (lineno == 0 and line.startswith("#version")):
                continue
            parts = line.split(" ")
            if len(parts) != 2:
                raise TokenizerFileError(
                    f"{vocab_bpe}:{lineno + 1}: expected two tokens separated by a space, got {line!r}"
                )
            merged = to_bytes(parts[0], str(vocab_bpe)) + to_bytes(parts[1], str(vocab_bpe))
            ranks[merged] = len(ranks)
        with open(encoder_json, encoding="utf-8") as fh:
            try:
                encoder = json.load(fh)
            except json.JSONDecodeError as err:
                raise TokenizerFileError(f"{encoder_json} is not valid JSON ({err})") from err
        special = {}
        for token, i in encoder.items():
            if token.startswith("<|") and token.endswith("|>"):
                special[token] = i
                continue
            b = to_bytes(token, str(encoder_json))
            if ranks.get(b) != i:
                raise TokenizerFileError(
                    f"{encoder_json} gives {token!r} id {i}, but {vocab_bpe} ranks it "
                    f"{ranks.get(b)}; the two files are not from the same tokenizer"
                )
        if len(encoder) - len(special) != len(ranks):
            raise TokenizerFileError(
                f"{encoder_json} has {len(encoder) - len(special)} tokens but {vocab_bpe} "
                f"defines {len(ranks)}; the files are truncated or do not match"
            )
        return cls(ranks, special, GPT2_PATTERN)


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from the 256 byte values to printable Unicode characters.

    ``vocab.bpe`` and ``encoder.json`` store tokens as strings of these characters (printable
    bytes map to themselves; the others, like space and control bytes, to ``chr(256 + n)``),
    which avoids whitespace and control characters inside the files.
    """
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    mapping = {b: chr(b) for b in printable}
    n = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + n)
            n += 1
    return mapping
