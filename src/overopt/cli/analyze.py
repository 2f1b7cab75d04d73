"""``overopt analyze``: is this run over-optimizing? Offline analysis of a training log.

    overopt analyze runs/grpo/trainer_state.json --json
    overopt analyze verl_metrics.jsonl --gold val/heldout_rm --json
    overopt analyze wandb_export.csv --format openrlhf --kl train/kl --kl-unit per_token

Reads TRL ``trainer_state.json`` (or an output directory), JSONL / CSV metric logs and W&B CSV
exports; knows TRL, OpenRLHF and veRL metric names. Without a gold / held-out column it reports
KL growth, length drift, entropy collapse and reward acceleration, and ``overoptimized: null``.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from overopt.cli._app import app
from overopt.cli._output import print_json


def _print_human(res: dict[str, Any], path: str) -> None:
    from rich.console import Console

    con = Console()
    verdict = {True: "[red]over-optimizing[/red]", False: "[green]no peak detected[/green]",
               None: "[yellow]cannot tell (no held-out signal)[/yellow]"}[res["overoptimized"]]
    con.print(f"{path} ({res['format']}, steps {res['first_step']}..{res['last_step']}): {verdict}")
    if res.get("alarm_step") is not None:
        con.print(f"  held-out score peaked; alarm raised at step {res['alarm_step']}")
    if res["peak"]:
        p = res["peak"]
        kl = "?" if p["kl"] is None else f"{p['kl']:.3g}"
        con.print(f"  best held-out: step {p['step']} (KL {kl} nats, gold {p['gold']:.4g}); "
                  f"recommended checkpoint: step {res['recommended_step']}")
    for name, sig in res.get("signals", {}).items():
        flag = [k for k in ("accelerating", "drifting", "collapsed") if sig.get(k)]
        con.print(f"  {name.replace('_', ' ')}: " + ", ".join(
            f"{k} {v:.3g}" for k, v in sig.items() if isinstance(v, float)) + (f"  [red]{flag[0]}[/red]" if flag else ""))


@app.command("analyze")
def analyze_command(
    log: Annotated[str, typer.Argument(help="trainer_state.json / output dir, JSONL or CSV log, W&B CSV export.")],
    fmt: Annotated[str, typer.Option("--format", help="auto, trl, openrlhf, verl or csv.")] = "auto",
    gold: Annotated[str | None, typer.Option("--gold", help="Gold / held-out reward column.")] = None,
    gold_se: Annotated[str | None, typer.Option("--gold-se", help="Standard-error column of gold.")] = None,
    kl: Annotated[str | None, typer.Option("--kl", help="KL column (default: the framework's).")] = None,
    kl_unit: Annotated[str | None, typer.Option("--kl-unit", help="per_token or per_sequence.")] = None,
    length: Annotated[str | None, typer.Option("--length", help="Mean response length column (tokens).")] = None,
    proxy: Annotated[str | None, typer.Option("--proxy", help="Training (proxy) reward column.")] = None,
    step: Annotated[str | None, typer.Option("--step", help="Step column.")] = None,
    entropy: Annotated[str | None, typer.Option("--entropy", help="Policy entropy column.")] = None,
    run: Annotated[str | None, typer.Option("--run", help="Run name in a multi-run W&B export.")] = None,
    alpha: Annotated[float, typer.Option(help="False-alarm level per evaluation of the peak rule.")] = 0.01,
    seed: Annotated[int, typer.Option(help="Seed of the law fit's bootstrap.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Decide whether gold / held-out reward has peaked, recommend a checkpoint, report early-warning signals."""
    from overopt.errors import InputError
    from overopt.integrations.analyze import analyze_log
    from overopt.integrations.logs import Columns

    if not 0 < alpha < 1:
        raise InputError(f"--alpha must be in (0, 1), got {alpha}")
    cols = Columns(step=step, kl=kl, kl_unit=kl_unit, length=length, proxy=proxy, gold=gold,
                   gold_se=gold_se, entropy=entropy)
    res = analyze_log(log, fmt, columns=cols, run=run, alpha=alpha, seed=seed)
    if as_json:
        print_json(res)
        return
    for msg in res["warnings"]:
        print(f"overopt: warning: {msg}", file=sys.stderr)
    _print_human(res, log)
