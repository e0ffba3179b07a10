"""Fill in the blanks: a masked language model's top-k guesses for each [MASK], and the
baseline every masked LM must beat.

This is how BERT's pretraining objective is inspected by eye (Devlin et al. 2019): hide a
word, ask the model for its most probable replacements. ``FrequencyBaseline`` is the MLM's
trivial baseline: predict every masked token from corpus frequencies alone, ignoring the
context; a model whose masked-token loss is not clearly below it has not learned to use
context. ``heldout_blocks``, ``hidden_at_masks``, ``masked_token_nll`` and ``gap_interval``
score a model and the baseline on the *same* masked positions of held-out text and say
whether the gap between them is more than noise. ``WindowProbe`` is the cheap way to get a
masked LM out of a pretrained encoder that ships without its MLM head: freeze the encoder and
train a small head on the vectors around each blank.

Introduced in: Chapter 5 (5.1 BERT pretraining: fill-ins before and after training).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from lmbook.stats import check_bootstrap, percentile_interval

__all__ = [
    "FrequencyBaseline",
    "WindowProbe",
    "fill_mask",
    "gap_interval",
    "heldout_blocks",
    "hidden_at_masks",
    "masked_token_nll",
]


@torch.no_grad()
def fill_mask(
    model: nn.Module, tokenizer: Any, texts: Sequence[str], k: int = 5
) -> list[list[list[tuple[str, float]]]]:
    """Top-k predictions for every ``[MASK]`` token in each text.

    Args:
        model: an lmbook ``BERT`` (its MLM head is used); run in eval mode.
        tokenizer: its ``WordPieceTokenizer`` (``encode``, ``special_tokens`` with [MASK],
            [CLS], [SEP], [PAD], ``convert_ids_to_tokens``); write each blank as the
            literal ``[MASK]`` in the text.
        texts: sentences with one or more ``[MASK]``.
        k: how many guesses per blank.

    Returns:
        for each text, for each [MASK] in order, k ``(token, probability)`` pairs, best first.
    """
    if isinstance(texts, str):
        raise TypeError("fill_mask expects a list of texts, not one str; wrap it: [text]")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    special = tokenizer.special_tokens
    mask_id, cls_id, sep_id, pad_id = (special[t] for t in ("[MASK]", "[CLS]", "[SEP]", "[PAD]"))
    rows_ids = []
    for text in texts:
        pieces = text.split("[MASK]")
        if len(pieces) == 1:
            raise ValueError(f"no [MASK] token in {text!r}; write the blank as [MASK]")
        # encode the text around each blank and put the mask id in between, so the blank
        # is one token whatever the tokenizer does with the literal "[MASK]"
        ids = [cls_id]
        for i, piece in enumerate(pieces):
            if i:
                ids.append(mask_id)
            ids += tokenizer.encode(piece)
        rows_ids.append([*ids, sep_id])
    T = max(map(len, rows_ids))
    device = next(model.parameters()).device
    input_ids = torch.full((len(texts), T), pad_id, dtype=torch.long)
    attention_mask = torch.zeros_like(input_ids)
    for r, ids in enumerate(rows_ids):
        input_ids[r, : len(ids)] = torch.tensor(ids)
        attention_mask[r, : len(ids)] = 1
    batch = {"input_ids": input_ids.to(device), "attention_mask": attention_mask.to(device)}
    is_mask = batch["input_ids"] == mask_id  # (B, T)
    was_training = model.training
    model.eval()
    try:
        out = model(
            batch["input_ids"],
            attention_mask=batch["attention_mask"],
        )
        # only the masked positions go through the (T, V) output layer: (N, D) -> (N, V)
        logits = model.mlm_logits(out.last_hidden_state[is_mask].unsqueeze(0)).squeeze(0)
    finally:
        model.train(was_training)
    probs, ids = torch.softmax(logits.float(), dim=-1).topk(k, dim=-1)  # (N, k)
    results: list[list[list[tuple[str, float]]]] = [[] for _ in texts]
    rows = is_mask.nonzero()[:, 0].tolist()  # row of each masked position, in order
    for n, row in enumerate(rows):
        tokens = tokenizer.convert_ids_to_tokens(ids[n].tolist())
        results[row].append([(t, float(p)) for t, p in zip(tokens, probs[n], strict=True)])
    return results


class FrequencyBaseline:
    """Predict every masked token by its corpus frequency (a unigram model), context ignored.

    p(w) = (count(w) + alpha) / (N + alpha * V), counted on the training token stream.

    Args:
        token_ids: the training text as one stream of token ids.
        vocab_size: V.
        alpha: add-alpha smoothing, so no token has probability zero
            (:meth:`fit` chooses it on held-out training text).

    Example:
        >>> base = FrequencyBaseline(torch.tensor([5, 5, 5, 7]), vocab_size=10, alpha=1.0)
        >>> round(base.nll(torch.tensor([5])), 4)   # -ln((3 + 1) / (4 + 10))
        1.2528
    """

    def __init__(self, token_ids: torch.Tensor, vocab_size: int, alpha: float = 1.0) -> None:
        if token_ids.dim() != 1 or token_ids.numel() == 0:
            raise ValueError("token_ids must be a non-empty 1-D stream of ids; flatten it first")
        if alpha <= 0:
            raise ValueError(
                f"alpha must be > 0 (a zero probability makes the loss infinite), got {alpha}"
            )
        if int(token_ids.max()) >= vocab_size or int(token_ids.min()) < 0:
            raise ValueError(f"token ids must lie in [0, {vocab_size}); check vocab_size")
        self.alpha = alpha
        counts = torch.bincount(token_ids.long(), minlength=vocab_size).double() + alpha
        self.log_probs = (counts / counts.sum()).log().float()  # (V,)

    @classmethod
    def fit(
        cls,
        token_ids: torch.Tensor,
        vocab_size: int,
        alphas: tuple[float, ...] = (1.0, 0.3, 0.1, 0.03, 0.01),
        held_out: float = 0.1,
    ) -> FrequencyBaseline:
        """The table with the smoothing that predicts unseen training text best.

        Counts the first ``1 - held_out`` of the stream, scores its last ``held_out`` with
        each ``alpha``, and returns the table counted on the whole stream with the best one.
        Add-one is a weak default when the vocabulary is large against the text (30,522
        WordPieces against 100 k tokens: a quarter of the mass goes to the pseudo-counts), and
        a baseline must not be weakened by a setting chosen without looking.

        Example:
            >>> stream = torch.tensor([5, 5, 5, 7] * 20)
            >>> FrequencyBaseline.fit(stream, vocab_size=1000).alpha
            0.01
        """
        if not 0 < held_out < 1:
            raise ValueError(f"held_out must be a fraction in (0, 1), got {held_out}")
        cut = int(len(token_ids) * (1 - held_out))
        if cut == 0 or cut == len(token_ids):
            raise ValueError(
                f"{len(token_ids)} tokens are too few to hold out {held_out:.0%}; pass alpha directly"
            )
        head, tail = token_ids[:cut], token_ids[cut:]
        loss = {a: float(-cls(head, vocab_size, a).log_probs[tail].mean()) for a in alphas}
        return cls(token_ids, vocab_size, min(loss, key=loss.get))

    def token_nll(self, labels: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
        """Negative log-likelihood in nats of every label that is not ``ignore_index``.

        ``labels`` is what ``mlm_mask`` returns: the original id at masked positions, -100
        elsewhere. Returns (N,) in row-major order of the masked positions, the order of
        :func:`masked_token_nll`, so the two can be compared token by token.
        """
        chosen = labels[labels != ignore_index]
        if chosen.numel() == 0:
            raise ValueError("no masked positions in labels (all are ignore_index)")
        return -self.log_probs.to(chosen.device)[chosen]

    def nll(self, labels: torch.Tensor, ignore_index: int = -100) -> float:
        """Mean of :meth:`token_nll`: directly comparable with a masked-LM's loss on the
        same masks."""
        return float(self.token_nll(labels, ignore_index).mean())


def heldout_blocks(
    ids: torch.Tensor, block_size: int, cls_token_id: int, sep_token_id: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut a held-out token stream into consecutive, non-overlapping ``[CLS] ... [SEP]`` blocks.

    Unlike ``MLMBlocks.get_batch`` (random windows, which overlap), every token of the
    stream is used once, so masking these blocks once gives each held-out token the same
    chance of being scored. The tail shorter than a block is dropped.

    Args:
        ids: (L,) token ids.
        block_size: tokens per block, [CLS] and [SEP] included.
        cls_token_id, sep_token_id: the special ids.

    Returns:
        ``(input_ids, special_tokens_mask)``, both (L // (block_size - 2), block_size), ready
        for ``mlm_mask``.

    Example:
        >>> x, special = heldout_blocks(torch.arange(10, 17), 4, cls_token_id=1, sep_token_id=2)
        >>> x.tolist(), special[0].tolist()
        ([[1, 10, 11, 2], [1, 12, 13, 2], [1, 14, 15, 2]], [1, 0, 0, 1])
    """
    if ids.dim() != 1:
        raise ValueError(f"ids must be one 1-D stream, got shape {tuple(ids.shape)}")
    body = block_size - 2
    if body < 1:
        raise ValueError(f"block_size must be >= 3 ([CLS], a token, [SEP]), got {block_size}")
    n = ids.numel() // body
    if n == 0:
        raise ValueError(f"{ids.numel()} tokens do not fill one block of {body}; shorten blocks")
    rows = ids[: n * body].view(n, body)
    input_ids = torch.cat(
        [rows.new_full((n, 1), cls_token_id), rows, rows.new_full((n, 1), sep_token_id)], dim=1
    )
    special = torch.zeros_like(input_ids)
    special[:, [0, -1]] = 1
    return input_ids, special


