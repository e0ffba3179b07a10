import json
import math
import sys
import types

import pytest
import torch
from torch import nn

from lmbook.device import has_bf16_matmul_setting
from lmbook.train import (
    Examples,
    OutDirError,
    TrainConfig,
    Trainer,
    TrainingDivergedError,
    configure_optimizer,
    latest_checkpoint,
)

V = 97


class TinyLM(nn.Module):
    """Stand-in causal LM: embedding, LayerNorm, a mixing MLP over the last 2 tokens, head."""

    def __init__(self, D=36, F=37, dropout=0.0):
        super().__init__()
        self.tok_emb = nn.Embedding(V, D)
        self.norm = nn.LayerNorm(D)
        self.fc = nn.Linear(2 * D, F)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(F, V)

    def forward(self, x):
        h = self.norm(self.tok_emb(x))  # (B, T, D)
        prev = torch.cat([torch.zeros_like(h[:, :1]), h[:, :-1]], dim=1)
        return self.head(self.drop(torch.relu(self.fc(torch.cat([h, prev], -1)))))


def _stream(n=6000, seed=0):
    # a noisy deterministic bigram chain: next = 7 * prev + 3 (mod V) 80% of the time
    g = torch.Generator().manual_seed(seed)
    noise = torch.randint(V, (n,), generator=g)
    keep = torch.rand(n, generator=g) < 0.8
    ids = torch.empty(n, dtype=torch.long)
    ids[0] = 0
    for i in range(1, n):
        ids[i] = (ids[i - 1] * 7 + 3) % V if keep[i] else noise[i]
    return ids[:5000], ids[5000:]


def _cfg(**kw):
    base = dict(
        max_iters=24, eval_interval=8, eval_iters=3, log_interval=4, batch_size=8, block_size=16,
        warmup_iters=4, lr=1e-2, min_lr=1e-3, dtype="float32", device="cpu", progress=False,
    )  # fmt: skip
    return TrainConfig(**(base | kw))


def _losses(history):
    return [(e["iter"], e["train_loss"], e["val_loss"]) for e in history]


def test_loss_decreases_and_history_has_the_documented_keys(tmp_path):
    torch.manual_seed(0)
    train, val = _stream()
    trainer = Trainer(TinyLM(), _cfg(max_iters=60, eval_interval=20), train, val)
    history = trainer.train()
    assert set(history[-1]) == {"iter", "train_loss", "val_loss", "lr", "tokens_per_sec",
                                "wall_time_s"}  # fmt: skip
    assert history[0]["iter"] == 0 and history[0]["val_loss"] == pytest.approx(math.log(V), 0.05)
    assert history[-1]["iter"] == 60 and history[-1]["val_loss"] < history[0]["val_loss"] - 1.0
    summary = trainer.summary()
    assert summary["iter"] == 60 and summary["tokens_per_sec"] > 0


@pytest.mark.parametrize("bf16_matmuls", [False, True])
def test_resume_reproduces_uninterrupted_run_bit_for_bit(tmp_path, monkeypatch, bf16_matmuls):
    if bf16_matmuls:  # as chosen on an AMX CPU for 128-255 wide models
        if not has_bf16_matmul_setting():
            pytest.skip("needs torch >= 2.9")
        from lmbook.train import trainer as tr

        monkeypatch.setattr(tr, "choose_matmul_precision", lambda *a: (True, "forced"))
    train, val = _stream()
    # dropout on: the restored torch RNG must give the same dropout masks
    torch.manual_seed(0)
    full = Trainer(TinyLM(dropout=0.1), _cfg(out_dir=str(tmp_path / "a")), train, val).train()

    calls = {"n": 0}

    def crashing(model, batch):
        calls["n"] += 1
        if calls["n"] > 19:  # 3 eval + 8 steps + 3 eval + 6 steps: dies in step 14
            raise KeyboardInterrupt
        from lmbook.train.objectives import clm_loss

        return clm_loss(model(batch["input_ids"]), batch["targets"])

    torch.manual_seed(0)
    cfg_b = _cfg(out_dir=str(tmp_path / "b"))
    with pytest.raises(KeyboardInterrupt):
        Trainer(TinyLM(dropout=0.1), cfg_b, train, val, objective=crashing).train()
    assert latest_checkpoint(tmp_path / "b").name == "ckpt-0000008"

    torch.manual_seed(123)  # a different init: everything must come from the checkpoint
    resumed = Trainer(TinyLM(dropout=0.1), cfg_b.replace(resume=True), train, val)
    assert resumed.iter == 0 and resumed.bf16_matmuls is bf16_matmuls
    history = resumed.train()
    assert resumed.iter == 24
    assert _losses(history) == _losses(full)  # exact equality, not approx
    lines = (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["iter"] for x in lines] == [e["iter"] for e in full]


