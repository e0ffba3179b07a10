"""Interactive explorers (ipywidgets) for attention, sampling and word embeddings.

Each explorer draws its initial view when it is created, so a notebook executed
with widget state stored shows a meaningful picture in the static HTML book too.
The returned widget carries its controls (``.controls``, a dict of widgets) and
its ``.refresh()`` callback, so tests can drive it without a browser: setting a
control's ``value`` redraws synchronously.

Introduced in: Chapter 2.2 (attention), 3.2 (sampling), 4.1 (embeddings).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from lmbook.viz.plots import (
    _to_numpy,
    figure_png,
    pca_2d,
    plot_attention,
    plot_distribution,
    plot_embeddings_2d,
)

__all__ = [
    "attention_explorer",
    "attention_maps",
    "embedding_explorer",
    "nearest_neighbours",
    "next_token_distribution",
    "sampling_explorer",
    "token_strings",
]


def _widgets() -> Any:
    try:
        import ipywidgets
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the explorers need ipywidgets; install it with `pip install 'lmbook[book]'`"
        ) from err
    return ipywidgets


def _show_figure(out: Any, fig: Any) -> None:
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


def token_strings(tokenizer: Any, ids: Sequence[int]) -> list[str]:
    """Readable strings for each token id (WordPiece pieces keep their ``##``).

    Uses the tokenizer's id-to-token table when it has one, else decodes each id alone.

    Introduced in: Chapter 2.2.
    """
    ids = [int(i) for i in ids]
    for name in ("convert_ids_to_tokens", "id_to_token"):
        fn = getattr(tokenizer, name, None)
        if callable(fn):
            try:
                out = fn(ids)
                if isinstance(out, (list, tuple)) and len(out) == len(ids):
                    return [str(t) for t in out]
            except (TypeError, KeyError, IndexError):
                pass
            try:
                return [str(fn(i)) for i in ids]
            except (TypeError, KeyError, IndexError):
                pass
    for name in ("inverse_vocab", "itos", "id_to_str", "decoder"):
        table = getattr(tokenizer, name, None)
        if isinstance(table, (Mapping, list, tuple)):
            try:
                return [str(table[i]) for i in ids]
            except (KeyError, IndexError):
                pass
    return [tokenizer.decode([i]) for i in ids]


@torch.no_grad()
def attention_maps(model: Any, tokenizer: Any, text: str) -> tuple[list[str], torch.Tensor]:
    """Run a BERT-style model on ``text`` and return its tokens and all attention weights.

    Args:
        model: an ``lmbook.models.BERT`` (or any model whose forward accepts
            ``input_ids, attention_mask, token_type_ids, return_weights=True`` and
            returns an object with ``.attentions``, one (B, H, T, T) tensor per layer).
        tokenizer: a ``WordPieceTokenizer`` (callable returning input_ids etc.).
        text: the sentence.

    Returns:
        (tokens, weights) with weights of shape (L, H, T, T) for the single sentence.

    Introduced in: Chapter 2.2.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("text must be a non-empty string; type a sentence")
    enc = tokenizer([text], return_tensors="pt")
    device = next(model.parameters()).device
    enc = {k: v.to(device) for k, v in enc.items()}
    was_training = model.training
    model.eval()
    out = model(
        enc["input_ids"],
        attention_mask=enc.get("attention_mask"),
        token_type_ids=enc.get("token_type_ids"),
        return_weights=True,
    )
    model.train(was_training)
    if getattr(out, "attentions", None) is None:
        raise ValueError(
            "the model returned no attention weights; pass a model whose forward supports "
            "return_weights=True (lmbook.models.BERT)"
        )
    weights = torch.stack([a[0] for a in out.attentions]).float().cpu()  # L x (H, T, T)
    return token_strings(tokenizer, enc["input_ids"][0].tolist()), weights


def attention_explorer(
    model: Any,
    tokenizer: Any,
    text: str = "The cat sat on the mat because it was tired.",
    layer: int = 0,
    head: int = 0,
) -> Any:
    """Widget: type a sentence, pick a layer and a head, see the attention weights as a heatmap.

    The head dropdown also offers "mean" (the average over heads). The initial view
    is drawn at creation time.

    Args:
        model: an ``lmbook.models.BERT`` (e.g. the MiniLM weights from ``lmbook.hf``).
        tokenizer: its ``WordPieceTokenizer``.
        text: initial sentence.
        layer: initial layer (0-based).
        head: initial head (0-based).

    Returns:
        An ``ipywidgets.VBox`` with ``.controls`` (text, layer, head), ``.output`` and ``.refresh()``.

    Introduced in: Chapter 2.2.
    """
    w = _widgets()
    tokens, maps = attention_maps(model, tokenizer, text)
    L, H = maps.shape[0], maps.shape[1]
    if not (0 <= layer < L and 0 <= head < H):
        raise ValueError(f"layer must be in [0, {L}) and head in [0, {H}); got {layer}, {head}")
    text_box = w.Text(
        value=text, description="sentence", continuous_update=False, layout=w.Layout(width="95%")
    )
    layer_box = w.IntSlider(
        value=layer, min=0, max=L - 1, description="layer", continuous_update=False
    )
    head_box = w.Dropdown(
        options=[("mean", -1)] + [(str(h), h) for h in range(H)], value=head, description="head"
    )
    out = w.Output()
    status = w.HTML()
    state = {"text": text, "tokens": tokens, "maps": maps}

    def refresh(*_: Any) -> None:
        if text_box.value != state["text"]:
            try:
                state["tokens"], state["maps"] = attention_maps(model, tokenizer, text_box.value)
                state["text"] = text_box.value
            except ValueError as err:
                status.value = f"<span style='color:#b00'>{html.escape(str(err))}</span>"
                return
        li, hi = layer_box.value, head_box.value
        m = state["maps"][li]
        weights = m.mean(0) if hi < 0 else m[hi]  # (H, T, T) -> (T, T)
        name = "mean over heads" if hi < 0 else f"head {hi}"
        fig = plot_attention(weights, state["tokens"], title=f"layer {li}, {name}")
        _show_figure(out, fig)
        status.value = (
            f"{len(state['tokens'])} tokens; each row is a query and sums to 1 over "
            "the keys it attends to"
        )

    for c in (text_box, layer_box, head_box):
        c.observe(refresh, names="value")
    refresh()
    box = w.VBox([text_box, w.HBox([layer_box, head_box]), status, out])
    box.controls = {"text": text_box, "layer": layer_box, "head": head_box}
    box.output = out
    box.refresh = refresh
    return box


@torch.no_grad()
def next_token_distribution(
    model: Any,
    ids: Sequence[int] | torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The distribution a sampler draws the next token from, before and after the filters.

    Args:
        model: a causal LM mapping (1, T) ids to (1, T, V) logits (``lmbook.models.GPT``).
        ids: the context token ids.
        temperature: > 0; logits are divided by it.
        top_k: keep only the k most probable tokens (None = all).
        top_p: keep the smallest set whose probability reaches p (None = all).

    Returns:
        (raw, filtered): two (V,) probability vectors, at temperature 1 unfiltered, and
        the one actually sampled from.

    Introduced in: Chapter 3.2.
    """
    from lmbook import generation

    ids_t = torch.as_tensor(ids, dtype=torch.long).reshape(1, -1)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    logits = model(ids_t.to(device))[0, -1].float().cpu()  # (1, T, V) -> (V,)
    model.train(was_training)
    raw = torch.softmax(logits, dim=-1)
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0 to draw a distribution, got {temperature}")
    # The same order of operations as generation.sample_next_token: scale, top-k, top-p.
    scaled = logits / temperature
    if top_k is not None:
        scaled = generation.top_k_filter(scaled, top_k)
    if top_p is not None:
        scaled = generation.top_p_filter(scaled, top_p)
    return raw, torch.softmax(scaled, dim=-1)


def sampling_explorer(
    model: Any,
    tokenizer: Any,
    prompt: str = "ROMEO:\n",
    max_new_tokens: int = 80,
    seed: int = 0,
) -> Any:
    """Widget: temperature / top-k / top-p sliders -> next-token distribution and a sample.

    Args:
        model: an ``lmbook.models.GPT`` (anything with ``__call__`` -> logits and ``generate``).
        tokenizer: its tokenizer (``encode``/``decode``).
        prompt: initial prompt.
        max_new_tokens: length of each sample.
        seed: initial sampling seed (the same settings and seed give the same sample).

    Returns:
        An ``ipywidgets.VBox`` with ``.controls`` (prompt, temperature, top_k, top_p, seed),
        ``.output`` (the bar chart), ``.sample`` (an HTML widget) and ``.refresh()``.

    Introduced in: Chapter 3.2.
    """
    w = _widgets()
    token_strings_cache: dict[int, list[str]] = {}
    vocab_size = int(getattr(tokenizer, "vocab_size", 0)) or None
    prompt_box = w.Textarea(
        value=prompt,
        description="prompt",
        continuous_update=False,
        layout=w.Layout(width="95%", height="60px"),
    )
    temp = w.FloatSlider(
        value=1.0, min=0.05, max=2.0, step=0.05, description="temperature", continuous_update=False
    )
    topk = w.IntSlider(
        value=0,
        min=0,
        max=min(vocab_size or 100, 100),
        description="top-k (0=off)",
        continuous_update=False,
        style={"description_width": "initial"},
    )
    topp = w.FloatSlider(
        value=1.0, min=0.05, max=1.0, step=0.05, description="top-p", continuous_update=False
    )
    seed_box = w.IntText(value=seed, description="seed")
    out = w.Output()
    sample = w.HTML()
    info = w.HTML()

    def labels_for(n: int) -> list[str]:
        if n not in token_strings_cache:
            token_strings_cache[n] = [tokenizer.decode([i]) for i in range(n)]
        return token_strings_cache[n]

    def refresh(*_: Any) -> None:
        ids = tokenizer.encode(prompt_box.value)
        if len(ids) == 0:
            info.value = "<span style='color:#b00'>type a non-empty prompt</span>"
            return
        k = topk.value or None
        p = topp.value if topp.value < 1.0 else None
        raw, filt = next_token_distribution(model, ids, temperature=temp.value, top_k=k, top_p=p)
        kept = int((filt > 0).sum())
        ent = float(-(filt[filt > 0] * filt[filt > 0].log()).sum())
        fig = plot_distribution(
            filt,
            labels_for(filt.shape[0]),
            top=20,
            reference=raw,
            title=f"next token after the prompt: T={temp.value:.2f}, top-k={k}, top-p={p}",
        )
        _show_figure(out, fig)
        info.value = (
            f"{kept} tokens can be sampled; entropy {ent:.2f} nats "
            f"(unfiltered T=1: {float(-(raw * raw.clamp_min(1e-30).log()).sum()):.2f})"
        )
        gen = torch.Generator(device=next(model.parameters()).device).manual_seed(seed_box.value)
        ctx = torch.tensor([ids], dtype=torch.long, device=next(model.parameters()).device)
        new = model.generate(
            ctx,
            max_new_tokens=max_new_tokens,
            temperature=temp.value,
            top_k=k,
            top_p=p,
            generator=gen,
        )
        text = tokenizer.decode(new[0, len(ids) :].tolist())
        sample.value = (
            f"<pre style='white-space:pre-wrap'><b>{html.escape(prompt_box.value)}"
            f"</b>{html.escape(text)}</pre>"
        )

    for c in (prompt_box, temp, topk, topp, seed_box):
        c.observe(refresh, names="value")
    refresh()
    box = w.VBox([prompt_box, w.HBox([temp, topk]), w.HBox([topp, seed_box]), info, out, sample])
    box.controls = {
        "prompt": prompt_box,
        "temperature": temp,
        "top_k": topk,
        "top_p": topp,
        "seed": seed_box,
    }
    box.output = out
    box.sample = sample
    box.refresh = refresh
    return box


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
    w = _widgets()
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
        _show_figure(out, fig)
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
