"""Hugging Face checkpoint interop: load GPT-2 / BERT directories into lmbook, save them back.

This package is the only place where Hugging Face names appear. It reads top to bottom as:

- :mod:`lmbook.hf.maps`: the key mappings, as data (lmbook name -> Hugging Face name);
- :mod:`lmbook.hf.convert`: applying them to a state dict (rename, transpose, fuse, split);
- :mod:`lmbook.hf.config`: ``config.json`` <-> :class:`~lmbook.models.GPTConfig` /
  :class:`~lmbook.models.BertConfig`;
- :mod:`lmbook.hf.load` and :mod:`lmbook.hf.save`: the directory on disk.

Introduced in: Chapter 3.1 (loading all-MiniLM-L6-v2) and Chapter 3.2 (GPT-2).
"""

from lmbook.hf.convert import hf_to_lmbook, lmbook_to_hf
from lmbook.hf.load import load_pretrained, load_state_dict_file
from lmbook.hf.maps import (
    BERT_FUSED,
    BERT_IGNORED,
    BERT_KEYS,
    BERT_OPTIONAL,
    BERT_SPEC,
    GPT2_FUSED,
    GPT2_IGNORED,
    GPT2_KEYS,
    GPT2_SPEC,
    GPT2_TRANSPOSED,
    KeySpec,
)
from lmbook.hf.save import save_pretrained
from lmbook.io import CheckpointError

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
    "CheckpointError",
    "KeySpec",
    "hf_to_lmbook",
    "lmbook_to_hf",
    "load_pretrained",
    "load_state_dict_file",
    "save_pretrained",
]
