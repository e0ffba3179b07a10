"""Sphinx extension: the Chinese search index, built in linear time.

The book's search language is ``zh`` (jieba splits the Chinese of the outline's titles and
glossary). Sphinx 7.4's ``SearchChinese`` keeps every Latin word it has seen in a *list*
and checks each word it stems against that list, so indexing a page costs time in proportion
to all the pages indexed before it: 34 s of a 102 s build of this book went into that
membership test (cProfile, ``sphinx/search/zh.py: stem``). This subclass keeps the same words
in a set, so the index it writes is the same and the check is O(1).
"""

from __future__ import annotations

from sphinx.application import Sphinx
from sphinx.search.zh import SearchChinese


class SearchChineseSet(SearchChinese):
    """``SearchChinese`` with its Latin terms in a set (same split, same stems)."""

    def init(self, options: dict[str, str]) -> None:
        super().init(options)
        self.latin_terms: list[str] = []  # this instance's own (the base class shares one)
        self.latin_term_set: set[str] = set()

    def split(self, input: str) -> list[str]:
        words = super().split(input)
        self.latin_term_set.update(self.latin_terms)
        self.latin_terms.clear()  # the base class appends to it; keep it from growing
        return words

    def stem(self, word: str) -> str:
        # Sphinx's rule: a Latin term of 3+ letters that stemming would cut below 3 stays whole.
        stemmed = self.stemmer.stemWord(word.lower())
        if word in self.latin_term_set and len(word) >= 3 and len(stemmed) < 3:
            return word.lower()
        return stemmed


def setup(app: Sphinx) -> dict:
    app.add_search_language(SearchChineseSet)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
