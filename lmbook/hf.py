"""Hugging Face checkpoint interop: load GPT-2 / BERT directories into lmbook, save them back.

A Hugging Face model directory holds ``config.json`` and the weights
(``model.safetensors``, a sharded ``model.safetensors.index.json``, or a
``pytorch_model.bin`` pickle read with ``weights_only=True`` so no code is
ever executed). This module translates names and layouts between the two
worlds, and is the only place where Hugging Face names appear.

Key mappings are data: each dict maps an lmbook parameter name to a Hugging
Face tensor name, with ``{}`` standing for the layer index. GPT-2's quirks
(``Conv1D`` weights stored transposed, q/k/v fused in one ``c_attn`` tensor)
are declared next to the mapping and handled only here.

Introduced in: Chapter 3.1 (loading all-MiniLM-L6-v2) and Chapter 3.2 (GPT-2).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from lmbook.io import CheckpointError, atomic_path, safe_torch_load
from lmbook.models.bert import BERT, BertConfig
from lmbook.models.gpt import GPT, GPTConfig

__all__ = [
    "BERT_FUSED",
    "BERT_KEYS",
    "GPT2_FUSED",
    "GPT2_KEYS",
    "CheckpointError",
    "load_pretrained",
    "load_state_dict_file",
    "save_pretrained",
]


# ---------------------------------------------------------------------------------------------
# Key mappings (lmbook name -> Hugging Face name; "{}" = layer index)
# ---------------------------------------------------------------------------------------------

GPT2_KEYS: dict[str, str] = {
    "tok_emb.weight": "transformer.wte.weight",
    "pos_emb.weight": "transformer.wpe.weight",
    "blocks.{}.attn_norm.weight": "transformer.h.{}.ln_1.weight",
    "blocks.{}.attn_norm.bias": "transformer.h.{}.ln_1.bias",
    "blocks.{}.attn.qkv_proj.weight": "transformer.h.{}.attn.c_attn.weight",  # [q | k | v]
    "blocks.{}.attn.qkv_proj.bias": "transformer.h.{}.attn.c_attn.bias",
    "blocks.{}.attn.out_proj.weight": "transformer.h.{}.attn.c_proj.weight",
    "blocks.{}.attn.out_proj.bias": "transformer.h.{}.attn.c_proj.bias",
    "blocks.{}.ffn_norm.weight": "transformer.h.{}.ln_2.weight",
    "blocks.{}.ffn_norm.bias": "transformer.h.{}.ln_2.bias",
    "blocks.{}.ffn.fc1.weight": "transformer.h.{}.mlp.c_fc.weight",
    "blocks.{}.ffn.fc1.bias": "transformer.h.{}.mlp.c_fc.bias",
    "blocks.{}.ffn.fc2.weight": "transformer.h.{}.mlp.c_proj.weight",
    "blocks.{}.ffn.fc2.bias": "transformer.h.{}.mlp.c_proj.bias",
    "final_norm.weight": "transformer.ln_f.weight",
    "final_norm.bias": "transformer.ln_f.bias",
}
# lmbook's qkv_proj has GPT-2's c_attn layout ([q | k | v]), so GPT-2 needs no fusing here; the
# name stays for code that reads it (lmbook -> list of Hugging Face names, as BERT_FUSED).
GPT2_FUSED: dict[str, tuple[str, ...]] = {}
# GPT-2's Conv1D stores weights as (in, out), the transpose of nn.Linear's (out, in).
GPT2_TRANSPOSED: frozenset[str] = frozenset(
    {
        "transformer.h.{}.attn.c_attn.weight",
        "transformer.h.{}.attn.c_proj.weight",
        "transformer.h.{}.mlp.c_fc.weight",
        "transformer.h.{}.mlp.c_proj.weight",
    }
)
# Present in some checkpoints, derived from other tensors here (tied head, causal-mask buffers).
GPT2_IGNORED: tuple[str, ...] = (
    "lm_head.weight",
    "transformer.h.{}.attn.bias",
    "transformer.h.{}.attn.masked_bias",
)

BERT_KEYS: dict[str, str] = {
    "tok_emb.weight": "bert.embeddings.word_embeddings.weight",
    "pos_emb.weight": "bert.embeddings.position_embeddings.weight",
    "seg_emb.weight": "bert.embeddings.token_type_embeddings.weight",
    "emb_norm.weight": "bert.embeddings.LayerNorm.weight",
    "emb_norm.bias": "bert.embeddings.LayerNorm.bias",
    "blocks.{}.attn.out_proj.weight": "bert.encoder.layer.{}.attention.output.dense.weight",
    "blocks.{}.attn.out_proj.bias": "bert.encoder.layer.{}.attention.output.dense.bias",
    "blocks.{}.attn_norm.weight": "bert.encoder.layer.{}.attention.output.LayerNorm.weight",
    "blocks.{}.attn_norm.bias": "bert.encoder.layer.{}.attention.output.LayerNorm.bias",
    "blocks.{}.ffn.fc1.weight": "bert.encoder.layer.{}.intermediate.dense.weight",
    "blocks.{}.ffn.fc1.bias": "bert.encoder.layer.{}.intermediate.dense.bias",
    "blocks.{}.ffn.fc2.weight": "bert.encoder.layer.{}.output.dense.weight",
    "blocks.{}.ffn.fc2.bias": "bert.encoder.layer.{}.output.dense.bias",
    "blocks.{}.ffn_norm.weight": "bert.encoder.layer.{}.output.LayerNorm.weight",
    "blocks.{}.ffn_norm.bias": "bert.encoder.layer.{}.output.LayerNorm.bias",
    "pooler.weight": "bert.pooler.dense.weight",
    "pooler.bias": "bert.pooler.dense.bias",
    "mlm_head.dense.weight": "cls.predictions.transform.dense.weight",
    "mlm_head.dense.bias": "cls.predictions.transform.dense.bias",
    "mlm_head.norm.weight": "cls.predictions.transform.LayerNorm.weight",
    "mlm_head.norm.bias": "cls.predictions.transform.LayerNorm.bias",
    "mlm_head.bias": "cls.predictions.bias",
    "nsp_head.weight": "cls.seq_relationship.weight",  # BertForPreTraining only
    "nsp_head.bias": "cls.seq_relationship.bias",
}
# BERT keeps query, key and value apart; lmbook's fused qkv_proj is their concatenation
# [q | k | v] along the output axis (split again on save).
BERT_FUSED: dict[str, tuple[str, ...]] = {
    "blocks.{}.attn.qkv_proj.weight": (
        "bert.encoder.layer.{}.attention.self.query.weight",
        "bert.encoder.layer.{}.attention.self.key.weight",
        "bert.encoder.layer.{}.attention.self.value.weight",
    ),
    "blocks.{}.attn.qkv_proj.bias": (
        "bert.encoder.layer.{}.attention.self.query.bias",
        "bert.encoder.layer.{}.attention.self.key.bias",
        "bert.encoder.layer.{}.attention.self.value.bias",
    ),
}
BERT_IGNORED: tuple[str, ...] = (
    "bert.embeddings.position_ids",  # a buffer (arange), not a weight
    "cls.predictions.decoder.weight",  # tied to the word embeddings
    "cls.predictions.decoder.bias",  # the same tensor as cls.predictions.bias
)
# BertModel checkpoints (like all-MiniLM-L6-v2) have no MLM head: it keeps its initialisation.
BERT_OPTIONAL: tuple[str, ...] = ("mlm_head.",)


@dataclass(frozen=True)
class _Spec:
    keys: dict[str, str]  # lmbook template -> Hugging Face template
    # lmbook template -> Hugging Face templates concatenated (dim 0) into that one tensor
    fused: dict[str, tuple[str, ...]] = field(default_factory=dict)
    transposed: frozenset[str] = frozenset()
    ignored: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    prefix: str = ""  # prefix of the backbone keys in the full-model checkpoint


_GPT2 = _Spec(GPT2_KEYS, GPT2_FUSED, GPT2_TRANSPOSED, GPT2_IGNORED, (), "transformer.")
_BERT = _Spec(BERT_KEYS, BERT_FUSED, ignored=BERT_IGNORED, optional=BERT_OPTIONAL, prefix="bert.")


def _template_regex(template: str) -> re.Pattern:
    return re.compile("^" + re.escape(template).replace(r"\{\}", r"(\d+)") + "$")


def _match(name: str, templates) -> tuple[str, str | None] | None:
    """Find the template that ``name`` instantiates; return (template, layer index or None)."""
    for template in templates:
        m = _template_regex(template).match(name)
        if m:
            return template, (m.group(1) if m.groups() else None)
    return None


def _fill(template: str, layer: str | None) -> str:
    return template.replace("{}", layer) if layer is not None else template


def _normalise_hf_key(name: str, spec: _Spec) -> str:
    # Old TF-converted BERT checkpoints name LayerNorm parameters gamma/beta.
    name = re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", name)
    name = re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", name)
    # Base-model checkpoints (GPT2Model, BertModel) omit the "transformer." / "bert." prefix.
    heads = ("lm_head.", "cls.")
    if spec.prefix and not name.startswith(spec.prefix) and not name.startswith(heads):
        name = spec.prefix + name
    return name


def hf_to_lmbook(hf_state: dict[str, torch.Tensor], spec: _Spec) -> dict[str, torch.Tensor]:
    """Rename, transpose and fuse Hugging Face tensors into lmbook's layout."""
    out: dict[str, torch.Tensor] = {}
    parts: dict[tuple[str, str | None], dict[int, torch.Tensor]] = {}  # fused tensors' pieces
    part_of = {hf: (lm, i) for lm, hfs in spec.fused.items() for i, hf in enumerate(hfs)}
    reverse = {hf: lm for lm, hf in spec.keys.items()}
    unknown = []
    for raw_name, tensor in hf_state.items():
        name = _normalise_hf_key(raw_name, spec)
        if _match(name, spec.ignored):
            continue
        hit = _match(name, part_of)
        if hit:
            template, layer = hit
            lm_template, index = part_of[template]
            parts.setdefault((lm_template, layer), {})[index] = tensor
            continue
        hit = _match(name, reverse)
        if hit is None:
            unknown.append(raw_name)
            continue
        template, layer = hit
        t = tensor.t().contiguous() if template in spec.transposed else tensor
        out[_fill(reverse[template], layer)] = t
    if unknown:
        raise CheckpointError(
            f"checkpoint has tensors this model type does not know: {unknown[:5]}"
            f"{' ...' if len(unknown) > 5 else ''}; is config.json's model_type right?"
        )
    for (lm_template, layer), pieces in parts.items():
        n = len(spec.fused[lm_template])
        if len(pieces) != n:  # the missing-tensor check in _load_into names the lmbook key
            continue
        out[_fill(lm_template, layer)] = torch.cat([pieces[i] for i in range(n)])  # (3D, ...)
    return out


