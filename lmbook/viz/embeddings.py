"""Embedding explorer: nearest neighbours by cosine and a 2-D PCA map of word vectors.

Introduced in: Chapter 4.1.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lmbook.viz.plots import _to_numpy, pca_2d, plot_embeddings_2d
from lmbook.viz.widgets import load_ipywidgets, show_figure

__all__ = ["embedding_explorer", "nearest_neighbours"]


def nearest_neighbours(
    vocab: Sequence[str], vectors: Any, word: str, k: int = 10
) -> list[tuple[str, float]]:
    """The ``k`` words with the highest cosine similarity to ``word`` (the word itself excluded).

    Args:
        vocab: V words, row i of ``vectors`` is the vector of ``vocab[i]``.
        vectors: (V, D) array or tensor.
        word: the query word.
        k: number of neighbours.

    Returns:
        List of (word, cosine) pairs, most similar first.

    Introduced in: Chapter 4.1.
    """
    vocab = list(vocab)
    index = {w: i for i, w in enumerate(vocab)}
    if word not in index:
        raise ValueError(f"{word!r} is not in the vocabulary of {len(vocab)} words; pick another")
    x = _to_numpy(vectors).astype(np.float32)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-8)
    sims = x @ x[index[word]]
    sims[index[word]] = -np.inf
    order = np.argsort(-sims, kind="stable")[:k]
    return [(vocab[i], float(sims[i])) for i in order]


def embedding_explorer(
    vocab: Sequence[str] | Mapping[str, int],
    vectors: Any,
    word: str | None = None,
    k: int = 10,
    n_points: int = 400,
) -> Any:
    """Widget: the vectors projected to 2-D (PCA); pick a word, see its nearest neighbours.

    Neighbours are computed by cosine similarity in the full D-dimensional space; the
    2-D projection (of the ``n_points`` first words, plus the neighbours) is only a map.

    Args:
        vocab: list of V words (row order of ``vectors``), or a dict word -> row index.
        vectors: (V, D) array or tensor.
        word: initial query word (default: the first word).
        k: number of neighbours.
        n_points: how many words the scatter shows (the first ones: most frequent first).

    Returns:
        An ``ipywidgets.VBox`` with ``.controls`` (word, k), ``.output``, ``.table`` and ``.refresh()``.

    Introduced in: Chapter 4.1.
    """
    w = load_ipywidgets()
    if isinstance(vocab, Mapping):
        words = [""] * len(vocab)
        for t, i in vocab.items():
            words[i] = t
    else:
        words = list(vocab)
    x = _to_numpy(vectors)
    if x.ndim != 2 or x.shape[0] != len(words):
        raise ValueError(f"vectors must be (V, D) with V = {len(words)} words, got {x.shape}")
    word = word if word is not None else words[0]
    if word not in set(words):
        raise ValueError(f"{word!r} is not in the vocabulary; pick one of e.g. {words[:5]}")
    shown = words[: min(n_points, len(words))]
    word_box = w.Combobox(
        value=word,
        options=shown[:2000],
        description="word",
        ensure_option=False,
        continuous_update=False,
    )
    k_box = w.IntSlider(value=k, min=1, max=30, description="neighbours", continuous_update=False)
    out = w.Output()
    table = w.HTML()
    index = {t: i for i, t in enumerate(words)}

    def refresh(*_: Any) -> None:
        q = word_box.value.strip()
        if q not in index:
            table.value = (
                f"<span style='color:#b00'>{html.escape(q)!s} is not in the vocabulary</span>"
            )
            return
        nbrs = nearest_neighbours(words, x, q, k=k_box.value)
        names = list(dict.fromkeys(shown + [q] + [n for n, _ in nbrs]))
        coords = pca_2d(x[[index[n] for n in names]])
        fig = plot_embeddings_2d(
            coords,
            names,
            highlight=[n for n, _ in nbrs],
            center=q,
            title=f"{len(names)} words, PCA to 2-D; neighbours of {q!r}",
        )
        show_figure(out, fig)
        rows = "".join(f"<tr><td>{html.escape(n)}</td><td>{s:.3f}</td></tr>" for n, s in nbrs)
        table.value = (
            f"<table><tr><th>neighbour of {html.escape(q)}</th><th>cosine</th></tr>{rows}</table>"
        )

    for c in (word_box, k_box):
        c.observe(refresh, names="value")
    refresh()
    box = w.VBox([w.HBox([word_box, k_box]), w.HBox([out, table])])
    box.controls = {"word": word_box, "k": k_box}
    box.output = out
    box.table = table
    box.refresh = refresh
    return box
