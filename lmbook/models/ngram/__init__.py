"""Count-based n-gram language models: add-k, stupid backoff and interpolated Kneser-Ney.

``from lmbook.models import NGramLM`` (or ``from lmbook.models.ngram import NGramLM``). The
package reads in the order the model works: ``vocab`` (tokens -> ids), ``counting`` (number
and count every n-gram), ``smoothing`` (counts -> probabilities), ``sparsity`` (what was
never seen), and ``model`` (the :class:`NGramLM` a learner uses).

Introduced in: Chapter 1.
"""

from lmbook.models.ngram.model import NGramLM
from lmbook.models.ngram.sparsity import SparsityStats
from lmbook.models.ngram.vocab import BOS, EOS, UNK

__all__ = ["BOS", "EOS", "UNK", "NGramLM", "SparsityStats"]
