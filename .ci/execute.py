"""Execute notebooks in place on the CPU profile and store their outputs and widget state.

Usage: python .ci/execute.py [NOTEBOOK ...]   (default: every chapters/**/*.ipynb)

This is what `make execute` runs. The stored outputs are what the HTML book shows
and what nbval compares (cells tagged `nbval-check-output`). A failing cell stops
with the notebook name, the cell number and the error, and exits non-zero.

Stored timings must come from a quiet machine, so executions never overlap: each one
holds an exclusive lock (``/tmp/lmbook-execute.lock``; a second `make execute` waits
for the first). The notebook's metadata records how it was run (``metadata.lmbook.
execution``: CPU model, torch threads, load average before and after, wall and CPU
seconds), and a warning is printed when the machine was busy, so a reader of the stored
outputs can tell a quiet run from a loaded one.
"""

from __future__ import annotations

import fcntl
import os
import resource
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from lmbook.env import cpu_model

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_PER_CELL_S = 600
LOCK_PATH = Path(os.environ.get("LMBOOK_EXECUTE_LOCK", "/tmp/lmbook-execute.lock"))
# A load average above this many runnable processes per core means another job competed
# with the notebook for the CPU: its stored timings are then not a quiet measurement.
BUSY_LOAD_PER_CORE = 0.75


@contextmanager
def exclusive_execution():
    """Hold the machine-wide execution lock; wait (and say so) while another run holds it."""
    LOCK_PATH.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK_PATH, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another notebook execution to finish ({LOCK_PATH})", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def execute(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=TIMEOUT_PER_CELL_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
    )
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    load_before = os.getloadavg()[0]
    cpu_before = children_cpu_s()
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
        print(f"FAILED: {_name(path)} (code cell index {failing}):\n{err}", file=sys.stderr)
        raise SystemExit(1) from None
    elapsed = time.perf_counter() - start
    # The kernel is a child process, reaped at shutdown: its CPU time is ours to read now.
    cpu_s = children_cpu_s() - cpu_before
    load_after = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    record = {
        "started": started,
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu_model(),  # name, cores and vector extensions (avx2, amx_bf16, ...)
        "cores": cores,
        "torch_threads": os.environ.get("OMP_NUM_THREADS", "default"),
        "load_before": round(load_before, 2),
        "load_after": round(load_after, 2),
        "wall_s": round(elapsed, 1),
        "kernel_cpu_s": round(cpu_s, 1),
    }
    nb.metadata.setdefault("lmbook", {})["execution"] = record
    nbformat.write(nb, path)
    busy = BUSY_LOAD_PER_CORE * cores
    if max(load_before, load_after) > busy + 1:  # +1: the notebook's own kernel
        print(
            f"WARNING: {_name(path)} ran on a busy machine (load average "
            f"{load_before:.1f} before, {load_after:.1f} after, {cores} cores): its stored "
            "timings are not a quiet measurement; re-run it when the machine is idle",
            file=sys.stderr,
        )
    return elapsed


def main(argv: list[str]) -> None:
    os.environ.setdefault("LMBOOK_PROFILE", "cpu")
    os.environ.setdefault("TQDM_DISABLE", "1")
    # The kernel must draw with Jupyter's inline backend, which stores each figure as a PNG
    # output. `make` exports MPLBACKEND=Agg (for tests and scripts); inherited by the kernel it
    # makes plt.show() draw nothing, and the stored notebook silently loses its figures.
    os.environ.pop("MPLBACKEND", None)
    paths = [Path(a).resolve() for a in argv] or sorted((ROOT / "chapters").rglob("*.ipynb"))
    paths = [p for p in paths if ".ipynb_checkpoints" not in p.parts]
    total = 0.0
    for path in paths:
        with exclusive_execution():
            elapsed = execute(path)
        total += elapsed
        print(f"{elapsed:7.1f} s  {_name(path)}", flush=True)
    print(f"{total:7.1f} s  total for {len(paths)} notebooks")


if __name__ == "__main__":
    main(sys.argv[1:])
