"""Combine the scores of k reward models into one selection score (Coste et al. 2023, Sec. 3).

- ``mean``: R = (1/k) sum_i R_i
- ``wco`` (worst-case optimization): R = min_i R_i
- ``uwo`` (uncertainty-weighted optimization): R = mean - lambda * Var, where Var is the intra-ensemble
  *population* variance (1/k) sum_i (R_i - mean)^2 (ddof = 0), as written in Coste et al.

Selecting best-of-n by the combined score must carry gold along the *combined* ranking: pass the
result as ``select`` to ``overopt.core.bon.bon_curve`` (a public implementation kept one member's
ranking and so reported that member's gold curve).
"""

from __future__ import annotations

import numpy as np

from overopt.errors import InputError

METHODS = ("mean", "wco", "uwo")


def ensemble_scores(member_scores: np.ndarray, method: str = "mean", uwo_lambda: float = 0.5) -> np.ndarray:
    """(S, k) member scores -> (S,) ensemble score by ``method`` in {"mean", "wco", "uwo"}.

    ``uwo_lambda`` (>= 0) weighs the population variance over members (ddof = 0) in UWO.
    Members are used as given: standardize them first if their scales differ.
    """
    scores = np.asarray(member_scores, dtype=float)
    if scores.ndim == 1:
        scores = scores[:, None]
    if scores.ndim != 2 or scores.shape[0] == 0 or scores.shape[1] == 0:
        raise InputError(f"member_scores must be (samples, members), got shape {scores.shape}")
    if not np.all(np.isfinite(scores)):
        raise InputError("member scores contain NaN/inf; drop or fill those samples")
    if method not in METHODS:
        raise InputError(f"unknown ensemble method {method!r}; use one of {', '.join(METHODS)}")
    if method == "mean":
        return scores.mean(axis=1)
    if method == "wco":
        return scores.min(axis=1)
    if not (np.isfinite(uwo_lambda) and uwo_lambda >= 0):
        raise InputError(f"uwo_lambda must be a finite number >= 0, got {uwo_lambda}")
    return scores.mean(axis=1) - uwo_lambda * scores.var(axis=1, ddof=0)
