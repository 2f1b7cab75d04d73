"""Gao et al. (2022) scaling laws for reward over-optimization, fitted to (KL, gold) points.

Gao, Schulman & Hilton, "Scaling Laws for Reward Model Overoptimization" (2022), eqs. 1-2, with
d = sqrt(KL(pi || pi_ref)) and KL in nats per sequence:

    best-of-n  R_bon(d) = d (alpha - beta d)        peak at d* = alpha / (2 beta),   R* = alpha^2 / (4 beta)
    RL         R_rl(d)  = d (alpha - beta log d)    peak at d* = exp(alpha/beta - 1), R* = beta d*

Both forms are linear in (alpha, beta) (regressors d, -d^2 and d, -d log d), so the fit is exact
(weighted) least squares, not an iterative optimizer that can silently fail to converge.

Level at d = 0 ("anchoring"). Gao measure gold relative to the reference policy, R(0) = 0. When the
data contain reference points (kl == 0) the curve is forced through their (weighted) mean gold g0,
and ``intercept = g0`` (0.0 for gold already measured relative to the reference); otherwise a free
intercept is fitted. Either way three quantities come from the data (alpha, beta and the level), so
residual degrees of freedom are n - 3; the anchor's own uncertainty is propagated into alpha, beta.

Uncertainty. Covariance of (alpha, beta, intercept) from the linear model: s^2 (X'X)^-1 without
``gold_se``; with ``gold_se`` (weights 1/se^2) the covariance is (X'WX)^-1 scaled by
max(1, chi^2/dof), so a fit never claims more precision than the stated errors and is widened
when the points scatter more than they say (chi^2 is normalised by its exact expectation, which
for the anchored fit includes the shared noise of the anchor). CIs for alpha, beta are t-intervals
(dof = n - 3).
Peak CIs use a *seeded parametric bootstrap*: 4000 draws of (alpha, beta, intercept) from the
multivariate t with that covariance and dof; a draw with beta <= 0 has no peak and counts as +inf,
so a peak that the data cannot bound above gets an upper limit of +inf (``null`` in JSON) rather
than a misleading symmetric delta-method interval.

Statuses (never a bare number): ``too_few_points`` when n < 5 (3 fitted quantities + 2 residual
dof) or fewer than 3 distinct KL values -> alpha, beta, r2 are NaN; ``no_peak`` when the fitted
beta <= 0 (gold never turns down) or the peak overflows float64 -> peak fields None; ``failed``
for a singular design; otherwise ``ok``. Every non-ok status and every extrapolated or unbounded
peak also emits an ``UnreliableWarning`` and is listed in ``warnings``.

Caveat: the intervals assume independent points and the law's shape. Points of a best-of-n curve
reuse the same samples for every n, so they are correlated and smooth: pass their bootstrap
standard errors as ``gold_se`` (``overopt fit`` does so from ``overopt bon --json``) or the
residual-based intervals will be too narrow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from overopt.errors import InputError, warn_unreliable

FORMS = ("bon", "rl")
N_FITTED = 3  # alpha, beta and the level at d = 0 (fitted intercept or reference mean)
MIN_POINTS = N_FITTED + 2
MIN_DISTINCT_KL = 3
N_BOOT = 4000


def _xlogx(d: np.ndarray) -> np.ndarray:
    """d log d with its limit 0 at d = 0."""
    safe = np.where(d > 0, d, 1.0)
    return np.where(d > 0, d * np.log(safe), 0.0)


def gao_bon(sqrt_kl: Any, alpha: float, beta: float) -> np.ndarray:
    """Gao et al. 2022 eq. 1 (best-of-n): R(d) = d (alpha - beta d), d = sqrt(KL nats)."""
    d = np.asarray(sqrt_kl, dtype=float)
    return d * (alpha - beta * d)


def gao_rl(sqrt_kl: Any, alpha: float, beta: float) -> np.ndarray:
    """Gao et al. 2022 eq. 2 (RL): R(d) = d (alpha - beta log d), d = sqrt(KL nats); R(0) = 0."""
    d = np.asarray(sqrt_kl, dtype=float)
    return alpha * d - beta * _xlogx(d)


def _design(sqrt_kl: np.ndarray, form: str) -> np.ndarray:
    """Regressors for (alpha, beta): (n, 2)."""
    second = sqrt_kl**2 if form == "bon" else _xlogx(sqrt_kl)
    return np.column_stack([sqrt_kl, -second])


def peak_sqrt_kl(alpha: Any, beta: Any, form: str) -> np.ndarray:
    """Location d* of the maximum over d >= 0; +inf where beta <= 0 (no maximum).

    best-of-n: d* = alpha / (2 beta), clipped at 0 (alpha <= 0: gold falls from the start);
    RL: d* = exp(alpha / beta - 1) (dR/dd = alpha - beta (log d + 1) = 0).
    """
    a, b = np.asarray(alpha, dtype=float), np.asarray(beta, dtype=float)
    pos = b > 0
    safe_b = np.where(pos, b, 1.0)
    with np.errstate(over="ignore"):
        if form == "bon":
            peak = np.clip(a / (2 * safe_b), 0.0, None)
        else:
            peak = np.exp(a / safe_b - 1.0)
    return np.where(pos, peak, np.inf)


def peak_gain(alpha: Any, beta: Any, form: str) -> np.ndarray:
    """R(d*) - R(0), the gold gained at the peak; +inf where beta <= 0."""
    d_star = peak_sqrt_kl(alpha, beta, form)
    finite = np.isfinite(d_star)
    d_safe = np.where(finite, d_star, 0.0)
    fn = gao_bon if form == "bon" else gao_rl
    with np.errstate(invalid="ignore", over="ignore"):
        gain = fn(d_safe, alpha, beta)
    return np.where(finite, gain, np.inf)


@dataclass(frozen=True)
class LawFit:
    """A fitted Gao law. Peak fields are None unless ``status == "ok"``; KL in nats per sequence."""

    form: str
    status: str
    alpha: float
    beta: float
    intercept: float
    r2: float
    n_points: int
    alpha_ci: tuple[float, float]
    beta_ci: tuple[float, float]
    peak_sqrt_kl: float | None
    peak_kl: float | None
    peak_gold: float | None
    peak_kl_ci: tuple[float, float] | None
    peak_gold_ci: tuple[float, float] | None
    extrapolated: bool
    warnings: list[str] = field(default_factory=list)
    anchored: bool = False
    ci_level: float = 0.95
    dof: int = 0
    max_kl: float = float("nan")
    cov: np.ndarray | None = field(default=None, repr=False)  # (3, 3) over (alpha, beta, intercept)

    def predict(self, kl_nats: Any) -> np.ndarray:
        """Gold predicted at the given KL values (nats): intercept + R(sqrt(kl))."""
        kl = _as_kl(kl_nats, "kl_nats")
        fn = gao_bon if self.form == "bon" else gao_rl
        return self.intercept + fn(np.sqrt(kl), self.alpha, self.beta)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the ``overopt fit --json`` object without ``schema_version``)."""
        return {
            "form": self.form, "status": self.status, "alpha": self.alpha, "beta": self.beta,
            "intercept": self.intercept, "r2": self.r2, "n_points": self.n_points,
            "anchored": self.anchored, "ci_level": self.ci_level,
            "alpha_ci": list(self.alpha_ci), "beta_ci": list(self.beta_ci),
            "peak_sqrt_kl": self.peak_sqrt_kl, "peak_kl": self.peak_kl, "peak_gold": self.peak_gold,
            "peak_kl_ci": None if self.peak_kl_ci is None else list(self.peak_kl_ci),
            "peak_gold_ci": None if self.peak_gold_ci is None else list(self.peak_gold_ci),
            "peak_ci_method": "parametric bootstrap (multivariate t, 4000 draws)",
            "extrapolated": self.extrapolated, "warnings": list(self.warnings),
        }


