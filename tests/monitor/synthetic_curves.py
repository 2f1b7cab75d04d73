"""Seeded synthetic evaluation curves drawn from the Gao et al. (2022) RL form, for testing the
statistical rule before lab runs exist: gold(d) = d (alpha - beta log d), d = sqrt(KL)."""

from __future__ import annotations

import numpy as np

ALPHA, D_STAR = 1.0, 2.0
BETA = ALPHA / (1.0 + np.log(D_STAR))  # peak at d* = exp(alpha / beta - 1) = D_STAR
PEAK_GOLD = BETA * D_STAR  # R(d*) = beta d*

# sqrt-KL schedules over training progress t in [0, 1]
SCHEDULES = {
    "overopt": lambda t: 3.0 * D_STAR * np.sqrt(t),  # KL coef 0: KL grows ~ linearly, far past the peak
    "below": lambda t: 0.8 * D_STAR * (1 - np.exp(-5 * t)),  # large KL coef: KL saturates before the peak
    "at_peak": lambda t: D_STAR * (1 - np.exp(-5 * t)),  # saturates exactly at the peak: least favourable
    "flat": lambda t: 0.0 * t,  # gold never moves: pure noise
}


def gold_rl(d: np.ndarray) -> np.ndarray:
    d = np.asarray(d, dtype=float)
    return np.where(d > 0, d * (ALPHA - BETA * np.log(np.maximum(d, 1e-300))), 0.0)


def curve(kind: str, seed: int, *, n_evals: int = 40, rel_noise: float = 0.05, n_prompts: int = 64):
    """Return (sqrt_kl, true_gold, observed_gold, observed_se); SE estimated from n_prompts draws."""
    rng = np.random.default_rng(seed)
    d = SCHEDULES[kind](np.linspace(0.0, 1.0, n_evals))
    true = gold_rl(d)
    sigma = rel_noise * PEAK_GOLD
    observed = true + rng.normal(0.0, sigma, n_evals)
    se = sigma * np.sqrt(rng.chisquare(n_prompts - 1, n_evals) / (n_prompts - 1))
    return d, true, observed, se