@torch.no_grad()
def hidden_at_masks(
    model: nn.Module, input_ids: torch.Tensor, labels: torch.Tensor, batch_size: int = 64
) -> tuple[torch.Tensor, torch.Tensor]:
    """The encoder's output vectors at the masked positions, and the tokens to predict there.

    The cache a frozen-encoder probe trains on: the encoder runs once, in eval mode and
    without gradients, and only the (N, D) rows the MLM head needs are kept.

    Args:
        model: an lmbook ``BERT`` (or any module returning ``.last_hidden_state``).
        input_ids: (B, T) masked inputs from ``mlm_mask``.
        labels: (B, T) its labels (-100 where nothing is predicted).
        batch_size: blocks per forward pass.

    Returns:
        ``(hidden, targets)``: (N, D) and (N,), in row-major order of the masked positions.
    """
    if input_ids.shape != labels.shape:
        raise ValueError(
            f"input_ids {tuple(input_ids.shape)} and labels {tuple(labels.shape)} must match"
        )
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    chosen = labels != -100
    try:
        rows = []
        for i in range(0, len(input_ids), batch_size):
            h = model(input_ids[i : i + batch_size].to(device)).last_hidden_state
            rows.append(h[chosen[i : i + batch_size].to(device)])
    finally:
        model.train(was_training)
    return torch.cat(rows), labels[chosen].to(device)


