"""fill_mask: top-k guesses per [MASK], on the real MiniLM vocabulary and a tiny BERT."""

import pytest
import torch

from lmbook import data
from lmbook.models import BERT, BertConfig
from lmbook.tasks.fill_mask import fill_mask
from lmbook.tokenizers import WordPieceTokenizer


@pytest.fixture(scope="module")
def tok():
    return WordPieceTokenizer.from_file(data.load("minilm") / "vocab.txt", lowercase=True)


def test_fill_mask_matches_a_manual_forward(tok):
    torch.manual_seed(0)
    model = BERT(BertConfig.preset("tiny", vocab_size=tok.vocab_size, block_size=64)).eval()
    texts = ["to be or not to [MASK]", "the [MASK] is [MASK] today"]
    got = fill_mask(model, tok, texts, k=3)
    assert [len(r) for r in got] == [1, 2] and all(len(g) == 3 for r in got for g in r)
    # manual: the second text's second mask
    ids = [101, *tok.encode("the "), 103, *tok.encode(" is "), 103, *tok.encode(" today"), 102]
    b = {
        "input_ids": torch.tensor([ids]),
        "attention_mask": torch.ones(1, len(ids), dtype=torch.long),
    }
    pos = (b["input_ids"][0] == tok.token_to_id("[MASK]")).nonzero()[1, 0]
    h = model(b["input_ids"], attention_mask=b["attention_mask"]).last_hidden_state
    p = torch.softmax(model.mlm_logits(h)[0, pos], -1)
    top = p.topk(3)
    assert [t for t, _ in got[1][1]] == tok.convert_ids_to_tokens(top.indices.tolist())
    torch.testing.assert_close(
        torch.tensor([q for _, q in got[1][1]]), top.values, atol=1e-5, rtol=1e-4
    )
    probs = [q for _, q in got[1][1]]
    assert probs == sorted(probs, reverse=True)


def test_fill_mask_errors(tok):
    model = BERT(BertConfig.preset("tiny", vocab_size=tok.vocab_size, block_size=64))
    with pytest.raises(ValueError, match=r"no \[MASK\]"):
        fill_mask(model, tok, ["nothing hidden here"])
    with pytest.raises(TypeError, match="list of texts"):
        fill_mask(model, tok, "a [MASK]")


def test_frequency_baseline_is_the_unigram_nll():
    import math

    from lmbook.tasks.fill_mask import FrequencyBaseline

    stream = torch.tensor([3, 3, 3, 1, 0, 3])  # counts [1, 1, 0, 4] with V = 4
    base = FrequencyBaseline(stream, vocab_size=4, alpha=0.5)
    p = {w: (c + 0.5) / (6 + 0.5 * 4) for w, c in enumerate([1, 1, 0, 4])}
    labels = torch.tensor([[-100, 3, -100], [2, -100, 0]])  # mlm_mask's layout
    want = -(math.log(p[3]) + math.log(p[2]) + math.log(p[0])) / 3
    assert base.nll(labels) == pytest.approx(want, rel=1e-6)
    # it is the best context-free guess: the loss of the frequencies on their own corpus
    # is below the uniform guess ln V
    assert base.nll(stream) < math.log(4)
    with pytest.raises(ValueError, match="no masked positions"):
        base.nll(torch.full((2, 3), -100))
    with pytest.raises(ValueError, match="vocab_size"):
        FrequencyBaseline(torch.tensor([0, 9]), vocab_size=4)
    with pytest.raises(ValueError, match="alpha"):
        FrequencyBaseline(stream, vocab_size=4, alpha=0.0)


def test_frequency_baseline_fit_chooses_the_smoothing_on_held_out_training_text():
    from lmbook.tasks.fill_mask import FrequencyBaseline

    g = torch.Generator().manual_seed(0)
    # A large vocabulary and little text: add-one gives the 1,000 unseen ids too much mass.
    stream = torch.randint(0, 20, (2000,), generator=g)
    fitted = FrequencyBaseline.fit(stream, vocab_size=1000)
    assert fitted.alpha < 1.0
    tail = torch.randint(0, 20, (500,), generator=g)  # more text from the same source
    assert fitted.nll(tail) < FrequencyBaseline(stream, 1000, alpha=1.0).nll(tail) - 0.1
    # Every token unseen elsewhere in the stream: only heavy smoothing keeps them likely.
    assert FrequencyBaseline.fit(torch.arange(100), vocab_size=100).alpha == 1.0
    with pytest.raises(ValueError, match="too few"):
        FrequencyBaseline.fit(torch.tensor([1]), vocab_size=4)
    with pytest.raises(ValueError, match="held_out"):
        FrequencyBaseline.fit(stream, vocab_size=1000, held_out=1.0)


