"""Shared helpers for the benchmark scripts: timing, interleaved rounds, paired ratios.

On a shared machine a busy neighbour can slow one variant for a while, so every
script runs its variants in interleaved rounds (A, B, A, B, ...) and reports the
median of the per-round ratios, not a ratio of medians.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

import torch


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
        print(f"warning: load average {load:.1f} on {cores} cores; with {n} threads timings "
              "are erratic, rerun with --threads 1")  # fmt: skip
    return n


# Wall-clock by default. On a shared machine, --cpu-time measures this process's CPU time
# instead (with one thread: the work itself, without the time spent waiting for a core).
_clock = time.perf_counter


def add_clock_argument(parser) -> None:
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="time with process CPU time instead of wall-clock (steadier on a busy machine)",
    )


def use_cpu_time(enabled: bool) -> str:
    global _clock
    _clock = time.process_time if enabled else time.perf_counter
    return "process CPU time" if enabled else "wall-clock"


def time_call(fn: Callable[[], object], repeats: int) -> float:
    """Seconds per call, the best of ``repeats`` (best = least disturbed by neighbours)."""
    best = float("inf")
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        t0 = _clock()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, _clock() - t0)
    return best


def paired_rounds(
    variants: dict[str, Callable[[], object]], rounds: int, repeats: int = 1
) -> dict[str, list[float]]:
    """Time each variant once per round, in alternating order; returns seconds per call."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for r in range(rounds):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            times[name].append(time_call(variants[name], repeats))
    return times


def median_ratio(slow: list[float], fast: list[float]) -> float:
    """Median over rounds of slow_time / fast_time (how many times faster ``fast`` is)."""
    return statistics.median(s / f for s, f in zip(slow, fast, strict=True))
