"""``overopt fit``: fit Gao et al.'s best-of-n or RL law to a (KL, gold) curve.

    overopt fit curve.csv --form rl --json
    overopt bon scores.csv --gold gold --proxy proxy --json > bon.json && overopt fit bon.json --form bon

CURVE is a table (.csv, .jsonl, .parquet) with ``kl`` (nats per sequence) and ``gold`` columns
(optional ``proxy``, ``step``, ``gold_se``), or the JSON object ``overopt bon --json`` prints, whose
``kl_bound`` column is then used as KL and whose ``gold_ci`` gives ``gold_se`` (half-width / z) as weights. A fit without a peak, or with too few points, is a valid
answer: exit 0, status in the JSON, null peak fields and a warning line on stderr.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
from scipy import stats

from overopt.cli._app import app
from overopt.cli._output import print_json
from overopt.errors import InputError, UnreliableWarning
from overopt.io.tables import read_table, require_columns, require_finite

BON_KL_COLUMN = "kl_bound"


def _read_curve(path: str, fmt: str | None) -> pd.DataFrame:
    """A table, or a JSON object of equal-length column lists (``overopt bon --json`` output)."""
    p = Path(path)
    if (fmt or p.suffix.lower().lstrip(".")) == "json" and p.is_file() and p.stat().st_size > 0:
        try:
            obj = json.loads(p.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"could not read {p} as JSON: {exc}; check that the file is valid JSON") from exc
        if isinstance(obj, dict) and isinstance(obj.get("gold"), list):
            k = len(obj["gold"])
            cols = {key: v for key, v in obj.items() if isinstance(v, list) and len(v) == k and key != "warnings"}
            if k == 0:
                raise InputError(f"{p} has an empty 'gold' list; it needs at least one curve point")
            df = pd.DataFrame(cols)
            if "gold_se" not in df.columns and "gold_ci" in df.columns:
                se = _se_from_ci(obj["gold_ci"], obj.get("ci_level", 0.95), p)
                if np.all(np.isfinite(se) & (se > 0)):  # a zero-width CI cannot be a weight: fit unweighted
                    df["gold_se"] = se
            return df
    return read_table(path, fmt)


def _se_from_ci(gold_ci: list, level: float, p: Path) -> np.ndarray:
    """Standard errors from bootstrap CIs (half-width / z), so the fit weights points by their noise.

    Without this a best-of-n curve, smooth because every n reuses the same samples, gets intervals
    from its tiny residuals alone; with it the intervals reflect the prompts' sampling noise.
    """
    try:
        ci = np.asarray(gold_ci, dtype=float).reshape(-1, 2)
    except (TypeError, ValueError) as exc:
        raise InputError(f"'gold_ci' in {p} must be a list of [low, high] pairs; fix or drop it") from exc
    return (ci[:, 1] - ci[:, 0]) / (2 * stats.norm.ppf((1 + float(level)) / 2))


def _columns(df: pd.DataFrame, kl_col: str | None, gold_col: str, se_col: str | None, source: str):
    notes: list[str] = []
    if kl_col is None:
        kl_col = "kl"
        if "kl" not in df.columns and BON_KL_COLUMN in df.columns:
            kl_col = BON_KL_COLUMN
            notes.append("using 'kl_bound' (the best-of-n bound log n - (n-1)/n, an upper bound on the true KL) "
                         "as KL; pass --kl to use an exact KL column")
    if se_col is None and "gold_se" in df.columns:
        se_col = "gold_se"
        if BON_KL_COLUMN in df.columns:
            notes.append("weighting points by gold_se = (gold_ci width) / (2 z); the points still share samples, "
                         "so the intervals ignore their correlation across n")
    require_columns(df, [kl_col, gold_col] + ([se_col] if se_col else []), source)
    cols = require_finite(df, list(dict.fromkeys([kl_col, gold_col] + ([se_col] if se_col else []))), source)
    return cols[kl_col], cols[gold_col], (cols[se_col] if se_col else None), kl_col, notes


def _print_table(fit: Any, path: str) -> None:
    from rich.console import Console
    from rich.table import Table

    def num(x: Any) -> str:
        return "—" if x is None or x != x else f"{x:.4g}"

    def interval(pair: Any) -> str:
        return "—" if pair is None else f"[{num(pair[0])}, {num(pair[1]) if pair[1] != float('inf') else '∞'}]"

    table = Table(title=f"{fit.form} law fit of {path}: status {fit.status}, {fit.n_points} points")
    table.add_column("quantity")
    table.add_column("estimate", justify="right")
    table.add_column(f"{fit.ci_level:.0%} CI", justify="right")
    for name, value, ci in (("alpha", fit.alpha, fit.alpha_ci), ("beta", fit.beta, fit.beta_ci),
                            ("intercept" + (" (anchored)" if fit.anchored else ""), fit.intercept, None),
                            ("R^2", fit.r2, None), ("peak KL (nats)", fit.peak_kl, fit.peak_kl_ci),
                            ("peak gold", fit.peak_gold, fit.peak_gold_ci)):
        table.add_row(name, num(value), interval(ci))
    Console().print(table)
    if fit.extrapolated:
        Console().print("[yellow]the peak lies outside the observed KL range (extrapolated)[/yellow]")


@app.command("fit")
def fit_command(
    curve: Annotated[str, typer.Argument(help="Curve table with kl (nats) and gold columns, or bon --json output.")],
    form: Annotated[str, typer.Option("--form", help="Law: bon (best-of-n) or rl.")],
    kl_col: Annotated[str | None, typer.Option("--kl", help="KL column (nats per sequence).")] = None,
    gold_col: Annotated[str, typer.Option("--gold", help="Gold score column.")] = "gold",
    se_col: Annotated[str | None, typer.Option("--gold-se", help="Standard-error column (default: gold_se if present).")]
    = None,
    anchor: Annotated[str, typer.Option(help="auto (anchor at kl == 0 rows if any), yes or no.")] = "auto",
    fmt: Annotated[str | None, typer.Option("--format", help="csv, tsv, jsonl, json or parquet.")] = None,
    ci: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
    seed: Annotated[int, typer.Option(help="Seed of the peak bootstrap.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Fit R(d) = d(alpha - beta d) (bon) or d(alpha - beta log d) (rl), d = sqrt(KL), and report the peak."""
    from overopt.core.laws import fit_law

    if form not in ("bon", "rl"):
        raise InputError(f"unknown --form {form!r}; use bon (best-of-n) or rl")
    if anchor not in ("auto", "yes", "no"):
        raise InputError(f"unknown --anchor {anchor!r}; use auto, yes or no")
    df = _read_curve(curve, fmt)
    kl, gold, gold_se, kl_used, notes = _columns(df, kl_col, gold_col, se_col, curve)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnreliableWarning)
        fit = fit_law(kl, gold, form, anchored={"auto": None, "yes": True, "no": False}[anchor],
                      gold_se=gold_se, ci=ci, seed=seed)
    warned = notes + [str(w.message) for w in caught if issubclass(w.category, UnreliableWarning)]
    for msg in warned:
        print(f"overopt: warning: {msg}", file=sys.stderr)
    if not as_json:
        _print_table(fit, curve)
        return
    payload = fit.to_dict()
    payload["warnings"] = warned
    payload["kl_column"] = kl_used
    print_json(payload)