def _as_kl(values: Any, name: str) -> np.ndarray:
    kl = np.atleast_1d(np.asarray(values, dtype=float))
    if kl.ndim != 1:
        raise InputError(f"{name} must be one-dimensional, got shape {kl.shape}")
    if not np.all(np.isfinite(kl)):
        i = int(np.flatnonzero(~np.isfinite(kl))[0])
        raise InputError(f"{name} has a NaN/inf value at index {i}; drop or fill that point")
    if np.any(kl < 0):
        i = int(np.flatnonzero(kl < 0)[0])
        raise InputError(
            f"{name} has a negative KL value ({kl[i]:.4g} at index {i}); KL is non-negative — a k1 "
            "estimate below zero is noise: use the k3 estimator or more samples"
        )
    return kl


def _validate(kl_nats: Any, gold: Any, gold_se: Any, form: str, ci: float):
    if form not in FORMS:
        raise InputError(f"unknown law form {form!r}; use 'bon' (best-of-n) or 'rl'")
    if not 0 < ci < 1:
        raise InputError(f"ci must be between 0 and 1 (e.g. 0.95), got {ci}")
    kl = _as_kl(kl_nats, "kl_nats")
    y = np.atleast_1d(np.asarray(gold, dtype=float))
    if y.shape != kl.shape:
        raise InputError(f"gold has shape {y.shape} but kl_nats has {kl.shape}; pass one gold per KL point")
    if not np.all(np.isfinite(y)):
        raise InputError("gold has NaN/inf values; drop or fill those points")
    w = np.ones_like(y)
    if gold_se is not None:
        se = np.atleast_1d(np.asarray(gold_se, dtype=float))
        if se.shape != y.shape or not np.all(np.isfinite(se)) or np.any(se <= 0):
            raise InputError("gold_se must be finite, positive and one per point; drop it or fix those rows")
        w = 1.0 / se**2
    return kl, y, w


