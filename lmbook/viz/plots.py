"""Static plots used across the book: loss curves, attention maps, masks, distributions, embeddings.

Every function draws with matplotlib and returns the ``Figure`` it drew on, so a
notebook can ``plt.show()`` it and a test can inspect it without a display.
Each takes an optional ``ax`` to draw into an existing grid of subplots.

Introduced in: Chapter 2 (attention maps, masks) and used by every chapter.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "figure_png",
    "pca_2d",
    "plot_attention",
    "plot_distribution",
    "plot_embeddings_2d",
    "plot_history",
    "plot_mask",
]


def _to_numpy(x: Any) -> np.ndarray:
    """Tensor, array or nested list -> float NumPy array (detached, on the CPU)."""
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x)


def _axes(ax: Any, figsize: tuple[float, float]) -> tuple[Any, Any]:
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def figure_png(fig: Any, dpi: int = 100) -> bytes:
    """Render a matplotlib figure to PNG bytes (for widgets, which store images as data).

    Introduced in: Chapter 2.2.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def plot_history(
    history: Sequence[Mapping[str, Any]],
    keys: Iterable[str] | None = None,
    x: str | None = None,
    ax: Any = None,
    title: str = "Training curves",
    ylabel: str = "loss (nats/token)",
    logy: bool = False,
) -> Any:
    """Plot training curves from a trainer's history (a list of dicts, one per log event).

    Entries may hold different keys (validation loss is logged less often than
    training loss): each curve uses only the entries that have its key.

    Args:
        history: e.g. ``trainer.history``: ``[{"iter": 10, "train_loss": 3.1, "val_loss": None,
            "lr": 1e-3}, ...]`` (entries whose value is None are skipped).
        keys: which numeric keys to draw; default every key whose name contains "loss".
        x: the key used for the x axis; default "iter" (the Trainer's key), else "step" when
            present; entries without it use their index.
        ax: optional matplotlib Axes to draw into.
        title: figure title.
        ylabel: y-axis label (with units).
        logy: log-scale y axis.

    Returns:
        The matplotlib Figure.

    Raises:
        ValueError: the history is empty, or none of ``keys`` appears in it.

    Introduced in: Chapter 3.2.
    """
    history = list(history)
    if not history:
        raise ValueError("history is empty: train for at least one logging interval first")
    if keys is None:
        seen: list[str] = []
        for entry in history:
            for k, v in entry.items():
                if "loss" in k and k not in seen and isinstance(v, (int, float)):
                    seen.append(k)
        keys = seen
    keys = list(keys)
    if x is None:
        x = next((k for k in ("iter", "step") if any(k in e for e in history)), "iter")
    found = [k for k in keys if any(k in e for e in history)]
    if not found:
        available = sorted({k for e in history for k in e})
        raise ValueError(f"none of the keys {keys} is in the history; available keys: {available}")
    fig, ax = _axes(ax, (6.0, 3.6))
    for k in found:
        xs = [e.get(x, i) for i, e in enumerate(history) if e.get(k) is not None]
        ys = [float(e[k]) for e in history if e.get(k) is not None]
        style = "o-" if len(ys) < 30 else "-"
        ax.plot(xs, ys, style, label=k, markersize=3)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(x if any(x in e for e in history) else "log event")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def plot_attention(
    weights: Any,
    x_labels: Sequence[str],
    y_labels: Sequence[str] | None = None,
    ax: Any = None,
    title: str = "Attention weights",
    cmap: str = "viridis",
    annotate: bool = False,
) -> Any:
    """Draw an attention matrix as a heatmap: row = query position, column = key position.

    Args:
        weights: (T, S) array or tensor; each row sums to 1 for softmax attention.
        x_labels: S key labels (tokens).
        y_labels: T query labels; default ``x_labels`` (self-attention).
        ax: optional Axes.
        title: figure title.
        cmap: matplotlib colormap.
        annotate: write each weight in its cell (for small matrices).

    Returns:
        The matplotlib Figure.

    Shapes:
        weights (T, S).

    Introduced in: Chapter 2.2.
    """
    w = _to_numpy(weights)
    if w.ndim != 2:
        raise ValueError(
            f"weights must be 2-D (T, S), got shape {w.shape}; select one batch row and head first"
        )
    y_labels = list(x_labels) if y_labels is None else list(y_labels)
    if w.shape != (len(y_labels), len(x_labels)):
        raise ValueError(
            f"weights shape {w.shape} does not match {len(y_labels)} query labels x "
            f"{len(x_labels)} key labels; pass one label per token"
        )
    size = max(3.0, min(9.0, 0.38 * len(x_labels) + 1.5))
    fig, ax = _axes(ax, (size + 1.0, size))
    im = ax.imshow(w, cmap=cmap, vmin=0.0, vmax=max(float(w.max()), 1e-9), aspect="auto")
    ax.set_xticks(range(len(x_labels)), labels=list(x_labels), rotation=90)
    ax.set_yticks(range(len(y_labels)), labels=y_labels)
    ax.set_xlabel("key position (attended to)")
    ax.set_ylabel("query position (attending)")
    ax.set_title(title)
    if annotate:
        for i in range(w.shape[0]):
            for j in range(w.shape[1]):
                ax.text(j, i, f"{w[i, j]:.2f}", ha="center", va="center", fontsize=7, color="w")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="weight")
    return fig


