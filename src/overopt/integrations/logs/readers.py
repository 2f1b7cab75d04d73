"""Load a training log into a raw table: TRL ``trainer_state.json``, JSONL metric logs, CSV
(including W&B exports, whose columns read ``<run> - <metric>`` with ``__MIN``/``__MAX`` twins).

Only the columns the analysis could use are kept, so a huge log costs memory per useful column,
not per logged metric. Every failure is an ``InputError`` saying what to fix.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from overopt.errors import InputError

MAX_BYTES = 4 * 1024**3  # refuse beyond this: export fewer metrics or a step range
_WANDB_COL = re.compile(r"^(?P<run>.+?) - (?P<metric>.+?)(?P<agg>__MIN|__MAX)?$")


def resolve_path(path: str | Path) -> Path:
    """A file, or a TRL output/checkpoint directory (its newest ``trainer_state.json``)."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p} does not exist; check the path")
    if p.is_dir():
        found = sorted(p.glob("trainer_state.json")) or sorted(
            p.glob("checkpoint-*/trainer_state.json"), key=lambda q: _ckpt_number(q.parent.name))
        if not found:
            raise InputError(f"{p} is a directory without trainer_state.json; pass the log file itself")
        p = found[-1]
    size = p.stat().st_size
    if size == 0:
        raise InputError(f"{p} is empty; it needs logged metrics (one row per logged step)")
    if size > MAX_BYTES:
        raise InputError(f"{p} is {size / 1024**3:.1f} GiB, over the 4 GiB limit; export only the KL, "
                         "reward, length and held-out columns")
    return p


