"""Word2Vec: skip-gram with negative sampling (Mikolov et al. 2013), trained by minibatch SGD.

Each word w has an input vector v_w (the embedding we keep) and an output vector u_w. For a
centre word c and a context word o within its window, skip-gram with negative sampling (SGNS)
maximises (Mikolov et al. 2013b, eq. 4)

    log σ(u_o · v_c) + Σ_{k=1..K} log σ(-u_{n_k} · v_c),    n_k ~ P_n(w) ∝ count(w)^0.75

so true (c, o) pairs score high and K random "noise" words score low. Three details of
word2vec.c matter as much as the objective and are reproduced here:

* frequent-word subsampling: a token of word w is kept with probability
  (sqrt(f_w / t) + 1) · t / f_w, with f_w its count and t = sample · (total tokens)
  (the formula of word2vec.c and gensim; the paper's 1 - sqrt(t/f) is the same idea);
* a dynamic window: each centre word uses a window b drawn uniformly from 1..window, which
  weights near context words more than far ones;
* a learning rate that decays linearly from ``lr`` to ``min_lr`` over training.

word2vec.c updates one pair at a time. Here the pairs of an epoch are generated at once with
numpy, shuffled, and processed in minibatches: the gradients of a batch are computed in closed
form (no autograd) and added to the touched rows with ``index_add_`` - a sparse SGD step, the
same as running the batch's pair updates "Hogwild" from one snapshot of the weights.

Introduced in: Chapter 4 (4.1 word embeddings).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch

from .corpus import _check_sentences, build_vocab, encode_sentences
from .vectors import WordVectors, check_positive_ints

__all__ = ["Word2Vec", "skipgram_pairs"]


def skipgram_pairs(
    ids: np.ndarray, sentence_id: np.ndarray, window: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """All (centre, context) pairs of one pass, with word2vec's dynamic window.

    Centre ``i`` draws its window b_i uniformly from 1..window and pairs with every token at
    distance d <= b_i in the same sentence.

    Args:
        ids: token ids, shape (N,).
        sentence_id: sentence of each token, shape (N,); windows never cross sentences.
        window: maximum distance.
        rng: source of the window draws.

    Returns:
        ``(centres, contexts)``: int64 arrays of shape (P,), in corpus order.

    Introduced in: Chapter 4.
    """
    n = len(ids)
    b = rng.integers(1, window + 1, size=n)  # dynamic window per centre
    centres, contexts = [], []
    for d in range(1, min(window, n - 1) + 1):
        same = sentence_id[:-d] == sentence_id[d:]  # token i and i+d share a sentence
        left = np.flatnonzero(same & (b[:-d] >= d))  # centre i sees i+d
        right = np.flatnonzero(same & (b[d:] >= d))  # centre i+d sees i
        centres += [ids[left], ids[right + d]]
        contexts += [ids[left + d], ids[right]]
    if not centres:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(centres), np.concatenate(contexts)


class Word2Vec(WordVectors):
    """Skip-gram with negative sampling, vectorised for CPU and GPU.

    Args:
        dim: vector width D.
        window: maximum context distance (the dynamic window draws 1..window per word).
        negative: noise words K per true pair.
        min_count: words seen fewer times are dropped from the vocabulary.
        epochs: passes over the corpus.
        seed: seeds the initial vectors, subsampling, windows, shuffling and noise draws.
        sample: subsampling threshold t (0 disables it); 1e-3 is gensim's default.
        lr: initial SGD learning rate (word2vec.c's skip-gram default 0.025).
        min_lr: learning rate at the end of training.
        batch_size: pairs per SGD step. Larger is faster; beyond a few thousand, frequent
            words collect many summed updates per step and quality drops.
        ns_exponent: exponent of the noise distribution count^ns_exponent (0.75 in the paper).
        device: where to train (``"cpu"``, ``"cuda"``); the result is a numpy array either way.
        verbose: print the loss after each epoch.

    Attributes:
        vocab, embeddings (V, D), counts (V,): see `WordVectors`. ``embeddings`` are the input
        vectors v_w.
        output_embeddings (np.ndarray): (V, D) output vectors u_w.
        loss_history (list[float]): mean SGNS loss per epoch.
        train_seconds (float): wall time of the last ``fit``.

    Example:
        >>> from lmbook import data
        >>> from lmbook.embeddings import Word2Vec, corpus_sentences
        >>> w2v = Word2Vec(dim=100).fit(corpus_sentences(data.load("shakespeare")))
        >>> w2v.most_similar("king", topn=3)  # doctest: +SKIP

    Introduced in: Chapter 4.
    """

    _config_fields = (
        "dim",
        "window",
        "negative",
        "min_count",
        "epochs",
        "seed",
        "sample",
        "lr",
        "min_lr",
        "batch_size",
        "ns_exponent",
    )
    _extra_arrays = ("output_embeddings",)
    _fit_hint = "call .fit(sentences) first"

    def __init__(
        self,
        dim: int = 100,
        window: int = 5,
        negative: int = 5,
        min_count: int = 5,
        epochs: int = 5,
        seed: int = 0,
        sample: float = 1e-3,
        lr: float = 0.025,
        min_lr: float = 1e-4,
        batch_size: int = 1024,
        ns_exponent: float = 0.75,
        device: str | torch.device | None = None,
        verbose: bool = False,
    ) -> None:
        super().__init__()
        check_positive_ints(
            dim=dim,
            window=window,
            negative=negative,
            min_count=min_count,
            epochs=epochs,
            batch_size=batch_size,
        )
        if not 0.0 <= sample < 1.0:
            raise ValueError(f"sample must be in [0, 1) (0 disables subsampling), got {sample}")
        if not lr > 0 or not 0 <= min_lr <= lr:
            raise ValueError(f"need lr > 0 and 0 <= min_lr <= lr, got lr={lr}, min_lr={min_lr}")
        self.dim, self.window, self.negative = int(dim), int(window), int(negative)
        self.min_count, self.epochs, self.seed = int(min_count), int(epochs), int(seed)
        self.sample, self.lr, self.min_lr = float(sample), float(lr), float(min_lr)
        self.batch_size, self.ns_exponent = int(batch_size), float(ns_exponent)
        self.device = device
        self.verbose = verbose
        self.output_embeddings: np.ndarray | None = None
        self.loss_history: list[float] = []
        self.train_seconds = 0.0

    def keep_probability(self, counts: np.ndarray) -> np.ndarray:
        """Subsampling: probability of keeping each token of each word, shape (V,)."""
        if self.sample == 0:
            return np.ones(len(counts))
        t = self.sample * counts.sum()  # word2vec.c: threshold in counts, not frequencies
        return np.minimum(1.0, (np.sqrt(counts / t) + 1.0) * t / counts)

    def fit(self, sentences: Sequence[Sequence[str]]) -> Word2Vec:
        """Build the vocabulary from ``sentences`` and train the vectors.

        Args:
            sentences: a list of sentences, each a list of words
                (see `lmbook.embeddings.corpus_sentences`).

        Returns:
            self, trained.
        """
        start = time.perf_counter()
        sentences = _check_sentences(sentences)
        vocab, counts = build_vocab(sentences, self.min_count)
        index = {w: i for i, w in enumerate(vocab)}
        ids, sent = encode_sentences(sentences, index)
        V, D, K = len(vocab), self.dim, self.negative
        device = torch.device(self.device) if self.device is not None else torch.device("cpu")

        rng = np.random.default_rng(self.seed)
        gen = torch.Generator(device=device).manual_seed(self.seed)
        # word2vec.c's initialisation: input vectors uniform in [-0.5/D, 0.5/D], outputs zero.
        w_in = torch.from_numpy((rng.random((V, D), dtype=np.float32) - 0.5) / D).to(device)
        w_out = torch.zeros(V, D, device=device)
        noise_table = torch.from_numpy(_unigram_table(counts, self.ns_exponent)).to(device)
        keep = self.keep_probability(counts)

        total_steps, done = None, 0
        self.loss_history = []
        for epoch in range(self.epochs):
            kept = rng.random(len(ids)) < keep[ids]
            centres, contexts = skipgram_pairs(ids[kept], sent[kept], self.window, rng)
            order = rng.permutation(len(centres))
            centres = torch.from_numpy(centres[order]).to(device)
            contexts = torch.from_numpy(contexts[order]).to(device)
            loss_sum, n_pairs = torch.zeros((), device=device), len(centres)
            if total_steps is None:
                # Every epoch has the same expected number of pairs: the first one's count sets
                # the length of the linear learning-rate decay.
                total_steps = max(1, self.epochs * n_pairs)
            for s in range(0, n_pairs, self.batch_size):
                c, o = centres[s : s + self.batch_size], contexts[s : s + self.batch_size]
                frac = min(1.0, (done + s) / total_steps)
                lr = self.lr - (self.lr - self.min_lr) * frac
                loss_sum += _sgns_step(w_in, w_out, c, o, noise_table, K, lr, gen)
            done += n_pairs
            self.loss_history.append(float(loss_sum) / max(n_pairs, 1))
            if self.verbose:
                print(
                    f"epoch {epoch + 1}/{self.epochs}: {n_pairs} pairs, "
                    f"loss {self.loss_history[-1]:.4f}, {time.perf_counter() - start:.1f}s"
                )
        self._set_vectors(vocab, w_in.cpu().numpy(), counts)
        self.output_embeddings = w_out.cpu().numpy()
        self.train_seconds = time.perf_counter() - start
        return self


def _unigram_table(counts: np.ndarray, exponent: float, size: int = 10_000_000) -> np.ndarray:
    """word2vec.c's noise table: word w fills about size · P_n(w) of ``size`` slots.

    Every word gets at least one slot. Returns an int64 array of word ids, shape (size',).
    """
    p = counts.astype(np.float64) ** exponent
    size = max(size // 10, min(size, 100 * len(counts)))  # 100 slots per word is plenty
    slots = np.maximum(1, np.round(p / p.sum() * size)).astype(np.int64)
    return np.repeat(np.arange(len(counts), dtype=np.int64), slots)


def _sgns_step(
    w_in: torch.Tensor,
    w_out: torch.Tensor,
    centres: torch.Tensor,
    contexts: torch.Tensor,
    noise_table: torch.Tensor,
    negative: int,
    lr: float,
    gen: torch.Generator,
) -> torch.Tensor:
    """One minibatch SGD step of SGNS, in place; returns the summed loss of the batch (0-d).

    Shapes: w_in, w_out (V, D); centres, contexts (B,); noise_table (table size,).
    """
    B, D = len(centres), w_in.shape[1]
    # Noise words: a uniform draw into a table where word w fills a share ∝ count(w)^0.75 of
    # the slots (word2vec.c's unigram table); one gather instead of a binary search per draw.
    slots = torch.randint(len(noise_table), (B, negative), generator=gen, device=w_in.device)
    targets = torch.cat([contexts[:, None], noise_table[slots]], dim=1)  # (B, 1 + K)
    v = w_in[centres]  # (B, D)
    out = w_out[targets]  # (B, 1 + K, D)
    scores = torch.bmm(out, v.unsqueeze(2)).squeeze(2)  # (B, 1+K, D) @ (B, D, 1) -> (B, 1+K)
    loss = -(
        torch.nn.functional.logsigmoid(scores[:, 0]).sum()
        + torch.nn.functional.logsigmoid(-scores[:, 1:]).sum()
    )
    # d/ds log σ(s) = 1 - σ(s) for the true pair; d/ds log σ(-s) = -σ(s) for noise words.
    g = torch.sigmoid(scores).neg_()
    g[:, 0] += 1.0
    g.mul_(lr)  # (B, 1 + K): gradient-ascent step per score
    # word2vec.c skips a noise word that happens to be the true context word.
    g[:, 1:].masked_fill_(targets[:, 1:] == contexts[:, None], 0.0)
    grad_v = torch.bmm(g.unsqueeze(1), out).squeeze(1)  # (B, 1, 1+K) @ (B, 1+K, D) -> (B, D)
    grad_out = g.unsqueeze(2) * v.unsqueeze(1)  # (B, 1+K, 1) * (B, 1, D) -> (B, 1+K, D)
    w_out.index_add_(0, targets.reshape(-1), grad_out.reshape(-1, D))
    w_in.index_add_(0, centres, grad_v)
    return loss.detach()  # a tensor: no device sync per step