def _solve(d: np.ndarray, y: np.ndarray, w: np.ndarray, form: str, is_ref: np.ndarray | None):
    """Weighted least squares.

    Returns (params (3,), unit covariance (3, 3), fitted (n,), expected chi^2 per unit variance).
    The last is n - 3 for the free-intercept fit; for the anchored fit the anchor's noise is shared
    by every point and only partly absorbed by the law, so E[chi^2] / sigma^2 =
    (n_fit - 2) + (n_ref - 1) + v0 * 1'W(I - H)1 (derived from the W-orthogonal projection I - H).
    """
    if is_ref is None:  # free intercept
        X = np.column_stack([_design(d, form), np.ones_like(d)])
        XtW = X.T * w
        A = np.linalg.inv(XtW @ X)
        params = A @ (XtW @ y)
        return params, A, X @ params, float(len(d) - N_FITTED)
    # anchored: level g0 = weighted mean gold of the reference points, curve forced through it
    w_ref = w[is_ref]
    g0 = float(np.sum(w_ref * y[is_ref]) / np.sum(w_ref))
    var_g0 = 1.0 / float(np.sum(w_ref))
    X = _design(d[~is_ref], form)
    XtW = X.T * w[~is_ref]
    A = np.linalg.inv(XtW @ X)
    theta = A @ (XtW @ (y[~is_ref] - g0))
    xw1 = XtW.sum(axis=1)
    b = A @ xw1  # d theta / d g0 = -b
    cov = np.empty((3, 3))
    cov[:2, :2] = A + var_g0 * np.outer(b, b)
    cov[:2, 2] = cov[2, :2] = -var_g0 * b
    cov[2, 2] = var_g0
    params = np.array([theta[0], theta[1], g0])
    n_fit, n_ref = int((~is_ref).sum()), int(is_ref.sum())
    expected_chi2 = (n_fit - 2) + (n_ref - 1) + var_g0 * (float(w[~is_ref].sum()) - float(xw1 @ b))
    return params, cov, g0 + _design(d, form) @ theta, expected_chi2


def _quantile_ci(draws: np.ndarray, ci: float) -> tuple[float, float]:
    """Percentile interval that tolerates +inf draws (np.quantile interpolation would give NaN)."""
    s = np.sort(draws)
    k = len(s)
    lo = s[int(np.floor((1 - ci) / 2 * (k - 1)))]
    hi = s[int(np.ceil((1 + ci) / 2 * (k - 1)))]
    return float(lo), float(hi)


def _empty(form: str, status: str, n: int, anchored: bool, ci: float, max_kl: float, msg: str) -> LawFit:
    nan = float("nan")
    warn_unreliable(msg, stacklevel=3)
    return LawFit(form=form, status=status, alpha=nan, beta=nan, intercept=nan, r2=nan, n_points=n,
                  alpha_ci=(nan, nan), beta_ci=(nan, nan), peak_sqrt_kl=None, peak_kl=None,
                  peak_gold=None, peak_kl_ci=None, peak_gold_ci=None, extrapolated=False,
                  warnings=[msg], anchored=anchored, ci_level=ci, max_kl=max_kl)


