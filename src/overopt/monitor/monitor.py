"""``OverOptMonitor``: turn a stream of evaluation records into alarms and a checkpoint choice.

It keeps (1) the peak rule of :mod:`overopt.monitor.decision` on the gold / held-out score,
(2) the RL-form fit R(d) = d (alpha - beta log d), d = sqrt(KL) (Gao, Schulman & Hilton 2022,
eq. 2) with a forecast of the peak KL via ``overopt.core.forecast.forecast_peak``,
(3) a divergence signal: the proxy still rising significantly over the last ``window``
evaluations while the held-out score is not, and (4) the recommended checkpoint.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from overopt import metrics as M
from overopt.errors import FitError, OveroptError
from overopt.monitor import decision as D
from overopt.monitor.alarms import Alarm, AlarmLevel, combine
from overopt.monitor.records import EvalRecord, check_order

APPROACH_FRACTION = 0.5  # WATCH once KL reaches this fraction of the forecast peak KL
# Detector metrics whose *rise* is a habit the chapter attributes to over-optimization
HABITS = (M.LEN, M.REFUSAL_RATE, M.SYCOPHANCY_RATE, M.STOCK_PHRASE_RATE, M.HEDGE_RATE, M.APOLOGY_RATE,
          M.REP_2, M.RARE_TOKEN_RATE)


@dataclass(frozen=True)
class MonitorState:
    """What the monitor concluded after the latest record."""

    step: int
    kl_nats: float
    alarm: Alarm
    peak: D.PeakDecision | None
    best_step: int | None  # the earlier step the latest evaluation is compared against
    recommended_step: int | None
    candidate_steps: list[int]
    forecast: Any | None  # overopt.core.forecast.Forecast
    proxy_trend: D.Trend | None
    gold_trend: D.Trend | None
    warnings: list[str] = field(default_factory=list)


class OverOptMonitor:
    """Online over-optimization monitor.

    Parameters (stored untouched): ``alpha`` per-evaluation false-alarm level of the peak rule;
    ``confirm`` consecutive significant drops needed for ALARM; ``window`` evaluations used for
    the divergence trends; ``form`` law for the forecast ("rl"); ``forecast`` whether to fit the
    law at every update (costs a bootstrap); ``min_fit_points`` before fitting; ``ci``; ``seed``.
    """

    def __init__(self, *, alpha: float = 0.01, confirm: int = 2, window: int = 5, form: str = "rl",
                 forecast: bool = True, min_fit_points: int = 5, ci: float = 0.95, seed: int = 0) -> None:
        self.alpha = alpha
        self.confirm = confirm
        self.window = window
        self.form = form
        self.forecast = forecast
        self.min_fit_points = min_fit_points
        self.ci = ci
        self.seed = seed
        self.records_: list[EvalRecord] = []
        self.state_: MonitorState | None = None
        self.first_alarm_step_: int | None = None

    # -- input ---------------------------------------------------------------------------------
    def update(self, record: EvalRecord) -> MonitorState:
        check_order(self.records_, record)
        self.records_.append(record)
        self.state_ = self._evaluate()
        if self.state_.alarm.level == AlarmLevel.ALARM and self.first_alarm_step_ is None:
            self.first_alarm_step_ = record.step
        return self.state_

    @property
    def recommended_step_(self) -> int | None:
        return None if self.state_ is None else self.state_.recommended_step

    # -- arrays --------------------------------------------------------------------------------
    def _gold_records(self) -> list[EvalRecord]:
        return [r for r in self.records_ if r.gold is not None]

    @staticmethod
    def _se(records: list[EvalRecord], name: str) -> np.ndarray | None:
        values = [getattr(r, name) for r in records]
        return None if any(v is None for v in values) else np.asarray(values, dtype=float)

    # -- the decision --------------------------------------------------------------------------
    def _evaluate(self) -> MonitorState:
        latest = self.records_[-1]
        notes: list[str] = []
        signals: list[tuple[AlarmLevel, str]] = []
        gold_recs = self._gold_records()
        peak = rec = None
        best_step = None
        if len(gold_recs) >= 2:
            gold = np.array([r.gold for r in gold_recs])
            gold_se = self._se(gold_recs, "gold_se")
            steps = [r.step for r in gold_recs]
            try:
                peak = D.peak_decision(gold, gold_se, alpha=self.alpha, confirm=self.confirm)
                rec = D.recommend(gold, gold_se)
            except OveroptError as exc:  # too few points to estimate noise without SEs
                notes.append(str(exc))
            if peak is not None and peak.latest is not None:
                best_step = steps[peak.latest.best_earlier]
                signals += self._peak_signals(peak, gold_recs, best_step, rec and steps[rec.index])
                if peak.se_estimated:
                    notes.append("held-out standard errors missing: noise estimated from second differences")
        forecast = self._forecast(gold_recs, notes) if self.forecast else None
        if forecast is not None:
            signals += self._forecast_signals(forecast, latest)
        proxy_trend, gold_trend = self._trends(signals)
        if latest.gold is None:
            notes.append("no gold / held-out score in the latest record: over-optimization cannot be decided")
        steps = [r.step for r in gold_recs]
        return MonitorState(
            step=latest.step, kl_nats=latest.kl_nats, alarm=combine(signals), peak=peak, best_step=best_step,
            recommended_step=None if rec is None else steps[rec.index],
            candidate_steps=[] if rec is None else [steps[i] for i in rec.candidates],
            forecast=forecast, proxy_trend=proxy_trend, gold_trend=gold_trend, warnings=notes,
        )

    def _peak_signals(self, peak: D.PeakDecision, recs: list[EvalRecord], best_step: int,
                      recommended: int | None) -> list[tuple[AlarmLevel, str]]:
        test = peak.latest
        assert test is not None
        g_best, g_now = recs[test.best_earlier].gold, recs[-1].gold
        detail = (f"held-out {g_now:.4g} at step {recs[-1].step} is below {g_best:.4g} at step {best_step} "
                  f"(z = {test.z:.1f} > {test.z_crit:.1f})")
        back = f"; roll back to step {recommended}" if recommended is not None else ""
        if peak.peaked:
            return [(AlarmLevel.ALARM, f"held-out score has peaked: {peak.consecutive} evaluations in a row "
                     f"significantly below an earlier one; {detail}{back}")]
        if test.significant:
            return [(AlarmLevel.WARN, f"held-out score dropped significantly once: {detail}; "
                     f"{self.confirm - peak.consecutive} more such evaluation(s) confirm a peak")]
        return []

    def _forecast(self, recs: list[EvalRecord], notes: list[str]) -> Any | None:
        if len(recs) < self.min_fit_points:
            return None
        try:
            from overopt.core.forecast import forecast_peak
        except ImportError:
            notes.append("law forecast unavailable (overopt.core.forecast missing)")
            return None
        kl = np.array([max(r.kl_nats, 0.0) for r in recs])
        gold = np.array([r.gold for r in recs], dtype=float)
        # Gao's laws measure gold relative to the reference policy: anchor on a KL == 0 evaluation
        if kl[0] <= 1e-9:
            gold = gold - gold[0]
        gold_se = self._se(recs, "gold_se")
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                fc = forecast_peak(kl, gold, form=self.form, gold_se=gold_se, ci=self.ci, seed=self.seed)
        except (FitError, OveroptError) as exc:
            notes.append(f"law fit failed: {exc}")
            return None
        notes.extend(str(w.message) for w in caught)
        return fc

    def _forecast_signals(self, fc: Any, latest: EvalRecord) -> list[tuple[AlarmLevel, str]]:
        out: list[tuple[AlarmLevel, str]] = []
        if fc.peak_kl is None:
            return out
        where = f"forecast peak at KL {fc.peak_kl:.3g} nats ({self.form}-form fit)"
        if fc.passed:
            out.append((AlarmLevel.WARN, f"the fitted curve says the held-out peak is behind us: {where}, "
                        f"current KL {latest.kl_nats:.3g}"))
        elif latest.kl_nats >= fc.peak_kl:
            out.append((AlarmLevel.WATCH, f"current KL {latest.kl_nats:.3g} is past the {where}, but the fit cannot "
                        "yet tell whether held-out has started to fall"))
        elif latest.kl_nats >= APPROACH_FRACTION * fc.peak_kl:
            out.append((AlarmLevel.WATCH, f"approaching the {where}; current KL {latest.kl_nats:.3g}"))
        return out

    def _trends(self, signals: list[tuple[AlarmLevel, str]]) -> tuple[D.Trend | None, D.Trend | None]:
        recent = self.records_[-self.window:]
        self._rate_signals(recent, signals)
        both = [r for r in recent if r.proxy is not None and r.gold is not None]
        if len(both) < 3:
            return None, None
        x = np.array([r.sqrt_kl for r in both])
        if np.ptp(x) == 0:
            x = np.array([r.step for r in both], dtype=float)
        p = D.trend(x, np.array([r.proxy for r in both]), self._se(both, "proxy_se"))
        g = D.trend(x, np.array([r.gold for r in both]), self._se(both, "gold_se"))
        if p.significant() > 0 and g.significant() <= 0:
            falling = "falling" if g.significant() < 0 else "flat"
            signals.append((AlarmLevel.WATCH, f"proxy still rising over the last {len(both)} evaluations "
                            f"while the held-out score is {falling}: the proxy is being exploited"))
        return p, g

    @staticmethod
    def _rate_signals(recent: list[EvalRecord], signals: list[tuple[AlarmLevel, str]]) -> None:
        names = sorted({k for r in recent for k in r.rates if k in HABITS})
        for name in names:  # Bonferroni over the habits watched, so more detectors do not mean more noise
            rows = [r for r in recent if name in r.rates]
            if len(rows) >= 3 and D.trend(np.array([r.step for r in rows], dtype=float),
                                          np.array([r.rates[name] for r in rows])).significant(0.05 / len(names)) > 0:
                label = "response length (words)" if name == M.LEN else name.split("/")[-1].replace("_", " ")
                signals.append((AlarmLevel.WATCH, f"{label} is rising "
                                f"({rows[0].rates[name]:.2f} -> {rows[-1].rates[name]:.2f})"))

    # -- output --------------------------------------------------------------------------------
    def metrics(self) -> dict[str, float]:
        """``overopt/*`` metrics of the latest record, ready for a trainer's ``log``."""
        if self.state_ is None:
            return {}
        r = self.records_[-1]
        out: dict[str, float] = {M.KL: r.kl_nats, M.SQRT_KL: r.sqrt_kl, M.ALARM: float(self.state_.alarm.level)}
        if r.kl_se_nats is not None:
            out[M.KL_SE] = r.kl_se_nats
        for key, value in ((M.PROXY, r.proxy), (M.PROXY_SE, r.proxy_se), (M.GOLD, r.gold), (M.GOLD_SE, r.gold_se)):
            if value is not None:
                out[key] = value
        first = self.records_[0]
        if None not in (r.proxy, r.gold, first.proxy, first.gold):
            out[M.GAP] = (r.proxy - first.proxy) - (r.gold - first.gold)
        fc = self.state_.forecast
        if fc is not None and fc.peak_kl is not None:
            out[M.PEAK_KL_FORECAST] = float(fc.peak_kl)
        out.update({k: float(v) for k, v in r.rates.items()})
        return out

    def summary(self) -> dict[str, Any]:
        """A JSON-able summary of the current state (used by the CLI and the callback)."""
        s = self.state_
        if s is None:
            return {"n_records": 0}
        fc = s.forecast
        return {
            "step": s.step, "kl_nats": s.kl_nats, "alarm": s.alarm.name, "alarm_level": int(s.alarm.level),
            "reasons": s.alarm.reasons, "peaked": bool(s.peak and s.peak.peaked),
            "first_alarm_step": self.first_alarm_step_, "best_step": s.best_step,
            "recommended_step": s.recommended_step, "candidate_steps": s.candidate_steps,
            "fit": None if fc is None else fc.fit.to_dict(),
            "forecast_peak_kl": None if fc is None else fc.peak_kl, "warnings": s.warnings,
        }
