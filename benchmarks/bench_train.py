"""Training throughput of lmbook's trainer on this machine, as ratios.

Measures, interleaved in one process (median of paired ratios over rounds):

* lmbook GPT + Trainer step, fp32 vs bf16 autocast vs ``dtype="auto"`` (what the trainer
  picks on this machine: on an AMX CPU, bf16 matmul products at this width), and compiled
  with --compile;
* the same step with ``transformers``' GPT2LMHeadModel at the same shape, fp32 (the
  reference the project's 1.35x target is stated against);
* tokens/s and model FLOPs utilization against this machine's measured fp32/bf16 matmul peak
  (on a busy shared machine the "peak" is measured low too, which inflates MFU: read the
  ratios, which are paired round by round, rather than the absolute figures);
* with --converge N: N real training iterations on Shakespeare in fp32 and in bf16
  (same seed, same batches) and the validation loss each reaches, so the bf16 speed-up is
  read at the same final loss.

Usage:
    python benchmarks/bench_train.py                       # nanoGPT CPU shape, ~1-2 min
    python benchmarks/bench_train.py --compile             # + torch.compile (30-90 s warm-up)
    python benchmarks/bench_train.py --converge 300        # + fp32 vs bf16 loss after 300 steps
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from lmbook.compute import (
    ModelShape,
    benchmark,
    flops_per_token,
    measure_matmul_peak,
    model_flops_utilization,
)
from lmbook.models import GPT, GPTConfig
from lmbook.train import TrainConfig, Trainer


class FixedBatches:
    """Random batches of token ids (throughput does not depend on the data)."""

    def __init__(self, vocab: int, block: int) -> None:
        self.vocab, self.block = vocab, block

    def get_batch(self, batch_size: int, generator: torch.Generator) -> dict:
        x = torch.randint(self.vocab, (batch_size, self.block + 1), generator=generator)
        return {"input_ids": x[:, :-1], "targets": x[:, 1:]}


def lmbook_step(cfg: GPTConfig, batch: int, dtype: str, compile: bool = False):
    torch.manual_seed(0)
    src = FixedBatches(cfg.vocab_size, cfg.block_size)
    tc = TrainConfig(batch_size=batch, block_size=cfg.block_size, dtype=dtype, device="cpu",
                     compile=compile, progress=False, max_iters=10**6)  # fmt: skip
    trainer = Trainer(GPT(cfg), tc, src, None)
    return trainer._train_step  # one optimizer step: batch, forward, backward, clip, AdamW


def hf_step(cfg: GPTConfig, batch: int):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    hcfg = GPT2Config(vocab_size=cfg.vocab_size, n_positions=cfg.block_size, n_embd=cfg.d_model,
                      n_layer=cfg.n_layers, n_head=cfg.n_heads, resid_pdrop=0.0, embd_pdrop=0.0,
                      attn_pdrop=0.0)  # fmt: skip
    model = GPT2LMHeadModel(hcfg)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, foreach=True)
    src = FixedBatches(cfg.vocab_size, cfg.block_size)
    gen = torch.Generator().manual_seed(0)

    def step():
        b = src.get_batch(batch, gen)
        logits = model(input_ids=b["input_ids"]).logits
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), b["targets"].flatten())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.detach()

    return step


def converge(iters: int, threads_note: str) -> dict:
    """Train the shakespeare-char recipe for ``iters`` steps in fp32 and bf16."""
    from lmbook import data
    from lmbook.tokenizers import CharTokenizer

    text = data.load("shakespeare")
    tok = CharTokenizer.train(text)
    tr, va = data.train_val_split(text, 0.1)
    tr_ids = torch.tensor(tok.encode(tr))
    va_ids = torch.tensor(tok.encode(va))
    out = {}
    for dtype in ("float32", "bfloat16"):
        torch.manual_seed(1337)
        model = GPT(GPTConfig.preset("nanogpt-cpu", vocab_size=tok.vocab_size))
        tc = TrainConfig(max_iters=iters, eval_interval=iters, eval_iters=20, log_interval=50,
                         warmup_iters=min(100, iters // 10), dtype=dtype, device="cpu",
                         progress=False)  # fmt: skip
        t = Trainer(model, tc, tr_ids, va_ids)
        t.train()
        s = t.summary()
        out[dtype] = {
            "val_loss": round(s["val_loss"], 4),
            "tokens_per_sec": round(s["tokens_per_sec"]),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds per variant per round")
    ap.add_argument("--compile", action="store_true", help="add torch.compile variants")
    ap.add_argument("--converge", type=int, default=0, help="also train N iters fp32 vs bf16")
    ap.add_argument("--batch", type=int, default=12)
    args = ap.parse_args()

    cfg = GPTConfig.preset("nanogpt-cpu", vocab_size=65)  # nanoGPT's CPU shape, char vocab
    tokens = args.batch * cfg.block_size
    peak32 = measure_matmul_peak(torch.float32)
    peak16 = measure_matmul_peak(torch.bfloat16)
    variants = {
        "hf_gpt2_fp32": hf_step(cfg, args.batch),
        "lmbook_fp32": lmbook_step(cfg, args.batch, "float32"),
        "lmbook_bf16": lmbook_step(cfg, args.batch, "bfloat16"),
        "lmbook_auto": lmbook_step(cfg, args.batch, "auto"),  # what the trainer picks here
    }
    auto = variants["lmbook_auto"].__self__  # the Trainer behind the step
    print(f"dtype='auto' chose: {auto.choices['dtype']}; matmuls {auto.choices['matmuls']}")
    auto_bf16 = auto.amp_dtype is not None or auto.bf16_matmuls
    if args.compile:
        for name, dtype in (
            ("lmbook_fp32_compiled", "float32"),
            ("lmbook_bf16_compiled", "bfloat16"),
        ):
            fn = lmbook_step(cfg, args.batch, dtype, compile=True)
            t0 = time.perf_counter()
            fn()
            print(f"{name}: first step (compilation) {time.perf_counter() - t0:.1f} s")
            variants[name] = fn
    res = benchmark(variants, reference="hf_gpt2_fp32", rounds=args.rounds, warmup=3,
                    min_time_s=args.min_time)  # fmt: skip
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; shape: 4 layers, "
          f"4 heads, 128 wide, block {cfg.block_size}, batch {args.batch}, vocab 65")  # fmt: skip
    print(f"matmul peak (1024^3): fp32 {peak32 / 1e9:.0f} GFLOP/s, bf16 {peak16 / 1e9:.0f} GFLOP/s")
    print(res.table())
    shape = ModelShape(cfg.n_layers, cfg.d_model, cfg.n_heads, cfg.vocab_size, cfg.block_size)
    train_flops = flops_per_token(shape, causal=True).training
    summary: dict = {
        "peak_fp32_gflops": round(peak32 / 1e9),
        "peak_bf16_gflops": round(peak16 / 1e9),
    }
    print(f"\n{'variant':<22} tokens/s   MFU (vs own-dtype peak)   ratio vs hf_gpt2_fp32")
    for name in variants:
        tok_s = tokens / res.median(name)
        peak = peak16 if "bf16" in name or (name == "lmbook_auto" and auto_bf16) else peak32
        mfu = model_flops_utilization(tok_s, train_flops, peak)
        print(f"{name:<22} {tok_s:8.0f}   {100 * mfu:5.1f}%                    "
              f"{res.speedup(name):5.2f}x")  # fmt: skip
        summary[name] = {"tokens_per_sec": round(tok_s), "mfu": round(mfu, 4),
                         "ratio_vs_hf": round(res.speedup(name), 3)}  # fmt: skip

    def paired(base: str, other: str) -> float:
        ratios = sorted(b / o for b, o in zip(res.times[base], res.times[other], strict=True))
        return round(ratios[len(ratios) // 2], 3)

    summary["bf16_vs_fp32"] = paired("lmbook_fp32", "lmbook_bf16")
    summary["auto_vs_fp32"] = paired("lmbook_fp32", "lmbook_auto")
    print(f"bf16 autocast vs fp32 (lmbook): {summary['bf16_vs_fp32']:.2f}x; "
          f"dtype='auto' vs fp32: {summary['auto_vs_fp32']:.2f}x")  # fmt: skip
    if args.compile:
        summary["compiled_vs_eager_fp32"] = paired("lmbook_fp32", "lmbook_fp32_compiled")
        summary["compiled_vs_eager_bf16"] = paired("lmbook_bf16", "lmbook_bf16_compiled")
        print(f"compiled vs eager: fp32 {summary['compiled_vs_eager_fp32']:.2f}x, "
              f"bf16 {summary['compiled_vs_eager_bf16']:.2f}x")  # fmt: skip
    if args.converge:
        summary["converge"] = converge(args.converge, "")
        print(f"after {args.converge} iters: {summary['converge']}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
