"""Render the view model as ONE self-contained HTML file (plotly.js embedded once; no network).

Untrusted text (completions, prompts, names) reaches the page two ways, both inert:
- static parts (verdict, tables) are HTML-escaped here with ``html.escape``;
- the data for figures and the sample viewer is embedded as JSON inside
  ``<script type="application/json">`` (never executed) with ``<``, ``>``, ``&`` and U+2028/2029
  written as ``\\uXXXX`` escapes, so no byte sequence in it can close the script element; the page's
  own script builds the viewer with ``textContent`` only.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import re
from importlib import resources
from typing import Any

from overopt.io.jsonable import to_jsonable

_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_JSON_RE = re.compile("[<>&\u2028\u2029]")


def json_for_script(obj: Any) -> str:
    """JSON text safe inside a ``<script type="application/json">`` element (non-finite floats -> null)."""
    text = json.dumps(to_jsonable(obj), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return _JSON_RE.sub(lambda m: _JSON_ESCAPES[m.group(0)], text)


def _asset(name: str) -> str:
    return resources.files("overopt.report").joinpath("assets", name).read_text(encoding="utf-8")


def plotly_js() -> str:
    """plotly.min.js from the installed plotly package (the 'report' extra), made safe to inline."""
    from overopt.errors import require

    require("plotly", "report")
    from plotly.offline import get_plotlyjs

    return re.sub(r"</(script)", r"<\\/\1", get_plotlyjs(), flags=re.IGNORECASE)


def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def cell(x: Any) -> str:
    if x is None:
        return "\u2013"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        if not math.isfinite(x):
            return "\u2013"
        return f"{x:.4g}" if abs(x) < 1e4 else f"{x:,.0f}"
    return esc(x)


def table(t: dict[str, Any], cls: str = "") -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in t["head"])
    body = "".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in row) + "</tr>" for row in t["rows"])
    return f'<div class="table-wrap"><table class="{esc(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _figure_html(f: dict[str, Any]) -> str:
    return (f'<figure class="chart"><div class="plot" id="fig-{esc(f["id"])}" data-figure="{esc(f["id"])}"></div>'
            f'<figcaption>{esc(f["caption"])}</figcaption></figure>')


def _verdict_html(v: dict[str, Any]) -> str:
    cls = "verdict unreliable" if v["unreliable"] else "verdict"
    items = "".join(f"<li>{esc(s)}</li>" for s in v["findings"])
    note = f'<p class="note">{esc(v["note"])}</p>' if v.get("note") else ""
    return (f'<section class="{cls}" id="verdict"><p class="headline">{esc(v["headline"])}</p>{note}'
            f'{f"<ul>{items}</ul>" if items else ""}</section>')


def _section_body(view: dict[str, Any], sid: str) -> str:
    parts = [_figure_html(f) for f in view["figures"] if f["section"] == sid]
    if sid in view["notes"]:
        parts.insert(0, f'<p class="absent">{esc(view["notes"][sid])}</p>')
    elif sid in view.get("intros", {}):
        parts.insert(0, f'<p class="intro">{esc(view["intros"][sid])}</p>')
    t = view["tables"]
    if sid == "proxies" and t["proxies"]["rows"]:
        parts.append(table(t["proxies"]))
    elif sid == "rl" and t["monitor"]["rows"]:
        parts.append("<h3>Monitor replay (RL and DPO runs)</h3><p class=\"note\">Each run's evaluations fed one by one "
                     "to overopt's over-optimization monitor, as if it had watched the run live: when it would have "
                     "raised each alarm level, and the checkpoint it recommends.</p>" + table(t["monitor"]))
    elif sid == "audit":
        for a in view["audits"]:
            ex = ", ".join(a["exploitable"]) or "none"
            parts.append(f"<h3>{esc(a['title'])}</h3><p>Exploitable directions: <b>{esc(ex)}</b></p>"
                         + table(a["table"]) + "".join(f'<p class="note">{esc(w)}</p>' for w in a["warnings"]))
    elif sid == "run":
        parts.append(f"<h3>Timings</h3>{table(t['timings'])}")
        parts.append(f"<h3>Versions</h3><p class=\"note\">Versions {esc(view['versions_source'])}.</p>"
                     f"{table(t['versions'])}")
        parts.append(f"<details><summary><b>Config and seed</b> ({len(t['config']['rows'])} settings)</summary>"
                     f"{table(t['config'], 'config')}</details>")
    return "".join(parts)


def render(view: dict[str, Any]) -> str:
    """The complete HTML document for a view model from ``build_report``."""
    nav = "".join(f'<a href="#{esc(s["id"])}">{esc(s["title"])}</a>' for s in view["sections"])
    sections = "".join(
        f'<section class="block" id="{esc(s["id"])}"><h2>{esc(s["title"])}</h2>{_section_body(view, s["id"])}</section>'
        for s in view["sections"])
    preset = view.get("preset") or "\u2013"
    sub = (f"preset {esc(preset)} \u00b7 seed {esc(view.get('seed'))} \u00b7 "
           f"built {esc(view['generated'])} by overopt {esc(view['overopt_version'])}")
    data = {"figures": view["figures"], "samples": view["samples"]}
    scripts = [plotly_js(), _asset("app.js")]
    # Only these two scripts may run (hashes): no injected inline script or on* handler would.
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(js.encode()).digest()).decode()}'" for js in scripts)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; img-src data: blob:; font-src data:">
<title>{esc(view['title'])}</title>
<style>{_asset('style.css')}</style>
</head><body>
<header><h1>{esc(view['title'])}</h1><p class="sub">{sub}</p><nav>{nav}<button id="open-viewer" type="button">Browse samples</button></nav></header>
<main>{_verdict_html(view['verdict'])}{sections}</main>
<aside id="viewer" hidden aria-live="polite"><div class="viewer-head"><b id="viewer-title">Samples</b>
<button id="viewer-close" type="button" aria-label="close">\u00d7</button></div>
<label class="pick">Browse: <select id="viewer-select"></select></label>
<div id="viewer-legend" class="legend"></div><div id="viewer-body"></div></aside>
<script type="application/json" id="overopt-data">{json_for_script(data)}</script>
<script>{scripts[0]}</script>
<script>{scripts[1]}</script>
</body></html>
"""