def plot_mask(
    mask: Any,
    labels: Sequence[str] | None = None,
    ax: Any = None,
    title: str = "Attention mask",
) -> Any:
    """Draw a boolean attention mask: filled = may attend (True), empty = blocked.

    Args:
        mask: (T, S) bool array or tensor, True = query row may attend to key column.
        labels: optional token labels for both axes (self-attention).
        ax: optional Axes.
        title: figure title.

    Returns:
        The matplotlib Figure.

    Introduced in: Chapter 2.3.
    """
    m = _to_numpy(mask).astype(bool)
    if m.ndim != 2:
        raise ValueError(f"mask must be 2-D (T, S), got shape {m.shape}; squeeze batch/head axes")
    fig, ax = _axes(ax, (3.6, 3.4))
    ax.imshow(m, cmap="Blues", vmin=0, vmax=1.3)
    T, S = m.shape
    for i in range(T):
        for j in range(S):
            ax.text(j, i, "1" if m[i, j] else "0", ha="center", va="center", fontsize=7)
    if labels is not None:
        ax.set_xticks(range(S), labels=list(labels)[:S], rotation=90)
        ax.set_yticks(range(T), labels=list(labels)[:T])
    ax.set_xlabel("key position j")
    ax.set_ylabel("query position i")
    ax.set_title(title)
    return fig


def plot_distribution(
    probs: Any,
    labels: Sequence[str],
    top: int = 20,
    reference: Any = None,
    ax: Any = None,
    title: str = "Next-token distribution",
) -> Any:
    """Bar chart of the ``top`` most probable outcomes of a distribution.

    Args:
        probs: (V,) probabilities.
        labels: V labels (token strings).
        top: how many bars to draw (highest probability first).
        reference: optional (V,) second distribution drawn as outlines (e.g. before filtering).
        ax: optional Axes.
        title: figure title.

    Returns:
        The matplotlib Figure.

    Introduced in: Chapter 3.2.
    """
    p = _to_numpy(probs).reshape(-1)
    if len(labels) != p.shape[0]:
        raise ValueError(f"got {p.shape[0]} probabilities but {len(labels)} labels; pass one each")
    order_src = p if reference is None else np.maximum(p, _to_numpy(reference).reshape(-1))
    order = np.argsort(-order_src, kind="stable")[:top]
    fig, ax = _axes(ax, (7.0, 3.2))
    xs = np.arange(len(order))
    ax.bar(xs, p[order], color="tab:blue", label="sampled from")
    if reference is not None:
        r = _to_numpy(reference).reshape(-1)
        ax.bar(xs, r[order], fill=False, edgecolor="tab:gray", label="unfiltered, T=1")
        ax.legend()
    ax.set_xticks(xs, labels=[repr(labels[i])[1:-1] for i in order], rotation=90)
    ax.set_xlabel("token")
    ax.set_ylabel("probability")
    ax.set_title(title)
    return fig


def pca_2d(vectors: Any) -> np.ndarray:
    """Project rows of ``vectors`` onto their first two principal components.

    Args:
        vectors: (N, D) array or tensor, N >= 2.

    Returns:
        (N, 2) NumPy array of coordinates (centred; the axes are the top singular vectors).

    Introduced in: Chapter 4.1.
    """
    x = _to_numpy(vectors).astype(np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"vectors must be (N, D) with N >= 2, got shape {x.shape}")
    x = x - x.mean(axis=0, keepdims=True)
    # SVD of the centred data: the right singular vectors are the principal axes.
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    coords = x @ vt[:2].T
    if coords.shape[1] < 2:  # D == 1: pad a zero second axis
        coords = np.concatenate([coords, np.zeros_like(coords)], axis=1)
    return coords


def plot_embeddings_2d(
    coords: Any,
    words: Sequence[str],
    highlight: Sequence[str] = (),
    center: str | None = None,
    ax: Any = None,
    title: str = "Word vectors, first two principal components",
) -> Any:
    """Scatter 2-D word coordinates; label the ``highlight`` words and mark ``center``.

    Args:
        coords: (N, 2) coordinates (from :func:`pca_2d`).
        words: N words.
        highlight: words to label in colour (e.g. nearest neighbours).
        center: the query word, drawn as a star.
        ax: optional Axes.
        title: figure title.

    Returns:
        The matplotlib Figure.

    Introduced in: Chapter 4.1.
    """
    c = _to_numpy(coords)
    if c.ndim != 2 or c.shape[1] != 2 or c.shape[0] != len(words):
        raise ValueError(f"coords must be (N, 2) with N = len(words) = {len(words)}, got {c.shape}")
    fig, ax = _axes(ax, (6.0, 5.0))
    ax.scatter(c[:, 0], c[:, 1], s=6, color="lightgray")
    index = {w: i for i, w in enumerate(words)}
    hl = [w for w in highlight if w in index]
    if len(highlight) == 0 and center is None:  # nothing selected: label a few words
        hl = list(words[: min(30, len(words))])
    for w in hl:
        i = index[w]
        ax.scatter(c[i, 0], c[i, 1], s=18, color="tab:blue")
        ax.annotate(w, (c[i, 0], c[i, 1]), fontsize=8, xytext=(3, 3), textcoords="offset points")
    if center is not None and center in index:
        i = index[center]
        ax.scatter(c[i, 0], c[i, 1], s=160, marker="*", color="tab:red", zorder=3)
        ax.annotate(
            center,
            (c[i, 0], c[i, 1]),
            fontsize=10,
            color="tab:red",
            weight="bold",
            xytext=(4, 4),
            textcoords="offset points",
        )
    ax.set_xlabel("principal component 1")
    ax.set_ylabel("principal component 2")
    ax.set_title(title)
    return fig
