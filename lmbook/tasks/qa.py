"""Question answering: an extractive "who speaks this line?" set and its encoding for BERT.

No installable package ships an extractive QA set, so this module builds one
honestly from real text. A *passage* is a run of consecutive speeches from one
scene of a Shakespeare play, written as ``SPEAKER. text`` blocks. The question
quotes one line of one speech (``Who says "..."?``); the answer is the
speaker's name *as it appears in the passage*, in front of that speech, so it is
a character span of the passage exactly as in SQuAD (Rajpurkar et al. 2016).
Train and test sets come from different plays, so a model cannot pass by
remembering character names.

The SQuAD metrics live in :mod:`lmbook.metrics`, retrieval QA ("ask the book": BM25 and
dense retrieval over the book's pages) in :mod:`lmbook.tasks.retrieval`, and the "ask the
book" widget in :mod:`lmbook.viz`; their names stay importable from here.

Introduced in: Chapter 6 (6.3 question answering).
"""

from __future__ import annotations

import collections
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from lmbook.data.padding import pad_batch
from lmbook.metrics import exact_match, normalize_answer, squad_f1, squad_scores
from lmbook.tasks.retrieval import BookIndex, Chunk, book_chunks

__all__ = [
    "BookIndex",
    "Chunk",
    "QAExample",
    "ask_widget",
    "book_chunks",
    "build_speaker_qa",
    "encode_qa",
    "exact_match",
    "normalize_answer",
    "speaker_baseline",
    "squad_f1",
    "squad_scores",
]


# ----------------------------------------------------------------------------------------------
# "Who speaks this line?": building the set
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QAExample:
    """A SQuAD-style example: the answer is ``context[answer_start:answer_start+len(answer)]``."""

    id: str
    question: str
    context: str
    answer: str
    answer_start: int
    title: str = ""


def _words(text: str) -> int:
    return len(re.findall(r"[A-Za-z']+", text))


def _scenes(play: Any) -> list[list[Any]]:
    """A play's attributed speeches grouped by scene, in order."""
    scenes: list[list[Any]] = []
    key = None
    for sp in play.speeches:
        if (sp.act, sp.scene) != key:
            scenes.append([])
            key = (sp.act, sp.scene)
        if sp.speaker and sp.lines:
            scenes[-1].append(sp)
    return [s for s in scenes if s]


def build_speaker_qa(
    plays: Sequence[Any],
    n_speeches: int = 4,
    max_lines: int = 2,
    min_words: int = 5,
    seed: int = 0,
) -> list[QAExample]:
    """Build the "who speaks this line?" examples from plays.

    Each scene is cut into windows of ``n_speeches`` consecutive speeches (windows
    do not overlap); each speech keeps its first ``max_lines`` lines so passages
    stay short. A window with fewer than two different speakers is skipped (the
    question would be trivial). One line of at least ``min_words`` words that
    occurs once in the passage is quoted; the answer is the name in front of it.

    Args:
        plays: ``Play`` records from ``data.load("shakespeare-plays")`` (anything with
            ``.slug`` and ``.speeches``, each speech with ``.act``, ``.scene``,
            ``.speaker`` and ``.lines``).
        n_speeches: speeches per passage.
        max_lines: lines kept per speech.
        min_words: shortest line that may be quoted.
        seed: which speech and line are quoted (deterministic per seed).

    Returns:
        the examples, in play order; ``title`` is the play's slug.

    Example:
        A passage ``"ORLANDO. Go apart, Adam...\\nOLIVER. Now, sir! what make you here?"``
        with question ``'Who says "Now, sir! what make you here?"?'`` has answer
        ``"OLIVER"``, at the character offset of that name in the passage.
    """
    if n_speeches < 2:
        raise ValueError(f"n_speeches must be >= 2 (a passage needs a choice), got {n_speeches}")
    if max_lines < 1:
        raise ValueError(f"max_lines must be >= 1, got {max_lines}")
    rng = random.Random(seed)
    examples: list[QAExample] = []
    for play in plays:
        title = play.slug
        for s_idx, scene in enumerate(_scenes(play)):
            for w in range(0, len(scene) - n_speeches + 1, n_speeches):
                window = scene[w : w + n_speeches]
                if len({sp.speaker for sp in window}) < 2:
                    continue
                starts, parts, pos = [], [], 0
                for sp in window:
                    block = f"{sp.speaker}. " + " ".join(sp.lines[:max_lines])
                    if "\n" in block:
                        raise ValueError(f"{title}: a speech line contains a newline")
                    starts.append(pos)
                    parts.append(block)
                    pos += len(block) + 1  # + "\n"
                context = "\n".join(parts)
                candidates = [
                    (i, line)
                    for i, sp in enumerate(window)
                    for line in sp.lines[:max_lines]
                    if _words(line) >= min_words and context.count(line) == 1
                ]
                if not candidates:
                    continue
                i, line = rng.choice(candidates)
                speaker = window[i].speaker
                examples.append(
                    QAExample(
                        id=f"{title}/{s_idx}/{w}",
                        question=f'Who says "{line}"?',
                        context=context,
                        answer=speaker,
                        answer_start=starts[i],
                        title=title,
                    )
                )
    return examples


