"""Checkpoint key mappings as data: lmbook parameter name -> Hugging Face tensor name.

Each dict maps an lmbook name to a Hugging Face name, with ``{}`` standing for the layer
index (torchtune's layout). GPT-2's quirks (``Conv1D`` weights stored transposed, q/k/v
fused in one ``c_attn`` tensor) are declared next to its mapping; the code that applies
these tables is :mod:`lmbook.hf.convert`.

Introduced in: Chapter 7 (checkpoint formats and key mappings).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "BERT_FUSED",
    "BERT_IGNORED",
    "BERT_KEYS",
    "BERT_OPTIONAL",
    "BERT_SPEC",
    "GPT2_FUSED",
    "GPT2_IGNORED",
    "GPT2_KEYS",
    "GPT2_SPEC",
    "GPT2_TRANSPOSED",
    "KeySpec",
]

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
class KeySpec:
    """How one architecture's checkpoint names map to lmbook's (the dicts above, bundled)."""

    keys: dict[str, str]  # lmbook template -> Hugging Face template
    # lmbook template -> Hugging Face templates concatenated (dim 0) into that one tensor
    fused: dict[str, tuple[str, ...]] = field(default_factory=dict)
    transposed: frozenset[str] = frozenset()
    ignored: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    prefix: str = ""  # prefix of the backbone keys in the full-model checkpoint


GPT2_SPEC = KeySpec(GPT2_KEYS, GPT2_FUSED, GPT2_TRANSPOSED, GPT2_IGNORED, (), "transformer.")
BERT_SPEC = KeySpec(
    BERT_KEYS, BERT_FUSED, ignored=BERT_IGNORED, optional=BERT_OPTIONAL, prefix="bert."
)
