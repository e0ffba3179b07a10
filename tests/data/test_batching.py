"""Splits and batching: LM blocks, MLM batches, sentence pairs."""

from __future__ import annotations

import pytest
import torch

from lmbook.data import (
    LMBlocks,
    get_batch,
    mlm_batch,
    pad_batch,
    pair_batch,
    shuffled_split,
    train_val_split,
)


def test_train_val_split_tail_is_validation():
    assert train_val_split("abcdefghij", 0.2) == ("abcdefgh", "ij")
    ids = torch.arange(97)
    train, val = train_val_split(ids, 0.1)
    assert torch.equal(torch.cat([train, val]), ids) and len(val) == 10
    assert train_val_split([1, 2], 0.01) == ([1], [2])  # at least one validation item
    with pytest.raises(ValueError, match="val_fraction"):
        train_val_split("abc", 1.0)


def test_shuffled_split_is_deterministic_and_partitions():
    items = list(range(101))
    a = shuffled_split(items, 0.2, seed=3)
    assert a == shuffled_split(items, 0.2, seed=3)
    assert a != shuffled_split(items, 0.2, seed=4)
    train, val = a
    assert len(val) == 20 and sorted(train + val) == items


def test_get_batch_windows_and_targets_are_shifted():
    ids = torch.arange(1000) * 3
    g = torch.Generator().manual_seed(0)
    x, y = get_batch(ids, block_size=7, batch_size=5, generator=g)
    assert x.shape == y.shape == (5, 7) and x.dtype == torch.long
    assert torch.equal(y[:, :-1], x[:, 1:])
    assert torch.equal(y[:, -1], x[:, -1] + 3)  # contiguous in the stream
    x2, _ = get_batch(ids, 7, 5, torch.Generator().manual_seed(0))
    assert torch.equal(x, x2)  # same seed, same batch
    # every possible start can be drawn, including the last one
    starts = set()
    g = torch.Generator().manual_seed(1)
    for _ in range(200):
        starts.update((get_batch(torch.arange(10), 8, 4, g)[0][:, 0]).tolist())
    assert starts == {0, 1}


def test_lm_blocks_sequential_cover_every_token_once():
    ids = list(range(23))
    blocks = LMBlocks(ids, block_size=5)
    assert len(blocks) == 4  # 4 * 5 + 1 <= 23
    xs = torch.cat([blocks[i][0] for i in range(len(blocks))])
    assert xs.tolist() == list(range(20))
    x, y = blocks[-1]
    assert x.tolist() == [15, 16, 17, 18, 19] and y.tolist() == [16, 17, 18, 19, 20]
    batches = list(blocks.batches(batch_size=3))
    assert [b[0].shape[0] for b in batches] == [3, 1]
    assert torch.equal(batches[0][0][1], blocks[1][0])
    g = torch.Generator().manual_seed(0)
    shuffled = torch.cat([b[0] for b in blocks.batches(3, shuffle=True, generator=g)])
    assert sorted(shuffled.flatten().tolist()) == list(range(20))
    with pytest.raises(IndexError):
        blocks[4]


def test_lm_blocks_stride_and_trainer_protocol():
    blocks = LMBlocks(torch.arange(50), block_size=8, stride=4)
    assert len(blocks) == (50 - 1 - 8) // 4 + 1
    assert blocks[1][0][0].item() == 4
    batch = blocks.get_batch(6, torch.Generator().manual_seed(0))
    assert batch["input_ids"].shape == batch["targets"].shape == (6, 8)


@pytest.mark.parametrize(
    ("ids", "block", "match"),
    [
        (list(range(5)), 5, "too few"),
        (torch.zeros(3, 4, dtype=torch.long), 2, "1-D"),
        (torch.zeros(10), 2, "1-D integer"),
        (list(range(10)), 0, "block_size"),
    ],
)
def test_bad_lm_input_is_refused(ids, block, match):
    with pytest.raises(ValueError, match=match):
        LMBlocks(ids, block)


