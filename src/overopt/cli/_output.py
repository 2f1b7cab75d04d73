"""Shared output helpers: ``--json`` objects and rich tables."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from overopt._version import SCHEMA_VERSION


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays and dataclasses; non-finite floats become ``None`` (valid JSON)."""
    import dataclasses

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    return obj


def print_json(payload: dict[str, Any]) -> None:
    """Print one JSON object on stdout, with ``schema_version`` first."""
    body = {"schema_version": SCHEMA_VERSION, **to_jsonable(payload)}
    print(json.dumps(body, allow_nan=False))
