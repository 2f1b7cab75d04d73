"""Offline over-optimization analysis of a training log (the ``overopt analyze`` command).

With a gold / held-out column it applies the monitor's peak rule (:mod:`overopt.monitor.decision`),
recommends a checkpoint and fits the RL law R(d) = d (alpha - beta log d) (Gao et al. 2022) to
gold vs per-sequence KL. Without one it reports only what the training signals can say — KL
growth, response-length drift, entropy collapse, proxy-reward acceleration — and states that
over-optimization itself cannot be established without a held-out signal (``overoptimized: null``).
"""

from __future__ import annotations

import warnings as _warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from overopt.errors import FitError, OveroptError
from overopt.integrations.logs import Columns, MetricLog, read_log
from overopt.monitor import decision as D

MAX_POINTS = 400  # longer logs are averaged into this many step bins
NO_GOLD = ("over-optimization cannot be established without a held-out signal: the training reward is "
           "the proxy being optimized; pass --gold COLUMN (a held-out / gold reward logged during training) "
           "or log overopt/gold with overopt.integrations.trl.OverOptCallback")


def _bin(frame: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    if len(frame) <= MAX_POINTS:
        return frame
    edges = np.linspace(frame["step"].min(), frame["step"].max(), MAX_POINTS + 1)
    bins = np.clip(np.searchsorted(edges, frame["step"], side="right") - 1, 0, MAX_POINTS - 1)
    notes.append(f"{len(frame)} logged steps averaged into {MAX_POINTS} step bins")
    grouped = frame.groupby(bins).mean()
    if "gold_se" in frame.columns:  # SE of a bin mean of k independent evaluations
        counts = frame.groupby(bins)["gold_se"].count().clip(lower=1)
        grouped["gold_se"] = np.sqrt(frame.assign(v=frame["gold_se"] ** 2).groupby(bins)["v"].mean() / counts)
    grouped["step"] = frame.groupby(bins)["step"].max()  # a checkpoint that exists: the bin's last step
    return grouped.reset_index(drop=True)


def _ends(values: np.ndarray) -> tuple[float, float]:
    """Median of the first and of the last 10 % (>= 1 point) of a series: robust to single noisy rows."""
    k = max(1, len(values) // 10)
    return float(np.median(values[:k])), float(np.median(values[-k:]))


def _series(frame: pd.DataFrame, role: str) -> tuple[np.ndarray, np.ndarray] | None:
    if role not in frame.columns:
        return None
    ok = frame[role].notna().to_numpy()
    if ok.sum() < 3:
        return None
    return frame["step"].to_numpy()[ok], frame[role].to_numpy()[ok]


def _halves_slopes(x: np.ndarray, y: np.ndarray) -> tuple[D.Trend, D.Trend]:
    h = len(x) // 2
    return D.trend(x[: h + 1], y[: h + 1]), D.trend(x[h:], y[h:])


def training_signals(frame: pd.DataFrame) -> dict[str, Any]:
    """Early-warning signals available from training metrics alone (none proves over-optimization)."""
    out: dict[str, Any] = {}
    if (s := _series(frame, "kl")) is not None:
        first, last = _ends(s[1])
        early, late = _halves_slopes(*s)
        out["kl_growth"] = {"first": first, "last": last, "slope_early": early.slope, "slope_late": late.slope,
                            "accelerating": bool(late.slope > 2 * max(early.slope, 0) and late.significant() > 0)}
    if (s := _series(frame, "length")) is not None:
        first, last = _ends(s[1])
        ratio = last / first if first > 0 else None
        out["length_drift"] = {"first": first, "last": last, "ratio": ratio,
                               "drifting": bool(ratio is not None and (ratio > 1.5 or ratio < 1 / 1.5))}
    if (s := _series(frame, "entropy")) is not None:
        first, last = _ends(s[1])
        ratio = last / first if first > 0 else None
        out["entropy_collapse"] = {"first": first, "last": last, "ratio": ratio,
                                   "collapsed": bool(ratio is not None and ratio < 0.5)}
    if (s := _series(frame, "proxy")) is not None:
        early, late = _halves_slopes(*s)
        out["reward_acceleration"] = {"slope_early": early.slope, "slope_late": late.slope,
                                      "accelerating": bool(late.slope > 2 * max(early.slope, 0)
                                                           and late.significant() > 0)}
    return out


def _fit(kl: np.ndarray, gold: np.ndarray, se: np.ndarray | None, seed: int, notes: list[str]) -> Any:
    from overopt.core.forecast import forecast_peak

    if len(kl) < 5:
        notes.append(f"only {len(kl)} evaluations with KL and gold: no law fit (needs 5)")
        return None
    kl = np.maximum(kl, 0.0)
    y = gold - gold[0] if kl[0] <= 1e-9 else gold  # Gao's laws: gold relative to the reference (R(0) = 0)
    try:
        with _warnings.catch_warnings(record=True) as caught:
            _warnings.simplefilter("always")
            fc = forecast_peak(kl, y, "rl", gold_se=se, seed=seed)
    except (FitError, OveroptError) as exc:
        notes.append(f"RL-form law fit failed: {exc}")
        return None
    notes.extend(str(w.message) for w in caught)
    return fc


def _gold_analysis(log: MetricLog, frame: pd.DataFrame, alpha: float, confirm: int, seed: int,
                   notes: list[str]) -> dict[str, Any]:
    rows = frame[frame["gold"].notna()].reset_index(drop=True)
    gold = rows["gold"].to_numpy()
    se = rows["gold_se"].to_numpy() if "gold_se" in rows and rows["gold_se"].notna().all() else None
    if len(rows) < 3:
        notes.append(f"only {len(rows)} step(s) with a gold value: cannot decide whether gold has peaked")
        return {"overoptimized": None}
    try:
        dec = D.peak_decision(gold, se, alpha=alpha, confirm=confirm)
        rec = D.recommend(gold, se)
    except OveroptError as exc:
        notes.append(str(exc))
        return {"overoptimized": None}
    if dec.se_estimated:
        notes.append("no gold standard-error column: noise estimated from second differences of gold "
                     "(pass --gold-se for an exact test)")
    steps = rows["step"].to_numpy()
    kl = rows["kl"].to_numpy() if "kl" in rows else None
    i = rec.index
    peak = {"step": int(steps[i]), "kl": None if kl is None or np.isnan(kl[i]) else float(kl[i]),
            "gold": float(gold[i])}
    fc = None
    if kl is not None:
        ok = ~np.isnan(kl)
        fc = _fit(kl[ok], gold[ok], None if se is None else se[ok], seed, notes)
    alarm = dec.first_alarm_index
    return {
        "overoptimized": alarm is not None, "peak": peak, "recommended_step": int(steps[i]),
        "alarm_step": None if alarm is None else int(steps[alarm]),
        "candidate_steps": [int(steps[j]) for j in rec.candidates],
        "fit": None if fc is None else fc.fit.to_dict(),
        "forecast": None if fc is None else {"peak_kl": fc.peak_kl, "peak_kl_ci": fc.peak_kl_ci,
                                             "passed": fc.passed},
    }


def analyze_log(path: str | Path, fmt: str = "auto", *, columns: Columns | None = None, run: str | None = None,
                alpha: float = 0.01, confirm: int = 2, seed: int = 0) -> dict[str, Any]:
    """Analyse a log; returns the ``overopt analyze --json`` object (without ``schema_version``)."""
    log = read_log(path, fmt, columns=columns, run=run)
    notes = list(log.warnings)
    frame = _bin(log.frame, notes)
    result: dict[str, Any] = {"overoptimized": None, "peak": None, "recommended_step": None, "fit": None,
                              "kl_unit": log.kl_unit, "warnings": notes, "format": log.format,
                              "columns": log.sources, "n_steps": int(len(frame)),
                              "first_step": int(frame["step"].iloc[0]), "last_step": int(frame["step"].iloc[-1])}
    if log.has("gold"):
        result.update(_gold_analysis(log, frame, alpha, confirm, seed, notes))
    else:
        notes.append(NO_GOLD)
    if not log.has("kl"):
        notes.append("no KL column found: pass --kl COLUMN (and --kl-unit) to place the run on the KL axis")
    result["signals"] = training_signals(frame)
    return result
