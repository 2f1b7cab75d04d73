"""Forecast where gold will peak from the first part of a curve (a run in progress).

Fits a Gao et al. (2022) law (``overopt.core.laws.fit_law``; RL form by default, eq. 2) to the
points seen so far and reads off the predicted peak, with the law's bootstrap intervals. When the
curve is still rising the peak is an extrapolation: it is still reported (``fit.extrapolated`` and
a warning say so), and its interval is wide, up to +inf when beta's interval includes 0.

Has the peak been passed? A statistical rule on the fitted slope at the last observed point,
dR/dd at d_max = sqrt(max KL):  best-of-n  alpha - 2 beta d_max;  RL  alpha - beta (log d_max + 1).
The slope is linear in (alpha, beta), so its standard error is exact under the fit's covariance and
its ``ci``-level t-interval (dof = n - 3) decides:

    passed = True   the whole interval is below 0 (gold is significantly falling at the last point)
    passed = False  the whole interval is above 0 (gold is significantly still rising)
    passed = None   the interval contains 0, or the law could not be fitted (too few points)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from overopt.core.laws import LawFit, fit_law
from overopt.errors import warn_unreliable


@dataclass(frozen=True)
class Forecast:
    """Predicted peak (KL nats per sequence, gold) and whether the observed curve already passed it."""

    form: str
    peak_kl: float | None
    peak_kl_ci: tuple[float, float] | None
    peak_gold: float | None
    peak_gold_ci: tuple[float, float] | None
    passed: bool | None
    fit: LawFit
    warnings: list[str] = field(default_factory=list)
    slope_at_last: float | None = None  # dR/dd at the largest observed d (gold per unit sqrt-KL)
    slope_ci: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "form": self.form, "peak_kl": self.peak_kl,
            "peak_kl_ci": None if self.peak_kl_ci is None else list(self.peak_kl_ci),
            "peak_gold": self.peak_gold,
            "peak_gold_ci": None if self.peak_gold_ci is None else list(self.peak_gold_ci),
            "passed": self.passed, "slope_at_last": self.slope_at_last,
            "slope_ci": None if self.slope_ci is None else list(self.slope_ci),
            "fit": self.fit.to_dict(), "warnings": list(self.warnings),
        }


def slope_gradient(sqrt_kl: float, form: str) -> np.ndarray:
    """d/d(alpha, beta, intercept) of the law's slope dR/dd at ``sqrt_kl``: (3,)."""
    if form == "bon":
        return np.array([1.0, -2.0 * sqrt_kl, 0.0])
    return np.array([1.0, -(np.log(sqrt_kl) + 1.0), 0.0])


def _slope_test(fit: LawFit) -> tuple[float, tuple[float, float]] | None:
    if fit.cov is None or not np.isfinite(fit.alpha) or not fit.max_kl > 0:
        return None
    g = slope_gradient(float(np.sqrt(fit.max_kl)), fit.form)
    slope = float(g @ np.array([fit.alpha, fit.beta, fit.intercept]))
    se = float(np.sqrt(max(g @ fit.cov @ g, 0.0)))
    t = float(stats.t.ppf((1 + fit.ci_level) / 2, fit.dof))
    return slope, (slope - t * se, slope + t * se)


def forecast_peak(kl_nats: Any, gold: Any, form: str = "rl", *, gold_se: Any = None,
                  ci: float = 0.95, seed: int = 0) -> Forecast:
    """Predict the peak of gold vs KL from the points so far; see the module docstring for ``passed``."""
    fit = fit_law(kl_nats, gold, form, gold_se=gold_se, ci=ci, seed=seed)
    warnings_ = list(fit.warnings)
    test = _slope_test(fit)
    passed: bool | None = None
    slope, slope_ci = (None, None) if test is None else test
    if slope_ci is not None:
        if slope_ci[1] < 0:
            passed = True
        elif slope_ci[0] > 0:
            passed = False
    if passed is None and fit.status in ("ok", "no_peak"):
        msg = (f"cannot tell yet whether gold has peaked: the slope at KL {fit.max_kl:.4g} nats is not "
               f"significantly different from 0 at the {ci:.0%} level")
        warnings_.append(msg)
        warn_unreliable(msg, stacklevel=2)
    return Forecast(form=form, peak_kl=fit.peak_kl, peak_kl_ci=fit.peak_kl_ci, peak_gold=fit.peak_gold,
                    peak_gold_ci=fit.peak_gold_ci, passed=passed, fit=fit, warnings=warnings_,
                    slope_at_last=slope, slope_ci=slope_ci)
