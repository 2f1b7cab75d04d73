"""The statistical rules behind the monitor's alarms (pure numpy/scipy on arrays).

Peak rule ("gold has peaked"), stated once here and in the docs:

    At evaluation T, compare its gold g_T with every earlier evaluation b < T:
        z_bT = (g_b - g_T) / sqrt(se_b^2 + se_T^2)
    T shows a *significant drop* when max_b z_bT > z_crit(T) = Phi^-1(1 - alpha / T)
    (one-sided, Bonferroni over the T earlier points, so picking the best earlier point cannot
    inflate the error: under "true gold is non-decreasing up to T" the chance of a significant
    drop at T is <= alpha). Gold *has peaked* once the last ``confirm`` evaluations all show a
    significant drop. One noisy dip is not enough; two consecutive independent ones are.

Without standard errors the noise is estimated from second differences of gold (a linear
trend cancels; robust MAD scale), which needs at least ``MIN_POINTS_FOR_NOISE`` points.

The recommended checkpoint is the evaluation with the best *smoothed* gold (inverse-variance
average with its neighbours), which damps the winner's curse of a plain argmax; every step whose
gold is not significantly below it is listed as an equally good candidate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from overopt.errors import InputError

MIN_POINTS_FOR_NOISE = 6


def noise_from_second_differences(values: np.ndarray) -> float:
    """Robust per-point noise SD: MAD of second differences / 0.6745 / sqrt(6).

    For y_t = f(t) + e_t with smooth f, y_{t+1} - 2 y_t + y_{t-1} ~ e-combination of variance 6 sigma^2.
    """
    y = np.asarray(values, dtype=float)
    if y.size < MIN_POINTS_FOR_NOISE:
        raise InputError(
            f"need at least {MIN_POINTS_FOR_NOISE} evaluations to estimate noise without standard errors, "
            f"got {y.size}; log the held-out score's standard error"
        )
    d2 = y[2:] - 2.0 * y[1:-1] + y[:-2]
    mad = float(np.median(np.abs(d2 - np.median(d2))))
    sigma = mad / 0.6745 / np.sqrt(6.0)
    if sigma <= 0:  # exactly smooth data: fall back to the plain SD of d2 (still 0 for exact lines)
        sigma = float(np.std(d2)) / np.sqrt(6.0)
    return sigma


def standard_errors(values: np.ndarray, se: np.ndarray | None) -> tuple[np.ndarray, bool]:
    """Per-point SEs; estimated from the data (flag True) when ``se`` is None or has gaps."""
    y = np.asarray(values, dtype=float)
    if se is not None:
        s = np.asarray(se, dtype=float)
        if s.shape == y.shape and np.all(np.isfinite(s)) and np.all(s >= 0):
            return s, False
    return np.full_like(y, noise_from_second_differences(y)), True


def z_crit(n_earlier: int, alpha: float) -> float:
    """One-sided Bonferroni critical value over ``n_earlier`` comparisons."""
    return float(stats.norm.isf(alpha / max(n_earlier, 1)))


@dataclass(frozen=True)
class DropTest:
    """Is evaluation T significantly below an earlier one?"""

    index: int
    best_earlier: int
    z: float
    z_crit: float
    drop: float  # g_best_earlier - g_T, same units as gold

    @property
    def significant(self) -> bool:
        return self.z > self.z_crit


def drop_test(gold: np.ndarray, se: np.ndarray, t: int, alpha: float) -> DropTest:
    """Compare evaluation ``t`` with each earlier one (Bonferroni); see the module docstring."""
    if t < 1:
        return DropTest(t, t, 0.0, np.inf, 0.0)
    pooled = np.sqrt(se[:t] ** 2 + se[t] ** 2)
    diff = gold[:t] - gold[t]
    # zero pooled SE (exact data): any positive drop is infinitely significant, none is 0
    z = np.divide(diff, pooled, out=np.where(diff > 0, np.inf, 0.0), where=pooled > 0)
    b = int(np.argmax(z))
    return DropTest(t, b, float(z[b]), z_crit(t, alpha), float(diff[b]))


@dataclass(frozen=True)
class PeakDecision:
    """The peak rule's verdict on a gold curve (see the module docstring)."""

    peaked: bool
    first_alarm_index: int | None  # first index at which the rule fired (None if never)
    latest: DropTest | None
    consecutive: int  # trailing evaluations with a significant drop
    se_estimated: bool
    tests: list[DropTest] = field(default_factory=list, repr=False)


