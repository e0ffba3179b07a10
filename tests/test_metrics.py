import math

import pytest
import torch
from torch import nn

from lmbook.metrics import evaluate_perplexity, perplexity, token_nll


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
