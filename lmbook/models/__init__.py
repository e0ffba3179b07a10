"""Models: n-gram, GPT, BERT and the encoder-decoder Transformer.

Introduced in: Chapter 1 (n-gram), 3.1 (BERT), 3.2 (GPT), 5 (encoder-decoder).
"""

from lmbook.models.bert import BERT, BertConfig, BertOutput
from lmbook.models.gpt import GPT, GPTConfig

__all__ = [
    "BERT",
    "GPT",
    "BertConfig",
    "BertOutput",
    "GPTConfig",
    "NGramLM",
    "Seq2SeqConfig",
    "Seq2SeqTransformer",
]

# seq2seq.py and ngram.py are written by another engineer; until they exist, asking for their
# names raises a clear ImportError instead of breaking `import lmbook.models`.
_LAZY = {
    "Seq2SeqTransformer": "lmbook.models.seq2seq",
    "Seq2SeqConfig": "lmbook.models.seq2seq",
    "NGramLM": "lmbook.models.ngram",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lmbook.models' has no attribute {name!r}")