def test_heldout_blocks_cover_the_stream_once():
    from lmbook.tasks.fill_mask import heldout_blocks

    x, special = heldout_blocks(torch.arange(10, 21), 5, cls_token_id=1, sep_token_id=2)
    assert x.tolist() == [[1, 10, 11, 12, 2], [1, 13, 14, 15, 2], [1, 16, 17, 18, 2]]
    assert special.tolist() == [[1, 0, 0, 0, 1]] * 3
    with pytest.raises(ValueError, match="block_size"):
        heldout_blocks(torch.arange(5), 2, 1, 2)
    with pytest.raises(ValueError, match="do not fill"):
        heldout_blocks(torch.arange(2), 8, 1, 2)


def test_gap_interval_is_paired_and_resamples_groups():
    from lmbook.tasks.fill_mask import gap_interval

    g = torch.Generator().manual_seed(0)
    hard = torch.rand(400, generator=g) * 10  # what is hard for both cancels out
    gap, lo, hi = gap_interval(hard + 0.5 + 0.01 * torch.randn(400, generator=g), hard)
    assert gap == pytest.approx(0.5, abs=0.01) and lo < gap < hi and hi - lo < 0.01
    # two groups with different gaps: the interval spans both group means
    a, b = torch.tensor([1.0, 1.0, 3.0, 3.0]), torch.zeros(4)
    gap, lo, hi = gap_interval(a, b, groups=torch.tensor([0, 0, 1, 1]), n_boot=2000)
    assert gap == 2.0 and lo == pytest.approx(1.0) and hi == pytest.approx(3.0)
    with pytest.raises(ValueError, match="equal"):
        gap_interval(torch.zeros(3), torch.zeros(4))


def test_masked_token_nll_and_window_probe(tok):
    import torch.nn.functional as F

    from lmbook.tasks.fill_mask import (
        FrequencyBaseline,
        WindowProbe,
        hidden_at_masks,
        masked_token_nll,
    )

    torch.manual_seed(0)
    enc = BERT(BertConfig.preset("tiny", vocab_size=tok.vocab_size, block_size=64)).eval()
    x = torch.randint(1000, 2000, (3, 10))
    labels = torch.full_like(x, -100)
    labels[0, 2], labels[2, 5], labels[2, 7] = 1500, 1600, 1700
    nll = masked_token_nll(enc, x, labels)
    logits = enc.mlm_logits(enc(x).last_hidden_state)
    want = F.cross_entropy(logits[labels != -100], labels[labels != -100], reduction="none")
    torch.testing.assert_close(nll, want, atol=1e-5, rtol=1e-5)

    prior = FrequencyBaseline(torch.randint(0, 3000, (500,)), tok.vocab_size).log_probs
    probe = WindowProbe(enc, n_layers=1, window=1, log_prior=prior)
    assert len(enc.blocks) == enc.config.n_layers  # the caller's encoder is left alone
    assert {n for n, p in probe.named_parameters() if p.requires_grad} == {
        "dense.weight",
        "dense.bias",
        "norm.weight",
        "norm.bias",
    }
    h, y = hidden_at_masks(probe, x, labels)
    D = enc.config.d_model
    assert h.shape == (3, 3 * D) and y.tolist() == [1500, 1600, 1700]
    inner = probe.encoder(x).last_hidden_state
    torch.testing.assert_close(h[1], torch.cat([inner[2, 4], inner[2, 5], inner[2, 6]]))
    edge = probe(x).last_hidden_state[:, 0, :D]  # left of the first position: zeros
    assert torch.all(edge == 0)
    probe.mlm_logits(h).logsumexp(-1).sum().backward()
    assert probe.dense.weight.grad is not None and probe.encoder.tok_emb.weight.grad is None
    got = fill_mask(probe, tok, ["the [MASK] is here"], k=2)
    assert len(got[0][0]) == 2
    with pytest.raises(ValueError, match="n_layers"):
        WindowProbe(enc, n_layers=9)
