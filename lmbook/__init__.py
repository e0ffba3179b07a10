"""lmbook: the companion package of the lmbook textbook on large language models.

Modules are named by concept, not by chapter; the book's "Package map" page
(chapters/../api) lists which chapter introduces each module.

Subpackages load on first use (``lmbook.models``, ``lmbook.data``, ...), so
``import lmbook`` stays fast and a notebook pays only for what it uses.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = (
    "compute",
    "data",
    "device",
    "embeddings",
    "env",
    "generation",
    "hf",
    "io",
    "metrics",
    "models",
    "nn",
    "stats",
    "tasks",
    "tokenizers",
    "train",
    "utils",
    "viz",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'lmbook' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
