"""Translate configs: Hugging Face ``config.json`` fields <-> lmbook's GPT and BERT configs.

Unsupported variants (other attention scalings, relative positions, BERT as a decoder)
are refused with a :class:`~lmbook.io.CheckpointError` that names the field.

Introduced in: Chapter 3.1 (all-MiniLM-L6-v2) and Chapter 3.2 (GPT-2).
"""

from __future__ import annotations

from pathlib import Path

from lmbook.io import CheckpointError
from lmbook.models.bert import BertConfig
from lmbook.models.gpt import GPTConfig

__all__ = ["bert_config_from_hf", "bert_config_to_hf", "gpt_config_from_hf", "gpt_config_to_hf"]

_HF_ACTIVATIONS = {
    "gelu": "gelu",
    "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
    "relu": "relu",
}
_TO_HF_ACTIVATION = {"gelu": "gelu", "gelu_tanh": "gelu_new", "relu": "relu"}


def _activation(hf: dict, key: str, path: Path) -> str:
    act = hf.get(key, "gelu")
    if act not in _HF_ACTIVATIONS:
        raise CheckpointError(
            f"{path}: activation {act!r} is not supported; lmbook supports {sorted(_HF_ACTIVATIONS)}"
        )
    return _HF_ACTIVATIONS[act]


def gpt_config_from_hf(hf: dict, path: Path) -> GPTConfig:
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


def bert_config_from_hf(hf: dict, path: Path, has_pooler: bool, has_nsp: bool) -> BertConfig:
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


def gpt_config_to_hf(c: GPTConfig) -> dict:
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


def bert_config_to_hf(c: BertConfig) -> dict:
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
