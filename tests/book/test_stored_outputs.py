"""Checks on the notebooks' stored outputs: what the HTML shows and what nbval compares.

These are the mechanical cases of "prose never contradicts its outputs": a stored output
must not carry the machine it ran on (install paths, ipykernel cell files), every code
cell must have run (nbval skips cells without an execution count), and no notebook's
stored run may overlap another's in time (two notebooks executed together corrupt each
other's timings; `.ci/execute.py` holds a lock so this cannot happen through `make execute`).
"""

from __future__ import annotations

import json
import re
from itertools import combinations
from pathlib import Path

import pytest
from notebook_runs import execution_interval  # tests/book/notebook_runs.py

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(
    p for p in (ROOT / "chapters").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
)

# Paths that name the machine the notebook ran on, not anything a reader has.
MACHINE_PATH = re.compile(
    r"/tmp/ipykernel_\d+|site-packages/|/\.venv/|/root/|/home/[\w.-]+/|/work/[\w.-]+/"
)


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _output_texts(cell: dict) -> list[str]:
    texts = []
    for out in cell.get("outputs", []):
        if "text" in out:
            texts.append("".join(out["text"]))
        if "traceback" in out:
            texts.append("\n".join(out["traceback"]))
        for mime in ("text/plain", "text/html", "text/markdown", "text/latex"):
            value = out.get("data", {}).get(mime)
            if value is not None:
                texts.append("".join(value))
    return texts


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 21, [str(p) for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_rel)
def test_outputs_name_no_machine_path(path):
    nb = _load(path)
    found = []
    for index, cell in enumerate(nb["cells"]):
        for text in _output_texts(cell):
            for match in MACHINE_PATH.finditer(text):
                line = text[text.rfind("\n", 0, match.start()) + 1 : text.find("\n", match.end())]
                found.append(f"cell {index}: {line.strip()[:160]}")
    assert not found, (
        f"{_rel(path)}: stored outputs show paths of the machine they ran on (a warning or a "
        "traceback); silence the warning at its source or print a relative path, then run "
        f"`make execute NOTEBOOKS={_rel(path)}`:\n" + "\n".join(found)
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_rel)
def test_every_code_cell_ran(path):
    nb = _load(path)
    unrun = [
        i
        for i, c in enumerate(nb["cells"])
        if c["cell_type"] == "code"
        and "".join(c["source"]).strip()
        and c.get("execution_count") is None
    ]
    assert not unrun, (
        f"{_rel(path)}: code cells {unrun} have no stored execution (nbval does not check them "
        f"and the page shows no output); run `make execute NOTEBOOKS={_rel(path)}`"
    )


def test_no_two_stored_runs_overlap():
    intervals = []
    for path in NOTEBOOKS:
        interval = execution_interval(_load(path))
        if interval is not None:
            intervals.append((*interval, _rel(path)))
    overlaps = [
        f"{a} and {b} ran together for {(min(a_end, b_end) - max(a_start, b_start)).total_seconds():.0f} s"
        for (a_start, a_end, a), (b_start, b_end, b) in combinations(intervals, 2)
        if a_start < b_end and b_start < a_end
    ]
    assert not overlaps, (
        "stored outputs were produced by executions that overlapped, so their timings are not "
        "quiet measurements; re-run one of each pair with `make execute NOTEBOOKS=...` "
        "(it takes a lock):\n" + "\n".join(overlaps)
    )


