"""Machine translation data and a word-by-word baseline.

The book trains lmbook's ``Seq2SeqTransformer`` (Vaswani et al. 2017) on
parallel EN-FR Bible verses (KJV and Segond, both public domain). This module
prepares those pairs (word tokenization, length filter, de-duplication, padded id
tensors) and gives the two baselines every neural system should beat: translate each
word on its own with a bilingual dictionary learned from alignment counts by IBM
Model 1 (Brown et al. 1993), the expectation-maximisation aligner that statistical MT
started from; and *retrieval*: answer with the French of the most similar training
sentence (BM25 over the English side), the translation-memory baseline.

Introduced in: Chapter 6 (6.2 machine translation).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
import torch

from lmbook.data.padding import pad_batch

__all__ = [
    "RetrievalTranslator",
    "WordByWordTranslator",
    "decode_output",
    "dedupe_pairs",
    "detokenize",
    "encode_pairs",
    "filter_pairs",
    "word_tokenize",
]

# words (letters incl. accents, with an elided apostrophe kept on the left: "l'", "qu'"),
# numbers, or single punctuation marks
_WORD = re.compile(r"[^\W\d_]+['’]?|\d+|[^\w\s]", re.UNICODE)


def word_tokenize(text: str, lowercase: bool = True) -> list[str]:
    """Split text into words and punctuation; French elisions stay on the left ("l'", "homme").

    Example:
        >>> word_tokenize("L'Éternel parla à Moïse, et dit:")
        ["l'", 'éternel', 'parla', 'à', 'moïse', ',', 'et', 'dit', ':']
    """
    if lowercase:
        text = text.lower()
    return _WORD.findall(text)


def detokenize(words: Sequence[str]) -> str:
    """Join words back into text: no space before punctuation or after an elision."""
    out = ""
    for w in words:
        if not out:
            out = w
        elif re.fullmatch(r"[.,;:!?)\]]", w) or out.endswith(("'", "’", "(", "[")):
            out += w
        else:
            out += " " + w
    return out


def filter_pairs(
    pairs: Sequence[tuple[str, str]], max_words: int = 16, min_words: int = 1
) -> list[tuple[str, str]]:
    """Keep the pairs whose two sides both have between min_words and max_words words.

    Short pairs train fast and let a small model learn something in minutes.
    Empty or whitespace-only sides are always dropped.
    """
    if max_words < min_words:
        raise ValueError(f"max_words ({max_words}) must be >= min_words ({min_words})")
    kept = []
    for src, tgt in pairs:
        n_src, n_tgt = len(word_tokenize(src)), len(word_tokenize(tgt))
        if min(n_src, n_tgt) >= max(min_words, 1) and max(n_src, n_tgt) <= max_words:
            kept.append((src, tgt))
    return kept


def dedupe_pairs(pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Keep the first pair for each source text (whitespace-normalised), in order.

    Repeated verses ("And the LORD spake unto Moses, saying,") would otherwise land on both
    sides of a train/test split, and a test sentence seen in training measures memory, not
    translation. De-duplicate *before* splitting.
    """
    seen: set[str] = set()
    kept = []
    for src, tgt in pairs:
        key = " ".join(src.split())
        if key not in seen:
            seen.add(key)
            kept.append((src, tgt))
    return kept


