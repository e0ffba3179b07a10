"""Apply the key mappings: rename, transpose, fuse and split state dicts between layouts.

Introduced in: Chapter 7 (checkpoint formats and key mappings).
"""

from __future__ import annotations

import re

import torch

from lmbook.hf.maps import KeySpec
from lmbook.io import CheckpointError

__all__ = ["fill_template", "hf_to_lmbook", "lmbook_to_hf", "match_template"]


def _template_regex(template: str) -> re.Pattern:
    return re.compile("^" + re.escape(template).replace(r"\{\}", r"(\d+)") + "$")


def match_template(name: str, templates) -> tuple[str, str | None] | None:
    """Find the template that ``name`` instantiates; return (template, layer index or None)."""
    for template in templates:
        m = _template_regex(template).match(name)
        if m:
            return template, (m.group(1) if m.groups() else None)
    return None


def fill_template(template: str, layer: str | None) -> str:
    return template.replace("{}", layer) if layer is not None else template


def _normalise_hf_key(name: str, spec: KeySpec) -> str:
    # Old TF-converted BERT checkpoints name LayerNorm parameters gamma/beta.
    name = re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", name)
    name = re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", name)
    # Base-model checkpoints (GPT2Model, BertModel) omit the "transformer." / "bert." prefix.
    heads = ("lm_head.", "cls.")
    if spec.prefix and not name.startswith(spec.prefix) and not name.startswith(heads):
        name = spec.prefix + name
    return name


def hf_to_lmbook(hf_state: dict[str, torch.Tensor], spec: KeySpec) -> dict[str, torch.Tensor]:
    """Rename, transpose and fuse Hugging Face tensors into lmbook's layout."""
    out: dict[str, torch.Tensor] = {}
    parts: dict[tuple[str, str | None], dict[int, torch.Tensor]] = {}  # fused tensors' pieces
    part_of = {hf: (lm, i) for lm, hfs in spec.fused.items() for i, hf in enumerate(hfs)}
    reverse = {hf: lm for lm, hf in spec.keys.items()}
    unknown = []
    for raw_name, tensor in hf_state.items():
        name = _normalise_hf_key(raw_name, spec)
        if match_template(name, spec.ignored):
            continue
        hit = match_template(name, part_of)
        if hit:
            template, layer = hit
            lm_template, index = part_of[template]
            parts.setdefault((lm_template, layer), {})[index] = tensor
            continue
        hit = match_template(name, reverse)
        if hit is None:
            unknown.append(raw_name)
            continue
        template, layer = hit
        t = tensor.t().contiguous() if template in spec.transposed else tensor
        out[fill_template(reverse[template], layer)] = t
    if unknown:
        raise CheckpointError(
            f"checkpoint has tensors this model type does not know: {unknown[:5]}"
            f"{' ...' if len(unknown) > 5 else ''}; is config.json's model_type right?"
        )
    for (lm_template, layer), pieces in parts.items():
        n = len(spec.fused[lm_template])
        if len(pieces) != n:  # the missing-tensor check in load.py names the lmbook key
            continue
        fused = torch.cat([pieces[i] for i in range(n)])  # n x (D, ...) -> (n*D, ...)
        out[fill_template(lm_template, layer)] = fused
    return out


def lmbook_to_hf(state: dict[str, torch.Tensor], spec: KeySpec) -> dict[str, torch.Tensor]:
    """The inverse of :func:`hf_to_lmbook`: split, transpose and rename to Hugging Face names."""
    out: dict[str, torch.Tensor] = {}
    for name, tensor in state.items():
        hit = match_template(name, spec.fused)
        if hit:
            template, layer = hit
            targets = spec.fused[template]
            for target, part in zip(targets, tensor.chunk(len(targets)), strict=True):
                out[fill_template(target, layer)] = part.contiguous()  # (3D, ...) -> 3 x (D, ...)
            continue
        hit = match_template(name, spec.keys)
        if hit is None:
            continue  # tied copies (lm_head.weight, mlm_head.decoder.weight)
        template, layer = hit
        hf_name = fill_template(spec.keys[template], layer)
        t = tensor.t() if spec.keys[template] in spec.transposed else tensor
        out[hf_name] = t.contiguous()
    return out
