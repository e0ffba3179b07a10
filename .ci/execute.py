"""Execute notebooks in place on the CPU profile and store their outputs and widget state.

Usage: python .ci/execute.py [NOTEBOOK ...]   (default: every chapters/**/*.ipynb)

This is what `make execute` runs. The stored outputs are what the HTML book shows
and what nbval compares (cells tagged `nbval-check-output`). A failing cell stops
with the notebook name, the cell number and the error, and exits non-zero.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_PER_CELL_S = 600


def execute(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=TIMEOUT_PER_CELL_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as err:
        failing = next(
            (
                i
                for i, c in enumerate(nb.cells)
                if c.cell_type == "code"
                and any(o.get("output_type") == "error" for o in c.get("outputs", []))
            ),
            None,
        )
        print(
            f"FAILED: {path.relative_to(ROOT)} (code cell index {failing}):\n{err}", file=sys.stderr
        )
        raise SystemExit(1) from None
    elapsed = time.perf_counter() - start
    nbformat.write(nb, path)
    return elapsed


def main(argv: list[str]) -> None:
    os.environ.setdefault("LMBOOK_PROFILE", "cpu")
    os.environ.setdefault("TQDM_DISABLE", "1")
    paths = [Path(a).resolve() for a in argv] or sorted((ROOT / "chapters").rglob("*.ipynb"))
    paths = [p for p in paths if ".ipynb_checkpoints" not in p.parts]
    total = 0.0
    for path in paths:
        elapsed = execute(path)
        total += elapsed
        print(f"{elapsed:7.1f} s  {path.relative_to(ROOT)}", flush=True)
    print(f"{total:7.1f} s  total for {len(paths)} notebooks")


if __name__ == "__main__":
    main(sys.argv[1:])