def lmbook_to_hf(state: dict[str, torch.Tensor], spec: _Spec) -> dict[str, torch.Tensor]:
    """The inverse of :func:`hf_to_lmbook`: split, transpose and rename to Hugging Face names."""
    out: dict[str, torch.Tensor] = {}
    for name, tensor in state.items():
        hit = _match(name, spec.fused)
        if hit:
            template, layer = hit
            targets = spec.fused[template]
            for target, part in zip(targets, tensor.chunk(len(targets)), strict=True):
                out[_fill(target, layer)] = part.contiguous()  # (3D, ...) -> 3 x (D, ...)
            continue
        hit = _match(name, spec.keys)
        if hit is None:
            continue  # tied copies (lm_head.weight, mlm_head.decoder.weight)
        template, layer = hit
        hf_name = _fill(spec.keys[template], layer)
        t = tensor.t() if spec.keys[template] in spec.transposed else tensor
        out[hf_name] = t.contiguous()
    return out


# ---------------------------------------------------------------------------------------------
# Configs
# ---------------------------------------------------------------------------------------------

_HF_ACTIVATIONS = {"gelu": "gelu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh",
                   "relu": "relu"}  # fmt: skip
_TO_HF_ACTIVATION = {"gelu": "gelu", "gelu_tanh": "gelu_new", "relu": "relu"}