def test_examples_source_resumes_mid_epoch(tmp_path):
    g = torch.Generator().manual_seed(0)
    xs = torch.randint(V, (50, 6), generator=g)
    examples = [{"input_ids": x, "labels": x[0] % 3} for x in xs]
    model_kw = dict(D=12, F=13)

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.lm = TinyLM(**model_kw)
            self.cls = nn.Linear(V, 3)

        def forward(self, input_ids):
            return self.cls(self.lm(input_ids).mean(1))

    cfg = _cfg(batch_size=7, max_iters=16, lr_decay_iters=16, eval_interval=8, log_interval=8)
    torch.manual_seed(0)
    full = Trainer(Classifier(), cfg.replace(out_dir=str(tmp_path / "a")), Examples(examples),
                   Examples(examples), objective="classification").train()  # fmt: skip
    torch.manual_seed(0)
    Trainer(Classifier(), cfg.replace(out_dir=str(tmp_path / "b"), max_iters=8),
            Examples(examples), Examples(examples), objective="classification").train()  # fmt: skip
    resumed = Trainer(Classifier(), cfg.replace(out_dir=str(tmp_path / "b"), resume=True),
                      Examples(examples), Examples(examples), objective="classification")  # fmt: skip
    assert _losses(resumed.train()) == _losses(full)


def test_grad_accumulation_matches_one_big_batch():
    train, val = _stream()
    torch.manual_seed(0)
    big = Trainer(TinyLM(), _cfg(batch_size=8), train, val).train()
    torch.manual_seed(0)
    # Same global batch of 8, as 2 micro-batches of 4 drawn from the same generator stream.
    small = Trainer(TinyLM(), _cfg(batch_size=4, grad_accum=2), train, val)
    small.val_source = Trainer(TinyLM(), _cfg(batch_size=8), train, val).val_source
    hist = small.train()
    for a, b in zip(big, hist, strict=True):
        if a["train_loss"] is not None:
            assert a["train_loss"] == pytest.approx(b["train_loss"], abs=1e-5)


def test_nan_loss_stops_with_clear_message_and_keeps_last_good_checkpoint(tmp_path):
    train, val = _stream()
    calls = {"n": 0}

    def poisoned(model, batch):
        from lmbook.train.objectives import clm_loss

        loss = clm_loss(model(batch["input_ids"]), batch["targets"])
        calls["n"] += model.training
        if calls["n"] > 9:  # steps 10, 11, ... diverge; the check runs at the log of step 12
            loss = loss * float("nan")
        return loss

    torch.manual_seed(0)
    trainer = Trainer(TinyLM(), _cfg(out_dir=str(tmp_path)), train, val, objective=poisoned)
    with pytest.raises(
        TrainingDivergedError, match=r"loss became nan at iter 10.*ckpt-0000008.*Lower lr"
    ):
        trainer.train()
    assert latest_checkpoint(tmp_path).name == "ckpt-0000008"
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert max(json.loads(x)["iter"] for x in lines) == 8


def test_out_dir_refusals_change_nothing(tmp_path):
    train, val = _stream()
    with pytest.raises(OutDirError, match="no checkpoint"):
        Trainer(TinyLM(), _cfg(out_dir=str(tmp_path), resume=True), train, val).train()
    assert not (tmp_path / "metrics.jsonl").exists()
    Trainer(TinyLM(), _cfg(out_dir=str(tmp_path), max_iters=8), train, val).train()
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    with pytest.raises(OutDirError, match="another model.*fc.weight shape"):
        Trainer(TinyLM(F=41), _cfg(out_dir=str(tmp_path), resume=True), train, val).train()
    with pytest.raises(OutDirError, match="another model"):
        Trainer(TinyLM(F=41), _cfg(out_dir=str(tmp_path)), train, val).train()
    with pytest.raises(OutDirError, match="resume=true to continue"):
        Trainer(TinyLM(), _cfg(out_dir=str(tmp_path)), train, val).train()
    after = {p.name: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    assert before == after


def test_bad_config_values_name_the_key():
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="dtype"):
        TrainConfig(dtype="fp8")
    with pytest.raises(ValueError, match="unknown training key.*valid keys: out_dir"):
        TrainConfig.from_dict({"learning_rate": 1e-3})
    with pytest.raises(ValueError, match="resume=True needs out_dir"):
        TrainConfig(resume=True)