def encode_pairs(
    encode: Callable[[str], list[int]],
    pairs: Sequence[tuple[str, str]],
    bos_id: int,
    eos_id: int,
    pad_id: int,
    max_len: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Token-id tensors for (source, target) pairs, right-padded.

    The source is ``tokens + [eos]``; the target is ``[bos] + tokens + [eos]`` (the
    decoder reads target[:, :-1] and predicts target[:, 1:]).

    Args:
        encode: the tokenizer's ``encode`` (one shared BPE for both languages).
        pairs: (source text, target text).
        bos_id, eos_id, pad_id: special ids of the tokenizer.
        max_len: longest sequence kept (including specials); longer pairs raise,
            so filter them first.

    Returns:
        src (N, S) and tgt (N, T) long tensors padded with pad_id.
    """
    if not pairs:
        raise ValueError("no pairs to encode")
    srcs, tgts = [], []
    for n, (s, t) in enumerate(pairs):
        src, tgt = [*encode(s), eos_id], [bos_id, *encode(t), eos_id]
        if max_len is not None and max(len(src), len(tgt)) > max_len:
            raise ValueError(
                f"pair {n} has {len(src)} source / {len(tgt)} target tokens, more than "
                f"max_len={max_len}; filter long pairs first (filter_pairs)"
            )
        srcs.append(src)
        tgts.append(tgt)

    return pad_batch(srcs, pad_id)[0], pad_batch(tgts, pad_id)[0]


def decode_output(
    decode: Callable[[list[int]], str], ids: Sequence[int] | torch.Tensor, bos_id: int, eos_id: int
) -> str:
    """Text of one decoder output row: drop a leading BOS, stop at the first EOS.

    Args:
        decode: the tokenizer's ``decode``.
        ids: one row of ``greedy_decode`` / ``beam_search`` output (BOS, tokens, EOS, EOS...).
        bos_id, eos_id: the special ids.
    """
    row = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
    if row and row[0] == bos_id:
        row = row[1:]
    if eos_id in row:
        row = row[: row.index(eos_id)]
    return decode(row)


class WordByWordTranslator:
    """Translate word by word with a dictionary learned by IBM Model 1.

    IBM Model 1 assumes each target word f was generated by one source word e
    (or by NULL), chosen uniformly, with probability t(f | e). EM estimates t from
    sentence pairs alone: the E-step shares each f among the source words of its
    sentence in proportion to t(f | e); the M-step renormalises those expected
    counts. The dictionary maps e to argmax_f t(f | e); unknown words are copied
    (names often are the same in both languages).

    Args:
        iterations: EM iterations (5 is the classic choice; it converges quickly).
        lowercase: lowercase words before counting. The output is then lowercase too,
            which case-sensitive BLEU counts as wrong ("éternel" vs "Éternel"): compare
            systems with ``lowercase=False``, or score every system case-insensitively.

    Example:
        >>> m = WordByWordTranslator().fit([("the house", "la maison"), ("the car", "la voiture")])
        >>> m.translate("the house")
        'la maison'
    """

    NULL = "<null>"

    def __init__(self, iterations: int = 5, lowercase: bool = True) -> None:
        if iterations < 1:
            raise ValueError(f"iterations must be >= 1, got {iterations}")
        self.iterations = iterations
        self.lowercase = lowercase
        self.dictionary: dict[str, str] = {}
        self.log_likelihoods: list[float] = []

    def fit(self, pairs: Sequence[tuple[str, str]]) -> WordByWordTranslator:
        """Estimate t(f | e) on (source, target) sentence pairs and build the dictionary."""
        if not pairs:
            raise ValueError("fit needs at least one (source, target) pair")
        src_vocab: dict[str, int] = {self.NULL: 0}
        tgt_vocab: dict[str, int] = {}
        e_ids, f_ids, f_pos = [], [], []  # one row per (target word, candidate source word)
        n_f = 0
        for src, tgt in pairs:
            es = [0] + [src_vocab.setdefault(w, len(src_vocab)) for w in self._words(src)]
            for w in self._words(tgt):
                f = tgt_vocab.setdefault(w, len(tgt_vocab))
                e_ids.extend(es)
                f_ids.extend([f] * len(es))
                f_pos.extend([n_f] * len(es))
                n_f += 1
        e_arr, f_arr, pos = np.array(e_ids), np.array(f_ids), np.array(f_pos)
        V_f = len(tgt_vocab)
        # one parameter t(f|e) per co-occurring (e, f): the only ones EM can make non-zero
        keys, inv = np.unique(e_arr * V_f + f_arr, return_inverse=True)
        key_e = keys // V_f
        t = np.full(len(keys), 1.0 / V_f)  # uniform start
        self.log_likelihoods = []
        for _ in range(self.iterations):
            p = t[inv]  # t(f|e) for every candidate
            denom = np.bincount(pos, weights=p, minlength=n_f)  # sum over e for each f
            self.log_likelihoods.append(float(np.log(denom).sum()))
            counts = np.bincount(inv, weights=p / denom[pos], minlength=len(keys))  # E-step
            totals = np.bincount(key_e, weights=counts, minlength=len(src_vocab))
            t = counts / totals[key_e]  # M-step
        # dictionary: best f for every e (sort by e, then by t descending; take the first)
        order = np.lexsort((-t, key_e))
        first = np.ones(len(order), dtype=bool)
        first[1:] = key_e[order][1:] != key_e[order][:-1]
        id_to_e = {i: w for w, i in src_vocab.items()}
        id_to_f = {i: w for w, i in tgt_vocab.items()}
        self.dictionary = {
            id_to_e[int(key_e[k])]: id_to_f[int(keys[k] % V_f)]
            for k in order[first]
            if key_e[k] != 0
        }
        return self

    def _words(self, text: str) -> list[str]:
        return word_tokenize(text, lowercase=self.lowercase)

    def translate(self, text: str) -> str:
        """Replace each word by its dictionary entry (unknown words are copied)."""
        if not self.dictionary:
            raise ValueError("the translator is not fitted; call fit(pairs) first")
        return detokenize([self.dictionary.get(w, w) for w in self._words(text)])


class RetrievalTranslator:
    """Translation memory: answer with the target side of the most similar training pair.

    The source sentence is looked up with BM25 (``lmbook.tasks.retrieval.BM25``) among
    the training sources; its stored translation is returned unchanged. In a corpus full
    of formulas (Bible verses, legal text, software strings) this baseline is strong, and a
    neural model that does not beat it has learnt less than a lookup table.

    Args:
        pairs: (source, target) training pairs.
        k1, b: BM25 parameters.

    Example:
        >>> m = RetrievalTranslator([("the house", "la maison"), ("the car", "la voiture")])
        >>> m.translate("a red car")
        'la voiture'
    """

    def __init__(self, pairs: Sequence[tuple[str, str]], k1: float = 1.5, b: float = 0.75):
        from lmbook.tasks.retrieval import BM25

        if not pairs:
            raise ValueError("RetrievalTranslator needs at least one (source, target) pair")
        self.pairs = list(pairs)
        self.index = BM25([src for src, _ in self.pairs], k1=k1, b=b, tokenize=_keywords)

    def translate(self, text: str) -> str:
        """The target side of the training pair whose source is most similar to ``text``."""
        _, i = self.index.search(text, k=1)[0]
        return self.pairs[i][1]


def _keywords(text: str) -> list[str]:
    # all lowercased words and numbers, function words included: they are the formulas
    return [w for w in word_tokenize(text) if w[0].isalnum()]
