import math

import pytest
import torch
import torch.nn.functional as F

from lmbook.train.objectives import (
    IGNORE_INDEX,
    classification_loss,
    clm_loss,
    get_objective,
    mlm_mask,
    seq2seq_loss,
    teacher_forcing,
    word_ids_from_continuation,
)

V = 97


def test_clm_loss_matches_manual_nll():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 5, V, generator=g)
    targets = torch.randint(V, (2, 5), generator=g)
    manual = -torch.log_softmax(logits, -1).gather(-1, targets[..., None]).mean()
    assert torch.allclose(clm_loss(logits, targets), manual, atol=1e-6)
    # uniform logits give ln V
    assert clm_loss(torch.zeros(1, 3, V), targets[:1, :3]).item() == pytest.approx(math.log(V))


def test_clm_loss_shape_mismatch_is_clear():
    with pytest.raises(ValueError, match="expected logits"):
        clm_loss(torch.zeros(2, 5, V), torch.zeros(2, 4, dtype=torch.long))


def _mlm_sample(B=256, T=128, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, V, (B, T), generator=g)
    special = torch.zeros(B, T, dtype=torch.bool)
    special[:, 0] = special[:, -1] = True
    special[:, 100:] = True  # a padded tail
    return ids, special


def test_mlm_mask_statistics_15_percent_of_80_10_10():
    ids, special = _mlm_sample()
    mask_id = 4
    out, labels = mlm_mask(
        ids, special, mask_id, V, 0.15, generator=torch.Generator().manual_seed(1)
    )
    selected = labels != IGNORE_INDEX
    n_eligible = (~special).sum().item()  # 256 * 98 = 25088
    rate = selected.sum().item() / n_eligible
    # binomial sd of the rate: sqrt(.15*.85/25088) = 0.0023 -> 5 sd
    assert abs(rate - 0.15) < 0.012
    n_sel = selected.sum().item()
    became_mask = (out == mask_id) & selected
    unchanged = (out == ids) & selected
    changed_other = selected & ~became_mask & ~unchanged
    # among the selected: 80% [MASK], 10% random, 10% kept (a random draw equal to the
    # original, prob 1/V, counts as kept: expected kept share = .1 + .1/V)
    assert abs(became_mask.sum().item() / n_sel - 0.8) < 0.025
    assert abs(changed_other.sum().item() / n_sel - 0.1 * (1 - 1 / V)) < 0.02
    assert abs(unchanged.sum().item() / n_sel - (0.1 + 0.1 / V)) < 0.02
    # labels hold the original token where selected
    assert torch.equal(labels[selected], ids[selected])
    # nothing outside the selection changed
    assert torch.equal(out[~selected], ids[~selected])


def test_mlm_never_masks_special_tokens():
    ids, special = _mlm_sample(B=64)
    out, labels = mlm_mask(ids, special, 4, V, mlm_probability=0.9)
    assert torch.equal(out[special], ids[special])
    assert (labels[special] == IGNORE_INDEX).all()


def test_mlm_mask_is_reproducible_from_generator():
    ids, special = _mlm_sample(B=8)
    a = mlm_mask(ids, special, 4, V, generator=torch.Generator().manual_seed(7))
    b = mlm_mask(ids, special, 4, V, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_whole_word_masking_selects_whole_words():
    B, T = 64, 60
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(5, V, (B, T), generator=g)
    special = torch.zeros(B, T, dtype=torch.bool)
    special[:, 0] = special[:, -1] = True
    cont = torch.rand(B, T, generator=g) < 0.5  # about half the tokens continue a word
    cont[:, 1] = False
    word_ids = word_ids_from_continuation(cont, special)
    assert (word_ids[special] == -1).all()
    _, labels = mlm_mask(ids, special, 4, V, 0.3, generator=g, word_ids=word_ids)
    selected = labels != IGNORE_INDEX
    for b in range(B):
        for w in word_ids[b].unique().tolist():
            if w < 0:
                continue
            sel = selected[b][word_ids[b] == w]
            assert sel.all() or not sel.any(), "a word was partly masked"
    words = [(b, w) for b in range(B) for w in word_ids[b].unique().tolist() if w >= 0]
    chosen = sum(bool(selected[b][word_ids[b] == w].any()) for b, w in words)
    assert abs(chosen / len(words) - 0.3) < 0.05


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(mlm_probability=0.0), "mlm_probability"),
        (dict(mask_token_id=V), "outside the vocabulary"),
    ],
)
def test_mlm_bad_inputs(kwargs, match):
    ids, special = _mlm_sample(B=2)
    args = dict(mask_token_id=4, vocab_size=V, mlm_probability=0.15) | kwargs
    with pytest.raises(ValueError, match=match):
        mlm_mask(ids, special, **args)
    with pytest.raises(ValueError, match="special_tokens_mask"):
        mlm_mask(ids, special[:, :-1], 4, V)


