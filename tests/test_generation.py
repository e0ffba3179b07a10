"""Sampling filters and the generation loop (greedy, sampling, KV cache, EOS, cropping)."""

import pytest
import torch

from lmbook.generation import generate, sample_next_token, top_k_filter, top_p_filter
from lmbook.models import GPT, GPTConfig


@pytest.fixture(scope="module")
def gpt():
    torch.manual_seed(0)
    return GPT(GPTConfig.preset("tiny")).eval()


def test_top_k_keeps_k_largest():
    logits = torch.tensor([[1.0, 5.0, 3.0, 4.0, 2.0]])
    out = top_k_filter(logits, 2)
    assert torch.isfinite(out).tolist() == [[False, True, False, True, False]]
    assert top_k_filter(logits, 10) is logits
    with pytest.raises(ValueError, match="top_k"):
        top_k_filter(logits, 0)


def test_top_p_keeps_smallest_nucleus():
    probs = torch.tensor([[0.5, 0.05, 0.3, 0.15]])
    logits = probs.log()
    # 0.5 < 0.7, 0.5 + 0.3 = 0.8 >= 0.7: keep tokens 0 and 2.
    assert torch.isfinite(top_p_filter(logits, 0.7)).tolist() == [[True, False, True, False]]
    # p below the top probability still keeps the top token.
    assert torch.isfinite(top_p_filter(logits, 0.1)).tolist() == [[True, False, False, False]]
    assert torch.isfinite(top_p_filter(logits, 1.0)).all()
    with pytest.raises(ValueError, match="top_p"):
        top_p_filter(logits, 0.0)


def test_sampling_respects_filters_and_generator():
    logits = torch.tensor([[0.0, 1.0, 2.0, 3.0]]).repeat(500, 1)
    picks = sample_next_token(
        logits, temperature=1.0, top_k=2, generator=torch.Generator().manual_seed(0)
    )
    assert set(picks.tolist()) == {2, 3}
    a = sample_next_token(logits, 1.0, generator=torch.Generator().manual_seed(1))
    b = sample_next_token(logits, 1.0, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    # Frequencies follow softmax(logits): token 3 has probability e^3 / sum e^i = 0.644.
    freq = (a == 3).float().mean().item()
    assert abs(freq - 0.644) < 0.07
    assert sample_next_token(logits[:1], temperature=0.0).item() == 3
    with pytest.raises(ValueError, match="temperature"):
        sample_next_token(logits, temperature=-1.0)


def test_cached_greedy_equals_uncached_greedy(gpt):
    prompt = torch.randint(0, 97, (3, 4), generator=torch.Generator().manual_seed(0))
    # 30 new tokens run past block_size=23: the cache must be rebuilt from the window.
    a = gpt.generate(prompt, 30, temperature=0.0, use_cache=True)
    b = gpt.generate(prompt, 30, temperature=0.0, use_cache=False)
    assert a.shape == (3, 34)
    assert torch.equal(a, b)


def test_cached_sampling_equals_uncached_sampling(gpt):
    prompt = torch.randint(0, 97, (2, 5), generator=torch.Generator().manual_seed(1))
    kw = dict(temperature=0.8, top_k=20, top_p=0.9)
    a = gpt.generate(prompt, 12, use_cache=True, generator=torch.Generator().manual_seed(3), **kw)
    b = gpt.generate(prompt, 12, use_cache=False, generator=torch.Generator().manual_seed(3), **kw)
    assert torch.equal(a, b)


def test_greedy_matches_step_by_step_argmax(gpt):
    ids = torch.tensor([[5, 6, 7]])
    out = gpt.generate(ids, 4, temperature=0.0)
    for _ in range(4):
        ids = torch.cat([ids, gpt(ids)[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(out, ids)


def test_eos_stops_and_pads(gpt):
    prompt = torch.tensor([[1, 2, 3], [4, 5, 6]])
    free = gpt.generate(prompt, 8, temperature=0.0)
    eos = int(free[0, 5])  # the third token generated for row 0
    out = gpt.generate(prompt, 8, temperature=0.0, eos_id=eos)
    first = 3 + int((free[0, 3:] == eos).nonzero()[0])  # row 0's first eos
    assert torch.equal(out[0, : first + 1], free[0, : first + 1])
    assert (out[0, first:] == eos).all()  # finished rows are padded with eos
    # Once every row has produced eos, decoding stops: row 0 alone ends at its eos.
    alone = gpt.generate(prompt[:1], 8, temperature=0.0, eos_id=eos)
    assert alone.shape == (1, first + 1)
    assert torch.equal(alone[0], free[0, : first + 1])


def test_old_keyword_eos_token_id_still_works_with_a_warning(gpt):
    prompt = torch.tensor([[1, 2, 3]])
    eos = int(gpt.generate(prompt, 1, temperature=0.0)[0, -1])
    with pytest.warns(DeprecationWarning, match="eos_id"):
        out = gpt.generate(prompt, 5, temperature=0.0, eos_token_id=eos)
    assert out.shape == (1, 4)


def test_generation_function_is_the_method(gpt):
    prompt = torch.tensor([[7, 8]])
    assert torch.equal(
        generate(gpt, prompt, 6, temperature=0.0), gpt.generate(prompt, 6, temperature=0.0)
    )


def test_prompt_longer_than_context_is_cropped(gpt):
    prompt = torch.randint(0, 97, (1, 40), generator=torch.Generator().manual_seed(2))
    out = gpt.generate(prompt, 3, temperature=0.0)
    assert out.shape == (1, 43) and torch.equal(out[:, :40], prompt)
    assert torch.equal(out, gpt.generate(prompt, 3, temperature=0.0, use_cache=False))


def test_generate_restores_training_mode_and_validates(gpt):
    gpt.train()
    gpt.generate(torch.tensor([[1]]), 2)
    assert gpt.training
    gpt.eval()
    with pytest.raises(ValueError, match="max_new_tokens"):
        generate(gpt, torch.tensor([[1]]), -1)
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        gpt.generate(torch.tensor([1, 2]), 2)
    with pytest.raises(ValueError, match="temperature"):
        gpt.generate(torch.tensor([[1]]), 2, temperature=-0.5)
