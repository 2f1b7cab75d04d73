"""Shared output helpers: ``--json`` objects and rich tables."""

from __future__ import annotations

import json
from typing import Any

from overopt._version import SCHEMA_VERSION
from overopt.io.jsonable import to_jsonable


def print_json(payload: dict[str, Any]) -> None:
    """Print one JSON object on stdout, with ``schema_version`` first."""
    body = {"schema_version": SCHEMA_VERSION, **to_jsonable(payload)}
    print(json.dumps(body, allow_nan=False))
