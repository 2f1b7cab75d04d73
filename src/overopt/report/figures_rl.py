"""RL and DPO figures: gold and proxy vs KL per run with the Gao RL-form fit (the KL-penalty frontier),
KL and gold against steps (ensembles vs single member), habits along KL; and the overview figure.

KL is per sequence in nats, k1 on fresh held-out samples (``overopt.study.evaluate``); the fit is
R(d) = d(alpha - beta log d) (Gao et al. 2022, eq. 2).
"""

from __future__ import annotations

from typing import Any

from overopt.report.findings import habit_label
from overopt.report.plot import both_views, color, esc, figure, finite, fit_trace, layout, peak_trace, series
from overopt.report.samples import bon_groups, run_groups


def _label(family: str, c: dict[str, Any]) -> str:
    if family == "rl" and c.get("ensemble"):
        return f"{c['name']} ({str(c['ensemble']).upper()} ensemble)"
    return str(c["name"])


def vs_kl(family: str, runs: list[dict[str, Any]], customs: dict[str, list[str]], key: str) -> dict[str, Any]:
    def make(view: str) -> list[dict[str, Any] | None]:
        out: list[dict[str, Any] | None] = []
        for i, c in enumerate(runs):
            lbl = _label(family, c)
            kl_max = max((finite(k) or 0.0 for k in c["kl"]), default=1.0)  # draw each fit over its own range
            out.append(series(c["kl"], c[key], lbl, color(i), view, custom=customs[c["name"]],
                              err=c.get(f"{key}_se"), group=lbl, hover=" (step %{text})") | {"text": c["step"]})
            if key == "gold":
                out.append(fit_trace(c.get("fit") or {}, kl_max, lbl, color(i), view, lbl))
                out.append(peak_trace(c.get("fit") or {}, lbl, color(i), view, lbl))
        return out

    data = both_views(make)
    what = "RL" if family == "rl" else "DPO"
    title = f"{what}: {key} vs KL"
    ylabel = "gold score" if key == "gold" else "proxy score"
    cap = (f"Each line is one {what} run, evaluated on fresh samples at checkpoints (error bars: SE over prompts). "
           + ("Dashed: Gao RL-form fit R(d) = d(\u03b1 \u2212 \u03b2 log d); diamonds: fitted peak with interval. "
              "Runs with different KL coefficients lying on one curve is Gao et al.'s finding that the penalty acts "
              "like early stopping (the KL-penalty frontier). " if key == "gold" else "")
           + "Click a point for the policy's samples at that checkpoint.")
    return figure(f"{family}-{key}", family, title, cap, data, layout(title, ylabel, traces=data))


def vs_step(family: str, runs: list[dict[str, Any]], customs: dict[str, list[str]]) -> dict[str, Any]:
    data = []
    for i, c in enumerate(runs):
        lbl = _label(family, c)
        data.append(series(c["step"], c["gold"], f"{lbl} gold", color(i), "kl", custom=customs[c["name"]], group=lbl))
        data.append(series(c["step"], c["kl"], f"{lbl} KL", color(i), "kl", dash="dot", yaxis="y2", group=lbl))
    for t in data:
        t["x"] = [s for s in t["x"]]
    what = "RL" if family == "rl" else "DPO"
    lay = layout(f"{what}: gold and KL vs steps", "gold score", y2title="KL (nats, dotted)", xtitle="optimizer step",
                 switch=False)
    cap = ("Gold (solid) and KL (dotted) at equal steps: larger KL coefficients should reach lower KL; an ensemble "
           "reward should end at higher gold than its single member at the same coefficient.")
    return figure(f"{family}-steps", family, lay["title"]["text"], cap, data, lay)


