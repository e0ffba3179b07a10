"""Task heads: pooling, classifier, span QA head and best-span decoding."""

import pytest
import torch

from lmbook.models import BERT, GPT, BertConfig, GPTConfig
from lmbook.models.heads import (
    BertForQA,
    SequenceClassifier,
    best_span,
    last_token_pool,
    mean_pool,
    span_loss,
)


def tiny_bert(seed: int = 0) -> BERT:
    torch.manual_seed(seed)
    return BERT(BertConfig.preset("tiny", dropout=0.0)).eval()


def test_mean_pool_ignores_padding():
    h = torch.randn(2, 5, 36)
    m = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    out = mean_pool(h, m)
    torch.testing.assert_close(out[0], h[0, :3].mean(0))
    torch.testing.assert_close(out[1], h[1].mean(0))
    h2 = h.clone()
    h2[0, 3:] = 1e6  # padded positions: must not matter
    torch.testing.assert_close(mean_pool(h2, m), out)


def test_last_token_pool_picks_last_real_token():
    h = torch.randn(2, 5, 7)
    m = torch.tensor([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1]])
    out = last_token_pool(h, m)
    torch.testing.assert_close(out, torch.stack([h[0, 1], h[1, 4]]))


def test_pool_rejects_wrong_mask_shape():
    with pytest.raises(ValueError, match="attention_mask"):
        mean_pool(torch.randn(2, 5, 3), torch.ones(2, 4))


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_classifier_shapes_and_padding_invariance(pooling):
    clf = SequenceClassifier(tiny_bert(), n_classes=3, pooling=pooling).eval()
    ids = torch.randint(1, 97, (2, 6))
    mask = torch.ones_like(ids)
    logits = clf(ids, mask)
    assert logits.shape == (2, 3)
    # appending padding changes nothing
    padded = torch.cat([ids, torch.zeros(2, 3, dtype=torch.long)], dim=1)
    pmask = torch.cat([mask, torch.zeros(2, 3, dtype=torch.long)], dim=1)
    torch.testing.assert_close(clf(padded, pmask), logits, atol=1e-5, rtol=1e-5)


def test_classifier_on_gpt_last_pooling_padding_invariant():
    torch.manual_seed(0)
    gpt = GPT(GPTConfig.preset("tiny")).eval()
    clf = SequenceClassifier(gpt, n_classes=2, pooling="last").eval()
    V = gpt.config.vocab_size
    ids = torch.randint(0, V, (1, 5))
    padded = torch.cat([ids, torch.zeros(1, 2, dtype=torch.long)], dim=1)
    m = torch.tensor([[1, 1, 1, 1, 1, 0, 0]])
    torch.testing.assert_close(clf(padded, m), clf(ids), atol=1e-5, rtol=1e-5)


