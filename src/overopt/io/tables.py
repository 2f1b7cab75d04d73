"""Read score tables and curves from CSV, JSONL or Parquet, failing with one clear sentence."""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from overopt.errors import InputError

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
           ".parquet": "parquet", ".pq": "parquet"}


def _format_of(path: Path, fmt: str | None) -> str:
    if fmt:
        if fmt not in set(FORMATS.values()):
            raise InputError(f"unknown table format {fmt!r}; use one of csv, tsv, jsonl, json, parquet")
        return fmt
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(
            f"cannot tell the format of {path.name!r} from its extension; "
            "name it .csv, .jsonl or .parquet"
        )
    return FORMATS[suffix]


def read_table(path: str | Path, fmt: str | None = None) -> pd.DataFrame:
    """Read a table; any parse failure becomes an ``InputError`` naming the file and the fix."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p} does not exist; check the path")
    if p.is_dir():
        raise InputError(f"{p} is a directory; pass a table file (.csv, .jsonl or .parquet)")
    kind = _format_of(p, fmt)
    if p.stat().st_size == 0:
        raise InputError(f"{p} is empty; it needs a header row and at least one data row")
    try:
        if kind in ("csv", "tsv"):
            df = pd.read_csv(p, sep="," if kind == "csv" else "\t", encoding="utf-8")
        elif kind == "jsonl":
            df = pd.read_json(p, lines=True, encoding="utf-8")
        elif kind == "json":
            with p.open(encoding="utf-8") as fh:
                obj = json.load(fh)
            df = pd.DataFrame(obj if isinstance(obj, list) else obj.get("rows", obj))
        else:
            df = pd.read_parquet(p)
    except UnicodeDecodeError as exc:
        raise InputError(f"{p} is not valid UTF-8 text (byte {exc.start}); re-save it as UTF-8") from exc
    except InputError:
        raise
    except Exception as exc:  # pandas/pyarrow raise many types for malformed files
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"could not read {p} as {kind}: {msg}; check that the file is valid {kind}") from exc
    if len(df) == 0 or len(df.columns) == 0:
        raise InputError(f"{p} has no data rows; it needs a header row and at least one data row")
    df.columns = [str(c) for c in df.columns]
    return df


def require_columns(df: pd.DataFrame, columns: Sequence[str], source: str = "the table") -> None:
    """Raise ``InputError`` for the first missing column, suggesting the closest existing name."""
    have = list(df.columns)
    for col in columns:
        if col not in have:
            close = difflib.get_close_matches(col, have, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; available columns: {', '.join(have[:20])}"
            raise InputError(f"column {col!r} not found in {source}{hint}")


def require_finite(df: pd.DataFrame, columns: Sequence[str], source: str = "the table") -> dict[str, np.ndarray]:
    """Return the columns as float arrays; non-numeric values, NaN and inf raise ``InputError``."""
    out: dict[str, np.ndarray] = {}
    for col in columns:
        values = pd.to_numeric(df[col], errors="coerce")
        bad_text = values.isna() & df[col].notna()
        if bad_text.any():
            row = int(np.flatnonzero(bad_text.to_numpy())[0])
            raise InputError(
                f"column {col!r} in {source} is not numeric (row {row + 1}: {df[col].iloc[row]!r}); "
                "fix or drop that row"
            )
        arr = values.to_numpy(dtype=float)
        bad = ~np.isfinite(arr)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"column {col!r} in {source} has {int(bad.sum())} NaN/inf value(s) (first at row {row + 1}); "
                "drop or fill those rows"
            )
        out[col] = arr
    return out