def kl_check(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The trainer's own logged KL (per token x mean completion length = per sequence) against the exact
    k1 KL on fresh held-out samples, per run at equal steps: do the two agree within the estimators' noise?"""
    data = []
    for i, c in enumerate(runs):
        log = [h for h in c.get("trainer_log") or [] if finite(h.get("kl")) is not None and h.get("step") is not None]
        if not log:
            continue
        per_seq = [h["kl"] * (finite(h.get("completions/mean_length")) or float("nan")) for h in log]
        lbl = _label("rl", c)
        t = series([h["step"] for h in log], per_seq, f"{lbl}: trainer's KL \u00d7 length", color(i), "kl",
                   dash="dot", mode="lines", group=lbl, width=1.2)
        t["x"] = [h["step"] for h in log]
        data.append(t)
        e = series(c["step"], c["kl"], f"{lbl}: exact k1 on fresh samples", color(i), "kl", mode="markers",
                   err=c.get("kl_se"), group=lbl)
        e["x"] = c["step"]
        data.append(e)
    if not data:
        return None
    est = next((c.get("trainer_kl") or {} for c in runs if c.get("trainer_kl")), {})
    lay = layout("RL: the trainer's own KL vs exact KL", "KL (nats per sequence)", xtitle="optimizer step",
                 switch=False)
    cap = (f"Dotted: what the trainer logged ({est.get('logged', 'its KL metric')}), times the mean completion "
           f"length in tokens, on its training batch; markers: exact KL(\u03c0 \u2016 \u03c0_ref) on fresh held-out "
           "samples (k1 \u00b1 SE). The trainer's estimate is noisier and on other prompts; large gaps mean its log "
           "should not be read as the policy's KL.")
    return figure("rl-kl-check", "rl", lay["title"]["text"], cap, data, lay)


def _is_length(key: str) -> bool:
    short = key.split("/", 1)[-1]
    return short in ("n_words", "len") or short.startswith("len_")


def run_habits(family: str, c: dict[str, Any], custom: list[str]) -> dict[str, Any] | None:
    rates = {k: v for k, v in (c.get("rates") or {}).items() if len(v) == len(c["kl"])}
    if not rates:
        return None

    def make(view: str) -> list[dict[str, Any]]:
        return [series(c["kl"], v, habit_label(k), color(i), view, custom=custom,
                       yaxis="y2" if _is_length(k) else "y")
                for i, (k, v) in enumerate(sorted(rates.items()))]

    data = both_views(make)
    title = f"{family.upper()}: habits along KL ({c['name']})"
    return figure(f"{family}-habits", family, title, "Habit rates of the policy's fresh samples at each checkpoint; "
                  "length on the right axis.", data, layout(title, "rate", y2title="length (words)", traces=data))


def run_figures(family: str, summary: dict[str, Any], groups: dict[str, dict[str, Any]],
                headline: str | None) -> list[dict[str, Any]]:
    runs = [c for c in summary.get(family) or [] if c.get("kl")]
    if not runs:
        return []
    customs = {}
    for c in runs:
        g, customs[c["name"]] = run_groups(family, c)
        groups.update(g)
    figs = [vs_kl(family, runs, customs, "gold"), vs_kl(family, runs, customs, "proxy"),
            vs_step(family, runs, customs)]
    if family == "rl":
        kc = kl_check(runs)
        if kc:
            figs.append(kc)
    pick = next((c for c in runs if c["name"] == headline), None) or max(runs, key=lambda c: finite(c["kl"][-1]) or 0)
    hb = run_habits(family, pick, customs[pick["name"]])
    if hb:
        figs.append(hb)
    return figs


def overview(family: str, c: dict[str, Any]) -> dict[str, Any]:
    """The chapter's picture for the headline curve: proxy climbing while gold peaks and declines."""
    custom = bon_groups(c)[1] if family == "bon" else run_groups(family, c)[1]
    kl_max = max((finite(k) or 0.0 for k in c["kl"]), default=1.0)

    def make(view: str) -> list[dict[str, Any] | None]:
        return [series(c["kl"], c["proxy"], "proxy (right axis)", "#d62728", view, yaxis="y2", custom=custom,
                       group="proxy"),
                series(c["kl"], c["gold"], "gold", "#1f77b4", view, custom=custom, group="gold"),
                fit_trace(c.get("fit") or {}, kl_max, "gold", "#1f77b4", view, "gold"),
                peak_trace(c.get("fit") or {}, "gold", "#1f77b4", view, "gold")]

    data = both_views(make)
    ref = " \u2212 reference" if family == "bon" else ""
    title = f"{'Best-of-n' if family == 'bon' else family.upper()} against {c['name']}: proxy vs gold"
    lay = layout(title, f"gold{ref}", y2title=f"proxy{ref}", traces=data, height=460)
    lay["yaxis"]["title"]["font"] = {"color": "#1f77b4"}
    lay["yaxis2"]["title"]["font"] = {"color": "#d62728"}
    return figure("overview", "overview", esc(title), "The proxy keeps rising while gold peaks and falls. Dashed: "
                  "Gao et al. fit; diamond: fitted peak with its interval. Click a point to read the completions.",
                  data, lay)