def _activation(hf: dict, key: str, path: Path) -> str:
    act = hf.get(key, "gelu")
    if act not in _HF_ACTIVATIONS:
        raise CheckpointError(
            f"{path}: activation {act!r} is not supported; lmbook supports {sorted(_HF_ACTIVATIONS)}"
        )
    return _HF_ACTIVATIONS[act]


def _gpt_config(hf: dict, path: Path) -> GPTConfig:
    if hf.get("scale_attn_by_inverse_layer_idx") or hf.get("scale_attn_weights") is False:
        raise CheckpointError(f"{path}: GPT-2 attention-scaling variants are not supported")
    if hf.get("add_cross_attention"):
        raise CheckpointError(f"{path}: GPT-2 with cross attention is not supported")
    return GPTConfig(
        vocab_size=hf["vocab_size"],
        block_size=hf.get("n_positions", hf.get("n_ctx", 1024)),
        n_layers=hf["n_layer"],
        n_heads=hf["n_head"],
        d_model=hf["n_embd"],
        d_ff=hf.get("n_inner") or 4 * hf["n_embd"],
        dropout=hf.get("resid_pdrop", 0.1),
        layer_norm_eps=hf.get("layer_norm_epsilon", 1e-5),
        activation=_activation(hf, "activation_function", path),
        tie_embeddings=hf.get("tie_word_embeddings", True),
    )


