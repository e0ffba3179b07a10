"""The one timing harness of lmbook: interleaved rounds, paired ratios, honest speed-ups.

On a shared machine a busy neighbour slows every variant of one round together, so
the ratio of two variants *inside* a round is far steadier than any absolute time.
:func:`benchmark` therefore runs its variants in interleaved rounds (the order rotates
each round) and :func:`median_ratio` takes the median of the per-round ratios.
:func:`compare` turns two variants into one sentence, and refuses to call a difference a
speed-up unless the paired ratio, the medians and the spread of the ratios all agree.

The book (Chapters 8 and 9), the tests and every script in ``benchmarks/`` time through
this module.

Introduced in: Chapter 8 (measured throughput and utilization).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

__all__ = [
    "BenchmarkResult",
    "Comparison",
    "benchmark",
    "compare",
    "measure_matmul_peak",
    "median_ratio",
    "peak_memory_bytes",
    "saved_tensor_bytes",
]


def _sync(device: torch.device | None) -> None:
    if device is not None and device.type == "cuda":
        torch.cuda.synchronize(device)


def _seconds(t: float) -> str:
    """A duration with a readable unit: ``"812 µs"``, ``"3.41 ms"``, ``"1.20 s"``."""
    if t < 1e-3:
        return f"{t * 1e6:.3g} µs"
    if t < 1.0:
        return f"{t * 1e3:.3g} ms"
    return f"{t:.3g} s"


def median_ratio(slow: Sequence[float], fast: Sequence[float]) -> float:
    """Median over rounds of ``slow[i] / fast[i]``: how many times faster ``fast`` is.

    Both lists hold one time per round, measured in the same round (paired).
    """
    if len(slow) != len(fast) or not slow:
        raise ValueError(
            f"median_ratio needs two equally long, non-empty lists of paired times, "
            f"got {len(slow)} and {len(fast)}"
        )
    return statistics.median(s / f for s, f in zip(slow, fast, strict=True))


@dataclass(frozen=True)
class Comparison:
    """Two variants timed in the same rounds; ``str()`` says which is faster, if either is.

    Attributes:
        names: the two variants' names ``(a, b)``.
        times_a, times_b: seconds per call, one entry per round (paired).

    Introduced in: Chapter 8.
    """

    names: tuple[str, str]
    times_a: tuple[float, ...]
    times_b: tuple[float, ...]

    @property
    def ratio(self) -> float:
        """Median over rounds of ``time_b / time_a``: > 1 means ``a`` is faster."""
        return median_ratio(self.times_b, self.times_a)

    @property
    def spread(self) -> tuple[float, float]:
        """The per-round ratios' interquartile range (25th and 75th percentiles)."""
        ratios = [b / a for a, b in zip(self.times_a, self.times_b, strict=True)]
        q1, _, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
        return q1, q3

    @property
    def consistent(self) -> bool:
        """True when the paired ratio, the two medians and the whole spread agree on a winner."""
        med_a, med_b = statistics.median(self.times_a), statistics.median(self.times_b)
        low, high = self.spread
        a_faster = self.ratio > 1 and med_b > med_a and low > 1
        b_faster = self.ratio < 1 and med_b < med_a and high < 1
        return a_faster or b_faster

    @property
    def speedup(self) -> float | None:
        """How many times faster the faster variant is, or None when no consistent difference."""
        if not self.consistent:
            return None
        return self.ratio if self.ratio > 1 else 1.0 / self.ratio

    def __str__(self) -> str:
        a, b = self.names
        med_a, med_b = statistics.median(self.times_a), statistics.median(self.times_b)
        low, high = self.spread
        rounds = len(self.times_a)
        if not self.consistent:
            return (
                f"no consistent difference between {a} and {b} ({b}/{a} time ratio "
                f"{self.ratio:.2f}, IQR {low:.2f}-{high:.2f} over {rounds} rounds; "
                f"medians {_seconds(med_a)} vs {_seconds(med_b)})"
            )
        # The sentence names the faster variant first; the ratio, its spread and the medians
        # are given in that same order, so every number reads the way the sentence does.
        if self.ratio > 1:
            fast, slow, ratio, spread, meds = a, b, self.ratio, (low, high), (med_a, med_b)
        else:
            fast, slow, ratio, spread, meds = (
                b,
                a,
                1 / self.ratio,
                (1 / high, 1 / low),
                (med_b, med_a),
            )
        return (
            f"{fast} is {ratio:.2f}x faster than {slow} (paired median ratio over {rounds} "
            f"rounds, IQR {spread[0]:.2f}-{spread[1]:.2f}; medians {_seconds(meds[0])} vs "
            f"{_seconds(meds[1])})"
        )


