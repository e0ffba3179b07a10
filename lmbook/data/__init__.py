"""Datasets and weights, offline and checksummed; splits and batching.

``load(name)`` returns a registered dataset (text, records or paths), ``available()``
lists them, ``path(name)`` gives the verified file or directory. Splits and batches for
the book's objectives live here too.

Introduced in: Chapter 1.
"""

from lmbook.data.batching import LMBlocks, get_batch, mlm_batch, pair_batch
from lmbook.data.errors import (
    ChecksumError,
    DataError,
    DownloadNotAllowedError,
    MissingSourceError,
    UnknownDatasetError,
)
from lmbook.data.padding import pad_batch
from lmbook.data.poetry import Poem
from lmbook.data.registry import REGISTRY, available, cache_dir, load, path, verify
from lmbook.data.shakespeare import Play, Speech
from lmbook.data.splits import shuffled_split, train_val_split

__all__ = [
    "REGISTRY",
    "ChecksumError",
    "DataError",
    "DownloadNotAllowedError",
    "LMBlocks",
    "MissingSourceError",
    "Play",
    "Poem",
    "Speech",
    "UnknownDatasetError",
    "available",
    "cache_dir",
    "get_batch",
    "load",
    "mlm_batch",
    "pad_batch",
    "pair_batch",
    "path",
    "shuffled_split",
    "train_val_split",
    "verify",
]
