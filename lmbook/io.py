"""Files that are never half-written, and checkpoints that never run pickled code.

- :func:`atomic_write` writes to a temporary file in the same directory, flushes and fsyncs
  it, then renames it over the target (``os.replace`` is atomic on POSIX and Windows). A
  crash leaves either the old file or the new one, never a truncated mix.
- :func:`safe_torch_load` reads a ``torch.save`` file with ``weights_only=True``: tensors and
  plain containers only, so a malicious pickle cannot execute code.
- :class:`CheckpointError` is the one error type for every unusable checkpoint (corrupt,
  truncated, unsafe, or not matching its config), used by ``lmbook.hf`` and ``lmbook.train``.

Introduced in: Chapter 5.2 (checkpoint and resume).
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import torch

__all__ = [
    "CheckpointError",
    "atomic_path",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "fsync_dir",
    "safe_torch_load",
]


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: corrupt, truncated, unsafe or not matching its config."""


def fsync_dir(path: str | os.PathLike) -> None:
    """Flush a directory entry to disk, so a rename inside it survives a power loss."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open directories; rename is still atomic there
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is fsynced and renamed to ``path``.

    For writers that take a file name (``safetensors.torch.save_file``, ``np.savez``). If the
    block raises, the temporary file is removed and ``path`` is left as it was.

    Example:
        >>> with atomic_path("model.safetensors") as tmp:
        ...     save_file(tensors, tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    fsync_dir(path.parent)


@contextmanager
def atomic_write(
    path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8"
) -> Iterator[IO[Any]]:
    """Open a temporary file for writing; on success it replaces ``path`` atomically.

    Args:
        path: the file to (over)write; its directory is created if missing.
        mode: "w" (text) or "wb" (bytes).
        encoding: text encoding (ignored in binary mode).

    Example:
        >>> with atomic_write("vocab.json") as f:
        ...     json.dump(vocab, f)
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', got {mode!r}")
    with atomic_path(path) as tmp:
        enc = None if "b" in mode else encoding
        with open(tmp, mode, encoding=enc) as f:
            yield f
            f.flush()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path, "wb") as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_write(path, "w", encoding=encoding) as f:
        f.write(text)


def atomic_write_json(path: str | os.PathLike, obj: Any, **dump_kwargs: Any) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (``dump_kwargs`` go to ``json.dump``)."""
    with atomic_write(path, "w") as f:
        json.dump(obj, f, **dump_kwargs)


def safe_torch_load(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Any:
    """``torch.load(path, weights_only=True)`` with errors that say what is wrong.

    Only tensors and plain containers (dict, list, tuple, numbers, strings) are accepted:
    a file holding pickled objects is refused, never executed.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: the file holds other objects, or is truncated or corrupt.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file {path} not found")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise CheckpointError(
            f"{path} contains objects other than plain tensors and containers, which lmbook "
            f"refuses to unpickle because unpickling can run arbitrary code ({e}); re-save it "
            "with torch.save(model.state_dict(), path) or as safetensors"
        ) from e
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        raise CheckpointError(
            f"{path} is corrupt or truncated ({type(e).__name__}: {e}); re-download or re-save it"
        ) from e
