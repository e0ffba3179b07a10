"""Tokenizers: characters, byte-level BPE (GPT-2 compatible), WordPiece (BERT compatible).

Introduced in: Chapter 2 (2.1 tokenization).
"""

from lmbook.tokenizers.base import Tokenizer, TokenizerFileError
from lmbook.tokenizers.bpe import BPETokenizer
from lmbook.tokenizers.char import CharTokenizer
from lmbook.tokenizers.wordpiece import WordPieceTokenizer

__all__ = ["BPETokenizer", "CharTokenizer", "Tokenizer", "TokenizerFileError", "WordPieceTokenizer"]
