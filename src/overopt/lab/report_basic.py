"""A basic, self-contained report.html for a lab run (the report module will replace this one function)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any


def _fmt(x: Any, nd: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.{nd}f}"
    return html.escape(str(x))


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_basic_report(summary: dict[str, Any], path: str | Path) -> Path:
    """Proxy table, best-of-n table (peak, fit, end-of-range gold) and a few selected samples."""
    from overopt.study.store import atomic_write

    proxies = _table(
        ["proxy", "role", "params", "pairs", "held-out acc (labelers)", "held-out acc (gold)"],
        [[p["name"], p["role"], p["n_params"], p["n_pairs"], p["heldout_acc_labelers"], p["heldout_acc_gold"]]
         for p in summary["proxies"]])
    bon_rows = []
    for c in summary["bon"]:
        i = max(range(len(c["gold"])), key=lambda k: c["gold"][k])
        fit = c["fit"]
        bon_rows.append([c["name"], c["n"][i], c["kl"][i], c["gold"][i], c["gold"][-1], c["proxy"][-1],
                         fit.get("r2"), fit.get("peak_kl"), fit.get("status")])
    bon = _table(["selector", "best n", "KL at best (nats)", "gold at best", "gold at max n", "proxy at max n",
                  "fit R²", "fit peak KL", "fit status"], bon_rows)
    first = summary["bon"][0] if summary["bon"] else {"samples": [], "name": ""}
    samples = _table(["n", "kind", "prompt", "response", "proxy", "gold"],
                     [[s["n"], s["kind"], s["prompt"], s["response"], s["proxy"], s["gold"]] for s in first["samples"]])
    timings = _table(["stage", "seconds"], [[k, v] for k, v in summary["timings"].items()])
    doc = f"""<!doctype html><html><head><meta charset="utf-8"><title>overopt lab ({summary['preset']})</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:3px 8px;font-size:13px}}th{{background:#eee}}</style></head><body>
<h1>overopt lab — preset {html.escape(summary['preset'])}, seed {summary.get('seed')}</h1>
<p>Gold and proxy are relative to the reference policy (n = 1); KL is the best-of-n bound in nats per sequence.</p>
<h2>Proxy reward models</h2>{proxies}<h2>Best-of-n</h2>{bon}
<h2>Selected responses ({html.escape(first['name'])})</h2>{samples}<h2>Timings</h2>{timings}</body></html>"""
    atomic_write(Path(path), doc)
    return Path(path)
