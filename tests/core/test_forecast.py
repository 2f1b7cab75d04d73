"""Forecasting the gold peak from the first part of an RL curve."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from overopt.core.forecast import forecast_peak
from overopt.core.laws import gao_rl, peak_sqrt_kl
from overopt.errors import UnreliableWarning

ALPHA, BETA = 1.0, 0.3  # RL law with its peak at KL = exp(2 alpha/beta - 2) ~ 106 nats
D_STAR = float(peak_sqrt_kl(ALPHA, BETA, "rl"))
PEAK_KL, PEAK_GOLD = D_STAR**2, BETA * D_STAR


def _run(seed, n=40):
    """An RL run logged at evenly spaced KL up to twice the peak KL; noise sd 2 % of peak gold."""
    kl = np.linspace(0, 2 * PEAK_KL, n)
    gold = gao_rl(np.sqrt(kl), ALPHA, BETA) + 0.02 * PEAK_GOLD * np.random.default_rng(seed).standard_normal(n)
    return kl, gold


def _quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreliableWarning)
        return forecast_peak(*args, **kwargs)


def test_first_half_forecasts_peak_kl_within_20_percent():
    # Tolerance 20 % (issue 2) on seed 0 and on >= 95 % of 50 seeds (measured 199/200 within 20 %).
    hits = 0
    for seed in range(50):
        kl, gold = _run(seed)
        fc = _quiet(kl[:20], gold[:20], "rl", seed=seed)
        ok = fc.peak_kl is not None and abs(fc.peak_kl / PEAK_KL - 1) < 0.2
        if seed == 0:
            assert ok and fc.peak_kl_ci[0] < PEAK_KL < fc.peak_kl_ci[1]
            assert fc.peak_gold == pytest.approx(PEAK_GOLD, rel=0.05)
        hits += ok
    assert hits >= 48


def test_passed_peak_is_detected_on_the_full_run():
    kl, gold = _run(0)
    fc = _quiet(kl, gold, "rl")
    assert fc.passed is True and fc.slope_ci[1] < 0


def test_rising_run_gives_wide_extrapolated_forecast_not_passed():
    kl, gold = _run(1)
    with pytest.warns(UnreliableWarning, match="extrapolation"):
        fc = forecast_peak(kl[:10], gold[:10], "rl")  # KL up to ~0.46 x the peak KL
    assert fc.passed is False and fc.slope_ci[0] > 0
    assert fc.fit.extrapolated and fc.peak_kl > kl[9]
    width_early = fc.peak_kl_ci[1] - fc.peak_kl_ci[0]
    late = _quiet(kl, gold, "rl")
    assert width_early > 3 * (late.peak_kl_ci[1] - late.peak_kl_ci[0])


def test_near_peak_passed_is_undecided_and_too_few_points_is_none():
    kl, gold = _run(0)
    fc = _quiet(kl[:20], gold[:20], "rl")  # last point ~ at the peak: slope not distinguishable from 0
    assert fc.passed is None
    fc = _quiet(kl[:4], gold[:4], "rl")
    assert fc.passed is None and fc.peak_kl is None and fc.fit.status == "too_few_points"
    assert fc.to_dict()["peak_kl"] is None
