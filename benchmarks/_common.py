"""Command-line glue shared by the benchmark scripts; the timing itself is lmbook.compute's.

Every script times through :func:`lmbook.compute.benchmark` (interleaved rounds, paired
ratios), so the book and the benchmarks measure the same way. This file only adds what a
command line needs: the thread count, a ``--cpu-time`` switch and two short names.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import torch

from lmbook.compute import BenchmarkResult, benchmark, median_ratio

__all__ = [
    "add_clock_argument",
    "median_ratio",
    "paired_rounds",
    "setup_threads",
    "speedup_sentence",
    "use_cpu_time",
]


def setup_threads(threads: int | None) -> int:
    """Set torch's intra-op threads (None keeps torch's default) and warn on a busy machine.

    With more runnable processes than cores, OpenMP threads that spin-wait at every op
    barrier can slow small kernels tenfold; one thread per process is then far more stable.
    """
    if threads:
        torch.set_num_threads(threads)
    n = torch.get_num_threads()
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if n > 1 and load > cores:
        print(
            f"warning: load average {load:.1f} on {cores} cores; with {n} threads timings "
            "are erratic, rerun with --threads 1"
        )
    return n


# Wall-clock by default. On a shared machine, --cpu-time measures this process's CPU time
# instead (with one thread: the work itself, without the time spent waiting for a core).
_clock: Callable[[], float] = time.perf_counter


def add_clock_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="time with process CPU time instead of wall-clock (steadier on a busy machine)",
    )


def use_cpu_time(enabled: bool) -> str:
    """Choose the clock for :func:`paired_rounds`; returns its name for the report."""
    global _clock
    _clock = time.process_time if enabled else time.perf_counter
    return "process CPU time" if enabled else "wall-clock"


def paired_rounds(
    variants: dict[str, Callable[[], object]], rounds: int, repeats: int = 1
) -> dict[str, list[float]]:
    """Seconds per call of each variant, one entry per round (best of ``repeats`` calls).

    :func:`lmbook.compute.benchmark` with no warm-up (the scripts warm up themselves),
    the chosen clock, and a CUDA synchronization around each call when a GPU is present.
    """
    device = "cuda" if torch.cuda.is_available() else None
    res = benchmark(variants, rounds=rounds, warmup=0, repeats=repeats, device=device, clock=_clock)
    return res.times


def speedup_sentence(times: dict[str, list[float]], a: str, b: str) -> str:
    """``str(Comparison)`` of two variants of :func:`paired_rounds`' times (>= 3 rounds).

    "a is 1.46x faster than b (paired median ratio ...)", or "no consistent difference"
    when the paired ratio, the medians and the ratios' spread disagree.
    """
    return str(BenchmarkResult(times, reference=a).compare(a, b))
