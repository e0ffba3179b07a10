"""Small helpers for the book's notebooks.

Introduced in: Chapter 1 (the setup cell) and used by every chapter.
"""

from __future__ import annotations

import inspect
import textwrap
from typing import Any

__all__ = ["show_source", "source_of"]


def source_of(obj: Any) -> str:
    """Return the installed source code of a function, class or method.

    The book shows package code through this helper instead of copying it into
    notebooks, so the page always shows exactly what runs.

    Raises:
        TypeError: ``obj`` has no Python source (a builtin or a C extension).
    """
    try:
        source = inspect.getsource(obj)
    except (OSError, TypeError) as err:
        raise TypeError(
            f"no Python source is available for {obj!r}; pass a function, class or method "
            "defined in Python (builtins and C extensions have none)"
        ) from err
    return textwrap.dedent(source)


def show_source(obj: Any, *, lines: tuple[int, int] | None = None) -> None:
    """Print the installed source of ``obj``, prefixed with the file and line it comes from.

    Args:
        obj: a function, class or method.
        lines: optional (first, last) 1-based line range within the object's source,
            to show only part of a long class.
    """
    # A decorated function (``@torch.no_grad()``) is a wrapper defined in torch: show the
    # function it wraps, from its own file.
    obj = inspect.unwrap(obj)
    source = source_of(obj).splitlines()
    file = inspect.getsourcefile(obj) or "?"
    start = inspect.getsourcelines(obj)[1]
    if lines is not None:
        first, last = lines
        if not (1 <= first <= last):
            raise ValueError(f"lines must satisfy 1 <= first <= last, got {lines}")
        source = source[first - 1 : last]
        start += first - 1
    # Name the file relative to the package, never by this machine's install path.
    if "/lmbook/" in file:
        where = "lmbook/" + file.rsplit("/lmbook/", 1)[-1]
    else:
        where = file.rsplit("site-packages/", 1)[-1]
    print(f"# {where}, line {start}")
    print("\n".join(source))
