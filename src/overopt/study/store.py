"""A crash-safe run store: one SQLite file per study directory.

Why SQLite rather than Parquet files with atomic renames: every finished point (a proxy training,
a best-of-n shard, one RL evaluation) is one row committed in its own transaction, so a `kill -9`
at any moment leaves either the whole point or nothing; readers never see a half-written file;
and "which points are done?" is one indexed query instead of a directory scan. Large arrays go to
artifact files written under a temporary name and renamed into place *before* the row that points
to them is committed, so a committed row never references a missing file.

The store remembers the hash of the study config it was created with; opening it with a different
config is refused (``ConfigError``), so results of two configs are never mixed.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from overopt.errors import ConfigError
from overopt.io.files import config_hash, safe_join

STORE_FILE = "store.sqlite"
# When set, every point start ("start KEY") and commit ("commit KEY") is appended to this file:
# fault-injection tests count from it that no finished point is ever computed twice.
LOG_ENV = "OVEROPT_STORE_LOG"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS points (
    key TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    seed INTEGER,
    config_hash TEXT NOT NULL,
    seconds REAL,
    created REAL NOT NULL
);
"""


def _safe_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", key).strip("._") or "point"


class RunStore:
    """Records of finished points, keyed by a string, under ``out_dir/store.sqlite``.

    Parameters
    ----------
    out_dir: the study's output directory (created if missing).
    config: the full study config; its hash is stored on first open and checked afterwards.
    """

    def __init__(self, out_dir: str | Path, *, config: dict[str, Any]) -> None:
        self.out_dir = Path(out_dir)
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise ConfigError(f"output path {self.out_dir} is a file; pass a directory with --out")
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            probe = self.out_dir / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise ConfigError(
                f"cannot write to output directory {self.out_dir} ({exc.strerror}); choose a writable --out"
            ) from exc
        self.config = config
        self.config_hash = config_hash(config)
        self._db = sqlite3.connect(self.out_dir / STORE_FILE, timeout=60, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._check_config()

    def _check_config(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key='config_hash'").fetchone()
        if row is None:
            with self._tx():
                self._db.execute("INSERT INTO meta VALUES ('config_hash', ?)", (self.config_hash,))
                self._db.execute(
                    "INSERT INTO meta VALUES ('config', ?)", (json.dumps(self.config, sort_keys=True, default=str),)
                )
        elif row[0] != self.config_hash:
            raise ConfigError(
                f"{self.out_dir} holds results of a different config (hash {row[0]}, now {self.config_hash}); "
                "use another --out directory, or delete that one to start over"
            )

    class _Tx:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __enter__(self) -> None:
            self.db.execute("BEGIN IMMEDIATE")

        def __exit__(self, exc_type: object, *_: object) -> None:
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")

    def _tx(self) -> RunStore._Tx:
        return RunStore._Tx(self._db)

    # ---- points -------------------------------------------------------------------------------
    def done(self, key: str) -> bool:
        return self._db.execute("SELECT 1 FROM points WHERE key=?", (key,)).fetchone() is not None

    def get(self, key: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT record FROM points WHERE key=?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, record: dict[str, Any], *, seed: int | None = None, seconds: float | None = None) -> None:
        """Commit one finished point atomically (replacing an earlier record of the same key)."""
        blob = json.dumps(record, allow_nan=True, default=_json_default)
        with self._tx():
            self._db.execute(
                "INSERT OR REPLACE INTO points VALUES (?, ?, ?, ?, ?, ?)",
                (key, blob, seed, self.config_hash, seconds, time.time()),
            )
        self.log_event("commit", key)

    @staticmethod
    def log_event(event: str, key: str) -> None:
        """Append ``EVENT KEY`` to ``$OVEROPT_STORE_LOG`` when it is set (a no-op otherwise)."""
        path = os.environ.get(LOG_ENV)
        if path:
            with open(path, "a") as fh:
                fh.write(f"{event} {key}\n")

    def keys(self, prefix: str = "") -> list[str]:
        rows = self._db.execute(
            "SELECT key FROM points WHERE key LIKE ? ESCAPE '\\' ORDER BY created, key",
            (prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",),
        )
        return [r[0] for r in rows]

    def items(self, prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
        for key in self.keys(prefix):
            rec = self.get(key)
            if rec is not None:
                yield key, rec

    def seconds(self, key: str) -> float | None:
        row = self._db.execute("SELECT seconds FROM points WHERE key=?", (key,)).fetchone()
        return None if row is None else row[0]

    def compute(
        self, key: str, fn: Callable[[], dict[str, Any]], *, seed: int | None = None
    ) -> tuple[dict[str, Any], bool]:
        """Return the stored record for ``key``, or run ``fn``, store and return it.

        The flag says whether ``fn`` ran (False = resumed from the store).
        """
        rec = self.get(key)
        if rec is not None:
            return rec, False
        self.log_event("start", key)
        start = time.perf_counter()
        rec = fn()
        self.put(key, rec, seed=seed, seconds=time.perf_counter() - start)
        return rec, True

    # ---- artifacts ----------------------------------------------------------------------------
    def artifact_dir(self, key: str) -> Path:
        """A directory for a point's files (models, arrays). Write files with ``atomic_write``."""
        path = safe_join(self.out_dir, Path("artifacts") / _safe_name(key))
        path.mkdir(parents=True, exist_ok=True)
        return path

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot store {type(obj).__name__} in a run record")
