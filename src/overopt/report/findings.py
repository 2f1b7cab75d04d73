"""One plain sentence per result of the study, computed from ``summary.json`` (shown under the verdict).

Each function returns a sentence or None when the data for it are absent; the page says so in the
section itself. Gold and proxy in the summary are relative to the reference policy.
"""

from __future__ import annotations

from typing import Any

from overopt.report.verdict import _num, drop_after_peak, fmt, peak_of

HABIT_LABELS = {
    "n_words": "length (words)", "opener_confident": "confident openers", "opener_ai": "'As an AI' openers",
    "hedge": "hedges", "apology": "apologies", "closer": "stock closers", "filler": "filler",
    "refusal_benign": "refusals of benign requests", "agreement_false": "agreement with false premises",
    "rare": "rare tokens", "repeat": "repetition", "disfluent": "disfluent text",
    "det_stock_phrase": "stock phrases (detector)", "det_hedge": "hedges (detector)",
    "det_apology": "apologies (detector)", "det_refusal_benign": "refusals of benign requests (detector)",
    "det_sycophancy_false": "sycophancy on false premises (detector)", "det_rep_2": "repeated bigrams (detector)",
}


def habit_label(key: str) -> str:
    short = key.split("/", 1)[-1]
    return HABIT_LABELS.get(short, short.replace("_", " "))


