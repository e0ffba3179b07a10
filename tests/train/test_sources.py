"""Batch sources and collation: dynamic padding (PadToLongest) inside shuffled epochs."""

from __future__ import annotations

import pytest
import torch

from lmbook.train import Examples, PadToLongest


def test_pad_to_longest_pads_each_key_to_the_batch_longest():
    collate = PadToLongest({"src_ids": 7, "src_mask": 0})
    batch = collate([
        {"src_ids": [1, 2, 3], "src_mask": [1, 1, 1], "label": 4},
        {"src_ids": torch.tensor([5]), "src_mask": [1], "label": 2},
    ])  # fmt: skip
    assert batch["src_ids"].tolist() == [[1, 2, 3], [5, 7, 7]]
    assert batch["src_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["label"].tolist() == [4, 2]  # other keys are stacked


def test_examples_with_pad_to_longest_give_batches_no_wider_than_needed():
    lengths = [3, 9, 4, 5, 2, 8, 6, 3]
    rows = [{"ids": list(range(1, n + 1))} for n in lengths]
    source = Examples(rows, collate_fn=PadToLongest({"ids": 0}))
    g = torch.Generator().manual_seed(0)
    seen = 0
    for _ in range(4):
        batch = source.get_batch(2, g)["ids"]
        real = (batch != 0).sum(1)
        assert batch.shape[1] == int(real.max())  # padded to this batch's longest only
        seen += int(real.sum())
    assert seen == sum(lengths)  # one epoch: every token of every example exactly once


def test_pad_to_longest_rejects_unknown_keys_and_empty_config():
    with pytest.raises(ValueError, match="pad_values is empty"):
        PadToLongest({})
    with pytest.raises(KeyError, match=r"\['tgt_ids'\].*pass the keys"):
        PadToLongest({"tgt_ids": 0})([{"src_ids": [1]}])
