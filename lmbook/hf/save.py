"""Write an lmbook GPT or BERT as a Hugging Face model directory.

Introduced in: Chapter 3.2.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from lmbook.hf.config import bert_config_to_hf, gpt_config_to_hf
from lmbook.hf.convert import lmbook_to_hf
from lmbook.hf.maps import BERT_SPEC, GPT2_SPEC
from lmbook.io import atomic_path
from lmbook.models.bert import BERT
from lmbook.models.gpt import GPT

__all__ = ["save_pretrained"]


def save_pretrained(model: GPT | BERT, path: str | os.PathLike) -> Path:
    """Write ``model`` as a Hugging Face directory (``config.json`` + ``model.safetensors``).

    A :class:`GPT` becomes a ``GPT2LMHeadModel`` checkpoint, a :class:`BERT` a
    ``BertForMaskedLM`` one, or ``BertForPreTraining`` when it has the next-sentence head
    (``BertModel.from_pretrained`` reads either). Files are written
    to temporary names and renamed, so an interrupted save never leaves a half-written file.

    Returns:
        the directory.

    Introduced in: Chapter 3.2.
    """
    from safetensors.torch import save_file

    if isinstance(model, GPT):
        spec, hf_config = GPT2_SPEC, gpt_config_to_hf(model.config)
    elif isinstance(model, BERT):
        spec, hf_config = BERT_SPEC, bert_config_to_hf(model.config)
    else:
        raise TypeError(f"save_pretrained takes an lmbook GPT or BERT, got {type(model).__name__}")
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    hf_state = lmbook_to_hf(state, spec)
    if isinstance(model, GPT) and not model.config.tie_embeddings:
        hf_state["lm_head.weight"] = state["lm_head.weight"].contiguous()
    hf_config["dtype"] = str(next(model.parameters()).dtype).removeprefix("torch.")
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    with atomic_path(directory / "model.safetensors") as tmp:
        save_file(hf_state, str(tmp), metadata={"format": "pt"})
    with atomic_path(directory / "config.json") as tmp:
        tmp.write_text(json.dumps(hf_config, indent=2) + "\n", encoding="utf-8")
    return directory
