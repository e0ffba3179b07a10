"""Applications built from lmbook's models: summarization, translation, question answering,
retrieval.

Each module holds the data preparation, baselines and decoding a task needs, so the
book's Chapter 6 notebooks only call them.

Introduced in: Chapter 6.
"""

from __future__ import annotations

import importlib
from typing import Any

_SUBMODULES = (
    "book_questions",
    "fill_mask",
    "qa",
    "retrieval",
    "sentence_embedding",
    "summarize",
    "text_classification",
    "translation",
)
__all__ = list(_SUBMODULES)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'lmbook.tasks' has no attribute {name!r}")