def peak_decision(gold: np.ndarray, se: np.ndarray | None = None, *, alpha: float = 0.01,
                  confirm: int = 2) -> PeakDecision:
    """Run the peak rule over a whole curve (in order), as the online monitor would have."""
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be in (0, 1), got {alpha}")
    if confirm < 1:
        raise InputError(f"confirm must be >= 1, got {confirm}")
    g = np.asarray(gold, dtype=float)
    if g.size == 0:
        return PeakDecision(False, None, None, 0, se is None)
    s, estimated = standard_errors(g, se)
    tests = [drop_test(g, s, t, alpha) for t in range(g.size)]
    run, first = 0, None
    for t, test in enumerate(tests):
        run = run + 1 if test.significant else 0
        if run >= confirm and first is None:
            first = t
    return PeakDecision(run >= confirm, first, tests[-1], run, estimated, tests)


@dataclass(frozen=True)
class Recommendation:
    index: int
    smoothed_gold: float
    candidates: list[int]  # indices not significantly below the recommended one


def recommend(gold: np.ndarray, se: np.ndarray | None = None, *, alpha: float = 0.05) -> Recommendation:
    """Best evaluation by smoothed gold (inverse-variance mean over i-1, i, i+1)."""
    g = np.asarray(gold, dtype=float)
    if g.size == 0:
        raise InputError("no evaluations with a gold / held-out score to recommend from")
    s, _ = standard_errors(g, se) if g.size >= MIN_POINTS_FOR_NOISE or se is not None else (np.ones_like(g), True)
    w = 1.0 / np.maximum(s, 1e-12) ** 2
    smooth = np.empty_like(g)
    for i in range(g.size):
        lo, hi = max(i - 1, 0), min(i + 2, g.size)
        smooth[i] = float(np.sum(w[lo:hi] * g[lo:hi]) / np.sum(w[lo:hi]))
    best = int(np.argmax(smooth))
    pooled = np.sqrt(s ** 2 + s[best] ** 2)
    z = np.divide(g[best] - g, pooled, out=np.zeros_like(g), where=pooled > 0)
    crit = float(stats.norm.isf(alpha))
    return Recommendation(best, float(smooth[best]), [int(i) for i in np.flatnonzero(z <= crit)])


@dataclass(frozen=True)
class Trend:
    """Weighted least-squares slope of a metric over the last evaluations, with its SE."""

    slope: float
    se: float
    n: int

    def significant(self, alpha: float = 0.05) -> int:
        """+1 significantly rising, -1 significantly falling, 0 neither (two-sided)."""
        if self.n < 3 or not np.isfinite(self.se):
            return 0
        if self.se == 0:
            return int(np.sign(self.slope))
        z = self.slope / self.se
        crit = float(stats.norm.isf(alpha / 2))
        return 1 if z > crit else -1 if z < -crit else 0


def trend(x: np.ndarray, y: np.ndarray, se: np.ndarray | None = None) -> Trend:
    """WLS slope of y on x; with no SEs the residual variance is used (ordinary LS)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.size
    if n < 3 or np.ptp(x) == 0:
        return Trend(0.0, np.inf, n)
    w = np.ones(n) if se is None else 1.0 / np.maximum(np.asarray(se, dtype=float), 1e-12) ** 2
    xm = np.sum(w * x) / np.sum(w)
    ym = np.sum(w * y) / np.sum(w)
    sxx = np.sum(w * (x - xm) ** 2)
    slope = float(np.sum(w * (x - xm) * (y - ym)) / sxx)
    if se is None:
        resid = y - ym - slope * (x - xm)
        var = float(np.sum(resid ** 2) / (n - 2)) / sxx
    else:
        var = 1.0 / sxx
    return Trend(slope, float(np.sqrt(var)), n)
