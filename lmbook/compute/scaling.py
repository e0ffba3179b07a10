"""Scaling fits: the power law ``L(C) = a · C^(-b) + c`` of Kaplan et al. (2020).

Introduced in: Chapter 8 (scaling experiment).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["PowerLaw", "fit_power_law"]


@dataclass(frozen=True)
class PowerLaw:
    """``L(C) = a · C^(-b) + c`` (``c`` = 0 for a pure power law)."""

    a: float
    b: float
    c: float = 0.0

    def __call__(self, x: float | np.ndarray) -> float | np.ndarray:
        return self.a * np.power(x, -self.b) + self.c

    def __str__(self) -> str:
        core = f"{self.a:.3g} * C^-{self.b:.3g}"
        return core + (f" + {self.c:.3g}" if self.c else "")


def fit_power_law(
    x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, *, offset: bool = False
) -> PowerLaw:
    """Fit ``y = a · x^(-b)`` (+ ``c``) as in Kaplan et al. 2020 / Hoffmann et al. 2022.

    Without an offset this is least squares on ``log y = log a - b log x``. With
    one, ``c`` is the irreducible loss: fitted by least squares on ``log y``
    (scipy), constrained to ``0 <= c < min(y)``, started from the pure fit.

    Args:
        x: compute (or parameters, tokens), all positive.
        y: loss at each x, all positive.
        offset: also fit the irreducible term ``c`` (needs at least 4 points).

    Returns:
        a :class:`PowerLaw`, callable on new x.

    Introduced in: Chapter 8 (scaling experiment).
    """
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    if xa.shape != ya.shape or xa.ndim != 1:
        raise ValueError(f"x and y must be 1-D of equal length, got {xa.shape} and {ya.shape}")
    need = 4 if offset else 2
    if len(xa) < need:
        raise ValueError(f"fitting {'a·x^-b + c' if offset else 'a·x^-b'} needs >= {need} points")
    if (xa <= 0).any() or (ya <= 0).any() or not np.isfinite(xa).all() or not np.isfinite(ya).all():
        raise ValueError("x and y must be finite and positive for a power-law fit (logs are taken)")
    slope, intercept = np.polyfit(np.log(xa), np.log(ya), 1)
    pure = PowerLaw(a=float(math.exp(intercept)), b=float(-slope))
    if not offset:
        return pure
    from scipy.optimize import curve_fit  # scipy only for the offset fit

    # Fit in scaled coordinates: x spans many decades, so use x / x0 to keep a sane.
    x0 = float(np.exp(np.mean(np.log(xa))))

    def log_model(xs: np.ndarray, log_a: float, b: float, c: float) -> np.ndarray:
        return np.log(np.exp(log_a) * np.power(xs / x0, -b) + c)

    c0 = 0.5 * float(ya.min())
    a0 = max(float(ya.max()) - c0, 1e-6)
    params, _ = curve_fit(
        log_model,
        xa,
        np.log(ya),
        p0=(math.log(a0), max(pure.b, 1e-3), c0),
        bounds=([-50.0, 0.0, 0.0], [50.0, 10.0, float(ya.min()) * (1 - 1e-9)]),
        maxfev=20000,
    )
    log_a, b, c = (float(v) for v in params)
    # Undo the x scaling: a (x/x0)^-b = (a x0^b) x^-b
    return PowerLaw(a=math.exp(log_a) * x0**b, b=b, c=c)
