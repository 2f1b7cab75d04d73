"""Turn a raw log table into one clean series per role (step, per-sequence KL, proxy, gold, ...).

Cleaning rules (each one leaves a warning in the result, never a silent change):
rows without a step are dropped; repeated steps (a resumed run appended to the same log) keep the
last value logged for each step; steps are sorted; rows without KL are dropped for the KL series
only; a per-token KL is multiplied by the mean response length (tokens) of the same step, and
when no length is logged the KL stays per token and the unit says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from overopt import metrics as M
from overopt.errors import InputError
from overopt.integrations.logs.schemas import SCHEMAS, Schema

ROLES = ("step", "kl", "length", "proxy", "gold", "gold_se", "entropy")


@dataclass
class Columns:
    """User-named columns; ``None`` means use the framework's names."""

    step: str | None = None
    kl: str | None = None
    kl_unit: str | None = None  # per_token | per_sequence
    length: str | None = None
    proxy: str | None = None
    gold: str | None = None
    gold_se: str | None = None
    entropy: str | None = None

    def named(self) -> set[str]:
        return {v for k, v in self.__dict__.items() if v is not None and k != "kl_unit"}


@dataclass
class MetricLog:
    """A cleaned log: ``frame`` has a ``step`` column and one column per role found."""

    format: str
    frame: pd.DataFrame
    kl_unit: str | None  # unit of frame["kl"] after conversion: per_sequence | per_token | None
    sources: dict[str, str]  # role -> column name in the original log
    warnings: list[str] = field(default_factory=list)

    def has(self, role: str) -> bool:
        return role in self.frame.columns and bool(self.frame[role].notna().any())


def _pick(raw: pd.DataFrame, candidates: tuple[str, ...]) -> str | None:
    for name in candidates:
        if name in raw.columns and raw[name].notna().any():
            return name
    return None


def _choose(raw: pd.DataFrame, schema: Schema, cols: Columns) -> tuple[dict[str, str], str | None]:
    sources: dict[str, str] = {}
    for role in ("step", "length", "proxy", "gold", "gold_se", "entropy"):
        user = getattr(cols, role)
        if user is not None:
            if user not in raw.columns:
                raise InputError(f"column {user!r} (--{role.replace('_', '-')}) is not in the log; "
                                 f"columns: {', '.join(map(str, list(raw.columns)[:25]))}")
            sources[role] = user
        else:
            found = _pick(raw, getattr(schema, role))
            if found is not None:
                sources[role] = found
    unit = None
    if cols.kl is not None:
        if cols.kl not in raw.columns:
            raise InputError(f"column {cols.kl!r} (--kl) is not in the log; "
                             f"columns: {', '.join(map(str, list(raw.columns)[:25]))}")
        sources["kl"] = cols.kl
        unit = dict(schema.kl).get(cols.kl, "unknown")
    else:
        for name, kl_unit in schema.kl:
            if name in raw.columns and raw[name].notna().any():
                sources["kl"], unit = name, kl_unit
                break
    if cols.kl_unit is not None:
        unit = cols.kl_unit
    return sources, unit


def _other_kl_columns(raw: pd.DataFrame, schema: Schema, chosen: str | None, notes: list[str]) -> None:
    """Say when the log holds KL in another unit too, and where the chosen column has gaps it fills."""
    if chosen is None:
        return
    have = raw[chosen].notna()
    for name, unit in schema.kl:
        if name == chosen or name not in raw.columns or not raw[name].notna().any():
            continue
        if chosen == M.KL:  # our callback logs exact per-sequence KL every k steps: a cadence, not a mix
            notes.append(f"used the callback's exact per-sequence {chosen!r}; the trainer's {name!r} ({unit}) "
                         "is not used")
            continue
        notes.append(f"the log also has KL column {name!r} ({unit}); analysed {chosen!r} only")
        fills = int((raw[name].notna() & ~have).sum())
        if fills:
            notes.append(f"{fills} row(s) have {name!r} but not {chosen!r}: mixed KL columns/units across the "
                         "run (two runs or framework versions in one log?); those rows have no KL here")


