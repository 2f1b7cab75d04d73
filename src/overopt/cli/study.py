"""``overopt study CONFIG.yaml``: RL (GRPO / RLOO) and DPO sweeps on any Hugging Face policy and RMs.

    overopt study study.yaml --out runs/study1 --json

The YAML names the policy, the proxy RM(s), an optional gold / held-out RM and the prompts (see
``overopt.study.config``). Models are local directories or Hugging Face ids already in the local
cache; nothing is downloaded. Rerunning with the same ``--out`` resumes at the first unfinished run.
``--backend ray`` runs each RL / DPO run as a Ray task (a local Ray, or ``--ray-address`` to join a
cluster); the same seed gives the same summary on either backend.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer

from overopt.cli._app import app
from overopt.cli._output import print_json


@app.command("study")
def study_command(
    config: Annotated[str, typer.Argument(help="Study YAML: policy, proxy, gold, prompts, rl, dpo.")],
    out: Annotated[str, typer.Option("--out", help="Output directory (run store + summary.json).")] = "overopt-study",
    backend: Annotated[str, typer.Option("--backend", help="local | ray: where the RL / DPO runs run")] = "local",
    ray_address: Annotated[str | None, typer.Option("--ray-address", help="join this Ray cluster (auto, "
                                                    "HOST:PORT or ray://HOST:10001); without it a local Ray starts")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
) -> None:
    """Sweep KL coefficients / DPO betas against a proxy and measure KL, proxy and gold at checkpoints."""
    from overopt.errors import UnreliableWarning
    from overopt.study.backend import make_backend
    from overopt.study.config import load_config
    from overopt.study.runner import run_study_config

    cfg = load_config(config)
    runner = make_backend(backend, address=ray_address)  # a bad choice or an unreachable cluster: exit 2

    def progress(stage: str, event: str) -> None:
        if not as_json:
            print(f"{stage}: {event}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnreliableWarning)  # recorded per point in the summary instead
            summary = run_study_config(cfg, out, progress=progress, backend=runner)
    finally:
        runner.close()
    # the report comes after summary.json is safe on disk: a failure here loses nothing
    from overopt.report import write_report

    write_report(out, Path(out) / "report.html")
    if as_json:
        print_json(summary)
        return
    for kind in ("rl", "dpo"):
        for c in summary[kind]:
            fit = c.get("fit") or {}
            peak = f"gold peak at KL {fit['peak_kl']:.3g} nats" if fit.get("peak_kl") is not None else fit.get("status")
            print(f"{kind} {c['name']}: final KL {c['kl'][-1]:.3g} nats, proxy {c['proxy'][-1]}, "
                  f"gold {c['gold'][-1]}; {peak}")
    print(f"summary: {out}/summary.json, report: {out}/report.html")
