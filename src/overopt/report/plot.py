"""Plotly figure pieces as plain dicts (plotly.js renders them; no Python plotly needed to build).

Every curve is drawn twice, against sqrt(KL) and against KL (nats per sequence), and a button pair
switches which set is visible, so both views of Gao et al. (2022) are one click apart. Every string
that plotly renders as (pseudo-)HTML is escaped here: names come from run directories and configs.
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#7f7f7f", "#393b79", "#637939")
X_VIEWS = ("sqrt", "kl")
X_TITLES = {"sqrt": "\u221aKL (\u221anats)", "kl": "KL (nats per sequence)"}


def esc(s: Any) -> str:
    return html.escape(str(s), quote=True)


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def finite(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None


def xs(kl: list[Any], view: str) -> list[float | None]:
    out = []
    for k in kl:
        f = finite(k)
        out.append(None if f is None else (math.sqrt(max(f, 0.0)) if view == "sqrt" else f))
    return out


def series(kl: list[Any], y: list[Any], name: str, col: str, view: str, *, dash: str | None = None,
           mode: str = "lines+markers", custom: list[str] | None = None, group: str | None = None,
           yaxis: str = "y", width: float = 2.0, err: list[Any] | None = None, hover: str = "",
           showlegend: bool = True) -> dict[str, Any]:
    """One scatter trace in the given x view; ``custom`` = sample-group keys per point (clickable)."""
    t: dict[str, Any] = {
        "type": "scatter", "mode": mode, "name": esc(name), "x": xs(kl, view), "y": [finite(v) for v in y],
        "line": {"color": col, "width": width, **({"dash": dash} if dash else {})},
        "marker": {"color": col, "size": 7 if custom else 5}, "legendgroup": esc(group or name), "yaxis": yaxis,
        "meta": {"view": view}, "showlegend": showlegend,
        "hovertemplate": f"{esc(name)}<br>x %{{x:.3f}}, y %{{y:.3f}}{esc(hover)}<extra></extra>",
    }
    if custom is not None:
        t["customdata"] = custom
        t["hovertemplate"] = t["hovertemplate"].replace("<extra>", "<br>(click: samples)<extra>")
    if err is not None:
        e = [finite(v) for v in err]
        if any(v is not None for v in e):
            t["error_y"] = {"type": "data", "array": e, "visible": True, "thickness": 1, "color": col}
    return t


def fit_trace(fit: dict[str, Any], kl_max: float, name: str, col: str, view: str, group: str,
              yaxis: str = "y") -> dict[str, Any] | None:
    """The fitted Gao curve (form 'bon' or 'rl') from d = 0 to a little past the data."""
    a, b, c = (finite(fit.get(k)) for k in ("alpha", "beta", "intercept"))
    if a is None or b is None or fit.get("status") not in ("ok", "no_peak") or kl_max <= 0:
        return None
    d = np.linspace(0.0, math.sqrt(kl_max * 1.05), 60)
    if fit.get("form") == "rl":
        with np.errstate(divide="ignore", invalid="ignore"):
            y = a * d - b * np.where(d > 0, d * np.log(np.where(d > 0, d, 1.0)), 0.0)
    else:
        y = d * (a - b * d)
    y = y + (c or 0.0)
    r2 = finite(fit.get("r2"))
    label = f"{name} Gao fit" + (f" (R\u00b2 {r2:.2f})" if r2 is not None else "")
    return series((d ** 2).tolist(), y.tolist(), label, col, view, dash="dash", mode="lines", group=group,
                  yaxis=yaxis, width=1.5, showlegend=False)


def peak_trace(fit: dict[str, Any], name: str, col: str, view: str, group: str,
               yaxis: str = "y") -> dict[str, Any] | None:
    """The fitted peak as a diamond with its KL interval as a horizontal error bar."""
    kl, gold = finite(fit.get("peak_kl")), finite(fit.get("peak_gold"))
    if fit.get("status") != "ok" or kl is None or gold is None:
        return None
    t = series([kl], [gold], f"{name} fitted peak", col, view, mode="markers", group=group, yaxis=yaxis,
               showlegend=False)
    t["marker"] = {"color": col, "size": 11, "symbol": "diamond", "line": {"color": "#000", "width": 1}}
    ci = fit.get("peak_kl_ci")
    if ci:
        lo = finite(ci[0])
        hi = finite(ci[1]) if ci[1] is not None else None
        x = t["x"][0]
        lo_x = xs([lo], view)[0] if lo is not None else x
        hi_x = xs([hi], view)[0] if hi is not None else x
        t["error_x"] = {"type": "data", "symmetric": False, "array": [max(hi_x - x, 0.0)],
                        "arrayminus": [max(x - lo_x, 0.0)], "color": col, "thickness": 2, "width": 6}
        hi_s = "unbounded" if hi is None else f"{hi:.2f}"
        t["hovertemplate"] = (f"{esc(name)} fitted peak: KL {kl:.2f} nats ({(lo or 0):.2f}\u2013{hi_s}), "
                              f"gold {gold:.3f}<extra></extra>")
    return t


def both_views(make: Any) -> list[dict[str, Any]]:
    """Traces for both x views: ``make(view)`` returns the traces of one view; the KL view starts hidden."""
    out = []
    for view in X_VIEWS:
        for t in make(view):
            if t is None:
                continue
            hidden = t.get("meta", {}).get("hidden")
            t["visible"] = ("legendonly" if hidden else True) if view == "sqrt" else False
            out.append(t)
    return out


def layout(title: str, ytitle: str, *, y2title: str | None = None, xtitle: str | None = None,
           switch: bool = True, traces: list[dict[str, Any]] | None = None, height: int = 420) -> dict[str, Any]:
    lay: dict[str, Any] = {
        "title": {"text": esc(title), "x": 0.01, "font": {"size": 15}},
        "xaxis": {"title": {"text": esc(xtitle or X_TITLES["sqrt"])}, "zeroline": False},
        "yaxis": {"title": {"text": esc(ytitle)}, "zeroline": True, "zerolinecolor": "#bbb"},
        "height": height, "margin": {"l": 60, "r": 30, "t": 50, "b": 50}, "hovermode": "closest",
        "legend": {"font": {"size": 11}}, "plot_bgcolor": "#fafafa", "paper_bgcolor": "#fff",
    }
    if y2title:
        lay["yaxis2"] = {"title": {"text": esc(y2title)}, "overlaying": "y", "side": "right", "zeroline": False}
        lay["margin"]["r"] = 60
        lay["legend"] |= {"x": 1.08}
    if switch and traces is not None:
        views = [t.get("meta", {}).get("view") for t in traces]
        hidden = [bool(t.get("meta", {}).get("hidden")) for t in traces]
        lay["updatemenus"] = [{
            "type": "buttons", "direction": "right", "x": 1.0, "xanchor": "right", "y": 1.13, "yanchor": "top",
            "showactive": True, "active": 0, "pad": {"r": 2, "t": 2},
            "buttons": [{"label": lbl, "method": "update",
                         "args": [{"visible": [("legendonly" if h else True) if v == view or v is None else False
                                               for v, h in zip(views, hidden, strict=True)]},
                                  {"xaxis.title.text": esc(X_TITLES[view])}]}
                        for view, lbl in (("sqrt", "x = \u221aKL"), ("kl", "x = KL"))],
        }]
    return lay


def figure(fid: str, section: str, title: str, caption: str, data: list[dict[str, Any]],
           lay: dict[str, Any]) -> dict[str, Any]:
    return {"id": fid, "section": section, "title": title, "caption": caption, "data": data, "layout": lay}
