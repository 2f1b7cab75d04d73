"""Summary curves from stored evaluation records: the lists a report plots and the Gao RL-form fit.

A curve holds ``step, kl, kl_se, kl_k3, proxy, gold`` lists (KL per sequence in nats, k1 on fresh
held-out samples; the step-0 point is the reference policy itself, KL exactly 0), habit rates per
step, a few stored samples per step, and ``fit`` = ``fit_law(kl, gold, form="rl").to_dict()``
(Gao et al. 2022, R(d) = d (alpha - beta log d), anchored at the reference's gold).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from overopt import metrics
from overopt.errors import UnreliableWarning


def curve_from_evaluations(name: str, evaluations: list[dict[str, Any]], *, seed: int = 0) -> dict[str, Any]:
    """The summary curve of one run: step, kl (k1), kl_se, kl_k3, proxy, gold (+ SEs), habits, Gao RL fit."""
    from overopt.core.laws import fit_law

    ev = sorted(evaluations, key=lambda e: e["step"])
    kl = np.array([e[metrics.KL] for e in ev])
    gold = np.array([e.get(metrics.GOLD, np.nan) for e in ev], dtype=float)
    gold_se = np.array([e.get(metrics.GOLD_SE, np.nan) for e in ev], dtype=float)
    notes = []
    if (kl < 0).any():  # k1 is unbiased but can dip below 0 near the reference; the law needs KL >= 0
        notes.append(f"{int((kl < 0).sum())} k1 KL value(s) below 0 (min {kl.min():.3g} nats) set to 0 for the fit")
    kl_fit = np.maximum(kl, 0.0)
    fit: dict[str, Any]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnreliableWarning)
        if np.isfinite(gold).all():
            se = gold_se if np.isfinite(gold_se).all() and (gold_se[1:] > 0).all() else None
            if se is not None:
                se = np.where(se > 0, se, np.nanmin(se[se > 0]))
            fit = fit_law(kl_fit, gold, form="rl", gold_se=se, seed=seed).to_dict()
        else:
            fit = {"status": "failed", "warnings": ["no gold scores"]}
    fit.setdefault("warnings", [])
    fit["warnings"] = list(fit["warnings"]) + [str(w.message) for w in caught if str(w.message) not in fit["warnings"]]
    rate_keys = sorted({k for e in ev for k in e if k.startswith(("lab/", "overopt/")) and k not in _CURVE_KEYS
                        and isinstance(e[k], (int, float))})
    return {
        "name": name, "step": [e["step"] for e in ev], "kl": kl.tolist(), "kl_se": [e[metrics.KL_SE] for e in ev],
        "kl_k3": [e[metrics.KL_K3] for e in ev], "proxy": [e.get(metrics.PROXY) for e in ev],
        "proxy_se": [e.get(metrics.PROXY_SE) for e in ev], "gold": gold.tolist(), "gold_se": gold_se.tolist(),
        "rates": {k: [e.get(k) for e in ev] for k in rate_keys},
        "samples": [{"step": e["step"], "kl": e[metrics.KL], "items": e.get("samples", [])} for e in ev],
        "fit": fit, "kl_units": "nats per sequence, k1 on fresh held-out samples", "warnings": notes,
    }


_CURVE_KEYS = {metrics.KL, metrics.KL_SE, metrics.KL_K3, metrics.PROXY, metrics.PROXY_SE, metrics.GOLD,
               metrics.GOLD_SE, metrics.SQRT_KL, "overopt/kl_k3_se", "overopt/kl_per_token"}


def run_record(name: str, res: Any, extra: dict[str, Any], seed: int) -> dict[str, Any]:
    """A run's stored record: its curve, run facts, TRL's per-step log, and wall times under ``timing``
    (kept apart so that everything else is identical between two runs with the same seed)."""
    curve = curve_from_evaluations(name, res.evaluations, seed=seed)
    log = [{k: v for k, v in h.items() if k != "step_time"} for h in res.trainer_log]
    return finite_or_none({**curve, **extra, "config": res.config, "trainer_kl": res.trainer_kl, "trainer_log": log,
            "kl_coef_history": res.kl_coef_history,
            "timing": {"train_seconds": res.train_seconds, "eval_seconds": res.eval_seconds,
                       "train_seconds_per_step": res.train_seconds / max(res.steps, 1)}})


def finite_or_none(obj: Any) -> Any:
    """NaN / inf -> None all the way down (numpy scalars and arrays to Python), so records are strict JSON:
    a missing value (no gold, a failed fit's alpha, an unbounded peak interval) reads as null."""
    if isinstance(obj, dict):
        return {k: finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [finite_or_none(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def split_timing(record: dict[str, Any], key: str, timings: dict[str, float]) -> dict[str, Any]:
    """The record without ``timing``; its entries go to ``timings`` as ``{key}/{name}``."""
    rec = dict(record)
    for k, v in (rec.pop("timing", None) or {}).items():
        timings[f"{key}/{k}"] = float(v)
    return rec
