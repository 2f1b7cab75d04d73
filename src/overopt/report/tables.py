"""Table rows of the report (proxies, timings, config, versions, audits): plain values, escaped at render."""

from __future__ import annotations

import json
import platform
from importlib import metadata
from typing import Any

from overopt.report.plot import finite
from overopt.report.verdict import fmt

VERSION_PACKAGES = ("overopt", "numpy", "scipy", "torch", "transformers", "trl", "plotly")


def proxies(summary: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    curves = {c["name"]: c for c in summary.get("bon") or []}
    head = ["proxy", "role", "size", "parameters", "pairs", "held-out acc. vs labelers", "held-out acc. vs gold",
            "seed", "BoN fitted peak KL", "fit R\u00b2", "over-weighted rare tokens", "path"]
    rows = []
    for p in summary.get("proxies") or []:
        fit = curves.get(p.get("name"), {}).get("fit") or {}
        rows.append([p.get("name"), p.get("role"), p.get("size"), p.get("n_params"), p.get("n_pairs"),
                     finite(p.get("heldout_acc_labelers")), finite(p.get("heldout_acc_gold")), p.get("seed"),
                     finite(fit.get("peak_kl")) if fit.get("status") == "ok" else fit.get("status"),
                     finite(fit.get("r2")), ", ".join(map(str, p.get("rare_tokens_overweighted") or [])) or None,
                     p.get("path")])
    return head, rows


def timings(summary: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    t = summary.get("timings") or {}
    rows = [[k, finite(v)] for k, v in t.items()]
    return ["stage", "seconds"], rows


def _flatten(prefix: str, obj: Any, out: list[list[Any]]) -> None:
    if isinstance(obj, dict) and obj:
        for k, v in obj.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(obj, list) and obj and all(isinstance(v, dict) for v in obj):
        out.append([prefix, json.dumps(obj, separators=(", ", "=")).replace('"', "")])
    else:
        out.append([prefix, json.dumps(obj) if isinstance(obj, (list, dict, bool)) or obj is None else obj])


def config(summary: dict[str, Any], store: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    rows: list[list[Any]] = []
    for key in ("preset", "seed", "schema_version"):
        if key in summary:
            rows.append([key, summary[key]])
    if store.get("config_hash"):
        rows.append(["run store config hash", store["config_hash"]])
        rows.append(["run store points", store.get("n_points")])
    _flatten("config", summary.get("config") or {}, rows)
    for key in ("bon_info", "reference"):
        if isinstance(summary.get(key), dict):
            _flatten(key, summary[key], rows)
    return ["setting", "value"], rows


def versions(summary: dict[str, Any]) -> tuple[str, list[list[Any]]]:
    """(where the versions come from, rows): the run's own record when it has one, else this environment."""
    if isinstance(summary.get("versions"), dict):
        return "recorded by the run", [[k, v] for k, v in summary["versions"].items()]
    rows: list[list[Any]] = [["python", platform.python_version()]]
    for name in VERSION_PACKAGES:
        try:
            rows.append([name, metadata.version(name)])
        except metadata.PackageNotFoundError:
            rows.append([name, "not installed"])
    return "of the environment that built this report (the run did not record its own)", rows


def audit(a: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    head = ["direction", "unwanted", "effect (RM SDs)", "interval", "sign test p", "exploitable", "gold effect",
            "RM and gold disagree"]
    rows = []
    for d in a.get("directions") or []:
        ci = d.get("ci") or [None, None]
        rows.append([d.get("name"), d.get("unwanted"), finite(d.get("effect")),
                     f"{fmt(finite(ci[0]))} to {fmt(finite(ci[1]))}", finite(d.get("sign_p")),
                     d.get("exploitable"), finite(d.get("gold_effect")), d.get("disagrees")])
    return head, rows
