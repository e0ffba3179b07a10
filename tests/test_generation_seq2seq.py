"""Tests for greedy_decode / beam_search / sequence_scores in lmbook.generation (encoder-decoder
decoding): beam 1 = greedy, exhaustive beam = brute-force optimum, batching, EOS handling."""

from __future__ import annotations

import itertools

import pytest
import torch

from lmbook.generation import beam_search, gnmt_length_penalty, greedy_decode, sequence_scores
from lmbook.models import Seq2SeqConfig, Seq2SeqTransformer

BOS, EOS = 1, 2


def random_model(seed: int, vocab: int = 29, **kw) -> Seq2SeqTransformer:
    torch.manual_seed(seed)
    model = Seq2SeqTransformer(Seq2SeqConfig.preset("tiny", vocab_size=vocab, **kw)).eval()
    # The default init gives a near-copy model (tied head + residual stream); larger random
    # weights give varied, peaked distributions, so greedy and beam search disagree (beam
    # scores higher on most rows here) and EOS is sometimes chosen.
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 0.15)
    return model


def batch(seed: int, B: int = 3, S: int = 6, vocab: int = 29):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(3, vocab, (B, S), generator=g)
    mask = torch.ones(B, S, dtype=torch.long)
    mask[-1, S // 2 :] = 0  # the last row is padded
    return src, mask


def test_length_penalty_formula():
    assert gnmt_length_penalty(1, 0.6) == pytest.approx(1.0)
    assert gnmt_length_penalty(10, 0.6) == pytest.approx((15 / 6) ** 0.6)
    assert gnmt_length_penalty(7, 0.0) == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beam_size_one_equals_greedy(seed):
    model = random_model(seed)
    src, mask = batch(seed)
    greedy = greedy_decode(model, src, mask, max_len=8, bos_id=BOS, eos_id=EOS)
    beam = beam_search(model, src, mask, beam_size=1, max_len=8, bos_id=BOS, eos_id=EOS)
    assert torch.equal(greedy, beam)


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.0])
def test_exhaustive_beam_finds_the_brute_force_optimum(alpha):
    vocab, max_len = 5, 3
    model = random_model(3, vocab=vocab)
    src, mask = batch(3, B=2, vocab=vocab)
    # Every hypothesis fits in the beam (5 + 25 + 125 prefixes), so nothing is pruned.
    out, score = beam_search(model, src, mask, beam_size=155, max_len=max_len, bos_id=BOS,
                             eos_id=EOS, length_penalty=alpha, return_scores=True)  # fmt: skip
    for b in range(2):
        candidates = []
        for L in range(1, max_len + 1):
            for y in itertools.product(range(vocab), repeat=L):
                if EOS in y[:-1] or (L < max_len and y[-1] != EOS):
                    continue  # finished hypotheses end at their first EOS
                candidates.append([BOS, *y] + [EOS] * (max_len - L))
        cands = torch.tensor(candidates)
        n = len(cands)
        scores = sequence_scores(model, src[b : b + 1].expand(n, -1), mask[b : b + 1].expand(n, -1),
                                 cands, EOS, length_penalty=alpha)  # fmt: skip
        best = scores.max()
        assert score[b].item() == pytest.approx(best.item(), abs=1e-5)
        own = sequence_scores(model, src[b : b + 1], mask[b : b + 1], out[b : b + 1], EOS, alpha)
        assert own.item() == pytest.approx(score[b].item(), abs=1e-5)


def test_beam_scores_at_least_greedy():
    better = 0
    for seed in range(10, 16):
        model = random_model(seed)
        src, mask = batch(seed, B=4)
        greedy = greedy_decode(model, src, mask, max_len=10, bos_id=BOS, eos_id=EOS)
        out, score = beam_search(model, src, mask, beam_size=4, max_len=10, bos_id=BOS,
                                 eos_id=EOS, length_penalty=0.6, return_scores=True)  # fmt: skip
        greedy_score = sequence_scores(model, src, mask, greedy, EOS, length_penalty=0.6)
        assert (score >= greedy_score - 1e-5).all()
        better += int((score > greedy_score + 1e-4).sum())
        # the returned score is the model's score of the returned tokens (so the KV cache
        # was reordered with the beams)
        torch.testing.assert_close(sequence_scores(model, src, mask, out, EOS, 0.6), score,
                                   rtol=1e-5, atol=1e-5)  # fmt: skip
    assert better >= 6, f"beam search beat greedy on only {better} of 24 rows"


def test_beam_search_rows_are_independent_of_the_batch():
    model = random_model(4)
    src, mask = batch(4)
    together = beam_search(model, src, mask, beam_size=3, max_len=7, bos_id=BOS, eos_id=EOS)
    for b in range(3):
        n = int(mask[b].sum())
        alone = beam_search(model, src[b : b + 1, :n], None, beam_size=3, max_len=7, bos_id=BOS,
                            eos_id=EOS)  # fmt: skip
        width = alone.shape[1]
        assert together[b, :width].tolist() == alone[0].tolist()
        assert (together[b, width:] == EOS).all()


def test_eos_handling():
    model = random_model(5)
    src, mask = batch(5, B=1)
    free = greedy_decode(model, src, mask, max_len=6, bos_id=BOS, eos_id=EOS)
    first = int(free[0, 1])
    # Declaring the first generated token to be EOS must stop decoding right there.
    stopped = greedy_decode(model, src, mask, max_len=6, bos_id=BOS, eos_id=first)
    assert stopped.tolist() == [[BOS, first]]
    assert beam_search(model, src, mask, 1, 6, BOS, first).tolist() == [[BOS, first]]
    # After EOS every position is EOS, and no output exceeds BOS + max_len tokens.
    src3, mask3 = batch(6)
    for out in (
        greedy_decode(model, src3, mask3, 9, BOS, EOS),
        beam_search(model, src3, mask3, 3, 9, BOS, EOS),
    ):
        assert out.shape[1] <= 10 and (out[:, 0] == BOS).all()
        for row in out.tolist():
            if EOS in row[1:]:
                k = row.index(EOS, 1)
                assert all(t == EOS for t in row[k:])
    # Tokens after the first EOS do not count in the score.
    out = torch.tensor([[BOS, 5, EOS, 7, 9]])
    a = sequence_scores(model, src, mask, out, EOS)
    b = sequence_scores(model, src, mask, out[:, :3], EOS)
    torch.testing.assert_close(a, b)


def test_decoding_restores_training_mode_and_checks_arguments():
    model = random_model(7).train()
    src, mask = batch(7)
    beam_search(model, src, mask, 2, 4, BOS, EOS)
    assert model.training
    with pytest.raises(ValueError, match="beam_size"):
        beam_search(model, src, mask, 0, 4, BOS, EOS)
    with pytest.raises(ValueError, match="block_size=23"):
        greedy_decode(model, src, mask, 23, BOS, EOS)
    with pytest.raises(ValueError, match="bos_id"):
        greedy_decode(model, src, mask, 4, 29, EOS)
    with pytest.raises(ValueError, match="length_penalty"):
        beam_search(model, src, mask, 2, 4, BOS, EOS, length_penalty=-1.0)
    with pytest.raises(ValueError, match="src_mask"):
        beam_search(model, src, mask[:, :3], 2, 4, BOS, EOS)
