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
    model = BERT(BertConfig.preset("tiny", vocab_size=tok.vocab_size, max_position=64)).eval()
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
    model = BERT(BertConfig.preset("tiny", vocab_size=tok.vocab_size, max_position=64))
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
