"""Read a Hugging Face model directory (config + weights) into an lmbook model.

A Hugging Face model directory holds ``config.json`` and the weights
(``model.safetensors``, a sharded ``model.safetensors.index.json``, or a
``pytorch_model.bin`` pickle read with ``weights_only=True`` so no code is
ever executed). Every tensor's name and shape is checked before any is copied.

Introduced in: Chapter 3.1 (loading all-MiniLM-L6-v2) and Chapter 3.2 (GPT-2).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

from lmbook.hf.config import bert_config_from_hf, gpt_config_from_hf
from lmbook.hf.convert import fill_template, hf_to_lmbook, match_template
from lmbook.hf.maps import BERT_SPEC, GPT2_SPEC, KeySpec
from lmbook.io import CheckpointError, safe_torch_load
from lmbook.models.bert import BERT
from lmbook.models.gpt import GPT

__all__ = ["load_pretrained", "load_state_dict_file", "read_json"]


def read_json(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found; a Hugging Face model directory needs a config.json next to "
            "its weights"
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path} is not valid JSON ({e}); re-download or re-save it") from e


def load_state_dict_file(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a ``.safetensors`` file or a ``.bin``/``.pt`` pickle of plain tensors.

    Pickles are read with ``torch.load(weights_only=True)``: a file that contains anything
    but tensors (e.g. pickled code) is refused, never executed.

    Raises:
        FileNotFoundError: the file does not exist.
        CheckpointError: the file is truncated, corrupt, or not a dict of tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file {path} not found")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as e:  # SafetensorError, OSError: the library's own error types
            raise CheckpointError(
                f"{path} is corrupt or truncated ({type(e).__name__}: {e}); re-download or "
                "re-save the checkpoint"
            ) from e
    state = safe_torch_load(path)
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise CheckpointError(
            f"{path} does not hold a state dict (a dict of name -> tensor); got "
            f"{type(state).__name__}; save model.state_dict(), not the model or a training state"
        )
    return state


def _read_weights(directory: Path) -> dict[str, torch.Tensor]:
    single = directory / "model.safetensors"
    index = directory / "model.safetensors.index.json"
    pickled = directory / "pytorch_model.bin"
    if single.is_file():
        return load_state_dict_file(single)
    if index.is_file():
        shards = sorted(set(read_json(index).get("weight_map", {}).values()))
        state: dict[str, torch.Tensor] = {}
        for shard in shards:
            state.update(load_state_dict_file(directory / shard))
        return state
    if pickled.is_file():
        return load_state_dict_file(pickled)
    raise FileNotFoundError(
        f"no weights in {directory}: expected model.safetensors, "
        "model.safetensors.index.json or pytorch_model.bin"
    )


def _load_into(
    model: nn.Module, state: dict[str, torch.Tensor], spec: KeySpec, where: Path
) -> None:
    """Copy converted tensors into ``model`` after checking names and shapes."""
    expected = model.state_dict()
    tied = {name for name in expected if name in ("lm_head.weight", "mlm_head.decoder.weight")}
    if getattr(model.config, "tie_embeddings", True) is False:
        tied.discard("lm_head.weight")
    reverse = {lm: hf for lm, hf in spec.keys.items()}
    for name, tensor in state.items():
        if name not in expected:
            raise CheckpointError(
                f"{where}: tensor for {name!r} has no place in the model built from config.json "
                "(more layers in the weights than n_layers?); fix config.json or the weights"
            )
        if tuple(tensor.shape) != tuple(expected[name].shape):
            hit = match_template(name, reverse)
            hf_name = fill_template(reverse[hit[0]], hit[1]) if hit else name
            raise CheckpointError(
                f"{where}: tensor {hf_name!r} (lmbook {name!r}) has shape {tuple(tensor.shape)} (lmbook layout) "
                f"but config.json implies {tuple(expected[name].shape)}; the weights do not "
                "match the config"
            )
    optional = spec.optional or ("\0",)  # str.startswith(()) would be False for every name
    missing = [
        n for n in expected if n not in state and n not in tied and not n.startswith(optional)
    ]
    if missing:
        raise CheckpointError(
            f"{where}: checkpoint is missing {len(missing)} tensors, e.g. {missing[:3]}; it is "
            "incomplete or belongs to a different architecture"
        )
    with torch.no_grad():
        for name, tensor in state.items():
            expected[name].copy_(tensor)


def load_pretrained(
    path: str | os.PathLike,
    dtype: torch.dtype | None = None,
    *,
    require_mlm_head: bool = False,
) -> GPT | BERT:
    """Load a Hugging Face GPT-2 or BERT directory as an lmbook model (in eval mode).

    Args:
        path: directory with ``config.json`` and ``model.safetensors`` (or a sharded index,
            or ``pytorch_model.bin``). ``model_type`` "gpt2" gives a :class:`GPT`,
            "bert" a :class:`BERT` (``BertModel``, ``BertForMaskedLM`` or ``BertForPreTraining``
            weights; the last also fills the next-sentence head, ``add_nsp_head=True``).
        dtype: cast the parameters to this dtype (default: float32).
        require_mlm_head: for BERT, refuse a checkpoint without a masked-LM head. By default
            a ``BertModel`` checkpoint (an encoder, such as all-MiniLM-L6-v2) loads silently
            and its ``mlm_head`` keeps its random initialisation (``model.mlm_head_loaded``
            is False): hidden states are exact, ``mlm_logits()`` is meaningless until trained.

    Returns:
        the model, on CPU; move it with ``.to(device)``.

    Raises:
        FileNotFoundError: the directory, config.json or the weights are missing.
        CheckpointError (a ValueError): corrupt/truncated/unsafe file, unsupported model type,
            weights that do not match the config (the message names the tensor), or no MLM
            head when ``require_mlm_head=True``.

    Introduced in: Chapter 3.1.
    """
    directory = Path(path)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is not a directory; pass a Hugging Face model folder")
    hf_config = read_json(directory / "config.json")
    model_type = hf_config.get("model_type")
    hf_state = _read_weights(directory)
    try:
        if model_type == "gpt2":
            spec = GPT2_SPEC
            config = gpt_config_from_hf(hf_config, directory)
            state = hf_to_lmbook(hf_state, spec)
            model: GPT | BERT = GPT(config)
            if not config.tie_embeddings and "lm_head.weight" in hf_state:
                state["lm_head.weight"] = hf_state["lm_head.weight"]
        elif model_type == "bert":
            spec = BERT_SPEC
            state = hf_to_lmbook(hf_state, spec)
            config = bert_config_from_hf(
                hf_config,
                directory,
                has_pooler="pooler.weight" in state,
                has_nsp="nsp_head.weight" in state,
            )
            model = BERT(config)
        else:
            raise CheckpointError(
                f"{directory}/config.json has model_type={model_type!r}; lmbook loads 'gpt2' and "
                "'bert' checkpoints"
            )
    except KeyError as e:
        raise CheckpointError(f"{directory}/config.json lacks the required field {e}") from e
    except CheckpointError as e:
        raise CheckpointError(f"{directory}: {e}") from e
    _load_into(model, state, spec, directory)
    if isinstance(model, BERT):
        model.mlm_head_loaded = "mlm_head.dense.weight" in state
        if require_mlm_head and not model.mlm_head_loaded:
            raise CheckpointError(
                f"{directory} is a BertModel checkpoint without a masked-LM head "
                "(cls.predictions.*); load a BertForMaskedLM or BertForPreTraining checkpoint, "
                "or pass require_mlm_head=False and train the head"
            )
    model.eval()
    return model.to(dtype) if dtype is not None else model