def _clean_steps(raw: pd.DataFrame, step_col: str | None, notes: list[str]) -> pd.DataFrame:
    frame = raw.copy()
    if step_col is None:
        if not len(frame.columns):
            raise InputError("found no step, KL, reward or held-out column in the log; name them with "
                             "--step, --kl, --proxy, --gold")
        notes.append("no step column found: using the row order as the step")
        frame["__step"] = np.arange(len(frame), dtype=float)
        step_col = "__step"
    missing = frame[step_col].isna()
    if missing.all():
        raise InputError(f"the step column {step_col!r} has no numeric values")
    if missing.any():
        notes.append(f"dropped {int(missing.sum())} row(s) without a step value")
        frame = frame[~missing]
    steps = frame[step_col].to_numpy()
    back = np.flatnonzero(np.diff(steps) < 0)
    if back.size:
        i = int(back[0])
        notes.append(f"steps go backwards ({steps[i]:g} then {steps[i + 1]:g}): a resumed or concatenated run? "
                     "kept the last value logged for each step")
    # one row per step: several log calls per step (train + eval rows) or a resumed run; last wins
    frame = frame.groupby(step_col, sort=True).last()
    frame.index.name = "step"
    return frame.reset_index()


def normalize(raw: pd.DataFrame, fmt: str, cols: Columns, notes: list[str]) -> MetricLog:
    schema = SCHEMAS[fmt]
    sources, unit = _choose(raw, schema, cols)
    _other_kl_columns(raw, schema, sources.get("kl"), notes)
    used = raw[list(dict.fromkeys(sources.values()))]  # only the analysed columns: no name clashes
    frame = _clean_steps(used, sources.get("step"), notes)
    out = pd.DataFrame({"step": frame["step"].to_numpy()})
    for role, col in sources.items():
        if role != "step":
            out[role] = frame[col].to_numpy(dtype=float)  # a column may serve two roles
    metric_cols = [c for c in out.columns if c != "step"]
    if not metric_cols:
        raise InputError(f"found no KL, reward or held-out column in the log (read as {fmt}); "
                         "name them with --kl, --proxy, --gold")
    empty = out[metric_cols].isna().all(axis=1)
    if empty.any():
        notes.append(f"dropped {int(empty.sum())} step(s) where every analysed metric is NaN or missing")
        out = out[~empty].reset_index(drop=True)
    if out.empty:
        raise InputError("no logged step has both a step value and a numeric KL, reward or held-out value")
    kl_unit = _convert_kl(out, unit, sources, notes)
    return MetricLog(fmt, out, kl_unit, sources, notes)


def _convert_kl(out: pd.DataFrame, unit: str | None, sources: dict[str, str], notes: list[str]) -> str | None:
    if "kl" not in out.columns:
        return None
    if unit == "unknown":
        notes.append(f"the unit of KL column {sources['kl']!r} is unknown: assumed per sequence (summed over "
                     "response tokens); pass --kl-unit per_token if it is a per-token mean")
        unit = "per_sequence"
    if unit == "per_token":
        if "length" in out.columns and out["length"].notna().any():
            length = out["length"].interpolate(limit_direction="both")
            out["kl_per_token"] = out["kl"]
            out["kl"] = out["kl"] * length
            notes.append(f"converted per-token KL {sources['kl']!r} to per-sequence nats with the mean response "
                         f"length {sources['length']!r} (tokens)")
            return "per_sequence"
        notes.append(f"KL {sources['kl']!r} is per token and the log has no response-length metric: it stays "
                     "per token, so the KL axis and any law fit are NOT comparable with per-sequence KL "
                     "(Gao et al. 2022); log the mean response length or pass --length")
        return "per_token"
    return unit
