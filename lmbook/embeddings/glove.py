"""GloVe: global vectors from weighted least squares on log co-occurrence counts.

Pennington, Socher and Manning (2014) fit word vectors w_i, context vectors w̃_j and biases
b_i, b̃_j to the co-occurrence counts X_ij of the whole corpus (eq. 8):

    J = Σ_{i,j: X_ij > 0} f(X_ij) (w_i · w̃_j + b_i + b̃_j - log X_ij)²,
    f(x) = min(1, (x / x_max)^α)   (eq. 9; x_max = 100, α = 3/4)

X_ij adds 1/d for every occurrence of word j at distance d <= window from word i (the
reference ``cooccur.c``, symmetric window). Training follows the reference ``glove.c``:
AdaGrad over the non-zero entries in random order, squared-gradient accumulators started at 1,
initial values uniform in [-0.5/D, 0.5/D], and the final vectors w_i + w̃_i (the paper, §4.2:
the sum is slightly better than either). glove.c updates one entry at a time; here a shuffled
minibatch of entries is updated at once with ``index_add_``.

Introduced in: Chapter 4 (4.1 word embeddings).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch

from .corpus import _check_sentences, build_vocab, encode_sentences
from .vectors import WordVectors, check_positive_ints

__all__ = ["GloVe", "cooccurrence"]


def cooccurrence(
    ids: np.ndarray, sentence_id: np.ndarray, vocab_size: int, window: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distance-weighted co-occurrence counts, as a sparse (COO) matrix.

    X_ij = Σ over occurrences of j at distance d in 1..window from i, same sentence, of 1/d;
    the window is symmetric, so X is symmetric.

    Args:
        ids: token ids, shape (N,).
        sentence_id: sentence of each token, shape (N,).
        vocab_size: V.
        window: maximum distance.

    Returns:
        ``(rows, cols, values)``: int64, int64, float64 arrays of shape (nnz,), sorted by
        (row, col), each non-zero entry once.

    Introduced in: Chapter 4.
    """
    keys, weights = [], []
    for d in range(1, min(window, len(ids) - 1) + 1):
        same = np.flatnonzero(sentence_id[:-d] == sentence_id[d:])  # token i and i+d
        left, right = ids[same], ids[same + d]
        # Both directions: j is in i's window and i in j's (cooccur.c with symmetric=1).
        keys += [left * vocab_size + right, right * vocab_size + left]
        weights.append(np.full(2 * len(same), 1.0 / d))
    if not keys:
        empty = np.zeros(0, np.int64)
        return empty, empty.copy(), np.zeros(0, np.float64)
    uniq, inverse = np.unique(np.concatenate(keys), return_inverse=True)
    values = np.bincount(inverse.ravel(), weights=np.concatenate(weights), minlength=len(uniq))
    return uniq // vocab_size, uniq % vocab_size, values