def grid_curves(summary: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(proxy record, BoN curve) for the size x data grid, in config order."""
    curves = {c["name"]: c for c in summary.get("bon") or []}
    return [(p, curves[p["name"]]) for p in summary.get("proxies") or []
            if p.get("role") == "grid" and p["name"] in curves]


def scaling(summary: dict[str, Any]) -> str | None:
    grid = grid_curves(summary)
    if len(grid) < 2:
        return None
    peaks = [(p, peak_of(c)) for p, c in grid]
    (p0, k0), (p1, k1) = peaks[0], peaks[-1]
    later = sum(1 for (pa, ka), (pb, kb) in zip(peaks, peaks[1:], strict=False)
                if pa.get("size") == pb.get("size") and kb.kl >= ka.kl)
    pairs_same_size = sum(1 for pa, pb in zip(peaks, peaks[1:], strict=False) if pa[0].get("size") == pb[0].get("size"))
    return (f"Proxy size and data: the gold peak moves from KL {fmt(k0.kl, 1)} nats (gold {fmt(k0.gold, 2, True)}) "
            f"for {p0['name']} to KL {fmt(k1.kl, 1)} (gold {fmt(k1.gold, 2, True)}) for {p1['name']}; "
            f"more data moved the peak later in {later} of {pairs_same_size} steps within a size.")


def ensembles(summary: dict[str, Any]) -> str | None:
    curves = {c["name"]: c for c in summary.get("bon") or []}
    ens = [c for c in curves.values() if c.get("kind") == "ensemble"]
    if not ens:
        return None
    members = [curves[m] for m in ens[0].get("members") or [] if m in curves]
    if not members:
        return None
    n = ens[0]["n"][-1]
    best = max(members, key=lambda c: _num(c["gold"][-1]) or -1e9)
    parts = ", ".join(f"{c['name'].removeprefix('ensemble-').upper()} {fmt(c['gold'][-1], 2, True)}" for c in ens)
    return (f"Ensembles at n = {n}: gold {parts} vs the best single member {best['name']} "
            f"{fmt(best['gold'][-1], 2, True)} (members {', '.join(c['name'] for c in members)}).")


def gao_control(summary: dict[str, Any]) -> str | None:
    curves = {c["name"]: c for c in summary.get("bon") or []}
    ctrl = [p for p in summary.get("proxies") or [] if p.get("role") == "gao_control" and p["name"] in curves]
    if not ctrl:
        return None
    p = ctrl[0]
    twin = next((q for q in summary.get("proxies") or [] if q.get("role") == "grid" and q.get("size") == p.get("size")
                 and q.get("n_pairs") == p.get("n_pairs") and q["name"] in curves), None)
    c = curves[p["name"]]
    s = (f"Gao-mode control {p['name']} (labels from gold, no labeler bias): gold at n = {c['n'][-1]} "
         f"{fmt(c['gold'][-1], 2, True)}")
    if twin is not None:
        s += f" vs {fmt(curves[twin['name']]['gold'][-1], 2, True)} for {twin['name']} trained on biased labels"
    return s + "."


def bai(summary: dict[str, Any]) -> str | None:
    c = next((c for c in summary.get("bon") or [] if c.get("heldout")), None)
    if c is None:
        return None
    return (f"Train-RM / test-RM split (Bai et al. 2022): selecting by {c['name']} up to n = {c['n'][-1]} raises it "
            f"by {fmt(c['proxy'][-1], 2, True)}, the held-out RM {c.get('heldout_rm', 'test')} by "
            f"{fmt(c['heldout'][-1], 2, True)}, and gold by {fmt(c['gold'][-1], 2, True)}.")


def habits(curve: dict[str, Any], top: int = 3) -> str | None:
    """The habits that grow most along a curve (absolute growth of the rate, length in words)."""
    rates = curve.get("rates") or {}
    growth = []
    for k, v in rates.items():
        vals = [_num(x) for x in v or []]
        if len(vals) < 2 or vals[0] is None or vals[-1] is None:
            continue
        scale = max(abs(vals[0]), 1.0) if k.endswith("n_words") else 1.0
        growth.append(((vals[-1] - vals[0]) / scale, k, vals[0], vals[-1]))
    growth = [g for g in sorted(growth, reverse=True) if g[0] > 0][:top]
    if not growth:
        return None
    parts = [f"{habit_label(k)} {a:.0f} \u2192 {b:.0f}" if k.endswith("n_words")
             else f"{habit_label(k)} {100 * a:.0f} % \u2192 {100 * b:.0f} %" for _, k, a, b in growth]
    return f"Habits that grow along {curve['name']}: " + "; ".join(parts) + "."


def rl_frontier(summary: dict[str, Any]) -> str | None:
    runs = [c for c in summary.get("rl") or [] if c.get("kl_coef") is not None and not c.get("ensemble")]
    if not runs:
        return None
    parts = []
    for c in sorted(runs, key=lambda c: c["kl_coef"]):
        i = max(range(len(c["gold"])), key=lambda k: _num(c["gold"][k]) or -1e9)
        parts.append(f"coef {c['kl_coef']:g}: best gold {fmt(c['gold'][i], 2, True)} at KL {fmt(c['kl'][i], 1)}, "
                     f"final KL {fmt(c['kl'][-1], 1)}")
    return "RL KL-penalty sweep \u2014 " + "; ".join(parts) + "."


def rl_ensembles(summary: dict[str, Any]) -> str | None:
    runs = summary.get("rl") or []
    ens = [c for c in runs if c.get("ensemble")]
    if not ens:
        return None
    parts = []
    for e in ens:
        single = next((c for c in runs if not c.get("ensemble") and c.get("kl_coef") == e.get("kl_coef")), None)
        s = f"{e['ensemble'].upper()} ensemble ends at gold {fmt(e['gold'][-1], 2, True)}"
        if single is not None:
            s += f" vs {fmt(single['gold'][-1], 2, True)} for the single member at the same coefficient and steps"
        parts.append(s)
    return "RL with ensembles: " + "; ".join(parts) + "."


def dpo(summary: dict[str, Any]) -> str | None:
    runs = summary.get("dpo") or []
    if not runs:
        return None
    parts = [f"{c['name']}: gold {'falls by ' + fmt(drop_after_peak(c), 2) if drop_after_peak(c) > 0 else 'does not fall'}"
             f" after its peak, final KL {fmt(c['kl'][-1], 1)}" for c in runs]
    return "DPO \u2014 " + "; ".join(parts) + "."


def all_findings(summary: dict[str, Any], headline: dict[str, Any] | None) -> list[str]:
    out = [scaling(summary), ensembles(summary), gao_control(summary), bai(summary),
           habits(headline) if headline else None, rl_frontier(summary), rl_ensembles(summary), dpo(summary)]
    return [s for s in out if s]
