"""The "ask the book" widget: a text box over a retrieval index.

Introduced in: Chapter 6 (6.3 question answering).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["ask_widget"]


def _format_hits(hits: Iterable[tuple[float, Any]]) -> str:
    out = []
    for score, chunk in hits:
        out.append(f"[{score:.2f}] {chunk.source} — {chunk.heading}\n    {chunk.text[:400]}")
    return "\n\n".join(out)


def ask_widget(index: Any, k: int = 3, placeholder: str = "Ask the book a question"):
    """A small "ask the book" widget: a text box; pressing Enter shows the top-k passages.

    Args:
        index: anything with ``search(question, k) -> [(score, chunk)]`` whose chunks have
            ``source``, ``heading`` and ``text`` (``lmbook.tasks.retrieval.BookIndex``).
        k: passages shown per question.
        placeholder: the empty text box's hint.

    Returns:
        an ``ipywidgets.VBox`` (display it as a cell's last expression).

    Introduced in: Chapter 6 (6.3 question answering).
    """
    try:
        import ipywidgets as widgets
    except ImportError as err:
        raise ImportError("ask_widget needs ipywidgets: pip install 'lmbook[book]'") from err
    box = widgets.Text(placeholder=placeholder, layout=widgets.Layout(width="90%"))
    button = widgets.Button(description="Ask")
    out = widgets.Output()

    def answer(_: Any = None) -> None:
        out.clear_output()
        with out:
            if box.value.strip():
                print(_format_hits(index.search(box.value, k=k)))

    box.continuous_update = False
    box.observe(lambda change: answer() if change["name"] == "value" else None, names="value")
    button.on_click(answer)
    return widgets.VBox([widgets.HBox([box, button]), out])
