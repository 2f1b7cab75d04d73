"""``overopt lab``: run the built-in world end to end (reference LM, proxies, best-of-n) on a CPU.

    overopt lab --preset quick --out runs/lab-quick
    overopt lab --preset default --out runs/lab --seed 1 --json

Writes ``OUT/summary.json`` and ``OUT/report.html``. Rerunning with the same ``--out`` continues
after the last finished stage (the run store refuses an ``--out`` that holds another config).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from overopt.cli._app import app
from overopt.cli._output import print_json
from overopt.errors import ConfigError


def _progress(console: Any) -> Any:
    """A rich progress line per stage on stderr (stdout stays clean for --json)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                   transient=False)
    tasks: dict[str, Any] = {}

    def report(stage: str, event: str) -> None:
        if event == "start":
            tasks[stage] = bar.add_task(stage, total=1)
        else:
            suffix = " (resumed)" if event == "resumed" else ""
            bar.update(tasks[stage], completed=1, description=f"{stage}{suffix}")

    return bar, report


def _peak(curve: dict[str, Any]) -> tuple[int, float, float]:
    i = max(range(len(curve["gold"])), key=lambda k: curve["gold"][k])
    return curve["n"][i], curve["kl"][i], curve["gold"][i]


def _table(summary: dict[str, Any]) -> Any:
    from rich.table import Table

    t = Table(title=f"overopt lab ({summary['preset']}): best-of-n, gold relative to the reference")
    for col in ("selector", "params", "pairs", "acc gold", "best n", "KL (nats)", "gold at best", "gold at max n",
                "fit R²"):
        t.add_column(col, justify="left" if col == "selector" else "right")
    proxies = {p["name"]: p for p in summary["proxies"]}
    for c in summary["bon"]:
        p = proxies.get(c["name"], {})
        n, kl, g = _peak(c)
        r2 = c["fit"].get("r2")
        t.add_row(c["name"], str(p.get("n_params", "")), str(p.get("n_pairs", "")),
                  f"{p['heldout_acc_gold']:.3f}" if p else "", str(n), f"{kl:.2f}", f"{g:+.2f}",
                  f"{c['gold'][-1]:+.2f}", "" if r2 is None else f"{r2:.3f}")
    return t


@app.command("lab")
def lab_command(
    preset: Annotated[str, typer.Option(help="tiny | quick | default | full")] = "default",
    out: Annotated[Path, typer.Option(help="output directory (rerun to resume)")] = Path("overopt-lab"),
    seed: Annotated[int, typer.Option(help="seed of every random choice in the study")] = 0,
    n_samples: Annotated[int | None, typer.Option(help="override N, samples per prompt for best-of-n")] = None,
    threads: Annotated[int | None, typer.Option(help="torch threads (default from the preset)")] = None,
    backend: Annotated[str, typer.Option(help="local | ray: where proxy trainings, best-of-n shards and RL / DPO runs run")] = "local",
    ray_address: Annotated[str | None, typer.Option(help="join this Ray cluster (e.g. auto, ray://host:10001)")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Run the lab study and write summary.json and report.html."""
    from overopt.lab.presets import BonConfig, preset_config
    from overopt.study.backend import BACKENDS

    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; pass a directory")
    if backend not in BACKENDS or (ray_address and backend != "ray"):
        raise ConfigError(f"--backend must be one of {', '.join(BACKENDS)}; --ray-address needs --backend ray")
    overrides: dict[str, Any] = {}
    if threads is not None:
        overrides["threads"] = threads
    cfg = preset_config(preset, seed=seed, **overrides)
    if n_samples is not None:
        if n_samples < 2:
            raise ConfigError(f"--n-samples must be >= 2 for best-of-n, got {n_samples}")
        cfg = cfg.model_copy(update={"bon": BonConfig(**{**cfg.bon.model_dump(), "n_samples": n_samples})})

    import transformers
    from rich.console import Console

    from overopt.study.lab import LabStudy, lab_stages

    transformers.utils.logging.set_verbosity_error()  # keep the terminal to our progress and table
    transformers.utils.logging.disable_progress_bar()

    from overopt.study.backend import make_backend

    console = Console(stderr=True)
    start = time.perf_counter()
    study = LabStudy(cfg, out)  # validates --out (a file, unwritable) before any work
    study.backend = make_backend(backend, address=ray_address)
    bar, report = _progress(console)
    study.progress = report
    try:
        with bar:
            summary = study.run(lab_stages())
    finally:
        study.backend.close()
    # imported after summary.json is safe on disk: a failure here loses nothing
    from overopt.report import write_report

    write_report(out, out / "report.html")
    wall = time.perf_counter() - start
    if json_out:
        print_json({
            "preset": cfg.preset, "seed": cfg.seed, "out": str(out), "summary": str(out / "summary.json"),
            "report": str(out / "report.html"), "seconds": wall,
            "proxies": [{k: p[k] for k in ("name", "n_params", "n_pairs", "heldout_acc_labelers",
                                           "heldout_acc_gold", "path")} for p in summary["proxies"]],
            "bon": [{"name": c["name"], "peak_n": _peak(c)[0], "peak_kl": _peak(c)[1], "peak_gold": _peak(c)[2],
                     "gold_at_max_n": c["gold"][-1], "fit_r2": c["fit"].get("r2")} for c in summary["bon"]],
        })
    else:
        Console(width=max(120, Console().width)).print(_table(summary))
        Console().print(f"wrote {out / 'summary.json'} and {out / 'report.html'} in {wall:.0f} s")
