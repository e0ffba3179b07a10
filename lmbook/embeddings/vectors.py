"""`WordVectors`: a vocabulary plus one vector per word, with cosine queries and safe save/load.

Both `Word2Vec` and `GloVe` inherit from it: training differs, but what one does with the
result (nearest neighbours, similarity, analogies, saving) is the same.

Introduced in: Chapter 4 (4.1 word embeddings).
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from lmbook.io import atomic_write

__all__ = ["WordVectors", "UnknownWordError"]

_FORMAT_VERSION = 1


class UnknownWordError(KeyError, ValueError):
    """A query word is not in the vocabulary (rare words are dropped by ``min_count``)."""

    def __str__(self) -> str:  # KeyError would print the message quoted, as a repr
        return str(self.args[0]) if self.args else ""


class WordVectors:
    """A vocabulary and its embedding matrix, with cosine-similarity queries.

    Can be built directly from any vectors (``WordVectors(vocab, vectors)``), e.g. gensim's,
    to query them with the same code as lmbook's models.

    Args:
        vocab: the words, most frequent first.
        embeddings: array of shape (V, D), row ``i`` the vector of ``vocab[i]``.
        counts: optional corpus counts, shape (V,).

    Attributes:
        vocab (list[str]): the words.
        embeddings (np.ndarray): (V, D) float32 vectors.
        counts (np.ndarray | None): (V,) int64 word counts.

    Introduced in: Chapter 4.
    """

    # Subclasses list their constructor arguments here (saved as JSON) and the extra arrays they
    # keep after training (saved beside the embeddings).
    _config_fields: ClassVar[tuple[str, ...]] = ()
    _extra_arrays: ClassVar[tuple[str, ...]] = ()
    _fit_hint: ClassVar[str] = "build it from vectors or call .fit(sentences) first"
    # Every subclass registers itself by name, so ``WordVectors.load`` can rebuild the class a
    # file names without this module importing glove.py / word2vec.py (imports point one way:
    # they import this module, never the reverse).
    _subclasses: ClassVar[dict[str, type[WordVectors]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        WordVectors._subclasses[cls.__name__] = cls

    def __init__(
        self,
        vocab: Sequence[str] | None = None,
        embeddings: np.ndarray | None = None,
        counts: np.ndarray | None = None,
    ) -> None:
        self.vocab: list[str] = []
        self.embeddings: np.ndarray | None = None
        self.counts: np.ndarray | None = None
        self._index: dict[str, int] = {}
        self._unit: np.ndarray | None = None
        if vocab is not None or embeddings is not None:
            self._set_vectors(vocab, embeddings, counts)

    # ------------------------------------------------------------------ state
    def _set_vectors(self, vocab, embeddings, counts=None) -> None:
        if vocab is None or embeddings is None:
            raise ValueError("pass both vocab (list of words) and embeddings (array (V, D))")
        vectors = np.asarray(embeddings, dtype=np.float32)
        vocab = [str(w) for w in vocab]
        if vectors.ndim != 2 or vectors.shape[0] != len(vocab):
            raise ValueError(
                f"embeddings must have shape (V, D) with V = len(vocab) = {len(vocab)}, got "
                f"{vectors.shape}; pass one row per word"
            )
        if len(set(vocab)) != len(vocab):
            raise ValueError("vocab has duplicate words; each word must appear once")
        self.vocab = vocab
        self.embeddings = vectors
        self.counts = None if counts is None else np.asarray(counts, dtype=np.int64)
        self._index = {w: i for i, w in enumerate(vocab)}
        self._unit = None

    def _require_fitted(self) -> None:
        if self.embeddings is None:
            raise ValueError(f"{type(self).__name__} has no vectors yet; {self._fit_hint}")

    def __contains__(self, word: object) -> bool:
        return word in self._index

    def __len__(self) -> int:
        return len(self.vocab)

    @property
    def dim_(self) -> int:
        """Vector width D of the trained vectors."""
        self._require_fitted()
        return int(self.embeddings.shape[1])

    def index(self, word: str) -> int:
        """Row of ``word`` in ``embeddings``; raises `UnknownWordError` with a fix if absent."""
        self._require_fitted()
        try:
            return self._index[word]
        except KeyError:
            hint = ""
            if word != word.lower() and word.lower() in self._index:
                hint = f" (the vocabulary is lowercase: try {word.lower()!r})"
            min_count = getattr(self, "min_count", None)
            fix = (
                f"lower min_count (now {min_count}) and refit, or use a larger corpus"
                if min_count is not None
                else "check the spelling or use vectors trained on a larger corpus"
            )
            raise UnknownWordError(
                f"{word!r} is not in the vocabulary of {len(self.vocab)} words{hint}; words seen "
                f"fewer than min_count times are dropped: {fix}"
            ) from None

    def vector(self, word: str) -> np.ndarray:
        """The embedding of ``word``, shape (D,)."""
        return self.embeddings[self.index(word)]

    @property
    def unit_embeddings(self) -> np.ndarray:
        """Rows scaled to unit length, shape (V, D); cosine similarity is then a dot product."""
        self._require_fitted()
        if self._unit is None:
            norms = np.linalg.norm(self.embeddings, axis=1, keepdims=True)
            self._unit = self.embeddings / np.maximum(norms, 1e-12)
        return self._unit

    # ---------------------------------------------------------------- queries
    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two words' vectors, in [-1, 1]."""
        u = self.unit_embeddings
        return float(u[self.index(a)] @ u[self.index(b)])

    def most_similar(
        self, word: str | np.ndarray, topn: int = 10, exclude: Sequence[str] = ()
    ) -> list[tuple[str, float]]:
        """The ``topn`` words with the highest cosine similarity to ``word`` (itself excluded).

        Args:
            word: a vocabulary word, or a query vector of shape (D,).
            topn: how many neighbours to return.
            exclude: further words to leave out of the answer.

        Returns:
            A list of ``(word, cosine)`` pairs, most similar first.
        """
        if topn < 1:
            raise ValueError(f"topn must be >= 1, got {topn}")
        u = self.unit_embeddings
        banned = [self.index(w) for w in exclude]
        if isinstance(word, str):
            banned.append(self.index(word))
            query = u[self.index(word)]
        else:
            query = np.asarray(word, dtype=np.float32)
            if query.shape != (u.shape[1],):
                raise ValueError(
                    f"a query vector must have shape ({u.shape[1]},), got {query.shape}"
                )
            query = query / max(float(np.linalg.norm(query)), 1e-12)
        sims = u @ query  # (V, D) @ (D,) -> (V,)
        sims[banned] = -np.inf
        k = min(topn, len(self.vocab) - len(set(banned)))
        if k <= 0:
            return []
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(self.vocab[i], float(sims[i])) for i in top]

    def analogy(self, a: str, b: str, c: str, topn: int = 1) -> list[tuple[str, float]]:
        """Solve "a is to b as c is to ?" by 3CosAdd (Mikolov et al. 2013b).

        The answer maximises cos(x, b - a + c) over unit vectors, excluding a, b and c.

        Returns:
            ``topn`` ``(word, cosine)`` pairs.
        """
        u = self.unit_embeddings
        query = u[self.index(b)] - u[self.index(a)] + u[self.index(c)]
        return self.most_similar(query, topn=topn, exclude=(a, b, c))

    # -------------------------------------------------------------- save/load
    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, JSON-serialisable."""
        return {k: getattr(self, k) for k in self._config_fields}

    def save(self, path: str | os.PathLike) -> None:
        """Write vocabulary, vectors, config and training state to one ``.npz`` file.

        The file holds plain arrays and a JSON config, no pickled objects, so loading it cannot
        run code. It is written to a temporary file and renamed, so a crash never leaves a
        half-written file under ``path``.
        """
        self._require_fitted()
        path = Path(path)
        meta = {
            "class": type(self).__name__,
            "format_version": _FORMAT_VERSION,
            "config": self.get_config(),
            "history": getattr(self, "loss_history", []),
        }
        arrays = {
            "vocab": np.array(self.vocab, dtype=np.str_),
            "embeddings": self.embeddings,
            "meta": np.array(json.dumps(meta)),
        }
        if self.counts is not None:
            arrays["counts"] = self.counts
        for name in self._extra_arrays:
            value = getattr(self, name, None)
            if value is not None:
                arrays[name] = np.asarray(value)
        with atomic_write(path, "wb") as f:
            np.savez(f, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> WordVectors:
        """Load a file written by `save`.

        ``WordVectors.load`` returns whichever model the file holds; ``Word2Vec.load`` and
        ``GloVe.load`` insist on their own class.

        Raises:
            FileNotFoundError: no such file.
            ValueError: the file is not an lmbook embeddings file, is corrupt, or holds another
                model class.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no embeddings file at {path}; check the path passed to save")
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
            raise ValueError(
                f"{path} is not a readable lmbook embeddings file ({type(e).__name__}: {e}); "
                "it may be truncated or corrupt: save the model again"
            ) from e
        missing = {"vocab", "embeddings", "meta"} - data.keys()
        if missing:
            raise ValueError(
                f"{path} lacks {sorted(missing)}: it was not written by lmbook's save()"
            )
        meta = json.loads(str(data["meta"]))
        if meta.get("format_version") != _FORMAT_VERSION:
            raise ValueError(
                f"{path} has format version {meta.get('format_version')}, this lmbook reads "
                f"{_FORMAT_VERSION}; upgrade lmbook or re-save the model"
            )
        target = cls
        if cls is WordVectors:
            target = WordVectors._subclasses.get(meta["class"], WordVectors)
        elif meta["class"] != cls.__name__:
            raise ValueError(
                f"{path} holds a {meta['class']} model, not a {cls.__name__}; load it with "
                f"{meta['class']}.load or WordVectors.load"
            )
        obj = target(**meta["config"]) if target is not WordVectors else WordVectors()
        obj._set_vectors(data["vocab"].tolist(), data["embeddings"], data.get("counts"))
        for name in target._extra_arrays:
            if name in data:
                setattr(obj, name, data[name])
        if hasattr(obj, "loss_history"):
            obj.loss_history = list(meta.get("history", []))
        return obj

    def __repr__(self) -> str:
        cfg = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        state = f"V={len(self.vocab)}" if self.embeddings is not None else "not fitted"
        return f"{type(self).__name__}({cfg}) [{state}]"


def check_positive_ints(**values: Any) -> None:
    """Raise ValueError naming the first argument that is not a positive integer."""
    for name, value in values.items():
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
