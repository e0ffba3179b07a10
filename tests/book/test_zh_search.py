"""The book's Chinese search language (_ext/zh_search.py) indexes exactly as Sphinx's does."""

from __future__ import annotations

import sys
from pathlib import Path

from sphinx.search.zh import SearchChinese

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "_ext"))
from zh_search import SearchChineseSet  # noqa: E402

PAGES = [
    "Self-attention (自注意力机制) lets every token look at all others; GPT uses a causal mask.",
    "BERT is an encoder: masked language modelling predicts 15% of the tokens. LLM, KV, ppl.",
    "The KV cache keeps keys and values. 语言模型 predicts the next token; its loss is in nats.",
]


def test_same_words_and_same_stems_as_sphinx():
    ours, theirs = SearchChineseSet({}), SearchChinese({})
    for page in PAGES:
        words = ours.split(page)
        assert words == theirs.split(page)
        assert [ours.stem(w) for w in words] == [theirs.stem(w) for w in words]
    # the rule that differs by membership: a short Latin term seen before stays whole
    assert ours.stem("ppl") == theirs.stem("ppl")
    assert not ours.latin_terms  # the list the base class appends to does not grow
