"""Encoder-decoder speed: lmbook Seq2SeqTransformer vs torch.nn.Transformer, and the KV cache.

1. Training step (forward + backward + AdamW, fp32) at the "cpu-small" width (3+3 layers,
   4 heads, 128 wide, d_ff 512, vocab 8000), post-LN and ReLU on both sides, batch 32 x 24
   source / 24 target tokens with padded sources. The reference is PyTorch's own
   ``nn.Transformer`` (batch_first) with the same embeddings, sinusoids and tied head.
2. Greedy decoding of 32 tokens for 16 sources: ``lmbook.generation.greedy_decode`` (KV
   cache: one new token per step, cross-attention keys computed once) against the same loop
   that re-runs the decoder on the whole prefix at every step.

Rounds interleave the variants; each ratio is the median of the per-round ratios.

Usage:
    python benchmarks/bench_seq2seq.py            # ~1 min
    python benchmarks/bench_seq2seq.py --quick    # smoke test

Introduced in: Chapter 6.2 (machine translation).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import median_ratio, paired_rounds, setup_threads  # noqa: E402

from lmbook.generation import greedy_decode  # noqa: E402
from lmbook.models import Seq2SeqConfig, Seq2SeqTransformer  # noqa: E402
from lmbook.nn import SinusoidalPositions  # noqa: E402


class TorchSeq2Seq(nn.Module):
    """The same model around torch.nn.Transformer (the reference implementation)."""

    def __init__(self, c: Seq2SeqConfig) -> None:
        super().__init__()
        self.c = c
        self.tok_emb = nn.Embedding(c.vocab_size, c.d_model)
        self.pos = SinusoidalPositions(c.block_size, c.d_model)
        self.core = nn.Transformer(
            c.d_model, c.n_heads, c.n_encoder_layers, c.n_decoder_layers, c.d_ff, c.dropout,
            activation="relu", batch_first=True, norm_first=c.norm_first,
        )  # fmt: skip
        self.lm_head = nn.Linear(c.d_model, c.vocab_size, bias=False)
        self.lm_head.weight = self.tok_emb.weight

    def forward(self, src, tgt, src_mask):
        scale = math.sqrt(self.c.d_model)
        s = self.tok_emb(src) * scale + self.pos(src.shape[1])
        t = self.tok_emb(tgt) * scale + self.pos(tgt.shape[1])
        causal = nn.Transformer.generate_square_subsequent_mask(tgt.shape[1])
        pad = src_mask == 0  # torch: True = padding
        h = self.core(s, t, tgt_mask=causal, src_key_padding_mask=pad, memory_key_padding_mask=pad,
                      tgt_is_causal=True)  # fmt: skip
        return self.lm_head(h)


def train_step(model, opt, src, tgt, mask):
    logits = model(src, tgt[:, :-1], mask)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt[:, 1:].reshape(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


@torch.no_grad()
def greedy_recompute(model, src, mask, max_len, bos, eos):
    """Greedy decoding without a cache: the decoder re-reads the whole prefix each step."""
    memory = model.encode(src, mask)
    ids = torch.full((src.shape[0], 1), bos, dtype=torch.long)
    for _ in range(max_len):
        nxt = model.decode(ids, memory, mask)[:, -1].argmax(-1)
        ids = torch.cat([ids, nxt[:, None]], dim=1)
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    threads = setup_threads(args.threads)
    rounds = 3 if args.quick else 9
    torch.manual_seed(0)
    c = Seq2SeqConfig.preset("cpu-small", norm_first=False, dropout=0.0, block_size=64)
    ours, ref = Seq2SeqTransformer(c), TorchSeq2Seq(c)
    n_ours, n_ref = ours.num_parameters(), sum(p.numel() for p in ref.parameters())
    B, S, T = 32, 24, 24
    src = torch.randint(4, c.vocab_size, (B, S))
    tgt = torch.randint(4, c.vocab_size, (B, T + 1))
    mask = torch.ones(B, S, dtype=torch.long)
    mask[B // 2 :, S // 2 :] = 0
    opts = {m: torch.optim.AdamW(m.parameters(), lr=1e-4) for m in (ours, ref)}
    for m in (ours, ref):  # warm-up
        train_step(m, opts[m], src, tgt, mask)
    times = paired_rounds(
        {
            "lmbook": lambda: train_step(ours, opts[ours], src, tgt, mask),
            "torch": lambda: train_step(ref, opts[ref], src, tgt, mask),
        },
        rounds,
    )
    tokens = B * (S + T)
    print(f"threads={threads}  params lmbook={n_ours:,} torch.nn.Transformer={n_ref:,}")
    print(f"train step  lmbook {tokens / statistics.median(times['lmbook']):,.0f} tok/s   "
          f"torch {tokens / statistics.median(times['torch']):,.0f} tok/s   "
          f"lmbook/torch speed ratio {median_ratio(times['torch'], times['lmbook']):.2f}x")  # fmt: skip

    ours.eval()
    gsrc, gmask = src[:16], mask[:16]
    max_len = 32
    # A random model rarely emits EOS; an unused id keeps both loops running max_len steps.
    eos = c.vocab_size - 1
    a = greedy_decode(ours, gsrc, gmask, max_len, 1, eos)
    b = greedy_recompute(ours, gsrc, gmask, max_len, 1, eos)
    same = torch.equal(a[:, : b.shape[1]], b[:, : a.shape[1]])
    times = paired_rounds(
        {
            "cache": lambda: greedy_decode(ours, gsrc, gmask, max_len, 1, eos),
            "recompute": lambda: greedy_recompute(ours, gsrc, gmask, max_len, 1, eos),
        },
        rounds,
    )
    print(f"greedy 16 x {max_len} tokens: KV cache {statistics.median(times['cache']):.3f} s, "
          f"recompute {statistics.median(times['recompute']):.3f} s, "
          f"cache speed-up {median_ratio(times['recompute'], times['cache']):.2f}x, "
          f"same tokens: {same}")  # fmt: skip


if __name__ == "__main__":
    main()