@dataclass
class BenchmarkResult:
    """Timings of interleaved variants.

    Attributes:
        times: variant name -> list of seconds per call, one entry per round.
        reference: the variant the ratios are relative to.
    """

    times: dict[str, list[float]]
    reference: str

    def median(self, name: str) -> float:
        """Median seconds per call of ``name``."""
        return statistics.median(self.times[name])

    def speedup(self, name: str) -> float:
        """Median over rounds of ``time(reference) / time(name)``: > 1 means ``name`` is faster."""
        return median_ratio(self.times[self.reference], self.times[name])

    def compare(self, a: str, b: str) -> Comparison:
        """The :class:`Comparison` of variants ``a`` and ``b`` (needs >= 3 rounds)."""
        for name in (a, b):
            if name not in self.times:
                raise ValueError(f"{name!r} is not a variant; choose one of {list(self.times)}")
        if len(self.times[a]) < 3:
            raise ValueError(
                f"a comparison needs at least 3 rounds to see the ratios' spread, got "
                f"{len(self.times[a])}; benchmark again with rounds >= 3"
            )
        return Comparison((a, b), tuple(self.times[a]), tuple(self.times[b]))

    def table(self, unit: str = "ms") -> str:
        """A small text table: median time per call and speedup against the reference.

        A variant whose paired ratio, medians and spread do not agree on a direction
        against the reference (:attr:`Comparison.consistent`) gets "~1x (no consistent
        difference)" instead of a number, so the table never prints a speed-up its own
        medians contradict.
        """
        scale = {"s": 1.0, "ms": 1e3, "us": 1e6}[unit]
        width = max(len(n) for n in self.times)
        lines = [f"{'variant':<{width}}  median {unit:>3}  speedup vs {self.reference}"]
        for name in self.times:
            median = f"{self.median(name) * scale:10.3f}"
            if name == self.reference:
                speedup = f"{1.0:6.2f}x"
            elif len(self.times[name]) >= 3 and not self.compare(name, self.reference).consistent:
                speedup = "   ~1x (no consistent difference)"
            else:
                speedup = f"{self.speedup(name):6.2f}x"
            lines.append(f"{name:<{width}}  {median}  {speedup}")
        return "\n".join(lines)


def benchmark(
    variants: Mapping[str, Callable[[], Any]],
    *,
    reference: str | None = None,
    rounds: int = 7,
    warmup: int = 1,
    min_time_s: float = 0.0,
    repeats: int = 1,
    device: torch.device | str | None = None,
    clock: Callable[[], float] | None = None,
) -> BenchmarkResult:
    """Time several variants of the same work, interleaved, and pair their times by round.

    Each round calls every variant (the order rotates from round to round, so no
    variant always runs first after a pause). When ``min_time_s`` > 0, a variant's
    call is repeated until that much time has passed and the mean per call is
    recorded, which keeps very short calls measurable. With ``repeats`` > 1 this is
    done ``repeats`` times per round and the fastest kept (the least disturbed).

    Args:
        variants: name -> zero-argument callable doing one unit of work.
        reference: the variant speedups are relative to (default: the first).
        rounds: number of interleaved rounds (the median is over these).
        warmup: untimed calls of each variant first (allocations, lazy init).
        min_time_s: minimum wall time per timed measurement.
        repeats: measurements per variant per round; the fastest is kept.
        device: synchronize this CUDA device around each timing (ignored on CPU).
        clock: seconds as a float; default ``time.perf_counter`` (wall clock). On a busy
            machine ``time.process_time`` times the work without the wait for a core.

    Returns:
        a :class:`BenchmarkResult` (``.median(name)``, ``.speedup(name)``, ``.compare(a, b)``,
        ``.table()``).

    Introduced in: Chapter 8; used in Chapter 9 and ``benchmarks/``.
    """
    if not variants:
        raise ValueError("benchmark needs at least one variant: pass {'name': callable, ...}")
    names = list(variants)
    reference = names[0] if reference is None else reference
    if reference not in variants:
        raise ValueError(f"reference {reference!r} is not a variant; choose one of {names}")
    if rounds < 1 or repeats < 1:
        raise ValueError(f"rounds and repeats must be >= 1, got {rounds} and {repeats}")
    now = time.perf_counter if clock is None else clock
    dev = torch.device(device) if device is not None else None
    for _ in range(warmup):
        for name in names:
            variants[name]()
    _sync(dev)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            fn, best = variants[name], float("inf")
            for _ in range(repeats):
                calls = 0
                _sync(dev)
                start = now()
                while True:
                    fn()
                    calls += 1
                    _sync(dev)
                    elapsed = now() - start
                    if elapsed >= min_time_s:
                        break
                best = min(best, elapsed / calls)
            times[name].append(best)
    return BenchmarkResult(times=times, reference=reference)


