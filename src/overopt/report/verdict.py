"""The verdict at the top of the report: where gold peaks and what happens past it, in plain words.

A peak is the Gao et al. (2022) law fit's (``fit.peak_kl`` with its bootstrap interval) when that fit
is trustworthy, else the observed maximum of the gold curve, and the sentence says which. "Past it"
compares the last point of the curve with the observed peak point: the changes of proxy and gold
are given relative to their gains over the reference at the peak (gold and proxy in the summary are
already relative to the reference policy), so "gold -60 %" means it gave back 60 % of its gain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

MIN_R2 = 0.9  # below this a Gao fit is called unreliable in the verdict


@dataclass(frozen=True)
class Peak:
    kl: float
    kl_ci: tuple[float | None, float | None] | None
    gold: float
    source: str  # "fit" | "observed"
    index: int  # index of the observed maximum on the curve
    reasons: list[str] = field(default_factory=list)  # why the fit was not used / is doubtful

    @property
    def reliable(self) -> bool:
        return not self.reasons


@dataclass
class Verdict:
    headline: str
    note: str = ""
    findings: list[str] = field(default_factory=list)
    unreliable: bool = False
    curve: tuple[str, str] | None = None  # (family, name) of the headline curve


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and math.isfinite(x) else None


def fmt(x: float | None, nd: int = 2, sign: bool = False) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    s = f"{x:+.{nd}f}" if sign else f"{x:.{nd}f}"
    return s.replace("-", "\u2212")


def pct(x: float | None) -> str:
    return "–" if x is None else f"{x:+.0f}\u00a0%".replace("-", "\u2212")


def _observed_peak(curve: dict[str, Any]) -> int:
    gold = [(_num(g), i) for i, g in enumerate(curve.get("gold") or [])]
    gold = [(g, i) for g, i in gold if g is not None]
    return max(gold)[1] if gold else 0


def peak_of(curve: dict[str, Any]) -> Peak:
    """The fit's peak when its status is ok, R^2 >= MIN_R2 and it is not extrapolated; else observed."""
    fit = curve.get("fit") or {}
    i = _observed_peak(curve)
    kl = [(_num(k) or 0.0) for k in curve.get("kl") or []]
    reasons = []
    if fit.get("status") != "ok":
        reasons.append(f"law fit status {fit.get('status', 'missing')}")
    r2 = _num(fit.get("r2"))
    if r2 is not None and r2 < MIN_R2:
        reasons.append(f"fit R\u00b2 {r2:.2f} < {MIN_R2}")
    if fit.get("extrapolated"):
        reasons.append("fitted peak lies outside the measured KL range")
    if not reasons and fit.get("peak_kl") is not None:
        ci = fit.get("peak_kl_ci")
        lo, hi = (ci[0], ci[1]) if ci else (None, None)
        if ci and hi is None:
            reasons.append("the data do not bound the peak from above")
        return Peak(float(fit["peak_kl"]), (lo, hi) if ci else None, float(fit.get("peak_gold") or 0.0), "fit", i,
                    reasons)
    if i == len(kl) - 1:
        reasons.append("gold is highest at the largest KL measured: no peak within range")
    return Peak(kl[i] if kl else 0.0, None, _num((curve.get("gold") or [0.0])[i]) or 0.0, "observed", i, reasons)


def _change(curve: dict[str, Any], key: str, i: int) -> tuple[float | None, float | None]:
    """(absolute, percent-of-gain) change of ``key`` from point ``i`` to the last point."""
    vals = curve.get(key) or []
    if not vals or i >= len(vals):
        return None, None
    a, b = _num(vals[i]), _num(vals[-1])
    if a is None or b is None:
        return None, None
    return b - a, (100.0 * (b - a) / abs(a) if abs(a) > 1e-9 else None)


def describe_peak(label: str, curve: dict[str, Any], end_label: str) -> tuple[str, str, bool]:
    """(sentence, footnote, unreliable) for one curve."""
    p = peak_of(curve)
    ci = ""
    if p.kl_ci is not None:
        hi = "unbounded" if p.kl_ci[1] is None else fmt(p.kl_ci[1], 1)
        ci = f" ({fmt(p.kl_ci[0], 1)}\u2013{hi})"
    where = "fitted" if p.source == "fit" else "observed"
    s = f"{label}: gold peaks at KL {fmt(p.kl, 1)} nats{ci} ({where})"
    d_proxy, pct_proxy = _change(curve, "proxy", p.index)
    d_gold, pct_gold = _change(curve, "gold", p.index)
    if p.index < len(curve.get("gold") or []) - 1 and d_gold is not None:
        s += f"; past it, {end_label}, proxy {pct(pct_proxy)} while gold {pct(pct_gold)}"
        note = (f"Changes from the observed peak {end_label}, relative to the gains over the reference at the "
                f"peak (proxy {fmt(d_proxy, 3, True)}, gold {fmt(d_gold, 3, True)} in their own units).")
    else:
        s += "; gold had not turned down by the end of the measured range"
        note = ""
    if p.reasons:
        s += " \u2014 unreliable: " + "; ".join(p.reasons)
    return s + ".", note, bool(p.reasons)


def drop_after_peak(curve: dict[str, Any]) -> float:
    g = [(_num(x) or 0.0) for x in curve.get("gold") or []]
    if not g:
        return -math.inf
    i = _observed_peak(curve)
    return g[i] - g[-1]


def headline_curve(summary: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The curve that over-optimizes most (largest gold drop after its peak): BoN grid proxies and RL/DPO."""
    cands: list[tuple[str, dict[str, Any]]] = []
    cands += [("bon", c) for c in summary.get("bon") or [] if c.get("kind") == "proxy"]
    cands += [("rl", c) for c in summary.get("rl") or []]
    cands += [("dpo", c) for c in summary.get("dpo") or []]
    cands = [(f, c) for f, c in cands if c.get("gold")]
    if not cands:
        return None
    return max(cands, key=lambda fc: drop_after_peak(fc[1]))


def curve_label(family: str, c: dict[str, Any]) -> str:
    if family == "bon":
        return f"Best-of-n against proxy {c['name']}"
    if family == "rl":
        coef = c.get("kl_coef")
        return f"RL ({c.get('algo', 'rl')}, KL coefficient {coef:g}) run {c['name']}" if coef is not None \
            else f"RL run {c['name']}"
    return f"DPO run {c['name']}"


def end_label(family: str, c: dict[str, Any]) -> str:
    if family == "bon":
        return f"to n = {c['n'][-1]}"
    steps = c.get("step") or []
    return f"to step {steps[-1]}" if steps else "to the last evaluation"


def build_verdict(summary: dict[str, Any], findings: list[str]) -> Verdict:
    """The headline sentence for the most over-optimized curve, plus ``findings`` (from ``findings.py``)."""
    hc = headline_curve(summary)
    if hc is None:
        return Verdict("This run has no curve with gold scores, so over-optimization cannot be judged.",
                       findings=findings, unreliable=True)
    family, c = hc
    s, note, bad = describe_peak(curve_label(family, c), c, end_label(family, c))
    if drop_after_peak(c) <= 0:
        s = (f"No over-optimization within the measured range: gold never fell after its peak on any curve. "
             f"Closest: {s}")
    return Verdict(s, note, findings, bad, (family, c["name"]))