def check_named(named: set[str], seen: set[str]) -> None:
    """User-named columns must exist; suggest the closest name."""
    for name in sorted(named - seen):
        close = difflib.get_close_matches(name, sorted(seen), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; columns: {', '.join(sorted(seen)[:25])}"
        raise InputError(f"column {name!r} is not in the log{hint}")


def _ckpt_number(name: str) -> int:
    tail = name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else -1


def _scalar(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):  # W&B/JSON sometimes stores "NaN" or numbers as text
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _rows_to_frame(rows: Iterable[dict], wanted: set[str] | None, source: str, seen: set[str],
                   named: set[str]) -> pd.DataFrame:
    keep: list[dict[str, float | None]] = []
    for row in rows:
        out = {}
        # veRL's file logger writes {"step": N, "data": {metric: value}}: nested metrics join the row
        items = [(k, v) for k, v in row.items() if not isinstance(v, dict)]
        items += [(k, v) for nested in row.values() if isinstance(nested, dict) for k, v in nested.items()]
        for key, value in items:
            key = str(key)
            seen.add(key)
            if wanted is None or key in wanted:
                out[key] = _scalar(value)
        if out:
            keep.append(out)
    check_named(named, seen)
    if not keep:
        known = f"; its keys: {', '.join(sorted(seen)[:25])} (name them with --kl/--gold)" if seen else ""
        raise InputError(f"{source} has no numeric metric rows the analysis can use{known}")
    return pd.DataFrame(keep)


def _read_json(p: Path, wanted: set[str] | None, seen: set[str], named: set[str]) -> tuple[pd.DataFrame, str | None]:
    try:
        with p.open(encoding="utf-8") as fh:
            obj = json.load(fh)
    except UnicodeDecodeError as exc:
        raise InputError(f"{p} is not UTF-8 text; pass the JSON log as written by the trainer") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{p} is not valid JSON ({exc.msg} at line {exc.lineno}); was it cut off?") from exc
    if isinstance(obj, dict) and isinstance(obj.get("log_history"), list):
        rows = (r for r in obj["log_history"] if isinstance(r, dict))
        return _rows_to_frame(rows, wanted, str(p), seen, named), "trl"
    if isinstance(obj, list) and all(isinstance(r, dict) for r in obj):
        return _rows_to_frame(obj, wanted, str(p), seen, named), None
    raise InputError(f"{p} is JSON but neither a trainer_state.json (with log_history) nor a list of rows")


def _read_jsonl(p: Path, wanted: set[str] | None, warnings: list[str], seen: set[str],
                named: set[str]) -> pd.DataFrame:
    bad = 0

    def rows() -> Iterable[dict]:
        nonlocal bad
        with p.open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    bad += 1
                    continue
                if isinstance(obj, dict):
                    yield obj
                else:
                    bad += 1

    frame = _rows_to_frame(rows(), wanted, str(p), seen, named)
    if bad:
        warnings.append(f"skipped {bad} line(s) of {p.name} that are not JSON objects (a cut-off last line?)")
    return frame


def _wandb_columns(columns: list[str], run: str | None, warnings: list[str]) -> dict[str, str]:
    """Map W&B export columns ``<run> - <metric>`` to ``<metric>`` (one run; __MIN/__MAX dropped)."""
    runs: dict[str, dict[str, str]] = {}
    for col in columns:
        m = _WANDB_COL.match(col)
        if m and not m.group("agg"):
            runs.setdefault(m.group("run"), {})[col] = m.group("metric")
    if not runs:
        return {}
    if run is None:
        if len(runs) > 1:
            warnings.append(f"W&B export has {len(runs)} runs ({', '.join(sorted(runs)[:5])}); analysed "
                            f"{sorted(runs)[0]!r}; pick one with --run")
        run = sorted(runs)[0]
    elif run not in runs:
        raise InputError(f"run {run!r} not in the W&B export; runs: {', '.join(sorted(runs)[:10])}")
    return runs[run]


def _read_csv(p: Path, wanted: set[str] | None, run: str | None, warnings: list[str],
              seen: set[str], named: set[str]) -> pd.DataFrame:
    sep = "\t" if p.suffix.lower() == ".tsv" else ","
    try:
        header = list(pd.read_csv(p, sep=sep, nrows=0, encoding="utf-8").columns)
    except UnicodeDecodeError as exc:
        raise InputError(f"{p} is not UTF-8 text; re-export the log as UTF-8 CSV") from exc
    except Exception as exc:  # pandas raises many types for malformed files
        raise InputError(f"could not read {p} as CSV: {str(exc).splitlines()[0] if str(exc) else exc!r}") from exc
    rename = _wandb_columns([str(c) for c in header], run, warnings)
    seen.update(rename.values() if rename else map(str, header))
    check_named(named, seen)
    if rename:
        step_cols = [c for c in header if c in ("Step", "_step", "step")]
        usecols = step_cols + list(rename)
    else:
        usecols = [c for c in header if wanted is None or str(c) in wanted]
    if not usecols:
        raise InputError(f"{p} has none of the metric columns the analysis knows; its columns: "
                         f"{', '.join(map(str, header[:25]))}; name them with --kl/--gold")
    try:
        frame = pd.read_csv(p, sep=sep, usecols=usecols, encoding="utf-8", low_memory=False)
    except Exception as exc:
        raise InputError(f"could not read {p} as CSV: {str(exc).splitlines()[0] if str(exc) else exc!r}") from exc
    frame.columns = [rename.get(str(c), str(c)) for c in frame.columns]
    return frame.apply(pd.to_numeric, errors="coerce")


def read_raw(path: str | Path, wanted: set[str] | None = None, run: str | None = None,
             warnings: list[str] | None = None, named: set[str] | None = None,
             ) -> tuple[pd.DataFrame, str | None, set[str]]:
    """Raw numeric table of a log, a format hint ("trl" for trainer_state.json) and every column seen."""
    notes = [] if warnings is None else warnings
    seen: set[str] = set()
    named = named or set()
    p = resolve_path(path)
    suffix = p.suffix.lower()
    if suffix == ".json":
        frame, hint = _read_json(p, wanted, seen, named)
    elif suffix in (".jsonl", ".ndjson", ".log"):
        frame, hint = _read_jsonl(p, wanted, notes, seen, named), None
    elif suffix in (".csv", ".tsv"):
        frame, hint = _read_csv(p, wanted, run, notes, seen, named), None
    else:
        raise InputError(f"cannot tell the log format of {p.name!r}; use trainer_state.json, .jsonl or .csv")
    if frame.empty or len(frame.columns) == 0:
        raise InputError(f"{p} has no rows the analysis can use")
    frame = frame.loc[:, ~frame.columns.duplicated()]
    frame = frame.apply(pd.to_numeric, errors="coerce").astype(float)
    frame = frame.replace([np.inf, -np.inf], np.nan)
    return frame, hint, seen
