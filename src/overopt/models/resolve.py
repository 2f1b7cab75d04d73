"""Turn a reward SPEC string into a RewardModel (DESIGN.md: ``audit-rm --rm SPEC``).

SPEC is one of
- a directory holding a saved lab RM (``config.json`` with ``overopt_lab_rm``), e.g. a lab proxy's ``path``;
- a directory holding a Hugging Face sequence-classification model;
- ``lab:gold`` — the lab's gold utility (an alias of ``overopt.lab.gold:gold_reward``, imported by
  name so this layer does not depend on the lab);
- ``module:function`` — a Python callable; called with no arguments it must return a RewardModel,
  otherwise it is used as ``f(prompts, responses) -> scores``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from overopt.errors import InputError
from overopt.models.base import RewardModel

ALIASES = {"lab:gold": "overopt.lab.gold:gold_reward"}


class CallableReward:
    """A plain ``f(prompts, responses)`` as a RewardModel."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn

    def score(self, prompts: list[str], responses: list[str]) -> np.ndarray:
        return np.asarray(self.fn(prompts, responses), dtype=float)


def _from_callable(spec: str) -> RewardModel:
    module_name, _, attr = spec.partition(":")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise InputError(f"cannot import reward {spec!r}: {exc}") from exc
    if isinstance(obj, type) or (callable(obj) and not _takes_args(obj)):
        obj = obj()
    if isinstance(obj, RewardModel):
        return obj
    if callable(obj):
        return CallableReward(obj)
    raise InputError(f"{spec!r} is neither a RewardModel nor a callable")


def _takes_args(fn: Callable[..., Any]) -> bool:
    import inspect

    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
               for p in params)


def load_reward(spec: str) -> RewardModel:
    """A RewardModel for SPEC (see module docstring); bad specs raise InputError (exit 2 in the CLI)."""
    spec = ALIASES.get(spec, spec)
    path = Path(spec)
    if path.exists():
        from overopt.models.lab_rm import LabRewardModel, is_lab_rm

        if is_lab_rm(path):
            return LabRewardModel.from_pretrained(path)
        if (path / "config.json").is_file():
            from overopt.models.hf import HFRewardModel

            return HFRewardModel.from_pretrained(path)
        raise InputError(f"{spec} is neither a saved lab RM nor a Hugging Face model directory")
    if ":" in spec and not spec.startswith((".", "/")):
        return _from_callable(spec)
    raise InputError(f"reward spec {spec!r}: no such path; use a saved RM directory, lab:gold or module:function")
