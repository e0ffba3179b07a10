"""lmbook's Trainer against a plain nanoGPT-style training loop on the same GPT.

The reference is written the way nanoGPT's ``model.py`` and ``train.py`` write it: one
module per block with a fused ``c_attn`` projection and ``F.scaled_dot_product_attention``,
``torch.optim.AdamW`` with its default (CPU: per-tensor) implementation, and per step
``loss.backward()``, gradient clipping, ``optimizer.step()``, ``zero_grad(set_to_none=True)``
and ``loss.item()`` (nanoGPT reads the loss back to log it), eager fp32. Both sides start
from the same weights (the lmbook model's, through its Hugging Face export), draw the same
batches (the same offsets from generators with the same seed) and follow the same warmup +
cosine learning rate, so their losses after the same number of steps must agree.

Two shapes: nanoGPT's CPU recipe (4 layers, 4 heads, 128 wide, block 64, batch 12) and its
single-GPU width (6 layers, 6 heads, 384 wide, block 256, batch 12, fewer steps). Each
shape trains both sides for ``steps`` steps, in ``rounds`` interleaved chunks (lmbook,
plain, plain, lmbook, ...); the ratio is the median of the per-chunk paired ratios.

lmbook's side is ``Trainer.train()`` with the settings the trainer chooses itself
(``dtype="auto"``, ``compile="auto"``): the log line it prints says what it chose.

Usage:
    python benchmarks/bench_vs_plain.py --threads 1            # ~4-6 min
    python benchmarks/bench_vs_plain.py --threads 1 --quick    # < 2 min
    python benchmarks/bench_vs_plain.py --shapes cpu --compile true   # force a choice

Targets (issue 13), at the same final loss: >= 1.15x at the CPU recipe shape on any CPU;
at 384 wide >= 1.1x on an AVX2-only CPU and >= 1.3x on one with native bf16 (AMX), where
the trainer chooses bf16 autocast at 384 wide and bf16 matmul products at 128.
    python benchmarks/bench_vs_plain.py --threads 2 --shapes 384 --steps 240   # same loss, ~5 min on AMX

The AVX2 paths on an AVX-512 CPU (see the README): prefix the command with
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 \
    TORCHINDUCTOR_CACHE_DIR=$(mktemp -d)
"""

from __future__ import annotations

import argparse
import copy
import math
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402
from _common import add_clock_argument, setup_threads, use_cpu_time  # noqa: E402

from lmbook.data import LMBlocks  # noqa: E402
from lmbook.env import cpu_model  # noqa: E402
from lmbook.hf import GPT2_SPEC, lmbook_to_hf  # noqa: E402
from lmbook.models import GPT, GPTConfig  # noqa: E402
from lmbook.train import TrainConfig, Trainer  # noqa: E402

# ----------------------------------------------------------------- the plain reference model
# nanoGPT's model.py, reduced to what these shapes use (no dropout, bias=False).


class CausalSelfAttention(nn.Module):
    def __init__(self, d: int, h: int) -> None:
        super().__init__()
        self.c_attn = nn.Linear(d, 3 * d, bias=False)
        self.c_proj = nn.Linear(d, d, bias=False)
        self.n_head = h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        # (B, T, C) -> (B, nh, T, hs)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, nh, T, hs) -> (B, T, C)
        return self.c_proj(y)