def fit_law(kl_nats: Any, gold: Any, form: str = "bon", *, anchored: bool | None = None,
            gold_se: Any = None, ci: float = 0.95, seed: int = 0) -> LawFit:
    """Fit Gao et al. 2022's best-of-n (``"bon"``) or RL (``"rl"``) law to (KL nats, gold) points.

    ``anchored=None``: anchor at the reference (R(0) = mean gold at kl == 0) iff such points exist.
    See the module docstring for the covariance, the peak bootstrap and the status rules.
    """
    kl, y, w = _validate(kl_nats, gold, gold_se, form, ci)
    is_ref = kl == 0
    if anchored is None:
        anchored = bool(is_ref.any())
    if anchored and not is_ref.any():
        raise InputError("anchored=True needs a reference point (a row with kl == 0); add it or use anchored=False")
    n, max_kl = len(kl), float(kl.max()) if len(kl) else float("nan")
    n_distinct = len(np.unique(kl))
    if n < MIN_POINTS or n_distinct < MIN_DISTINCT_KL:
        return _empty(form, "too_few_points", n, anchored, ci, max_kl,
                      f"too few points to fit the {form} law: {n} points, {n_distinct} distinct KL values "
                      f"(need >= {MIN_POINTS} points and >= {MIN_DISTINCT_KL} distinct KL values)")
    d = np.sqrt(kl)
    try:
        params, cov_unit, fitted, expected_chi2 = _solve(d, y, w, form, is_ref if anchored else None)
    except np.linalg.LinAlgError:
        return _empty(form, "failed", n, anchored, ci, max_kl,
                      f"the {form} law fit failed: the design matrix is singular (KL values too alike)")
    dof = n - N_FITTED
    resid = y - fitted
    chi2_red = float(np.sum(w * resid**2)) / expected_chi2
    scale = chi2_red if gold_se is None else max(1.0, chi2_red)
    cov = cov_unit * scale
    y_bar = np.sum(w * y) / np.sum(w)
    ss_tot = float(np.sum(w * (y - y_bar) ** 2))
    r2 = 1.0 - float(np.sum(w * resid**2)) / ss_tot if ss_tot > 0 else float("nan")
    alpha, beta, intercept = (float(p) for p in params)
    t = float(stats.t.ppf((1 + ci) / 2, dof))
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    alpha_ci = (alpha - t * float(se[0]), alpha + t * float(se[0]))
    beta_ci = (beta - t * float(se[1]), beta + t * float(se[1]))
    common = dict(form=form, alpha=alpha, beta=beta, intercept=intercept, r2=r2, n_points=n,
                  alpha_ci=alpha_ci, beta_ci=beta_ci, anchored=anchored, ci_level=ci, dof=dof,
                  max_kl=max_kl, cov=cov)
    d_star = float(peak_sqrt_kl(alpha, beta, form))
    peak_gold = intercept + float(peak_gain(alpha, beta, form))
    if beta <= 0 or not (np.isfinite(d_star**2) and np.isfinite(peak_gold)):
        why = (f"fitted beta = {beta:.4g} <= 0" if beta <= 0
               else f"the fitted peak (alpha/beta = {alpha / beta:.4g}) lies beyond any representable KL")
        msg = (f"no peak: {why}, so gold does not turn down within this {form} law; "
               "peak KL and peak gold are undefined (collect points at larger KL)")
        warn_unreliable(msg, stacklevel=2)
        return LawFit(status="no_peak", peak_sqrt_kl=None, peak_kl=None, peak_gold=None, peak_kl_ci=None,
                      peak_gold_ci=None, extrapolated=False, warnings=[msg], **common)
    warnings_: list[str] = []
    draws = stats.multivariate_t(loc=params, shape=cov, df=dof, allow_singular=True).rvs(
        size=N_BOOT, random_state=np.random.default_rng(seed))
    d_draws = peak_sqrt_kl(draws[:, 0], draws[:, 1], form)
    g_draws = draws[:, 2] + peak_gain(draws[:, 0], draws[:, 1], form)
    d_lo, d_hi = _quantile_ci(d_draws, ci)
    peak_gold_ci = _quantile_ci(g_draws, ci)
    peak_kl = d_star**2
    if not np.isfinite(d_hi):
        warnings_.append(f"peak KL is not bounded above at the {ci:.0%} level (beta's interval includes 0); "
                         "treat the peak as a lower-bounded guess")
    extrapolated = bool(peak_kl > max_kl or peak_kl < float(kl.min()))
    if extrapolated:
        warnings_.append(f"peak at KL {peak_kl:.4g} nats lies outside the observed KL range "
                         f"[{kl.min():.4g}, {max_kl:.4g}]; it is an extrapolation")
    if d_star == 0.0:
        warnings_.append("alpha <= 0: the fitted gold falls from the reference on (peak at KL 0)")
    for msg in warnings_:
        warn_unreliable(msg, stacklevel=2)
    return LawFit(status="ok", peak_sqrt_kl=d_star, peak_kl=peak_kl, peak_gold=peak_gold,
                  peak_kl_ci=(d_lo**2, d_hi**2), peak_gold_ci=peak_gold_ci, extrapolated=extrapolated,
                  warnings=warnings_, **common)
