"""lmbook.utils: the book prints the installed source through show_source."""

from __future__ import annotations

import inspect

import pytest

from lmbook import utils
from lmbook.tokenizers.bpe import merge


def test_source_of_is_the_installed_source():
    src = utils.source_of(merge)
    assert src.startswith("def merge(ids")
    assert src == inspect.getsource(merge)
    method = utils.source_of(utils.source_of)  # a function: dedented, runs as shown
    namespace: dict = {}
    exec(compile(method, "<shown>", "exec"), {**vars(utils)}, namespace)
    assert namespace["source_of"](merge) == src


def test_source_of_dedents_methods():
    from lmbook.compute import BenchmarkResult

    assert utils.source_of(BenchmarkResult.median).startswith("def median(self")


def test_source_of_refuses_objects_without_python_source():
    with pytest.raises(TypeError, match="no Python source"):
        utils.source_of(len)


def test_show_source_prints_file_line_and_code(capsys):
    utils.show_source(merge)
    out = capsys.readouterr().out.splitlines()
    start = inspect.getsourcelines(merge)[1]
    assert out[0] == f"# lmbook/tokenizers/bpe.py, line {start}"
    assert out[1:] == utils.source_of(merge).splitlines()


def test_show_source_line_range(capsys):
    utils.show_source(merge, lines=(2, 4))
    out = capsys.readouterr().out.splitlines()
    start = inspect.getsourcelines(merge)[1]
    assert out[0] == f"# lmbook/tokenizers/bpe.py, line {start + 1}"
    assert out[1:] == utils.source_of(merge).splitlines()[1:4]
    with pytest.raises(ValueError, match="first <= last"):
        utils.show_source(merge, lines=(3, 2))
    with pytest.raises(ValueError, match="1 <= first"):
        utils.show_source(merge, lines=(0, 2))


def test_show_source_of_a_decorated_method_names_its_own_file(capsys):
    # GPT.generate is wrapped by @torch.no_grad(): the header must name gpt.py, not torch's
    # wrapper, and no path of this machine's install.
    from lmbook.models import GPT

    utils.show_source(GPT.generate)
    header, first = capsys.readouterr().out.splitlines()[:2]
    assert header.startswith("# lmbook/models/gpt.py, line ")
    assert first.strip() == "@torch.no_grad()" or first.lstrip().startswith("def generate(")