def speaker_baseline(example: QAExample, rule: str = "first", seed: int = 0) -> str:
    """A no-learning answer: a speaker name taken from the passage by a fixed rule.

    Args:
        example: the question.
        rule: "first" (the passage's first speaker), "majority" (the speaker with the
            most speeches in it; ties go to the earliest) or "random" (a speech
            chosen at random, seeded by ``seed`` and the example id).

    Returns:
        the predicted answer text.
    """
    names = [line.split(". ", 1)[0] for line in example.context.split("\n")]
    if rule == "first":
        return names[0]
    if rule == "majority":
        counts = collections.Counter(names)
        return max(names, key=lambda n: (counts[n], -names.index(n)))
    if rule == "random":
        return random.Random(f"{seed}/{example.id}").choice(names)
    raise ValueError(f"unknown rule {rule!r}; use 'first', 'majority' or 'random'")


# ----------------------------------------------------------------------------------------------
# Encoding for a BERT span model
# ----------------------------------------------------------------------------------------------


def _special_id(tokenizer: Any, token: str) -> int:
    special = getattr(tokenizer, "special_tokens", None)
    if isinstance(special, dict) and token in special:
        return int(special[token])
    for attr in ("token_to_id", "convert_tokens_to_ids"):
        fn = getattr(tokenizer, attr, None)
        if callable(fn):
            return int(fn(token))
    vocab = getattr(tokenizer, "vocab", None)
    if isinstance(vocab, dict) and token in vocab:
        return int(vocab[token])
    raise ValueError(f"cannot find the id of {token!r} in {type(tokenizer).__name__}'s vocabulary")


def _encode_plain(tokenizer: Any, text: str) -> list[int]:
    """Token ids of ``text`` without [CLS]/[SEP]."""
    try:
        return list(tokenizer.encode(text, add_special_tokens=False))
    except TypeError:
        return list(tokenizer.encode(text))


def encode_qa(
    tokenizer: Any, examples: Sequence[QAExample], max_length: int = 192
) -> tuple[dict[str, torch.Tensor], list[int]]:
    """Tokenize ``[CLS] question [SEP] passage [SEP]`` and find the answer's token span.

    The answer's token positions come from tokenizing the passage in three
    pieces (before, answer, after) and checking that the pieces put together
    give exactly the passage's tokens, so no character-offset bookkeeping can
    silently misplace a span. Passages are truncated to fit ``max_length``;
    an example whose answer would be cut off is dropped.

    Args:
        tokenizer: a ``WordPieceTokenizer`` (``encode`` without special tokens).
        examples: the questions.
        max_length: longest input in tokens (<= the model's block_size).

    Returns:
        (batch, kept) where batch has input_ids, attention_mask, token_type_ids (N, T)
        and start_positions, end_positions (N,), and kept lists the index of each row's
        example in ``examples``.
    """
    cls_id, sep_id, pad_id = (_special_id(tokenizer, t) for t in ("[CLS]", "[SEP]", "[PAD]"))
    rows, starts, ends, kept = [], [], [], []
    for n, ex in enumerate(examples):
        a0, a1 = ex.answer_start, ex.answer_start + len(ex.answer)
        if ex.context[a0:a1] != ex.answer:
            raise ValueError(f"example {ex.id}: context[answer_start:...] is not the answer")
        before = _encode_plain(tokenizer, ex.context[:a0])
        answer = _encode_plain(tokenizer, ex.answer)
        after = _encode_plain(tokenizer, ex.context[a1:])
        passage = _encode_plain(tokenizer, ex.context)
        if before + answer + after != passage:
            raise ValueError(
                f"example {ex.id}: the answer {ex.answer!r} does not fall on token boundaries "
                "of the passage; answers must be whole words"
            )
        question = _encode_plain(tokenizer, ex.question)
        budget = max_length - len(question) - 3  # [CLS] q [SEP] ... [SEP]
        if budget < 1:
            raise ValueError(f"example {ex.id}: question longer than max_length={max_length}")
        offset = len(question) + 2
        start, end = offset + len(before), offset + len(before) + len(answer) - 1
        if len(before) + len(answer) > budget:
            continue
        ids = [cls_id, *question, sep_id, *passage[:budget], sep_id]
        rows.append((ids, len(question) + 2))
        starts.append(start)
        ends.append(end)
        kept.append(n)
    if rows:  # padded to the longest kept example; segment 1 from the passage on
        input_ids, attention_mask = pad_batch([ids for ids, _ in rows], pad_id)  # (N, T)
        token_type_ids = pad_batch([[0] * q + [1] * (len(ids) - q) for ids, q in rows], 0)[0]
    else:  # no example kept
        input_ids = attention_mask = token_type_ids = torch.zeros((0, 0), dtype=torch.long)
    batch = {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "token_type_ids": token_type_ids,
        "start_positions": torch.tensor(starts, dtype=torch.long),
        "end_positions": torch.tensor(ends, dtype=torch.long),
    }
    return batch, kept


def ask_widget(index: BookIndex, k: int = 3, placeholder: str = "Ask the book a question"):
    """Moved to ``lmbook.viz.ask_widget``; this name stays for old notebooks."""
    from lmbook.viz import ask_widget as widget

    return widget(index, k=k, placeholder=placeholder)
