"""``overopt bon``: the exact best-of-n curve of a score table (one row per sample).

    overopt bon scores.csv --gold gold --proxy rm --json
    overopt bon scores.csv --gold gold --proxy rm1 --proxy rm2 --proxy rm3 --ensemble wco --n 1,2,4,8

Rows are samples with a prompt id column; best-of-n selects by the proxy (or the ensemble of several
proxies) and reports the expected proxy and gold of the pick, with bootstrap CIs over prompts, and the
KL bound log n - (n-1)/n (an upper bound; estimator "bound").
"""

from __future__ import annotations

import sys
import warnings
from typing import Annotated

import numpy as np
import typer

from overopt.cli._app import app
from overopt.cli._output import print_json
from overopt.errors import InputError, UnreliableWarning
from overopt.io.tables import read_table, require_columns, require_finite


def parse_n_grid(text: str | None, min_samples: int) -> list[int]:
    """``"1,2,4"`` -> [1, 2, 4]; None -> powers of 2 below ``min_samples`` plus ``min_samples`` itself."""
    if text is None:
        grid = [2**k for k in range(int(np.log2(min_samples)) + 1) if 2**k < min_samples]
        return [*grid, min_samples]
    try:
        ns = sorted({int(part) for part in text.replace(" ", "").split(",") if part})
    except ValueError:
        raise InputError(f"--n must be comma-separated integers such as 1,2,4,8; got {text!r}") from None
    if not ns or ns[0] < 1:
        raise InputError(f"--n needs integers >= 1 such as 1,2,4,8; got {text!r}")
    return ns


def _selection_score(columns: dict[str, np.ndarray], proxies: list[str], ensemble: str | None,
                     uwo_lambda: float) -> np.ndarray:
    if ensemble is None:
        if len(proxies) > 1:
            raise InputError(
                f"{len(proxies)} --proxy columns given; pass --ensemble mean|wco|uwo to combine them"
            )
        return columns[proxies[0]]
    from overopt.core.ensemble import ensemble_scores

    members = np.column_stack([columns[p] for p in proxies])  # (S, k)
    return ensemble_scores(members, ensemble, uwo_lambda)


def _print_table(curve, proxy_label: str, gold: str, warned: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"best-of-n: {curve.n_prompts} prompts, N >= {curve.samples_per_prompt} samples each")
    for name in ("n", "KL bound (nats)", f"proxy ({proxy_label})", f"gold ({gold})",
                 f"gold {curve.ci_level:.0%} CI"):
        table.add_column(name, justify="right")
    for k in range(curve.n.size):
        lo, hi = curve.gold_ci[k]
        table.add_row(str(int(curve.n[k])), f"{curve.kl_bound[k]:.3f}", f"{curve.proxy[k]:.4f}",
                      f"{curve.gold[k]:.4f}", f"[{lo:.4f}, {hi:.4f}]")
    Console().print(table)
    for msg in warned:
        print(f"overopt: warning: {msg}", file=sys.stderr)


@app.command("bon")
def bon_command(
    scores: Annotated[str, typer.Argument(help="Score table (.csv, .jsonl, .parquet): one row per sample.")],
    gold: Annotated[str, typer.Option("--gold", help="Column with the evaluation (gold) score.")],
    proxy: Annotated[list[str], typer.Option("--proxy", help="Selection score column; repeat for ensembles.")],
    ensemble: Annotated[str | None, typer.Option(help="Combine several --proxy: mean, wco or uwo.")] = None,
    uwo_lambda: Annotated[float, typer.Option("--uwo-lambda", help="UWO variance weight.")] = 0.5,
    n: Annotated[str | None, typer.Option("--n", help="Comma-separated n grid, e.g. 1,2,4,8.")] = None,
    prompt_col: Annotated[str, typer.Option("--prompt-col", help="Column naming each sample's prompt.")]
    = "prompt_id",
    fmt: Annotated[str | None, typer.Option("--format", help="csv, tsv, jsonl, json or parquet.")] = None,
    ci: Annotated[float, typer.Option(help="Confidence level of the bootstrap intervals.")] = 0.95,
    n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap resamples over prompts.")] = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Exact best-of-n curve (expected proxy and gold of the pick) from N scored samples per prompt."""
    from overopt.core.bon import bon_curve

    if ensemble is not None and ensemble not in ("mean", "wco", "uwo"):
        raise InputError(f"unknown --ensemble {ensemble!r}; use mean, wco or uwo")
    if n_boot < 1:
        raise InputError(f"--n-boot must be >= 1, got {n_boot}")
    df = read_table(scores, fmt)
    source = f"{scores}"
    require_columns(df, [prompt_col, gold, *proxy], source)
    missing = df[prompt_col].isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise InputError(f"column {prompt_col!r} in {source} is empty at row {row + 1}; give every sample a prompt id")
    columns = require_finite(df, list(dict.fromkeys([gold, *proxy])), source)
    select = _selection_score(columns, proxy, ensemble, uwo_lambda)
    prompt_ids = df[prompt_col].astype(str).to_numpy()
    sizes = np.unique(prompt_ids, return_counts=True)[1]
    ns = parse_n_grid(n, int(sizes.min()))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnreliableWarning)
        curve = bon_curve(select, columns[gold], prompt_ids, ns, ci=ci, n_boot=n_boot, seed=seed)
    warned = [str(w.message) for w in caught if issubclass(w.category, UnreliableWarning)]
    proxy_label = proxy[0] if ensemble is None else f"{ensemble}({', '.join(proxy)})"
    if not as_json:
        _print_table(curve, proxy_label, gold, warned)
        return
    for msg in warned:
        print(f"overopt: warning: {msg}", file=sys.stderr)
    print_json({
        "n": curve.n, "kl_bound": curve.kl_bound, "kl_estimator": curve.kl_estimator,
        "proxy": curve.proxy, "gold": curve.gold, "proxy_ci": curve.proxy_ci, "gold_ci": curve.gold_ci,
        "ci_level": curve.ci_level, "n_prompts": curve.n_prompts,
        "samples_per_prompt": curve.samples_per_prompt, "selection": proxy_label, "warnings": warned,
    })