def test_pad_batch_and_mlm_batch():
    ids, mask = pad_batch([[5, 6, 7], [8]], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]] and mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    with pytest.raises(ValueError, match="max_length"):
        pad_batch([[1, 2, 3]], 0, max_length=2, truncation=False)
    b = mlm_batch([[5, 6, 7, 8, 9], [11]], cls_id=101, sep_id=102, pad_id=0, max_length=5)
    assert b["input_ids"].tolist() == [[101, 5, 6, 7, 102], [101, 11, 102, 0, 0]]
    assert b["special_tokens_mask"].tolist() == [
        [True, False, False, False, True],
        [True, False, True, True, True],
    ]
    assert b["attention_mask"].tolist() == [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]
    assert b["token_type_ids"].sum() == 0


def test_pair_batch_teacher_forcing():
    b = pair_batch([([4, 5, 6], [7, 8]), ([9], [10, 11, 12])], pad_id=0, bos_id=1, eos_id=2)
    assert b["src_ids"].tolist() == [[4, 5, 6], [9, 0, 0]]
    assert b["decoder_input_ids"].tolist() == [[1, 7, 8, 2], [1, 10, 11, 12]]
    assert b["labels"].tolist() == [[7, 8, 2, -100], [10, 11, 12, 2]]
    assert b["tgt_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 1, 1]]
    with pytest.raises(ValueError, match="at least 2 tokens"):
        pair_batch([([1], [])], pad_id=0)


def test_mlm_blocks_are_mlm_batches_of_random_windows():
    from lmbook.data.batching import MLMBlocks, word_ids_from_continuation

    ids = torch.arange(100, 160)
    cont = torch.zeros(200, dtype=torch.bool)
    cont[torch.arange(101, 160, 3)] = True  # every third id continues the previous word
    blocks = MLMBlocks(ids, block_size=8, cls_token_id=1, sep_token_id=2, is_continuation=cont)
    b = blocks.get_batch(3, torch.Generator().manual_seed(0))
    # the same windows through mlm_batch's list path give the same batch (one way to build it)
    rows = b["input_ids"][:, 1:-1]
    assert ((rows[:, 1:] - rows[:, :-1]) == 1).all()  # contiguous windows of the stream
    ref = mlm_batch(rows.tolist(), cls_id=1, sep_id=2, pad_id=0, max_length=8)
    for key in ref:
        assert torch.equal(b[key], ref[key]), key
    special = b["special_tokens_mask"]
    assert torch.equal(b["word_ids"], word_ids_from_continuation(cont[b["input_ids"]], special))
    assert (b["word_ids"][special] == -1).all()
    with pytest.raises(ValueError, match="need pad_id"):
        mlm_batch([[5, 6], [7]], cls_id=1, sep_id=2)


def test_moved_helpers_keep_their_old_names():
    from lmbook.data import batching
    from lmbook.train import MLMBlocks, PadToLongest, TokenBlocks, checkpoint, objectives

    assert TokenBlocks is LMBlocks and MLMBlocks is batching.MLMBlocks
    assert PadToLongest is batching.PadToLongest
    assert objectives.word_ids_from_continuation is batching.word_ids_from_continuation
    from lmbook.train.distributed import unwrap_model

    assert checkpoint.unwrap_model is unwrap_model


def test_unpad_inverts_pad_to_longest():
    from lmbook.data.padding import PadToLongest, unpad

    rows = [
        {"ids": [5, 6, 7], "attention_mask": [1, 1, 1], "label": 1},
        {"ids": [8], "attention_mask": [1], "label": 0},
    ]
    collate = PadToLongest({"ids": 0, "attention_mask": 0})
    batch = collate(rows)
    back = unpad(batch)
    assert [r["ids"].tolist() for r in back] == [[5, 6, 7], [8]]
    assert [int(r["label"]) for r in back] == [1, 0]
    # padded once for a longer set, then split and collated again: the batch's own longest
    wide = {k: torch.nn.functional.pad(v, (0, 4)) if v.dim() == 2 else v for k, v in batch.items()}
    for key, value in collate(unpad(wide)).items():
        assert torch.equal(value, batch[key]), key
    with pytest.raises(KeyError, match="attention_mask"):
        unpad({"ids": batch["ids"]})
