"""Compute cost: counted from a model's shape, measured on the reader's machine, fitted.

- :mod:`lmbook.compute.counts`: parameters, FLOPs per token, the ``6·N·D`` rule, utilization;
  the shapes of published models.
- :mod:`lmbook.compute.measure`: the one timing harness (interleaved rounds, paired
  ratios, :func:`compare`), matmul peak, activation memory.
- :mod:`lmbook.compute.scaling`: power-law fits.

Introduced in: Chapter 8 (compute and scaling); reused in Chapter 9 and by ``benchmarks/``.
"""

from lmbook.compute.counts import (
    PUBLISHED_MODELS,
    FlopCount,
    ModelShape,
    count_parameters,
    flops_per_token,
    model_flops_utilization,
    param_count,
    training_flops,
    training_time_s,
)
from lmbook.compute.measure import (
    BenchmarkResult,
    Comparison,
    benchmark,
    compare,
    measure_matmul_peak,
    median_ratio,
    peak_memory_bytes,
    saved_tensor_bytes,
)
from lmbook.compute.scaling import PowerLaw, fit_power_law

__all__ = [
    "PUBLISHED_MODELS",
    "BenchmarkResult",
    "Comparison",
    "FlopCount",
    "ModelShape",
    "PowerLaw",
    "benchmark",
    "compare",
    "count_parameters",
    "fit_power_law",
    "flops_per_token",
    "measure_matmul_peak",
    "median_ratio",
    "model_flops_utilization",
    "param_count",
    "peak_memory_bytes",
    "saved_tensor_bytes",
    "training_flops",
    "training_time_s",
]
