"""Read training logs of TRL, OpenRLHF, veRL, W&B CSV exports and plain CSV/JSONL into one shape."""

from __future__ import annotations

from pathlib import Path

from overopt.errors import InputError
from overopt.integrations.logs.normalize import Columns, MetricLog, normalize
from overopt.integrations.logs.readers import read_raw
from overopt.integrations.logs.schemas import FORMATS, SCHEMAS, detect_format

__all__ = ["Columns", "FORMATS", "MetricLog", "SCHEMAS", "read_log"]


def read_log(path: str | Path, fmt: str = "auto", *, columns: Columns | None = None,
             run: str | None = None) -> MetricLog:
    """Read and clean a log. ``fmt`` is auto|trl|openrlhf|verl|csv; ``columns`` names columns by hand;
    ``run`` picks a run in a multi-run W&B export. Warnings about cleaning go to ``MetricLog.warnings``."""
    if fmt not in FORMATS:
        raise InputError(f"unknown log format {fmt!r}; use one of {', '.join(FORMATS)}")
    cols = columns or Columns()
    if cols.kl_unit not in (None, "per_token", "per_sequence"):
        raise InputError(f"--kl-unit must be per_token or per_sequence, got {cols.kl_unit!r}")
    wanted = set().union(*(s.roles() for s in SCHEMAS.values())) | cols.named()
    notes: list[str] = []
    raw, hint, _ = read_raw(path, wanted, run, notes, cols.named())
    detected = hint or detect_format(set(raw.columns))
    if fmt == "auto":
        fmt = detected
    elif detected not in (fmt, "csv"):
        notes.append(f"the log looks like {detected} but was read as {fmt} (--format)")
    return normalize(raw, fmt, cols, notes)
