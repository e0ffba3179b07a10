"""Models: n-gram, GPT, BERT and the encoder-decoder Transformer.

Introduced in: Chapter 1 (n-gram), 3.1 (BERT), 3.2 (GPT), 5 (encoder-decoder).
"""

from lmbook.models.bert import BERT, BertConfig, BertOutput
from lmbook.models.gpt import GPT, GPTConfig
from lmbook.models.ngram import NGramLM
from lmbook.models.seq2seq import Seq2SeqConfig, Seq2SeqTransformer

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
