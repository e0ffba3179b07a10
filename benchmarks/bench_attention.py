"""Naive vs sdpa attention: time and peak memory, T = 128 ... 2048, forward and backward.

Both implementations are ``lmbook.nn.attention`` with the same inputs (causal, fp32);
``impl="naive"`` builds the (T, T) score matrix, ``impl="sdpa"`` calls PyTorch's fused
kernel (flash-style on CPU, FlashAttention on CUDA). Prints, per T, the time ratio
naive/sdpa for forward and forward+backward, and the peak extra memory of each, measured
with the PyTorch profiler's allocation trace (CPU) or CUDA's peak counter.
Targets (issue 3): sdpa >= 5x faster than naive at T=1024 forward; sdpa memory linear in T.

Usage:
    python benchmarks/bench_attention.py            # ~1 min
    python benchmarks/bench_attention.py --quick    # smoke test
    python benchmarks/bench_attention.py --threads 1 --cpu-time   # on a busy shared machine
"""

from __future__ import annotations

import argparse
import statistics
import sys
from functools import partial
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    add_clock_argument,
    median_ratio,
    paired_rounds,
    setup_threads,
    use_cpu_time,
)  # noqa: E402

from lmbook.device import get_device  # noqa: E402
from lmbook.nn import attention  # noqa: E402


def peak_memory_bytes(fn, device: torch.device) -> int:
    """Peak bytes allocated by ``fn`` above what was allocated before it."""
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fn()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    # Replay allocations (+) and frees (-) in time order; the running maximum is the peak.
    # Each op carries the bytes it allocated itself (self_cpu_memory_usage); frees outside
    # an op appear as "[memory]" events.
    events = sorted(
        (e for e in prof.events() if e.self_cpu_memory_usage != 0),
        key=lambda e: e.time_range.start,
    )
    current = peak = 0
    for e in events:
        current += e.self_cpu_memory_usage
        peak = max(peak, current)
    return peak


def _fwd(q, k, v, impl):
    def run():
        with torch.no_grad():
            attention(q, k, v, causal=True, impl=impl)

    return run


def _fwd_bwd(q, k, v, impl):
    def run():
        out = attention(q, k, v, causal=True, impl=impl)
        out.sum().backward()
        q.grad = k.grad = v.grad = None

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke test: T=128,256, 1 round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    add_clock_argument(parser)
    args = parser.parse_args()
    clock = use_cpu_time(args.cpu_time)
    threads = setup_threads(args.threads)
    print(f"timing: {clock}")
    device = get_device(args.device)
    lengths = [128, 256] if args.quick else [128, 256, 512, 1024, 2048]
    rounds = 1 if args.quick else args.rounds
    B, H, Dh = 1, 8, 64
    print(f"attention, causal, fp32, B={B} H={H} Dh={Dh}, {device}, {threads} threads, "
          f"{rounds} rounds (median of paired ratios)")  # fmt: skip
    print(f"{'T':>5} {'fwd x':>7} {'fwd+bwd x':>10} {'naive ms':>9} {'sdpa ms':>8} "
          f"{'naive MiB':>10} {'sdpa MiB':>9}")  # fmt: skip
    mem = {}
    for T in lengths:
        g = torch.Generator(device=device).manual_seed(0)
        q, k, v = (torch.randn(B, H, T, Dh, device=device, generator=g).requires_grad_()
                   for _ in range(3))  # fmt: skip

        fwd = partial(_fwd, q, k, v)
        fwd_bwd = partial(_fwd_bwd, q, k, v)

        repeats = 3 if T <= 512 else 1
        tf = paired_rounds({"naive": fwd("naive"), "sdpa": fwd("sdpa")}, rounds, repeats)
        tb = paired_rounds({"naive": fwd_bwd("naive"), "sdpa": fwd_bwd("sdpa")}, rounds, repeats)
        mem[T] = {impl: peak_memory_bytes(fwd_bwd(impl), device) for impl in ("naive", "sdpa")}
        print(f"{T:5d} {median_ratio(tf['naive'], tf['sdpa']):6.1f}x "
              f"{median_ratio(tb['naive'], tb['sdpa']):9.1f}x "
              f"{statistics.median(tf['naive']) * 1e3:9.1f} {statistics.median(tf['sdpa']) * 1e3:8.1f} "
              f"{mem[T]['naive'] / 2**20:10.1f} {mem[T]['sdpa'] / 2**20:9.1f}")  # fmt: skip
    Ts = sorted(mem)
    for impl in ("naive", "sdpa"):
        growth = mem[Ts[-1]][impl] / max(mem[Ts[-2]][impl], 1)
        print(
            f"{impl}: peak memory grows {growth:.1f}x from T={Ts[-2]} to T={Ts[-1]} "
            "(2x = linear, 4x = quadratic)"
        )
    if 1024 in mem:
        print("RATIO sdpa vs naive forward at T=1024: see the 'fwd x' column (target >= 5x)")


if __name__ == "__main__":
    main()
