"""What a notebook's stored run recorded: when its cells ran and how much CPU it took.

`.ci/execute.py` writes ``metadata.lmbook.execution`` (``kernel_cpu_s``, ``started``,
``finished``) and the kernel stamps every code cell (``metadata.execution``). Read by the
root ``conftest.py`` (notebooks are scheduled slowest first and their times reported) and by
``test_stored_outputs.py`` (no two stored runs overlap). A plain module, not a test file.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path


def load_notebook(path: str | Path) -> dict | None:
    """The notebook's JSON, or None when it cannot be read."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def execution_interval(nb: dict) -> tuple[datetime, datetime] | None:
    """When the stored outputs were produced: first cell's start to last cell's reply."""
    stamps = [
        c["metadata"]["execution"]
        for c in nb.get("cells", [])
        if c.get("cell_type") == "code" and "execution" in c.get("metadata", {})
    ]
    if not stamps:
        return None
    return _time(stamps[0]["iopub.execute_input"]), _time(stamps[-1]["shell.execute_reply"])


def stored_cpu_seconds(nb: dict) -> float | None:
    """CPU seconds of the stored run (its wall span when older than the CPU record)."""
    record = nb.get("metadata", {}).get("lmbook", {}).get("execution")
    if record and "kernel_cpu_s" in record:
        return float(record["kernel_cpu_s"])
    interval = execution_interval(nb)
    return None if interval is None else (interval[1] - interval[0]).total_seconds()