def compare(
    fn_a: Callable[[], Any],
    fn_b: Callable[[], Any],
    *,
    names: tuple[str, str] = ("a", "b"),
    rounds: int = 7,
    **kwargs: Any,
) -> Comparison:
    """Time two variants in interleaved rounds and say which is faster, if either is.

    ``str(compare(f, g, names=("sdpa", "naive")))`` reads "sdpa is 3.10x faster than naive
    (paired median ratio over 7 rounds, IQR 2.95-3.22; medians 1.2 ms vs 3.72 ms)", or
    "no consistent difference between ..." when the per-round ratios' median and the two
    medians point different ways, or the ratios' interquartile range contains 1.

    Args:
        fn_a, fn_b: zero-argument callables doing the same unit of work.
        names: labels for the sentence.
        rounds: interleaved rounds (at least 3, to see the ratios' spread).
        **kwargs: passed to :func:`benchmark` (``warmup``, ``min_time_s``, ``repeats``,
            ``device``, ``clock``).

    Returns:
        a :class:`Comparison` (``.ratio``, ``.consistent``, ``.speedup``, ``str()``).

    Introduced in: Chapter 8.
    """
    if len(names) != 2 or names[0] == names[1]:
        raise ValueError(f"names must be two different labels, got {names!r}")
    if rounds < 3:
        raise ValueError(f"compare needs rounds >= 3 to see the ratios' spread, got {rounds}")
    res = benchmark({names[0]: fn_a, names[1]: fn_b}, rounds=rounds, **kwargs)
    return res.compare(*names)


def measure_matmul_peak(
    dtype: torch.dtype = torch.float32,
    *,
    n: int = 1024,
    device: torch.device | str = "cpu",
    rounds: int = 5,
    min_time_s: float = 0.1,
    max_time_s: float = 5.0,
) -> float:
    """Measure this machine's dense matmul throughput, the practical "peak" for MFU.

    Multiplies two ``n x n`` matrices repeatedly (``2·n³`` FLOPs each) and returns
    the best round: the peak is what the hardware can reach, so noise from a busy
    neighbour should not lower it. A dtype the hardware only emulates (bf16 on an AVX2
    CPU: about 1 GFLOP/s, 2 s per call) gets fewer rounds, at least 2, so that the timed
    rounds stay near ``max_time_s``.

    Args:
        dtype: torch.float32, torch.bfloat16 or torch.float16.
        n: matrix size (1024 keeps one call around 10 ms on a laptop core).
        device: where to run.
        rounds: timed rounds (best is returned), fewer when one call is slow.
        min_time_s: minimum duration of each round.
        max_time_s: about the most the timed rounds take, unless 2 calls take longer.

    Returns:
        FLOP/s (float).

    Introduced in: Chapter 8.
    """
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    device = torch.device(device)
    g = torch.Generator(device="cpu").manual_seed(0)
    a = torch.randn(n, n, generator=g).to(device=device, dtype=dtype)
    b = torch.randn(n, n, generator=g).to(device=device, dtype=dtype)
    _sync(device)
    start = time.perf_counter()
    torch.mm(a, b)  # the first warm-up call, timed to size the rounds
    _sync(device)
    first = time.perf_counter() - start
    slow = first > min_time_s  # one call fills a round: it is its own warm-up
    res = benchmark(
        {"matmul": lambda: torch.mm(a, b)},
        rounds=max(2, min(rounds, int(max_time_s / max(first, min_time_s)))),
        warmup=0 if slow else 1,
        min_time_s=min_time_s,
        device=device,
    )
    return 2.0 * n**3 / min(res.times["matmul"])


def saved_tensor_bytes(fn: Callable[[], Any]) -> int:
    """Bytes of tensors autograd keeps for the backward pass while running ``fn``.

    This is the activation memory a training step pays for, measured exactly on
    any device (each storage counted once): naive attention keeps the (T, T)
    attention matrix, a fused kernel keeps only O(T) statistics
    (Dao et al. 2022). Inputs must require grad for anything to be saved.

    Args:
        fn: zero-argument callable running a forward pass.

    Returns:
        total bytes of distinct storages saved for backward.

    Introduced in: Chapter 8 (efficient attention).
    """
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        st = t.untyped_storage()
        storages[st.data_ptr()] = st.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(storages.values())


def peak_memory_bytes(fn: Callable[[], Any], device: torch.device | str) -> int:
    """Peak CUDA memory allocated while running ``fn`` (above what was allocated before).

    Raises:
        ValueError: ``device`` is not a CUDA device (on CPU use :func:`saved_tensor_bytes`).

    Introduced in: Chapter 8.
    """
    device = torch.device(device)
    if device.type != "cuda":
        raise ValueError(
            "peak_memory_bytes needs a CUDA device (PyTorch tracks no CPU allocator peak); "
            "on CPU use saved_tensor_bytes(fn) for activation memory"
        )
    torch.cuda.synchronize(device)
    base = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    fn()
    torch.cuda.synchronize(device)
    return torch.cuda.max_memory_allocated(device) - base
