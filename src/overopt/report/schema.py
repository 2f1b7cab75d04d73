"""The shape of ``summary.json`` that the report relies on, checked before anything is drawn.

A summary edited by hand, truncated or written by another tool fails here with one sentence naming
the first wrong field, instead of as a TypeError deep inside a figure. Unknown fields are allowed
(the schema grows); only the fields the report reads are typed.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from overopt.errors import InputError

Num = float | None


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Sample(_Open):
    response: str | None = None
    prompt: str | None = None


class _Curve(_Open):
    name: str
    kl: list[Num]
    gold: list[Num]
    proxy: list[Num] = []
    n: list[Num] | None = None
    step: list[Num] | None = None
    kind: str | None = None
    fit: dict[str, Any] | None = None
    rates: dict[str, list[Num]] | None = None
    samples: list[_Sample] | None = None


class _Proxy(_Open):
    name: str
    n_pairs: int | None = None
    size: str | None = None
    role: str | None = None


class _Summary(_Open):
    proxies: list[_Proxy] = []
    bon: list[_Curve] = []
    rl: list[_Curve] = []
    dpo: list[_Curve] = []
    config: dict[str, Any] = {}
    timings: dict[str, Num] = {}
    versions: dict[str, Any] = {}
    audit: list[dict[str, Any]] = []


def check_summary(summary: Any, source: str) -> None:
    """Raise ``InputError`` naming the first field of ``summary`` whose type the report cannot read."""
    if not isinstance(summary, dict):
        raise InputError(f"{source} does not hold a JSON object; rerun the study to rewrite it")
    try:
        _Summary.model_validate(summary)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise InputError(f"{source}: field {where!r} is malformed ({err['msg']}); rerun the study to rewrite it") from exc
    for key in ("bon", "rl", "dpo"):
        for curve in summary.get(key, []):
            lengths = {len(curve[k]) for k in ("kl", "gold", "proxy", "n", "step") if curve.get(k) is not None}
            if len(lengths) > 1:
                raise InputError(f"{source}: curve {curve['name']!r} in {key!r} has lists of different lengths; "
                                 "rerun the study to rewrite it")