@torch.no_grad()
def masked_token_nll(
    model: nn.Module, input_ids: torch.Tensor, labels: torch.Tensor, batch_size: int = 64
) -> torch.Tensor:
    """A masked LM's negative log-likelihood (nats) at every masked position: (N,).

    Same order as :meth:`FrequencyBaseline.token_nll` on the same ``labels``, so
    ``base.token_nll(labels) - masked_token_nll(model, x, labels)`` is the per-token gain
    from reading the context.
    """
    hidden, targets = hidden_at_masks(model, input_ids, labels, batch_size)
    logits = model.mlm_logits(hidden)  # (N, D) -> (N, V)
    return nn.functional.cross_entropy(logits.float(), targets, reduction="none")


def gap_interval(
    nll_a: torch.Tensor,
    nll_b: torch.Tensor,
    groups: torch.Tensor | None = None,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Mean of ``nll_a - nll_b`` with a paired bootstrap interval.

    Both losses are on the same tokens, so each resample takes the same tokens for both and
    what is hard for both cancels out. Tokens of one text block are not independent: pass
    ``groups`` (the block of each token) to resample whole blocks instead of tokens.

    Args:
        nll_a, nll_b: (N,) per-token losses on the same positions.
        groups: optional (N,) integer group of each token.
        n_boot: resamples; level: coverage of the interval; seed: seeds the resampling.

    Returns:
        ``(mean gap, low, high)`` in nats; positive means a has the higher loss.

    Example:
        >>> a, b = torch.tensor([2.0, 3.0, 4.0, 5.0]), torch.tensor([1.0, 2.0, 3.0, 4.0])
        >>> gap_interval(a, b)  # b is better by exactly 1 on every token
        (1.0, 1.0, 1.0)
    """
    if nll_a.shape != nll_b.shape or nll_a.dim() != 1 or nll_a.numel() == 0:
        raise ValueError(
            f"need two equal, non-empty 1-D loss vectors, got {tuple(nll_a.shape)} "
            f"and {tuple(nll_b.shape)}"
        )
    check_bootstrap(n_boot, level)
    diff = (nll_a - nll_b).double().cpu()
    if groups is None:
        groups = torch.arange(diff.numel())
    _, group = torch.unique(groups.cpu(), return_inverse=True)
    n_groups = int(group.max()) + 1
    sums = torch.zeros(n_groups, dtype=torch.float64).index_add_(0, group, diff)
    counts = torch.bincount(group, minlength=n_groups).double()
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(n_groups, (n_boot, n_groups), generator=g)
    boots = sums[idx].sum(1) / counts[idx].sum(1)  # mean gap over the resampled tokens
    return (float(diff.mean()), *percentile_interval(boots.numpy(), level))


class WindowProbe(nn.Module):
    """A frozen pretrained encoder with a trained masked-LM head that reads a window of vectors.

    For a blank at position t the head sees the encoder's output vectors at t - w ... t + w
    (zeros past the ends), concatenated: ``(2w + 1) * D`` numbers. Then, as BERT's MLM head:
    dense -> GELU -> LayerNorm -> the encoder's token table (tied, frozen) -> + a fixed bias.
    With ``log_prior`` the bias is a context-free distribution (e.g.
    ``FrequencyBaseline.log_probs``), so the head only learns what the context adds to it.

    Why a window: an encoder fine-tuned for sentence embeddings (all-MiniLM-L6-v2) keeps
    little about a ``[MASK]`` in the ``[MASK]`` position's own vector, while its neighbours'
    vectors still say which words surround the blank.

    Args:
        encoder: an lmbook ``BERT``; it is copied (the caller's model is left alone), cut to
            its first ``n_layers`` blocks and frozen.
        n_layers: how many blocks to keep (None: all).
        window: w, vectors on each side of the blank.
        log_prior: (V,) fixed output bias; None: zeros.

    Trainable parameters: ``dense`` and ``norm`` only. ``forward`` returns the windowed
    vectors as ``last_hidden_state`` (B, T, (2w + 1) D) and ``mlm_logits`` maps them to (..., V),
    so :func:`fill_mask`, :func:`hidden_at_masks` and :func:`masked_token_nll` work on it as
    on a ``BERT``.
    """

    def __init__(
        self,
        encoder: nn.Module,
        n_layers: int | None = None,
        window: int = 1,
        log_prior: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        if window < 0:
            raise ValueError(f"window must be >= 0, got {window}")
        self.encoder = copy.deepcopy(encoder)
        if n_layers is not None:
            if not 1 <= n_layers <= len(self.encoder.blocks):
                raise ValueError(
                    f"n_layers must be in [1, {len(self.encoder.blocks)}], got {n_layers}"
                )
            self.encoder.blocks = self.encoder.blocks[:n_layers]
        self.encoder.requires_grad_(False).eval()
        self.window = window
        c = self.encoder.config
        self.dense = nn.Linear((2 * window + 1) * c.d_model, c.d_model)
        self.norm = nn.LayerNorm(c.d_model, eps=c.layer_norm_eps)
        if log_prior is None:
            log_prior = torch.zeros(c.vocab_size)
        if tuple(log_prior.shape) != (c.vocab_size,):
            raise ValueError(
                f"log_prior must have shape ({c.vocab_size},), got {tuple(log_prior.shape)}"
            )
        self.register_buffer("bias", log_prior.detach().float().clone())

    def train(self, mode: bool = True) -> WindowProbe:
        """Train mode for the head only: the frozen encoder stays in eval mode (no dropout)."""
        super().train(mode)
        self.encoder.eval()
        return self

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
    ):
        """Encode, then stack each position's window: (B, T) -> last_hidden_state (B, T, (2w+1) D)."""
        out = self.encoder(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        h = out.last_hidden_state  # (B, T, D)
        w, T = self.window, h.shape[1]
        padded = F.pad(h, (0, 0, w, w))  # (B, T + 2w, D), zeros past both ends
        windows = torch.cat([padded[:, i : i + T] for i in range(2 * w + 1)], dim=-1)
        return type(out)(windows, out.pooler_output, out.attentions)

    def mlm_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """(..., (2w+1) D) windowed vectors -> (..., V) logits."""
        z = self.norm(F.gelu(self.dense(hidden)))
        return z @ self.encoder.tok_emb.weight.T + self.bias
