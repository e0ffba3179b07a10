"""What the explorers share: ipywidgets on demand, and figures drawn into Output widgets.

Each explorer draws its initial view when it is created, so a notebook executed
with widget state stored shows a meaningful picture in the static HTML book too.
The returned widget carries its controls (``.controls``, a dict of widgets) and
its ``.refresh()`` callback, so tests can drive it without a browser: setting a
control's ``value`` redraws synchronously.

Introduced in: Chapter 2.2.
"""

from __future__ import annotations

from typing import Any

from lmbook.viz.plots import figure_png

__all__ = ["load_ipywidgets", "show_figure"]


def load_ipywidgets() -> Any:
    try:
        import ipywidgets
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the explorers need ipywidgets; install it with `pip install 'lmbook[book]'`"
        ) from err
    return ipywidgets


def show_figure(out: Any, fig: Any) -> None:
    """Replace the contents of an Output widget with ``fig`` rendered as PNG (static-HTML safe)."""
    import base64

    import matplotlib.pyplot as plt

    png = base64.b64encode(figure_png(fig)).decode("ascii")
    plt.close(fig)
    # Writing the outputs trait directly (instead of `with out:`) works with or without a
    # kernel, and the PNG is kept in the stored widget state that the HTML book renders.
    out.outputs = (
        {
            "output_type": "display_data",
            "data": {"image/png": png, "text/plain": "<Figure>"},
            "metadata": {},
        },
    )
