"""Sample groups for the viewer: the completions stored at each point of each curve, with detector spans.

A group key is ``family|curve|n`` (best-of-n: the picks of n samples) or ``family|curve|step``
(RL/DPO: fresh samples of the policy at that evaluation). A plotted point whose own n has no stored
samples links to the nearest stored n (in log n), and the group's note says so.
"""

from __future__ import annotations

import math
from typing import Any

from overopt.report.plot import finite
from overopt.report.spans import completion_spans


def _item(s: dict[str, Any]) -> dict[str, Any]:
    response = str(s.get("response", ""))
    return {"prompt": str(s.get("prompt", "")), "kind": str(s.get("kind", "")), "response": response,
            "proxy": finite(s.get("proxy")), "gold": finite(s.get("gold")), "spans": completion_spans(response)}


def bon_groups(curve: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """(groups, customdata per curve point) for one best-of-n curve."""
    by_n: dict[int, list[dict[str, Any]]] = {}
    for s in curve.get("samples") or []:
        by_n.setdefault(int(s["n"]), []).append(s)
    name = str(curve["name"])
    kl_at = dict(zip(curve["n"], curve["kl"], strict=False))
    groups = {f"bon|{name}|{n}": {"title": f"best-of-{n} picks by {name}", "family": "bon", "curve": name,
                                  "x": n, "kl": finite(kl_at.get(n)), "items": [_item(s) for s in items]}
              for n, items in sorted(by_n.items())}
    custom = []
    for n in curve["n"]:
        if not by_n:
            custom.append("")
            continue
        best = min(by_n, key=lambda m: abs(math.log(m) - math.log(max(int(n), 1))))
        custom.append(f"bon|{name}|{best}")
    return groups, custom


def run_groups(family: str, curve: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """(groups, customdata per curve point) for one RL / DPO curve (samples stored per evaluation step)."""
    name = str(curve["name"])
    groups: dict[str, dict[str, Any]] = {}
    for s in curve.get("samples") or []:
        if not s.get("items"):
            continue
        key = f"{family}|{name}|{s['step']}"
        groups[key] = {"title": f"{family.upper()} {name} at step {s['step']}", "family": family, "curve": name,
                       "x": s["step"], "kl": finite(s.get("kl")), "items": [_item(i) for i in s["items"]]}
    custom = [f"{family}|{name}|{step}" if f"{family}|{name}|{step}" in groups else "" for step in
              curve.get("step") or []]
    return groups, custom