def test_weight_decay_groups_follow_the_dim_rule():
    opt = configure_optimizer(TinyLM(), 1e-3, 0.1, (0.9, 0.99))
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.dim() >= 2 for p in decay["params"]) and len(decay["params"]) == 3
    assert all(p.dim() == 1 for p in no_decay["params"]) and len(no_decay["params"]) == 4


def test_bf16_autocast_trains_on_cpu():
    train, val = _stream()
    torch.manual_seed(0)
    hist = Trainer(TinyLM(), _cfg(dtype="bfloat16", max_iters=40, eval_interval=20), train,
                   val).train()  # fmt: skip
    assert hist[-1]["val_loss"] < hist[0]["val_loss"] - 0.1


def test_tiny_gpt_overfits_one_batch():
    from lmbook.models import GPT, GPTConfig

    torch.manual_seed(0)
    gpt = GPT(GPTConfig.preset("tiny"))

    class OneBatch:
        def __init__(self):
            g = torch.Generator().manual_seed(5)
            self.x = torch.randint(V, (4, 17), generator=g)

        def get_batch(self, batch_size, generator):
            return {"input_ids": self.x[:, :-1], "targets": self.x[:, 1:]}

    cfg = _cfg(max_iters=80, eval_interval=80, log_interval=20, batch_size=4, lr=1e-2,
               min_lr=1e-2, warmup_iters=0, weight_decay=0.0)  # fmt: skip
    hist = Trainer(gpt, cfg, OneBatch(), OneBatch()).train()
    assert hist[-1]["val_loss"] < 0.3


def test_dtype_auto_uses_bf16_only_where_it_pays(monkeypatch):
    from lmbook.train import choices as tr

    cpu = torch.device("cpu")
    monkeypatch.setattr(tr, "bf16_supported", lambda device: False)  # AVX2: emulated bf16
    assert tr.choose_dtype("auto", cpu, 384)[0] is None
    assert "no native bf16" in tr.choose_dtype("auto", cpu, 384)[1]
    monkeypatch.setattr(tr, "bf16_supported", lambda device: True)  # AMX / AVX-512 BF16
    assert tr.choose_dtype("auto", cpu, 128)[0] is None  # measured 0.68x at 128 wide
    assert tr.choose_dtype("auto", cpu, None)[0] is None  # unknown width: the safe fp32
    assert tr.choose_dtype("auto", cpu, tr.BF16_MIN_WIDTH_CPU)[0] is torch.bfloat16
    assert tr.choose_dtype("auto", cpu, 384)[0] is torch.bfloat16  # measured 1.84x
    assert tr.choose_dtype("auto", torch.device("cuda"), 128)[0] is torch.bfloat16
    monkeypatch.setattr(tr, "bf16_supported", lambda device: False)
    assert tr.choose_dtype("auto", torch.device("cuda"), 128)[0] is torch.float16
    # an explicit dtype is kept whatever the machine
    assert tr.choose_dtype("bfloat16", cpu, 64) == (
        torch.bfloat16,
        "bfloat16 autocast (as configured)",
    )
    assert tr.choose_dtype("float32", cpu, 4096)[0] is None


def test_a_task_model_has_the_width_of_its_encoder():
    from lmbook.models import BERT, BertConfig
    from lmbook.models.heads import BertForQA, SequenceClassifier
    from lmbook.train.choices import model_width

    bert = BERT(BertConfig(vocab_size=50, block_size=16, n_layers=1, n_heads=2, d_model=48))
    assert model_width(bert) == 48
    assert model_width(BertForQA(bert)) == 48
    assert model_width(SequenceClassifier(bert, n_classes=2)) == 48
    assert model_width(torch.nn.Linear(3, 3)) is None


def test_bf16_matmuls_are_chosen_only_between_the_widths_where_they_pay(monkeypatch):
    from lmbook.train import choices as tr

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    monkeypatch.setattr(tr, "bf16_supported", lambda device: True)  # AMX / AVX-512 BF16
    monkeypatch.setattr(tr, "has_bf16_matmul_setting", lambda: True)
    for width in (32, 64, 128, 192, 256, 384, None):
        amp, _ = tr.choose_dtype("auto", cpu, width)
        on, why = tr.choose_matmul_precision("auto", cpu, amp, width)
        # measured: bf16 products lose below 128 wide (0.77x at 32), autocast wins from 256
        assert on == (width is not None and 128 <= width < 256), (width, why)
        assert not (on and amp is not None)  # never both
    assert tr.choose_matmul_precision("float32", cpu, None, 128) == (
        False,
        "float32 (as configured)",
    )
    assert not tr.choose_matmul_precision("auto", cuda, None, 128)[0]
    monkeypatch.setattr(tr, "has_bf16_matmul_setting", lambda: False)  # torch < 2.9
    on, why = tr.choose_matmul_precision("auto", cpu, None, 128)
    assert not on and "has no bf16 matmul setting" in why
    monkeypatch.setattr(tr, "bf16_supported", lambda device: False)  # AVX2: emulated bf16
    assert not tr.choose_matmul_precision("auto", cpu, None, 128)[0]