# --- Speed-ups: a printed speed-up must agree in direction with the times printed beside it.
_UNIT_S = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s?(ns|µs|us|ms|s)\b")
# lmbook.compute.compare's sentence: "a is 1.46x faster than b (...; medians 1.2 ms vs 1.8 ms)"
_COMPARE = re.compile(
    r"is (\d+(?:\.\d+)?)x faster than .*?IQR (\d+(?:\.\d+)?)-(\d+(?:\.\d+)?); "
    r"medians (\d+(?:\.\d+)?) ?(ns|µs|us|ms|s) vs (\d+(?:\.\d+)?) ?(ns|µs|us|ms|s)\)"
)
# lmbook.compute's BenchmarkResult.table(): "variant  median ms  speedup vs <reference>"
_TABLE_HEADER = re.compile(r"^\s*variant\s+median\s+(ns|µs|us|ms|s)\s+speedup vs (.+?)\s*$")
# Any other line: "... speed-up 1.8x" with exactly two durations, the baseline's first.
_SPEEDUP = re.compile(r"(?i)speed-?up\s*(?:of\s*)?(\d+(?:\.\d+)?)\s?x")


def _seconds(value: str, unit: str) -> float:
    return float(value) * _UNIT_S[unit]


def speedup_contradictions(text: str) -> list[str]:
    """Lines of ``text`` that print a speed-up its own times contradict (in direction)."""
    bad = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if m := _COMPARE.search(line):
            ratio, low = float(m[1]), float(m[2])
            fast, slow = _seconds(m[4], m[5]), _seconds(m[6], m[7])
            if not (ratio > 1 and low > 1 and fast < slow):
                bad.append(line.strip())
        elif m := _TABLE_HEADER.match(line):
            unit, reference = m[1], m[2]
            rows = {}
            for row in lines[i + 1 :]:
                if "no consistent difference" in row:
                    continue  # the table refused to claim a speed-up for this row
                parts = row.split()  # "<name, may hold spaces>  <median>  <speedup>x"
                try:
                    median, speedup = float(parts[-2]), float(parts[-1].removesuffix("x"))
                except (IndexError, ValueError):
                    break
                rows[" ".join(parts[:-2])] = (median, speedup)
            if reference not in rows:
                continue
            ref_median = rows[reference][0]
            for name, (median, speedup) in rows.items():
                if (speedup > 1 and median > ref_median) or (speedup < 1 and median < ref_median):
                    bad.append(
                        f"{name}: median {median} {unit} vs {reference} {ref_median}, "
                        f"speedup {speedup}x"
                    )
        elif m := _SPEEDUP.search(line):
            times = _DURATION.findall(line[: m.start()])
            if len(times) == 2:
                before, after = (_seconds(v, u) for v, u in times)
                ratio = float(m[1])
                if (ratio > 1 and after > before) or (ratio < 1 and after < before):
                    bad.append(line.strip())
    return bad


def test_speedup_check_catches_contradictions():
    assert speedup_contradictions(
        "a is 1.46x faster than b (paired median ratio over 7 rounds, IQR 1.20-1.60; "
        "medians 2.1 ms vs 1.8 ms)"
    )
    assert not speedup_contradictions(
        "a is 1.46x faster than b (paired median ratio over 7 rounds, IQR 1.20-1.60; "
        "medians 1.2 ms vs 1.8 ms)"
    )
    table = (
        "variant  median  ms  speedup vs no cache\nno cache  10.0  1.00x\nKV cache  12.0  1.46x\n"
    )
    assert speedup_contradictions(table) == [
        "KV cache: median 12.0 ms vs no cache 10.0, speedup 1.46x"
    ]
    assert not speedup_contradictions(table.replace("12.0", "7.0"))
    assert speedup_contradictions("without cache 0.11 s, with cache 0.19 s, speed-up 1.8x")
    assert not speedup_contradictions("without cache 0.19 s, with cache 0.11 s, speed-up 1.8x")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_rel)
def test_no_speedup_contradicts_its_times(path):
    nb = _load(path)
    found = [
        f"cell {index}: {line}"
        for index, cell in enumerate(nb["cells"])
        for text in _output_texts(cell)
        for line in speedup_contradictions(text)
    ]
    assert not found, (
        f"{_rel(path)}: a printed speed-up disagrees with the times printed beside it (time "
        "with lmbook.compute.compare / benchmark(...).table(), which refuse such claims):\n"
        + "\n".join(found)
    )