@pytest.mark.slow
def test_classifier_overfits_one_batch():
    torch.manual_seed(0)
    clf = SequenceClassifier(tiny_bert(), n_classes=2, pooling="mean", dropout=0.0)
    ids = torch.randint(1, 97, (8, 7))
    y = torch.tensor([0, 1, 0, 1, 1, 0, 1, 0])
    opt = torch.optim.AdamW(clf.parameters(), lr=1e-2)
    for _ in range(25):
        loss = torch.nn.functional.cross_entropy(clf(ids), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert (clf.eval()(ids).argmax(-1) == y).all()


def test_classifier_bad_arguments():
    with pytest.raises(ValueError, match="pooling"):
        SequenceClassifier(tiny_bert(), 2, pooling="max")
    with pytest.raises(ValueError, match="n_classes"):
        SequenceClassifier(tiny_bert(), 1)
    with pytest.raises(ValueError, match="d_model"):
        SequenceClassifier(torch.nn.Linear(3, 3), 2)


def test_best_span_matches_brute_force():
    torch.manual_seed(0)
    B, T, L = 4, 11, 4
    s, e = torch.randn(B, T), torch.randn(B, T)
    allowed = torch.rand(B, T) > 0.3
    allowed[:, 5] = True
    got = best_span(s, e, max_answer_len=L, allowed=allowed)
    for b in range(B):
        best, arg = -float("inf"), None
        for i in range(T):
            for j in range(i, min(T, i + L)):
                if allowed[b, i] and allowed[b, j] and s[b, i] + e[b, j] > best:
                    best, arg = s[b, i] + e[b, j], (i, j)
        assert tuple(got[b].tolist()) == arg


def test_best_span_never_ends_before_start():
    s = torch.tensor([[0.0, 0.0, 10.0, 0.0]])
    e = torch.tensor([[10.0, 0.0, 0.0, 1.0]])  # best end (0) lies before best start (2)
    assert best_span(s, e).tolist() == [[2, 3]]


def test_span_loss_and_bad_targets():
    s, e = torch.zeros(2, 5), torch.zeros(2, 5)
    loss = span_loss(s, e, torch.tensor([0, 1]), torch.tensor([2, 1]))
    torch.testing.assert_close(loss, torch.log(torch.tensor(5.0)))
    with pytest.raises(ValueError, match="lie in"):
        span_loss(s, e, torch.tensor([0, 5]), torch.tensor([2, 5]))
    with pytest.raises(ValueError, match=">= start"):
        span_loss(s, e, torch.tensor([3, 1]), torch.tensor([2, 1]))


@pytest.mark.slow
def test_qa_model_learns_a_span_and_decodes_inside_passage():
    torch.manual_seed(0)
    model = BertForQA(tiny_bert())
    ids = torch.randint(1, 97, (4, 9))
    tt = torch.tensor([[0] * 3 + [1] * 6] * 4)
    mask = torch.ones_like(ids)
    start, end = torch.tensor([3, 4, 5, 6]), torch.tensor([4, 4, 6, 7])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(40):
        s, e = model(ids, mask, tt)
        loss = span_loss(s, e, start, end)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    spans = model.predict_spans(ids, mask, tt)
    assert spans.tolist() == torch.stack([start, end], 1).tolist()
    assert (spans >= 3).all() and (spans <= 7).all()  # never the question or the last [SEP]


def test_qa_loss_is_span_loss_of_the_model_and_names_missing_keys():
    from lmbook.models.heads import qa_loss

    model = BertForQA(tiny_bert()).eval()
    ids = torch.randint(1, 97, (2, 6))
    batch = {
        "input_ids": ids,
        "attention_mask": torch.ones_like(ids),
        "token_type_ids": torch.tensor([[0, 0, 1, 1, 1, 1]] * 2),
        "start_positions": torch.tensor([2, 3]),
        "end_positions": torch.tensor([3, 4]),
    }
    s, e = model(ids, batch["attention_mask"], batch["token_type_ids"])
    expected = span_loss(s, e, batch["start_positions"], batch["end_positions"])
    torch.testing.assert_close(qa_loss(model, batch), expected)
    with pytest.raises(KeyError, match="start_positions"):
        qa_loss(model, {k: v for k, v in batch.items() if k != "start_positions"})


def test_collated_batches_keep_qa_loss_and_spans():
    # Dynamic padding happens at collate time (PadToLongest): a batch padded to the whole
    # set's longest example and the same examples collated to their own longest one give the
    # same loss and the same spans.
    from lmbook.data.padding import PadToLongest, unpad
    from lmbook.models.heads import qa_loss

    model = BertForQA(tiny_bert()).eval()
    mask = torch.tensor([[1] * 6 + [0] * 3, [1] * 5 + [0] * 4])
    ids = torch.randint(1, 97, (2, 9)).masked_fill(mask == 0, 0)
    types = torch.tensor([[0, 0, 1, 1, 1, 1, 0, 0, 0], [0, 0, 1, 1, 1, 0, 0, 0, 0]])
    batch = {
        "input_ids": ids,
        "attention_mask": mask,
        "token_type_ids": types,
        "start_positions": torch.tensor([2, 3]),
        "end_positions": torch.tensor([3, 3]),
    }
    cut = PadToLongest({"input_ids": 0, "attention_mask": 0, "token_type_ids": 0})(unpad(batch))
    assert {k: tuple(v.shape) for k, v in cut.items()} == {
        "input_ids": (2, 6),
        "attention_mask": (2, 6),
        "token_type_ids": (2, 6),
        "start_positions": (2,),
        "end_positions": (2,),
    }
    # reference: the uncut batch, padding given no probability by hand
    s, e = model(ids, mask, types)
    s, e = s.masked_fill(mask == 0, float("-inf")), e.masked_fill(mask == 0, float("-inf"))
    expected = span_loss(s, e, batch["start_positions"], batch["end_positions"])
    torch.testing.assert_close(qa_loss(model, batch), expected)
    torch.testing.assert_close(qa_loss(model, cut), expected)
    # decoding finds the spans the uncut logits give: passage tokens only, the closing [SEP]
    # (5 in row 0, 4 in row 1) excluded; positions count from the left, so they agree
    allowed = torch.tensor([[0, 0, 1, 1, 1, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0, 0, 0, 0]]).bool()
    spans = best_span(s, e, allowed=allowed).tolist()
    assert model.predict_spans(ids, mask, types).tolist() == spans
    inputs = (cut["input_ids"], cut["attention_mask"], cut["token_type_ids"])
    assert model.predict_spans(*inputs).tolist() == spans
