"""The report's view model: everything the page shows, computed from a run directory.

``build_report(run_dir)`` returns a JSON-ready dict (``overopt report RUN_DIR --json`` prints a
digest of it): verdict, sections with their figures (plotly dicts) or a note saying why a section
is empty, sample groups for the viewer, and the tables.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from overopt._version import SCHEMA_VERSION, __version__
from overopt.report import tables
from overopt.report.figures_bon import bon_figures
from overopt.report.figures_rl import overview, run_figures
from overopt.report.findings import all_findings
from overopt.report.load import RunData, load_run
from overopt.report.replay import replay_table
from overopt.report.verdict import build_verdict, headline_curve

SECTIONS = (
    ("overview", "Overview"),
    ("bon", "Best-of-n"),
    ("rl", "RL against the proxy"),
    ("dpo", "Direct alignment (DPO)"),
    ("proxies", "Proxy reward models"),
    ("audit", "Reward-model audit"),
    ("run", "Config, seed, versions, timings"),
)

INTROS = {
    "bon": ("Best-of-n: sample N completions per held-out prompt from the reference policy and keep the one a "
            "selector scores highest, for every n \u2264 N (exact, unbiased estimator of Nakano et al. 2021). KL is "
            "per sequence, in nats; gold and proxy are relative to the reference (n = 1)."),
    "rl": ("RL against a proxy (TRL's GRPO/RLOO) at several KL-penalty coefficients and with ensemble rewards; every "
           "checkpoint is evaluated from outside the trainer on fresh held-out samples: exact KL(\u03c0 \u2016 "
           "\u03c0_ref) (k1 with its SE), proxy and gold."),
    "dpo": ("Direct alignment (TRL's DPO trainer) on preference pairs sampled from the reference and labelled by the "
            "proxy, for several \u03b2; evaluated like the RL runs."),
    "proxies": ("The reward models optimized against: size, preference data, and held-out pairwise accuracy against "
                "the labelers who trained them and against gold (what users want)."),
    "audit": ("Which hack directions each audited reward model pays for: mean paired score change from one "
              "perturbation of base responses, in the RM's own score SDs (overopt audit-rm)."),
}


def _absent_notes(run: RunData) -> dict[str, str]:
    s = run.summary
    notes = {}
    if not s.get("bon"):
        notes["bon"] = ("No best-of-n curves in this run (best-of-n is part of 'overopt lab'; "
                        "'overopt study' runs RL/DPO only).")
    if not s.get("rl"):
        notes["rl"] = "No RL runs in this study: its summary.json has an empty 'rl' list."
    if not s.get("dpo"):
        notes["dpo"] = "No DPO runs in this study: its summary.json has an empty 'dpo' list."
    if not s.get("proxies"):
        notes["proxies"] = "This run trained no proxy reward models (it used given ones, listed in the config)."
    if not run.audits:
        notes["audit"] = ("No audit results found. Run 'overopt audit-rm --rm RUN_DIR/<proxy path> --json > "
                          "RUN_DIR/audit-<name>.json' and rebuild the report to add them.")
    return notes


def _table(head: list[str], rows: list[list[Any]]) -> dict[str, Any]:
    return {"head": head, "rows": rows}


def build_report(run_dir: str | Path) -> dict[str, Any]:
    run = load_run(run_dir)
    s = run.summary
    hc = headline_curve(s)
    headline_bon = hc[1] if hc and hc[0] == "bon" else None
    verdict = build_verdict(s, all_findings(s, hc[1] if hc else None))
    groups: dict[str, dict[str, Any]] = {}
    figs = bon_figures(s, groups, headline_bon["name"] if headline_bon else None)
    figs += run_figures("rl", s, groups, hc[1]["name"] if hc and hc[0] == "rl" else None)
    figs += run_figures("dpo", s, groups, hc[1]["name"] if hc and hc[0] == "dpo" else None)
    if hc is not None:
        figs.insert(0, overview(*hc))
    source, version_rows = tables.versions(s)
    audits = [{"title": f"{a.get('rm', a.get('source_file', 'audit'))}", "exploitable": a.get("exploitable") or [],
               "table": _table(*tables.audit(a)), "warnings": a.get("warnings") or []} for a in run.audits]
    return {
        "schema_version": SCHEMA_VERSION,
        "title": f"overopt report \u2014 {run.kind} run {run.run_dir.resolve().name}",
        "kind": run.kind, "preset": s.get("preset"), "seed": s.get("seed"),
        "generated": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "overopt_version": __version__,
        "verdict": {"headline": verdict.headline, "note": verdict.note, "findings": verdict.findings,
                    "unreliable": verdict.unreliable, "curve": verdict.curve},
        "sections": [{"id": sid, "title": title} for sid, title in SECTIONS],
        "notes": _absent_notes(run), "intros": INTROS,
        "figures": figs,
        "samples": groups,
        "tables": {"proxies": _table(*tables.proxies(s)), "timings": _table(*tables.timings(s)),
                   "config": _table(*tables.config(s, run.store)),
                   "versions": _table(["package", "version"], version_rows),
                   "monitor": _table(*replay_table(s))},
        "versions_source": source,
        "audits": audits,
    }
