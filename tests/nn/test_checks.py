"""The shared input checks: GPT, BERT and the encoder-decoder accept and refuse the same inputs."""

from __future__ import annotations

import pytest
import torch

from lmbook.models import BERT, GPT, BertConfig, GPTConfig, Seq2SeqConfig, Seq2SeqTransformer
from lmbook.nn import check_key_mask, check_token_ids
from lmbook.nn import checks as checks_module

torch.manual_seed(0)
MODELS = {
    "gpt": lambda ids, mask=None: GPT(GPTConfig.preset("tiny")).eval()(ids),
    "bert": lambda ids, mask=None: (
        BERT(BertConfig.preset("tiny")).eval()(ids, attention_mask=mask).last_hidden_state
    ),
    "seq2seq": lambda ids, mask=None: Seq2SeqTransformer(Seq2SeqConfig.preset("tiny")).eval()(
        ids, ids, src_mask=mask
    ),
}
IDS = torch.tensor([[1, 2, 3, 4], [5, 6, 7, 8]])


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("dtype", [torch.int64, torch.int32])
def test_every_model_accepts_the_same_dtypes(name, dtype):
    assert MODELS[name](IDS.to(dtype)).shape[:2] == (2, 4)


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("dtype", [torch.int16, torch.uint8, torch.float32])
def test_every_model_refuses_the_same_dtypes(name, dtype):
    with pytest.raises(ValueError, match=r"int64 or int32.*ids.long\(\)"):
        MODELS[name](IDS.to(dtype))


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_refuses_out_of_vocabulary_ids(name):
    with pytest.raises(ValueError, match=r"must be in \[0, 97\), got min 1 and max 97"):
        MODELS[name](torch.tensor([[1, 97]]))


@pytest.mark.parametrize("name", ["bert", "seq2seq"])
def test_models_with_a_padding_mask_refuse_an_all_padding_row(name):
    with pytest.raises(ValueError, match="all padding"):
        MODELS[name](IDS, torch.tensor([[1, 1, 0, 0], [0, 0, 0, 0]]))


def test_check_key_mask_shapes_and_values():
    assert check_key_mask(None, (2, 4)) is None
    assert check_key_mask(torch.ones(2, 4), (2, 4)) is None  # nothing padded: no mask at all
    m = check_key_mask(torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]]), (2, 4))
    assert m.shape == (2, 1, 1, 4) and m.dtype == torch.bool and m.sum() == 6
    with pytest.raises(ValueError, match=r"shape \(2, 3\).*\(2, 4\)"):
        check_key_mask(torch.ones(2, 3), (2, 4))
    with pytest.raises(ValueError, match="only 0 and 1"):
        check_key_mask(torch.full((2, 4), 2), (2, 4))


def test_context_length_and_empty_input():
    check_token_ids(IDS, 97, block_size=6, past=2)
    with pytest.raises(ValueError, match=r"needs 7 positions \(3 cached \+ 4 new\).*block_size=6"):
        check_token_ids(IDS, 97, block_size=6, past=3)
    with pytest.raises(ValueError, match="empty"):
        check_token_ids(IDS[:, :0], 97)


def test_value_checks_are_skipped_under_torch_compile(monkeypatch):
    """Under torch.compile the range check would be a graph break: it is skipped there."""
    bad = torch.tensor([[1, 97]])
    monkeypatch.setattr(checks_module.torch.compiler, "is_compiling", lambda: True)
    assert not checks_module.value_checks_enabled(bad)
    check_token_ids(bad, 97)  # no error, no sync
    check_key_mask(torch.tensor([[0, 0]]), (1, 2))  # an all-padding row is not inspected