def test_seq2seq_label_smoothing_formula_and_padding():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 4, V, generator=g)
    labels = torch.randint(V, (2, 4), generator=g)
    labels[1, 2:] = IGNORE_INDEX
    eps = 0.1
    logp = torch.log_softmax(logits, -1)
    keep = labels != IGNORE_INDEX
    nll = -logp.gather(-1, labels.clamp(min=0)[..., None]).squeeze(-1)
    smooth = -logp.mean(-1)
    manual = ((1 - eps) * nll + eps * smooth)[keep].mean()
    assert torch.allclose(seq2seq_loss(logits, labels, eps), manual, atol=1e-6)
    assert torch.allclose(seq2seq_loss(logits, labels, 0.0), nll[keep].mean(), atol=1e-6)


def test_teacher_forcing_shifts_and_ignores_padding():
    tgt = torch.tensor([[1, 10, 11, 2, 0], [1, 12, 2, 0, 0]])
    dec_in, labels = teacher_forcing(tgt, pad_token_id=0)
    assert dec_in.tolist() == [[1, 10, 11, 2], [1, 12, 2, 0]]
    assert labels.tolist() == [[10, 11, 2, -100], [12, 2, -100, -100]]
    with pytest.raises(ValueError, match="BOS"):
        teacher_forcing(torch.tensor([[1], [1]]))


def test_classification_loss():
    logits = torch.tensor([[2.0, 0.0], [0.0, 3.0]])
    labels = torch.tensor([0, 1])
    assert torch.allclose(classification_loss(logits, labels), F.cross_entropy(logits, labels))
    with pytest.raises(ValueError, match="expected logits"):
        classification_loss(logits, labels[:1])


def test_get_objective_names_and_errors():
    assert get_objective("clm").name == "clm"
    with pytest.raises(ValueError, match="unknown objective"):
        get_objective("ctc")
    obj = get_objective(lambda model, batch: batch["x"].sum())
    assert obj(None, {"x": torch.ones(3)}).item() == 3.0
    with pytest.raises(KeyError, match="targets"):
        get_objective("clm")(torch.nn.Identity(), {"input_ids": torch.zeros(1, 2)})


def test_masked_lm_objective_with_tiny_bert_and_empty_selection():
    from lmbook.models import BERT, BertConfig
    from lmbook.train.objectives import MaskedLM

    torch.manual_seed(0)
    bert = BERT(BertConfig.preset("tiny", add_pooler=False))
    ids, special = _mlm_sample(B=4, T=20)
    ids = ids.clamp(max=96)
    obj = MaskedLM(mask_token_id=4, vocab_size=97)
    batch = obj.prepare({"input_ids": ids, "special_tokens_mask": special},
                        torch.Generator().manual_seed(0))  # fmt: skip
    loss = obj(bert, batch)
    assert 3.5 < loss.item() < 6.0  # about ln 97 = 4.57 for a fresh model
    loss.backward()
    assert bert.tok_emb.weight.grad is not None
    empty = {**batch, "labels": torch.full_like(ids, IGNORE_INDEX)}
    assert obj(bert, empty).item() == 0.0
