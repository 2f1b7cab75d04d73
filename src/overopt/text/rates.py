"""Rates with 95 % intervals, and differences between two models' rates.

- proportions: Wilson score interval (Wilson 1927), good at small n and near 0 or 1;
- difference of two proportions: Newcombe's hybrid score interval (Newcombe 1998, method 10);
- means: normal interval ``mean +- z * sd / sqrt(n)``; difference of means: Welch's standard error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import norm


@dataclass(frozen=True)
class Rate:
    """A rate or mean with its interval; ``value`` is ``None`` when there were no observations."""

    value: float | None
    ci: tuple[float, float] | None
    n: int
    kind: str  # "proportion" | "mean"


def _z(level: float) -> float:
    return float(norm.ppf(0.5 + level / 2))


def wilson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for ``k`` successes out of ``n``."""
    if n <= 0:
        raise ValueError("wilson interval needs n >= 1")
    z, p = _z(level), k / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, center - half), min(1.0, center + half)


def proportion(flags: list[bool], level: float = 0.95) -> Rate:
    n = len(flags)
    if n == 0:
        return Rate(None, None, 0, "proportion")
    k = int(sum(flags))
    return Rate(k / n, wilson(k, n, level), n, "proportion")


def mean(values: list[float], level: float = 0.95) -> Rate:
    xs = [float(v) for v in values if v is not None and math.isfinite(v)]
    n = len(xs)
    if n == 0:
        return Rate(None, None, 0, "mean")
    m = sum(xs) / n
    if n == 1:
        return Rate(m, None, 1, "mean")  # no spread from one value: no interval rather than a fake one
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1))
    half = _z(level) * sd / math.sqrt(n)
    return Rate(m, (m - half, m + half), n, "mean")


def difference(a: Rate, b: Rate, level: float = 0.95, *, a_values=None, b_values=None) -> Rate:
    """``a - b`` with an interval: Newcombe for proportions, Welch (needs the values) for means."""
    if a.value is None or b.value is None:
        return Rate(None, None, min(a.n, b.n), a.kind)
    d = a.value - b.value
    if a.kind == "proportion":
        l1, u1 = wilson(round(a.value * a.n), a.n, level)
        l2, u2 = wilson(round(b.value * b.n), b.n, level)
        lo = d - math.sqrt((a.value - l1) ** 2 + (u2 - b.value) ** 2)
        hi = d + math.sqrt((u1 - a.value) ** 2 + (b.value - l2) ** 2)
        return Rate(d, (lo, hi), min(a.n, b.n), "proportion")
    va, vb = _var(a_values), _var(b_values)
    if va is None or vb is None:
        return Rate(d, None, min(a.n, b.n), "mean")
    se = math.sqrt(va / a.n + vb / b.n)
    half = _z(level) * se
    return Rate(d, (d - half, d + half), min(a.n, b.n), "mean")


def _var(values) -> float | None:
    if values is None:
        return None
    xs = [float(v) for v in values if v is not None and math.isfinite(v)]
    if len(xs) < 2:
        return None
    m = sum(xs) / len(xs)
    return sum((x - m) ** 2 for x in xs) / (len(xs) - 1)
