"""Read a study's run directory for the report: ``summary.json``, the run store's facts, audit results.

The report never writes into the run directory it reads (except its own output file): the store is
opened read-only through SQLite's URI mode rather than through ``RunStore``, whose constructor
creates files and would refuse nothing here. Audit results are picked up from ``summary["audit"]``
or from ``RUN_DIR/audit*.json`` / ``RUN_DIR/audit/*.json`` (the output of
``overopt audit-rm --json > RUN_DIR/audit-NAME.json``).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from overopt.errors import InputError
from overopt.report.schema import check_summary
from overopt.study.store import STORE_FILE


@dataclass
class RunData:
    """Everything the report shows, as read from disk (no derived numbers yet)."""

    run_dir: Path
    summary: dict[str, Any]
    store: dict[str, Any] = field(default_factory=dict)  # config_hash, n_points, first/last point time
    audits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """``lab`` for ``overopt lab`` runs (best-of-n + proxies), ``study`` for ``overopt study``."""
        return "lab" if "bon" in self.summary or "proxies" in self.summary else "study"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text (byte {exc.start}); rerun the study to rewrite it") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}); rerun the study") from exc


def _store_facts(path: Path) -> dict[str, Any]:
    """Config hash, point count and the time span of the stored points (read-only; {} if unreadable)."""
    if not path.is_file():
        return {}
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            n, first, last, seconds = db.execute(
                "SELECT COUNT(*), MIN(created), MAX(created), SUM(seconds) FROM points").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return {}
    return {"config_hash": meta.get("config_hash"), "n_points": n, "first_point_unix": first,
            "last_point_unix": last, "stored_seconds": seconds}


def _audits(run_dir: Path, summary: dict[str, Any]) -> list[dict[str, Any]]:
    found = summary.get("audit") or []
    if isinstance(found, dict):
        found = [found]
    files = sorted(run_dir.glob("audit*.json")) + sorted((run_dir / "audit").glob("*.json"))
    out = [dict(a) for a in found if isinstance(a, dict)]
    for f in files:
        obj = _read_json(f)
        if isinstance(obj, dict) and isinstance(obj.get("directions"), list):
            out.append({"source_file": f.name, **obj})
    return out


def load_run(run_dir: str | Path) -> RunData:
    """Read ``run_dir``; a missing directory or summary is an ``InputError`` that says what to run."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"run directory {run_dir} does not exist; pass the --out of an 'overopt lab' or "
                         "'overopt study' run")
    path = run_dir / "summary.json"
    if not path.is_file():
        raise InputError(f"{run_dir} has no summary.json: the study has not finished; rerun it with the same "
                         "--out to complete it")
    summary = _read_json(path)
    check_summary(summary, str(path))
    return RunData(run_dir, summary, _store_facts(run_dir / STORE_FILE), _audits(run_dir, summary))
