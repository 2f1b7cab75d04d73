"""Best-of-n figures of a lab run: gold and proxy vs KL with Gao fits, KL estimators, ensembles,
scaling of the peak with proxy size and data, habits along n, and the train-RM / test-RM split.

Gold and proxy are relative to the reference (n = 1); KL is the bound log n - (n-1)/n (Stiennon et
al. 2020), on which the fits were made (``kl_estimator_for_fit`` in each curve).
"""

from __future__ import annotations

from typing import Any

from overopt.report.findings import grid_curves, habit_label
from overopt.report.plot import both_views, color, esc, figure, finite, fit_trace, layout, peak_trace, series
from overopt.report.samples import bon_groups


def _kl_max(curves: list[dict[str, Any]]) -> float:
    return max((finite(k) or 0.0 for c in curves for k in c["kl"]), default=1.0)


def curve_traces(curves: list[dict[str, Any]], key: str, customs: dict[str, list[str]], *,
                 fits: bool = True, styles: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Per curve: data (clickable), and for gold its fit and peak; in both x views."""
    styles = styles or {}

    def make(view: str) -> list[dict[str, Any] | None]:
        out: list[dict[str, Any] | None] = []
        for i, c in enumerate(curves):
            st = {"col": color(i), **styles.get(c["name"], {})}
            col = st.pop("col")
            err = None
            if f"{key}_ci" in c:
                err = [(hi - y) if finite(hi) is not None and finite(y) is not None else None
                       for y, (lo, hi) in zip(c[key], c[f"{key}_ci"], strict=False)]
            t = series(c["kl"], c[key], c["name"], col, view, custom=customs.get(c["name"]),
                       err=err, hover=" (n = %{text})", **st) | {"text": c["n"]}
            t["meta"]["hidden"] = c.get("kind") == "oracle"  # the ceiling squashes the other curves
            out.append(t)
            if fits and key == "gold":  # each fit over its own curve's KL range, shown/hidden with its curve
                for extra in (fit_trace(c["fit"], _kl_max([c]), c["name"], col, view, c["name"]),
                              peak_trace(c["fit"], c["name"], col, view, c["name"])):
                    if extra is not None:
                        extra["meta"]["hidden"] = t["meta"]["hidden"]
                        out.append(extra)
        return out

    return both_views(make)


def gold_and_proxy(curves: list[dict[str, Any]], customs: dict[str, list[str]], what: str,
                   styles: dict[str, dict[str, Any]] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    g = curve_traces(curves, "gold", customs, styles=styles)
    p = curve_traces([c for c in curves if c.get("kind") != "oracle"], "proxy", customs, fits=False, styles=styles)
    fg = figure(f"bon-gold-{what}", "bon", "", "", g, layout("", "gold \u2212 gold(reference)", traces=g))
    fp = figure(f"bon-proxy-{what}", "bon", "", "", p, layout("", "proxy \u2212 proxy(reference)", traces=p))
    return fg, fp


def kl_estimators(c: dict[str, Any]) -> dict[str, Any]:
    n = c["n"]
    data = []
    if c.get("kl_beirami"):
        data.append(series(n, c["kl_beirami"], "Beirami et al. 2024 estimator", color(1), "kl", width=4))
    data.append(series(n, c["kl_bound"], "bound log n \u2212 (n\u22121)/n", color(0), "kl", dash="dash"))
    if c.get("kl_exact"):
        data.append(series(n, c["kl_exact"], "exact, finite support", color(2), "kl", dash="dot"))
    for t in data:
        t["hovertemplate"] = f"{t['name']}<br>n %{{x}}, KL %{{y:.3f}} nats<extra></extra>"
    lay = layout(f"Best-of-n KL for {c['name']}", "KL (nats per sequence)", xtitle="n", switch=False)
    lay["xaxis"] |= {"type": "log", "tickvals": n, "ticktext": [str(k) for k in n]}
    cover = finite(c.get("exact_mass_covered"))
    cap = ("The bound is what the fits use. The exact value is the KL of best-of-n over the distinct sampled "
           "sequences with their exact LM probabilities renormalized" +
           (f" (they cover {100 * cover:.1f} % of the LM's probability mass)." if cover is not None else "."))
    return figure("bon-kl", "bon", lay["title"]["text"], cap, data, lay)


def _ci_arm(fit: dict[str, Any], peak: float | None, side: int) -> float | None:
    """Length of the lower (side 0) or upper (1) arm of the fitted peak's KL interval; None when unknown."""
    ci = fit.get("peak_kl_ci")
    end = finite(ci[side]) if ci else None
    if peak is None or end is None:
        return None
    return peak - end if side == 0 else end - peak


def scaling(summary: dict[str, Any]) -> dict[str, Any] | None:
    """Peak KL and peak gold against the data budget, one line per proxy size (fit peak when ok)."""
    grid = grid_curves(summary)
    if len(grid) < 2:
        return None
    sizes: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for p, c in grid:
        sizes.setdefault(str(p.get("size")), []).append((p, c))
    data = []
    for i, (size, rows) in enumerate(sizes.items()):
        x = [p["n_pairs"] for p, _ in rows]
        obs_i = [max(range(len(c["gold"])), key=lambda k: finite(c["gold"][k]) or -1e9) for _, c in rows]
        obs_kl = [c["kl"][j] for (_, c), j in zip(rows, obs_i, strict=False)]
        fit_kl = [finite(c["fit"].get("peak_kl")) if c["fit"].get("status") == "ok" else None for _, c in rows]
        lo = [_ci_arm(c["fit"], k, 0) for k, (_, c) in zip(fit_kl, rows, strict=True)]
        hi = [_ci_arm(c["fit"], k, 1) for k, (_, c) in zip(fit_kl, rows, strict=True)]
        t = series(x, fit_kl, f"size {size}: fitted peak KL", color(i), "kl", group=size)
        t["error_y"] = {"type": "data", "symmetric": False, "array": hi, "arrayminus": lo, "visible": True}
        t["x"] = x
        data.append(t)
        o = series(x, obs_kl, f"size {size}: observed best n's KL", color(i), "kl", dash="dot", group=size,
                   mode="markers")
        o["x"] = x
        o["marker"] = {"color": color(i), "symbol": "circle-open", "size": 9}
        data.append(o)
        g = series(x, [c["gold"][j] for (_, c), j in zip(rows, obs_i, strict=False)],
                   f"size {size}: best gold", color(i), "kl", group=size, yaxis="y2", showlegend=True)
        g["x"], g["xaxis"] = x, "x2"
        g["line"]["dash"] = "dashdot"
        data.append(g)
    lay = layout("Gold peak vs proxy size and data", "peak KL (nats)", xtitle="preference pairs", switch=False)
    lay["xaxis"] |= {"type": "log", "domain": [0, 0.46]}
    lay["xaxis2"] = {"type": "log", "domain": [0.56, 1], "title": {"text": "preference pairs"}, "anchor": "y2"}
    lay["yaxis2"] = {"anchor": "x2", "title": {"text": "best gold \u2212 reference"}}
    lay["height"] = 400
    cap = ("Left: KL of the gold peak (fitted peak with its interval; open circles: KL of the best measured n). "
           "Right: gold at the best measured n. A bigger proxy or more data should peak later and higher.")
    return figure("bon-scaling", "bon", lay["title"]["text"], cap, data, lay)


def habits(c: dict[str, Any]) -> dict[str, Any] | None:
    rates = c.get("rates") or {}
    if not rates:
        return None
    custom = bon_groups(c)[1]

    def make(view: str) -> list[dict[str, Any]]:
        out = []
        for i, (k, v) in enumerate(sorted(rates.items())):
            if len(v) != len(c["kl"]):
                continue
            if not any(finite(x) for x in v):
                continue  # a habit never seen along the curve
            words = k.endswith("n_words")
            t = series(c["kl"], v, habit_label(k), color(i), view, yaxis="y2" if words else "y",
                       dash="dot" if words else None, custom=custom)
            t["meta"]["hidden"] = k.startswith("det_")  # the text detectors' view: one click away
            out.append(t)
        return out

    data = both_views(make)
    lay = layout(f"Habits of the best-of-n pick along KL ({c['name']})", "rate of the selected responses",
                 y2title="length (words)", traces=data)
    cap = ("Rate of each habit among the selected responses (refusals counted on benign prompts only, agreement on "
           "false premises only); length on the right axis. 'det' lines (click the legend) are the same habits as "
           "the text detectors see them, without the lab's exact parse.")
    return figure("bon-habits", "bon", lay["title"]["text"], cap, data, lay)


def bai(c: dict[str, Any], custom: list[str]) -> dict[str, Any]:
    def make(view: str) -> list[dict[str, Any]]:
        return [series(c["kl"], c["proxy"], f"{c['name']} (optimized RM)", color(0), view, custom=custom),
                series(c["kl"], c["heldout"], f"{c.get('heldout_rm', 'test RM')} (held-out RM)", color(1), view,
                       custom=custom),
                series(c["kl"], c["gold"], "gold", color(2), view, custom=custom, yaxis="y2")]

    data = both_views(make)
    lay = layout("Train-RM vs test-RM (Bai et al. 2022)", "RM score \u2212 reference", y2title="gold \u2212 reference",
                 traces=data)
    return figure("bon-bai", "bon", lay["title"]["text"], "Selecting by one RM and evaluating with an RM trained "
                  "on the other half of the data.", data, lay)


def bon_figures(summary: dict[str, Any], groups: dict[str, dict[str, Any]],
                headline: str | None) -> list[dict[str, Any]]:
    """All best-of-n figures; fills ``groups`` with the sample groups they link to."""
    curves = summary.get("bon") or []
    if not curves:
        return []
    customs = {}
    for c in curves:
        g, customs[c["name"]] = bon_groups(c)
        groups.update(g)
    byname = {c["name"]: c for c in curves}
    figs = []
    single = [c for c in curves if c.get("kind") == "proxy"]
    oracle = [c for c in curves if c.get("kind") == "oracle"]
    styles = {c["name"]: {"dash": "dot", "col": "#555"} for c in oracle}
    fg, fp = gold_and_proxy(single + oracle, customs, "proxies", styles)
    fg["title"], fg["layout"]["title"]["text"] = "Best-of-n: gold vs KL", esc("Best-of-n: gold vs KL")
    fg["caption"] = ("Gold of the best-of-n pick, relative to the reference, with 95 % intervals over prompts; dashed: "
                     "Gao et al. best-of-n fit R(d) = d(\u03b1 \u2212 \u03b2d); diamonds: fitted peak with its "
                     "interval. gold-oracle (click it in the legend) selects by gold itself: the ceiling. Click a point for its "
                     "samples.")
    fp["title"], fp["layout"]["title"]["text"] = "Best-of-n: proxy vs KL", esc("Best-of-n: proxy vs KL")
    fp["caption"] = "The score each proxy gives its own pick, relative to the reference."
    figs += [fg, fp]
    pick = byname.get(headline or "") or (single[0] if single else curves[0])
    figs.append(kl_estimators(pick))
    ens = [c for c in curves if c.get("kind") == "ensemble"]
    if ens:
        members = [byname[m] for m in ens[0].get("members") or [] if m in byname]
        st = {m["name"]: {"dash": "dot", "width": 1.2} for m in members}
        eg, _ = gold_and_proxy(ens + members, customs, "ensembles", st)
        eg["id"], eg["title"] = "bon-ensembles", "Ensembles vs single members (best-of-n)"
        eg["layout"]["title"]["text"] = esc(eg["title"])
        eg["caption"] = ("Gold when selecting by the ensemble score (mean, worst-case WCO, uncertainty-weighted UWO; "
                         "Coste et al. 2023) vs by each member alone (dotted).")
        figs.append(eg)
    sc = scaling(summary)
    if sc:
        figs.append(sc)
    hb = habits(pick)
    if hb:
        figs.append(hb)
    for c in curves:
        if c.get("heldout"):
            figs.append(bai(c, customs[c["name"]]))
            break
    return figs