def _bert_config(hf: dict, path: Path, has_pooler: bool, has_nsp: bool) -> BertConfig:
    if hf.get("position_embedding_type", "absolute") != "absolute":
        raise CheckpointError(
            f"{path}: position_embedding_type={hf['position_embedding_type']!r} is not "
            "supported; lmbook's BERT has absolute learned positions"
        )
    if hf.get("is_decoder") or hf.get("add_cross_attention"):
        raise CheckpointError(f"{path}: BERT used as a decoder is not supported")
    if has_nsp and not has_pooler:
        raise CheckpointError(
            f"{path}: the weights have a next-sentence head (cls.seq_relationship) but no pooler "
            "(bert.pooler.dense) to feed it; the checkpoint is incomplete, re-save it with "
            "BertForPreTraining.save_pretrained"
        )
    return BertConfig(
        vocab_size=hf["vocab_size"],
        block_size=hf.get("max_position_embeddings", 512),
        type_vocab_size=hf.get("type_vocab_size", 2),
        n_layers=hf["num_hidden_layers"],
        n_heads=hf["num_attention_heads"],
        d_model=hf["hidden_size"],
        d_ff=hf["intermediate_size"],
        dropout=hf.get("hidden_dropout_prob", 0.1),
        layer_norm_eps=hf.get("layer_norm_eps", 1e-12),
        activation=_activation(hf, "hidden_act", path),
        pad_id=hf.get("pad_token_id") or 0,
        add_pooler=has_pooler,
        add_nsp_head=has_nsp,
    )


def _gpt_hf_config(c: GPTConfig) -> dict:
    if not c.bias:
        raise CheckpointError("GPT-2 checkpoints always have biases; cannot save bias=False")
    if c.n_kv_heads not in (None, c.n_heads):
        raise CheckpointError("GPT-2 has no grouped-query attention; cannot save n_kv_heads")
    eos = 50256 if c.vocab_size > 50256 else None
    return {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": c.vocab_size,
        "n_positions": c.block_size,
        "n_embd": c.d_model,
        "n_layer": c.n_layers,
        "n_head": c.n_heads,
        "n_inner": c.d_ff,
        "activation_function": _TO_HF_ACTIVATION[c.activation],
        "resid_pdrop": c.dropout,
        "embd_pdrop": c.dropout,
        "attn_pdrop": c.dropout,
        "layer_norm_epsilon": c.layer_norm_eps,
        "initializer_range": 0.02,
        "scale_attn_weights": True,
        "tie_word_embeddings": c.tie_embeddings,
        "bos_token_id": eos,
        "eos_token_id": eos,
    }


def _bert_hf_config(c: BertConfig) -> dict:
    # BertForPreTraining = encoder + pooler + MLM head + NSP head; BertForMaskedLM has no NSP.
    return {
        "architectures": ["BertForPreTraining" if c.add_nsp_head else "BertForMaskedLM"],
        "model_type": "bert",
        "vocab_size": c.vocab_size,
        "max_position_embeddings": c.block_size,
        "type_vocab_size": c.type_vocab_size,
        "num_hidden_layers": c.n_layers,
        "num_attention_heads": c.n_heads,
        "hidden_size": c.d_model,
        "intermediate_size": c.d_ff,
        "hidden_act": _TO_HF_ACTIVATION[c.activation],
        "hidden_dropout_prob": c.dropout,
        "attention_probs_dropout_prob": c.dropout,
        "layer_norm_eps": c.layer_norm_eps,
        "pad_token_id": c.pad_id,
        "position_embedding_type": "absolute",
        "initializer_range": 0.02,
        "tie_word_embeddings": True,
    }


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def _read_json(path: Path) -> dict:
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
        shards = sorted(set(_read_json(index).get("weight_map", {}).values()))
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


def _load_into(model: nn.Module, state: dict[str, torch.Tensor], spec: _Spec, where: Path) -> None:
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
            hit = _match(name, reverse)
            hf_name = _fill(reverse[hit[0]], hit[1]) if hit else name
            raise CheckpointError(
                f"{where}: tensor {hf_name!r} (lmbook {name!r}) has shape {tuple(tensor.shape)} (lmbook layout) "
                f"but config.json implies {tuple(expected[name].shape)}; the weights do not "
                "match the config"
            )
    missing = [n for n in expected if n not in state and n not in tied
               and not n.startswith(spec.optional or ("\0",))]  # fmt: skip
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
    hf_config = _read_json(directory / "config.json")
    model_type = hf_config.get("model_type")
    hf_state = _read_weights(directory)
    try:
        if model_type == "gpt2":
            spec = _GPT2
            config = _gpt_config(hf_config, directory)
            state = hf_to_lmbook(hf_state, spec)
            model: GPT | BERT = GPT(config)
            if not config.tie_embeddings and "lm_head.weight" in hf_state:
                state["lm_head.weight"] = hf_state["lm_head.weight"]
        elif model_type == "bert":
            spec = _BERT
            state = hf_to_lmbook(hf_state, spec)
            config = _bert_config(hf_config, directory, has_pooler="pooler.weight" in state,
                                  has_nsp="nsp_head.weight" in state)  # fmt: skip
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
        spec, hf_config = _GPT2, _gpt_hf_config(model.config)
    elif isinstance(model, BERT):
        spec, hf_config = _BERT, _bert_hf_config(model.config)
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
