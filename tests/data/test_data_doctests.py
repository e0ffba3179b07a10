"""The worked examples in lmbook.data's and lmbook.tokenizers' docstrings run and are right."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "lmbook.data.batching",
    "lmbook.data.splits",
    "lmbook.data.registry",
    "lmbook.data.poetry",
    "lmbook.tokenizers.char",
    "lmbook.tokenizers.bpe",
    "lmbook.tokenizers.wordpiece",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
