"""Sampling explorer: the next-token distribution before and after temperature, top-k, top-p.

Introduced in: Chapter 3.2.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import torch

from lmbook.viz.plots import plot_distribution
from lmbook.viz.widgets import load_ipywidgets, show_figure

__all__ = ["next_token_distribution", "sampling_explorer"]


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
    w = load_ipywidgets()
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
        show_figure(out, fig)
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
