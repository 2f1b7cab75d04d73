"""Small file utilities every layer may use: stable config hashes, atomic writes, contained paths."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from overopt.errors import ConfigError


def config_hash(config: dict[str, Any]) -> str:
    """Stable short hash of a JSON-serialisable config (key order does not matter)."""
    blob = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def safe_join(out_dir: str | Path, relpath: str | Path) -> Path:
    """``out_dir / relpath``, refusing (ConfigError) any path that would land outside ``out_dir``.

    Paths inside run records and configs are data: an absolute path, a ``..`` or a symlink that
    escapes the output directory would let a crafted ``summary.json`` or config read or overwrite
    files elsewhere. Symlinks are resolved before the check, so a link inside ``out_dir`` that
    points out of it is refused too.
    """
    rel = Path(relpath)
    text = str(relpath)
    if not text or "\x00" in text or rel.is_absolute() or rel.drive or rel.anchor:
        raise ConfigError(f"path {text!r} must be relative to the output directory {out_dir}")
    base = Path(out_dir).resolve()
    target = (base / rel).resolve()
    if target != base and base not in target.parents:
        raise ConfigError(f"path {text!r} leaves the output directory {out_dir}; refusing to use it")
    return Path(out_dir) / rel


def atomic_write(path: str | Path, data: bytes | str) -> None:
    """Write a file so a reader (or a crash) sees either the old content or the new, never half."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(tmp, mode) as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
