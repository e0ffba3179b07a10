"""Interactive explorers (ipywidgets) for attention, sampling and word embeddings.

One module per explorer: :mod:`lmbook.viz.attention`, :mod:`lmbook.viz.sampling`,
:mod:`lmbook.viz.embeddings` (shared helpers in :mod:`lmbook.viz.widgets`). This module
gathers them under their first home's name, ``lmbook.viz.explorers``.

Introduced in: Chapter 2.2 (attention), 3.2 (sampling), 4.1 (embeddings).
"""

from lmbook.viz.attention import attention_explorer, attention_maps, token_strings
from lmbook.viz.embeddings import embedding_explorer, nearest_neighbours
from lmbook.viz.sampling import next_token_distribution, sampling_explorer

__all__ = [
    "attention_explorer",
    "attention_maps",
    "embedding_explorer",
    "nearest_neighbours",
    "next_token_distribution",
    "sampling_explorer",
    "token_strings",
]
