"""Plots and interactive explorers for the book.

Static plots (:mod:`lmbook.viz.plots`) return matplotlib figures; explorers
(:mod:`lmbook.viz.explorers`) are ipywidgets that draw their initial view at
creation, so the static HTML book shows it too.

Introduced in: Chapter 2 and used by every chapter.
"""

from lmbook.viz.ask import ask_widget
from lmbook.viz.explorers import (
    attention_explorer,
    attention_maps,
    embedding_explorer,
    nearest_neighbours,
    next_token_distribution,
    sampling_explorer,
    token_strings,
)
from lmbook.viz.plots import (
    figure_png,
    pca_2d,
    plot_attention,
    plot_distribution,
    plot_embeddings_2d,
    plot_history,
    plot_mask,
)

__all__ = [
    "ask_widget",
    "attention_explorer",
    "attention_maps",
    "embedding_explorer",
    "figure_png",
    "nearest_neighbours",
    "next_token_distribution",
    "pca_2d",
    "plot_attention",
    "plot_distribution",
    "plot_embeddings_2d",
    "plot_history",
    "plot_mask",
    "sampling_explorer",
    "token_strings",
]
