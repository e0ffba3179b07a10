import math

import pytest
import torch
from torch import nn

from lmbook.metrics import evaluate_perplexity, perplexity, token_nll, window_nll, window_targets


def test_perplexity_of_uniform_guess_is_vocab_size():
    assert perplexity(math.log(65)) == pytest.approx(65.0)
    assert perplexity(torch.tensor(0.0)) == 1.0
    with pytest.raises(ValueError, match="non-negative"):
        perplexity(-0.1)


def test_token_nll_matches_log_softmax():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 3, 11, generator=g)
    targets = torch.randint(11, (2, 3), generator=g)
    targets[1, 2] = -100
    nll = token_nll(logits, targets)
    manual = -torch.log_softmax(logits, -1)[0, 1, targets[0, 1]]
    assert nll[0, 1].item() == pytest.approx(manual.item(), abs=1e-6)
    assert nll[1, 2].item() == 0.0
    with pytest.raises(ValueError, match="disagree"):
        token_nll(logits, targets[:, :2])


class Uniform(nn.Module):
    def __init__(self, V):
        super().__init__()
        self.V = V
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return torch.zeros(*x.shape, self.V) + self.dummy


def test_evaluate_perplexity_scores_every_token_once():
    ids = torch.randint(13, (200,))
    assert evaluate_perplexity(Uniform(13), ids, block_size=17, batch_size=3) == pytest.approx(13.0)
    with pytest.raises(ValueError, match="at least"):
        evaluate_perplexity(Uniform(13), ids[:5], block_size=17)


class PositionModel(torch.nn.Module):
    """Puts logit t on token 0 at window position t: the loss of any other token grows with t."""

    def __init__(self, V):
        super().__init__()
        self.V = V
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x):
        logits = torch.zeros(*x.shape, self.V)
        logits[..., 0] = torch.arange(x.shape[1], dtype=torch.float)
        return logits + self.dummy


@pytest.mark.parametrize("stride", [17, 8, 1])
def test_window_nll_scores_each_token_once_in_order_with_context(stride):
    V, T = 13, 17
    ids = torch.randint(1, V, (200,))  # never token 0: loss = log(V - 1 + e^t) at position t
    nll = window_nll(PositionModel(V), ids, block_size=T, batch_size=3, stride=stride)
    assert len(ids) - 1 - (stride - 1) <= len(nll) <= len(ids) - 1
    loss_at = torch.log(V - 1 + torch.exp(torch.arange(T, dtype=torch.float)))
    # the first window scores positions 0..T-1; every later token sits at position >= T - stride
    torch.testing.assert_close(nll[:T], loss_at)
    assert torch.all(nll[T:] >= loss_at[T - stride] - 1e-5)
    if stride == 1:  # a full window of context for every token after the first window
        torch.testing.assert_close(nll[T:], loss_at[-1].expand(len(nll) - T))
    with pytest.raises(ValueError, match="stride"):
        window_nll(PositionModel(V), ids, block_size=T, stride=T + 1)


def test_window_nll_is_per_token_loss_of_a_fixed_distribution():
    ids = torch.randint(13, (100,))
    nll = window_nll(Uniform(13), ids, block_size=10, stride=4)
    torch.testing.assert_close(nll, torch.full_like(nll, math.log(13)))


class Unigram(torch.nn.Module):
    """The same fixed distribution at every position: a token's loss names the token."""

    def __init__(self, V):
        super().__init__()
        self.logits = torch.nn.Parameter(torch.arange(V, dtype=torch.float))

    def forward(self, x):
        return self.logits.expand(*x.shape, -1)


@pytest.mark.parametrize("n, stride", [(200, 17), (200, 8), (200, 1), (18, 17), (101, 10)])
def test_window_targets_are_the_tokens_window_nll_scores(n, stride):
    V, T = 13, 17
    ids = torch.randint(V, (n,))
    model = Unigram(V)
    nll = window_nll(model, ids, block_size=T, batch_size=4, stride=stride)
    scored = ids[window_targets(n, T, stride)]
    expected = -torch.log_softmax(model.logits.detach(), -1)[scored]
    torch.testing.assert_close(nll, expected)
    with pytest.raises(ValueError, match="at least"):
        window_targets(T, T)
    with pytest.raises(ValueError, match="stride"):
        window_targets(n, T, stride=0)