class MLP(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.c_fc = nn.Linear(d, 4 * d, bias=False)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * d, d, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(self.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, d: int, h: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(d, bias=False)
        self.attn = CausalSelfAttention(d, h)
        self.ln_2 = nn.LayerNorm(d, bias=False)
        self.mlp = MLP(d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class PlainGPT(nn.Module):
    def __init__(self, vocab: int, block: int, n_layer: int, n_head: int, d: int) -> None:
        super().__init__()
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(vocab, d),
                wpe=nn.Embedding(block, d),
                h=nn.ModuleList([Block(d, n_head) for _ in range(n_layer)]),
                ln_f=nn.LayerNorm(d, bias=False),
            )
        )
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        T = idx.size(1)
        pos = torch.arange(0, T, dtype=torch.long, device=idx.device)
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss

    def load_hf(self, hf: dict[str, torch.Tensor]) -> None:
        """nanoGPT's from_pretrained: Hugging Face GPT-2 keys, Conv1D weights transposed."""
        conv1d = (
            "attn.c_attn.weight",
            "attn.c_proj.weight",
            "mlp.c_fc.weight",
            "mlp.c_proj.weight",
        )
        sd = self.state_dict()
        with torch.no_grad():
            for k, v in hf.items():
                if k.endswith(".bias") and k not in sd:
                    continue  # zero biases of the export (the model has none)
                sd[k].copy_(v.t() if k.endswith(conv1d) else v)
            self.lm_head.weight.copy_(hf["transformer.wte.weight"])

    def configure_optimizers(self, wd: float, lr: float, betas: tuple[float, float]):
        params = [p for p in self.parameters() if p.requires_grad]
        groups = [
            {"params": [p for p in params if p.dim() >= 2], "weight_decay": wd},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
        ]
        return torch.optim.AdamW(groups, lr=lr, betas=betas)  # fused only on CUDA in nanoGPT


def warmup(steps: int) -> int:
    """Warmup steps of a run of ``steps`` (10, fewer for the short 384-wide runs)."""
    return min(10, steps // 4)


def get_lr(it: int, lr: float, min_lr: float, warmup: int, decay: int) -> float:
    """nanoGPT's train.py schedule: linear warmup, cosine down to min_lr."""
    if it < warmup:
        return lr * (it + 1) / (warmup + 1)
    if it > decay:
        return min_lr
    ratio = (it - warmup) / (decay - warmup)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)


# ----------------------------------------------------------------- the two sides


class PlainRun:
    """nanoGPT's train.py loop around PlainGPT (eager fp32, loss.item() every step)."""

    def __init__(self, ours: GPT, ids: torch.Tensor, batch: int, steps: int, seed: int) -> None:
        c = ours.config
        self.model = PlainGPT(c.vocab_size, c.block_size, c.n_layers, c.n_heads, c.d_model)
        # The Hugging Face export's key mapping (save_pretrained refuses bias=False models,
        # which GPT-2 files cannot describe; the mapping itself is the same).
        self.model.load_hf(lmbook_to_hf(ours.state_dict(), GPT2_SPEC))
        self.model.train()
        self.opt = self.model.configure_optimizers(0.1, 1e-3, (0.9, 0.99))
        self.data, self.block, self.batch, self.steps = ids, c.block_size, batch, steps
        self.gen = torch.Generator().manual_seed(seed)
        self.it = 0
        self.losses: list[float] = []
        self.window = 10  # steps averaged in last_loss

    def get_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        ix = torch.randint(len(self.data) - self.block, (self.batch,), generator=self.gen)
        x = torch.stack([self.data[i : i + self.block] for i in ix])
        y = torch.stack([self.data[i + 1 : i + 1 + self.block] for i in ix])
        return x, y

    def run(self, n: int) -> None:
        for _ in range(n):
            lr = get_lr(self.it, 1e-3, 1e-4, warmup(self.steps), self.steps)
            for group in self.opt.param_groups:
                group["lr"] = lr
            x, y = self.get_batch()
            _, loss = self.model(x, y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
            self.opt.step()
            self.opt.zero_grad(set_to_none=True)
            self.losses.append(loss.item())
            self.it += 1

    @property
    def last_loss(self) -> float:
        """Mean loss over the same last steps as the trainer's last log entry."""
        return statistics.fmean(self.losses[-self.window :])


class LmbookRun:
    """lmbook's Trainer on the same model, data and schedule, with its own choices."""

    def __init__(self, ours: GPT, ids: torch.Tensor, batch: int, steps: int, seed: int,
                 dtype: str, compile: str) -> None:  # fmt: skip
        c = ours.config
        cfg = TrainConfig(max_iters=1, lr_decay_iters=steps, warmup_iters=warmup(steps), lr=1e-3,
                          min_lr=1e-4,
                          batch_size=batch, block_size=c.block_size, log_interval=10,
                          eval_interval=10**9, eval_at_start=False, dtype=dtype, compile=compile,
                          device="cpu", seed=seed, progress=False)  # fmt: skip
        model = copy.deepcopy(ours)  # its own copy: the Trainer trains the module it is given
        self.trainer = Trainer(model, cfg.replace(max_iters=steps), LMBlocks(ids, c.block_size))
        self.trainer.config = cfg  # train() runs up to config.max_iters; raised chunk by chunk
        self.it = 0

    @classmethod
    def before(cls, *args: object) -> LmbookRun:
        """The trainer as it was before issue 13: the foreach AdamW (on CPU)."""
        run = cls(*args)
        t = run.trainer
        groups = [{"params": g["params"], "weight_decay": g["weight_decay"]}
                  for g in t.optimizer.param_groups]  # fmt: skip
        t.optimizer = torch.optim.AdamW(groups, lr=1e-3, betas=(0.9, 0.99), foreach=True)
        t.choices["optimizer"] = "AdamW (foreach)"
        return run

    def run(self, n: int) -> None:
        self.it += n
        self.trainer.config = self.trainer.config.replace(max_iters=self.it)
        self.trainer.train()

    @property
    def last_loss(self) -> float:
        return self.trainer.history[-1]["train_loss"]


SHAPES = {
    # name: (n_layers, n_heads, d_model, block, batch, steps, quick steps)
    "cpu": (4, 4, 128, 64, 12, 240, 120),
    "384": (6, 6, 384, 256, 12, 24, 8),
}


def measure(shape: str, ids: torch.Tensor, vocab: int, rounds: int, quick: bool, dtype: str,
            compile: str, before: bool = False, steps: int | None = None) -> dict:  # fmt: skip
    L, H, D, T, B, default_steps, quick_steps = SHAPES[shape]
    steps = steps or (quick_steps if quick else default_steps)
    chunk = steps // rounds
    steps = chunk * rounds
    torch.manual_seed(0)
    cfg = GPTConfig.preset("nanogpt-cpu", vocab_size=vocab, n_layers=L, n_heads=H, d_model=D,
                           block_size=T)  # fmt: skip
    ours = GPT(cfg)
    plain = PlainRun(ours, ids, B, steps, seed=1337)
    plain.window = chunk % 10 or 10  # the trainer logs every 10 steps and at each chunk's end
    t0 = time.perf_counter()
    lm = LmbookRun(ours, ids, B, steps, 1337, dtype, compile)
    setup_s = time.perf_counter() - t0
    sides: dict[str, PlainRun | LmbookRun] = {"lmbook": lm, "plain": plain}
    if before:
        sides["before"] = LmbookRun.before(ours, ids, B, steps, 1337, dtype, compile)
    times: dict[str, list[float]] = {name: [] for name in sides}
    for r in range(rounds):
        order = list(sides) if r % 2 == 0 else list(sides)[::-1]
        for name in order:
            t0 = _common._clock()
            sides[name].run(chunk)
            times[name].append(_common._clock() - t0)
    # The first chunk holds any compilation: report it apart, compare steady chunks.
    first = {k: v[0] for k, v in times.items()}
    steady = {k: v[1:] if rounds > 2 else v for k, v in times.items()}
    ratios = [p / q for p, q in zip(steady["plain"], steady["lmbook"], strict=True)]
    tok = B * T * chunk
    extra = {}
    if before:
        extra = {
            "tok_s_before": tok / statistics.median(steady["before"]),
            "ratio_before": statistics.median(
                p / q for p, q in zip(steady["plain"], steady["before"], strict=True)
            ),
            "loss_before": sides["before"].last_loss,
        }
    return {
        **extra,
        "shape": f"{L} layers, {H} heads, {D} wide, block {T}, batch {B}",
        "steps": steps,
        "rounds": rounds,
        "tok_s_lmbook": tok / statistics.median(steady["lmbook"]),
        "tok_s_plain": tok / statistics.median(steady["plain"]),
        "ratio": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "first_chunk_s": first,
        "setup_s": setup_s,
        "loss_lmbook": lm.last_loss,
        "loss_plain": plain.last_loss,
        "chosen": lm.trainer.choices if hasattr(lm.trainer, "choices") else {},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--quick", action="store_true", help="fewer steps: under ~2 minutes")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved chunks per shape")
    ap.add_argument("--steps", type=int, default=None, help="steps per side (default: the shape's)")
    ap.add_argument("--shapes", default="cpu,384", help="comma list of: " + ",".join(SHAPES))
    ap.add_argument("--dtype", default="auto", help="lmbook's dtype (default: auto)")
    ap.add_argument("--compile", default="auto", help="lmbook's compile: auto, true, false")
    ap.add_argument("--before", action="store_true", help="add the trainer as before (foreach)")
    add_clock_argument(ap)
    args = ap.parse_args()
    clock = use_cpu_time(args.cpu_time)
    threads = setup_threads(args.threads)
    rounds = args.rounds or (4 if args.quick else 6)
    compile = {"true": True, "false": False}.get(args.compile.lower(), args.compile)

    from lmbook import data
    from lmbook.tokenizers import CharTokenizer

    text = data.load("shakespeare-speeches")
    tok = CharTokenizer.train(text)
    train_text, _ = data.train_val_split(text, 0.1)
    ids = torch.tensor(tok.encode(train_text[:1_000_000]), dtype=torch.long)

    print(f"CPU: {cpu_model()} ({torch.backends.cpu.get_cpu_capability()}), torch "
          f"{torch.__version__}, {threads} thread(s); {clock}, interleaved chunks")  # fmt: skip
    for shape in args.shapes.split(","):
        res = measure(shape, ids, tok.vocab_size, rounds, args.quick, args.dtype, compile,
                      args.before, args.steps)  # fmt: skip
        print(f"\n{res['shape']}: {res['steps']} steps in {res['rounds']} chunks per side")
        print(
            f"  lmbook Trainer  {res['tok_s_lmbook']:9,.0f} tokens/s   final train loss "
            f"{res['loss_lmbook']:.4f}   (first chunk {res['first_chunk_s']['lmbook']:.1f} s)"
        )
        print(
            f"  plain nanoGPT   {res['tok_s_plain']:9,.0f} tokens/s   final train loss "
            f"{res['loss_plain']:.4f}   (first chunk {res['first_chunk_s']['plain']:.1f} s)"
        )
        print(
            f"  RATIO lmbook / plain: {res['ratio']:.2f}x (paired chunks: "
            f"{res['ratio_min']:.2f}-{res['ratio_max']:.2f}x)"
        )
        if "ratio_before" in res:
            print(
                f"  lmbook before (foreach AdamW) {res['tok_s_before']:9,.0f} tokens/s, final "
                f"train loss {res['loss_before']:.4f}: {res['ratio_before']:.2f}x plain"
            )
        if res["chosen"]:
            print(f"  trainer chose: {res['chosen']}")


if __name__ == "__main__":
    main()
