"""Static SVG export of the report's main figures, drawn here from the same plotly dicts.

Why not plotly's own export: ``kaleido`` needs a Chrome download and does not work offline here.
This draws lines, markers, the fitted-peak interval bars, axes with ticks, a second y axis and a
legend: enough for a paper figure, deterministic, and with no browser. The interactive page
additionally offers plotly's own SVG download (camera button of each chart).
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

MAIN_FIGURES = ("overview", "bon-gold-proxies", "bon-proxy-proxies", "bon-ensembles", "bon-kl", "rl-gold",
                "rl-proxy", "dpo-gold")
W, H = 760, 440
L, R, T, B = 70, 230, 40, 50  # margins; the legend sits in the right margin
DASH = {"dash": "7,4", "dot": "2,3", "dashdot": "7,3,2,3"}


def _x(s: Any) -> str:
    return html.escape(html.unescape(str(s)), quote=True)  # plotly strings are HTML-escaped already


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step) * step
    return [round(start + k * step, 10) for k in range(int((hi - start) / step + 1e-9) + 1)]


class _Axis:
    def __init__(self, vals: list[float], lo_px: float, hi_px: float, log: bool = False) -> None:
        self.log = log
        v = [math.log10(x) for x in vals if x > 0] if log else vals
        lo, hi = (min(v), max(v)) if v else (0.0, 1.0)
        pad = (hi - lo) * 0.05 or 0.5
        self.lo, self.hi, self.a, self.b = lo - pad, hi + pad, lo_px, hi_px

    def __call__(self, x: float) -> float:
        v = math.log10(x) if self.log else x
        return self.a + (v - self.lo) / (self.hi - self.lo) * (self.b - self.a)

    def ticks(self) -> list[float]:
        if self.log:
            return [10.0 ** k for k in range(math.ceil(self.lo), math.floor(self.hi) + 1)]
        return nice_ticks(self.lo, self.hi)


def _traces(fig: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in fig["data"] if t.get("visible", True) is True and t.get("xaxis", "x") == "x"]


def _pts(t: dict[str, Any]) -> list[tuple[float, float]]:
    return [(x, y) for x, y in zip(t.get("x") or [], t.get("y") or [], strict=False)
            if x is not None and y is not None and math.isfinite(x) and math.isfinite(y)]


def figure_svg(fig: dict[str, Any]) -> str:
    """One figure (a plotly dict from the report) as an SVG document."""
    lay = fig["layout"]
    traces = _traces(fig)
    log_x = lay.get("xaxis", {}).get("type") == "log"
    xa = _Axis([p[0] for t in traces for p in _pts(t)], L, W - R, log_x)
    axes = {name: _Axis([p[1] for t in traces if t.get("yaxis", "y") == name for p in _pts(t)], H - B, T)
            for name in ("y", "y2") if any(t.get("yaxis", "y") == name for t in traces)}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
           'font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="11">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{L}" y="22" font-size="14" font-weight="bold">{_x(lay["title"]["text"])}</text>',
           f'<rect x="{L}" y="{T}" width="{W - L - R}" height="{H - T - B}" fill="#fafafa" stroke="#ccc"/>',
           f'<clipPath id="plot-area"><rect x="{L}" y="{T}" width="{W - L - R}" height="{H - T - B}"/></clipPath>']
    for v in xa.ticks():
        px = xa(v)
        out.append(f'<line x1="{px:.1f}" y1="{H - B}" x2="{px:.1f}" y2="{H - B + 4}" stroke="#333"/>'
                   f'<text x="{px:.1f}" y="{H - B + 16}" text-anchor="middle">{v:g}</text>')
    out.append(f'<text x="{(L + W - R) / 2}" y="{H - 12}" text-anchor="middle">'
               f'{_x(lay["xaxis"]["title"]["text"])}</text>')
    for name, ya in axes.items():
        side = L if name == "y" else W - R
        sgn = -1 if name == "y" else 1
        for v in ya.ticks():
            py = ya(v)
            out.append(f'<line x1="{side}" y1="{py:.1f}" x2="{side + 4 * sgn}" y2="{py:.1f}" stroke="#333"/>'
                       f'<text x="{side + 7 * sgn}" y="{py + 4:.1f}" text-anchor="{"end" if sgn < 0 else "start"}">'
                       f'{v:g}</text>')
        title = lay.get("yaxis" if name == "y" else "yaxis2", {}).get("title", {}).get("text", "")
        tx = 16 if name == "y" else W - R + 48
        out.append(f'<text transform="translate({tx},{(T + H - B) / 2}) rotate(-90)" text-anchor="middle">'
                   f'{_x(title)}</text>')
    legend_y = T + 4
    legend: list[str] = []
    out.append('<g clip-path="url(#plot-area)">')
    for t in traces:
        pts = _pts(t)
        y_axis = axes.get(t.get("yaxis", "y"))
        if not pts or y_axis is None:
            continue
        ya = y_axis
        col = t.get("line", {}).get("color", "#333")
        dash = DASH.get(t.get("line", {}).get("dash", ""), "")
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        xy = [(xa(x), ya(y)) for x, y in pts]
        if "lines" in t.get("mode", "lines"):
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in xy)
            out.append(f'<polyline points="{path}" fill="none" stroke="{col}" stroke-width="'
                       f'{t.get("line", {}).get("width", 2)}"{dash_attr}/>')
        if "markers" in t.get("mode", ""):
            big = t.get("marker", {}).get("symbol") == "diamond"
            ex = t.get("error_x")
            for (px, py), (x, _) in zip(xy, pts, strict=False):
                if big and ex:
                    lo, hi = xa(x - ex["arrayminus"][0]), xa(x + ex["array"][0])
                    out.append(f'<line x1="{lo:.1f}" y1="{py:.1f}" x2="{hi:.1f}" y2="{py:.1f}" stroke="{col}" '
                               'stroke-width="2"/>')
                r = 6 if big else 2.8
                shape = (f'<path d="M{px:.1f},{py - r:.1f} L{px + r:.1f},{py:.1f} L{px:.1f},{py + r:.1f} '
                         f'L{px - r:.1f},{py:.1f} Z" fill="{col}" stroke="black"/>') if big else \
                    f'<circle cx="{px:.1f}" cy="{py:.1f}" r="{r}" fill="{col}"/>'
                out.append(shape)
        if t.get("showlegend", True) and legend_y < H - B:
            legend.append(f'<line x1="{W - R + 70}" y1="{legend_y}" x2="{W - R + 92}" y2="{legend_y}" stroke="{col}" '
                       f'stroke-width="2"{dash_attr}/><text x="{W - R + 96}" y="{legend_y + 4}">'
                       f'{_x(t.get("name", ""))[:34]}</text>')
            legend_y += 16
    out += ["</g>", *legend, "</svg>"]
    return "\n".join(out)


def write_svgs(view: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """Write the main figures of a report view model as ``out_dir/<figure id>.svg``."""
    from overopt.io.files import atomic_write

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for f in view["figures"]:
        if f["id"] in MAIN_FIGURES:
            p = out / f"{f['id']}.svg"
            atomic_write(p, figure_svg(f))
            paths.append(p)
    return paths