class GloVe(WordVectors):
    """GloVe vectors trained with AdaGrad on the corpus's co-occurrence counts.

    Args:
        dim: vector width D.
        window: context distance for counting (each pair weighted 1/distance).
        x_max: count at which the weight f(x) saturates at 1. The paper's 100 suits corpora of
            billions of tokens; on a small corpus nearly every count is far below it and gets a
            tiny weight. glove's own text8 demo (17M tokens) uses 10, and so should a corpus
            the size of Shakespeare's (0.9M): measured here, x_max=100 gave "king" the
            neighbours sea, air, land; x_max=10 gave prince, henry, england.
        alpha: exponent of the weighting function.
        epochs: passes over the non-zero counts.
        seed: seeds the initial vectors and the entry order.
        lr: AdaGrad step size (glove.c's eta).
        min_count: words seen fewer times are dropped before counting.
        batch_size: non-zero entries per update.
        device: where to train (``"cpu"``, ``"cuda"``); the result is a numpy array either way.
        verbose: print the loss after each epoch.

    Attributes:
        vocab, embeddings (V, D), counts (V,): see `WordVectors`; ``embeddings`` = W + W̃.
        word_vectors, context_vectors (np.ndarray): W and W̃, (V, D) each.
        biases, context_biases (np.ndarray): b and b̃, (V,) each.
        nnz (int): number of non-zero co-occurrence entries.
        loss_history (list[float]): mean weighted squared error per entry, per epoch.

    Introduced in: Chapter 4.
    """

    _config_fields = (
        "dim",
        "window",
        "x_max",
        "alpha",
        "epochs",
        "seed",
        "lr",
        "min_count",
        "batch_size",
    )
    _extra_arrays = ("word_vectors", "context_vectors", "biases", "context_biases")
    _fit_hint = "call .fit(sentences) first"

    def __init__(
        self,
        dim: int = 100,
        window: int = 10,
        x_max: float = 100.0,
        alpha: float = 0.75,
        epochs: int = 25,
        seed: int = 0,
        lr: float = 0.05,
        min_count: int = 5,
        batch_size: int = 4096,
        device: str | torch.device | None = None,
        verbose: bool = False,
    ) -> None:
        super().__init__()
        check_positive_ints(
            dim=dim, window=window, epochs=epochs, min_count=min_count, batch_size=batch_size
        )
        if not x_max > 0 or not alpha >= 0 or not lr > 0:
            raise ValueError(
                f"need x_max > 0, alpha >= 0 and lr > 0, got x_max={x_max}, alpha={alpha}, lr={lr}"
            )
        self.dim, self.window, self.epochs = int(dim), int(window), int(epochs)
        self.x_max, self.alpha, self.lr = float(x_max), float(alpha), float(lr)
        self.seed, self.min_count, self.batch_size = int(seed), int(min_count), int(batch_size)
        self.device = device
        self.verbose = verbose
        self.word_vectors = self.context_vectors = None
        self.biases = self.context_biases = None
        self.nnz = 0
        self.loss_history: list[float] = []
        self.train_seconds = 0.0

    def fit(self, sentences: Sequence[Sequence[str]]) -> GloVe:
        """Count co-occurrences in ``sentences`` and fit the vectors.

        Args:
            sentences: a list of sentences, each a list of words.

        Returns:
            self, trained.
        """
        start = time.perf_counter()
        sentences = _check_sentences(sentences)
        vocab, counts = build_vocab(sentences, self.min_count)
        ids, sent = encode_sentences(sentences, {w: i for i, w in enumerate(vocab)})
        V, D = len(vocab), self.dim
        rows, cols, values = cooccurrence(ids, sent, V, self.window)
        if len(values) == 0:
            raise ValueError(
                "no two vocabulary words co-occur within the window; use longer sentences, "
                "a larger window or a lower min_count"
            )
        self.nnz = len(values)
        device = torch.device(self.device) if self.device is not None else torch.device("cpu")
        rng = np.random.default_rng(self.seed)

        def init(*shape: int) -> torch.Tensor:  # glove.c: uniform in [-0.5/D, 0.5/D]
            return torch.from_numpy((rng.random(shape, dtype=np.float32) - 0.5) / D).to(device)

        w, wt, b, bt = init(V, D), init(V, D), init(V), init(V)
        # Biases ride along as extra columns: [w | b | 1] · [w̃ | 1 | b̃] = w·w̃ + b + b̃, the
        # model of eq. 8, in one gather and one index_add_ per side. The constant columns get
        # zero gradient, so they stay 1.
        one = torch.ones(V, 1, device=device)
        wa = torch.cat([w, b[:, None], one], dim=1)  # (V, D + 2)
        wc = torch.cat([wt, one, bt[:, None]], dim=1)  # (V, D + 2)
        # AdaGrad accumulators start at 1 (glove.c), so the first steps are at most lr.
        ga, gc = torch.ones_like(wa), torch.ones_like(wc)
        rows_t = torch.from_numpy(rows).to(device)
        cols_t = torch.from_numpy(cols).to(device)
        log_x = torch.from_numpy(np.log(values)).to(device, torch.float32)
        weight = torch.from_numpy(np.minimum(1.0, (values / self.x_max) ** self.alpha)).to(
            device, torch.float32
        )
        self.loss_history = []
        buf_wi, buf_wj, buf_a, buf_b = (
            torch.empty(min(self.batch_size, self.nnz), D + 2, device=device) for _ in range(4)
        )
        for epoch in range(self.epochs):
            # Shuffle the entries once per epoch; each batch is then a contiguous slice.
            # index_select, not fancy indexing (t[idx]): on the CPU the latter is a general
            # scatter/gather kernel, measured 6x slower for these row gathers (the profile of
            # this loop was mostly t[idx]; see benchmarks/bench_embeddings.py).
            order = torch.from_numpy(rng.permutation(self.nnz)).to(device)
            r, c = rows_t.index_select(0, order), cols_t.index_select(0, order)
            lx, fx = log_x.index_select(0, order), weight.index_select(0, order)
            total = torch.zeros((), device=device)
            for s in range(0, self.nnz, self.batch_size):
                i, j = r[s : s + self.batch_size], c[s : s + self.batch_size]
                n = len(i)
                # Preallocated buffers (out=, in-place ops): a fresh (B, D + 2) temporary per
                # op costs the CPU an mmap and page faults each time, most of the step's time.
                wi = torch.index_select(wa, 0, i, out=buf_wi[:n])  # (B, D + 2)
                wj = torch.index_select(wc, 0, j, out=buf_wj[:n])  # (B, D + 2)
                diff = torch.mul(wi, wj, out=buf_a[:n]).sum(1) - lx[s : s + n]  # (B,)
                fdiff = fx[s : s + n] * diff
                total += (fdiff * diff).sum() * 0.5
                fdiff = fdiff.mul_(self.lr)[:, None]  # (B, 1)
                grad_i = torch.mul(wj, fdiff, out=buf_a[:n])  # lr · ∂J/∂[w_i | b_i | 1]
                grad_j = torch.mul(wi, fdiff, out=buf_b[:n])  # lr · ∂J/∂[w̃_j | 1 | b̃_j]
                grad_i[:, D + 1] = 0.0  # the constant columns
                grad_j[:, D] = 0.0
                # glove.c: step with the accumulator *before* adding this gradient's square.
                step = torch.index_select(ga, 0, i, out=buf_wi[:n]).sqrt_()  # wi is done
                wa.index_add_(0, i, torch.div(grad_i, step, out=step), alpha=-1.0)
                step = torch.index_select(gc, 0, j, out=buf_wj[:n]).sqrt_()
                wc.index_add_(0, j, torch.div(grad_j, step, out=step), alpha=-1.0)
                ga.index_add_(0, i, grad_i.square_())
                gc.index_add_(0, j, grad_j.square_())
            self.loss_history.append(float(total) / self.nnz)
            if self.verbose:
                print(
                    f"epoch {epoch + 1}/{self.epochs}: loss {self.loss_history[-1]:.4f}, "
                    f"{time.perf_counter() - start:.1f}s"
                )
        wa, wc = wa.cpu().numpy(), wc.cpu().numpy()
        self.word_vectors, self.context_vectors = wa[:, :D].copy(), wc[:, :D].copy()
        self.biases, self.context_biases = wa[:, D].copy(), wc[:, D + 1].copy()
        self._set_vectors(vocab, self.word_vectors + self.context_vectors, counts)
        self.train_seconds = time.perf_counter() - start
        return self