@pytest.mark.skipif(not has_bf16_matmul_setting(), reason="needs torch >= 2.9")
def test_trainer_with_bf16_matmuls_follows_fp32_and_restores_the_settings(monkeypatch):
    """Forced on (as the trainer chooses on an AMX CPU): the same losses within bf16 rounding,
    and the global matmul and attention settings are back after training and evaluation."""
    from lmbook.models import GPT, GPTConfig
    from lmbook.train import choices as tr

    train, val = _stream()
    cfg = GPTConfig.preset("tiny", block_size=16, d_model=128, n_heads=4)
    losses = {}
    for forced in (False, True):
        monkeypatch.setattr(tr, "bf16_supported", lambda device, on=forced: on)
        torch.manual_seed(0)
        t = Trainer(GPT(cfg), _cfg(dtype="auto", max_iters=6, eval_interval=6), train, val)
        assert t.bf16_matmuls is forced
        t.train()
        losses[forced] = [e["train_loss"] for e in t.history if e["train_loss"] is not None]
        losses[forced].append(t.evaluate())
        assert torch.backends.mkldnn.matmul.fp32_precision != "bf16"
        assert torch.backends.cuda.flash_sdp_enabled()  # sdpa_kernel(MATH) was left
    assert losses[True] == pytest.approx(losses[False], rel=1e-2)


def test_trainer_says_what_it_chose(caplog):
    from lmbook.models import GPT, GPTConfig

    train, _ = _stream()
    with caplog.at_level("INFO", logger="lmbook.train"):
        t = Trainer(GPT(GPTConfig.preset("tiny", block_size=16)), _cfg(dtype="auto"), train)
    line = t.describe()
    assert [r.getMessage() for r in caplog.records] == [f"trainer: {line}"]
    assert set(t.choices) == {"device", "dtype", "matmuls", "compile", "optimizer"}
    # this tiny model is 36 wide: fp32 on every CPU; the fused AdamW kernel on CPU
    assert t.amp_dtype is None and t.choices["dtype"].startswith("float32 (auto")
    assert not t.bf16_matmuls and t.choices["matmuls"].startswith("float32")
    assert t.optimizer.defaults["fused"] and "fused" in t.choices["optimizer"]
    assert Trainer(TinyLM(), _cfg(compile=False), train).choices["compile"] == "off (as configured)"


def test_compile_auto_decides_from_the_measured_step_time(monkeypatch):
    from lmbook.train import choices as tr
    from lmbook.train import trainer

    gain, warmup = tr.COMPILE_PAYBACK["cpu"]
    # a 10 ms step saves (1 - 1/gain) * 10 ms per step: it pays back only over a long run
    steps_to_pay = warmup / (0.010 * (1 - 1 / gain))
    assert tr.compile_pays_back("cpu", 0.010, int(steps_to_pay * 0.9))[0] is False
    on, reason = tr.compile_pays_back("cpu", 0.010, int(steps_to_pay * 1.1))
    assert on and reason.startswith("on (auto:")
    # a short run: decided off at the first log, the model stays eager, the choice is said
    train, _ = _stream()
    monkeypatch.setattr(trainer, "compile_blocker", lambda device: None)
    t = Trainer(TinyLM(), _cfg(compile="auto", max_iters=8), train)
    assert t._compile_pending and t.choices["compile"].startswith("auto (decided after 4 steps")
    t.train()
    assert not t._compile_pending and t.choices["compile"].startswith("off (auto: 4 steps left")
    assert t.model is t.raw_model
    # inside a notebook kernel compile="auto" stays off without timing anything
    monkeypatch.undo()
    fake_ipython = types.ModuleType("IPython")
    fake_ipython.get_ipython = lambda: types.SimpleNamespace(kernel=object())
    monkeypatch.setitem(sys.modules, "IPython", fake_ipython)
    t = Trainer(TinyLM(), _cfg(compile="auto"), train)
    assert not t._compile_pending and "Jupyter" in t.choices["compile"]


def test_compile_setting_is_validated():
    assert TrainConfig(compile="auto").compile == "auto"
    with pytest.raises(ValueError, match="compile must be true, false or 'auto', got 'maybe'"):
        TrainConfig(compile="maybe")
