"""Attention explorer: which tokens each head of each layer attends to.

Introduced in: Chapter 2.2.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from lmbook.viz.plots import plot_attention
from lmbook.viz.widgets import load_ipywidgets, show_figure

__all__ = ["attention_explorer", "attention_maps", "token_strings"]


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
    w = load_ipywidgets()
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
        show_figure(out, fig)
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
