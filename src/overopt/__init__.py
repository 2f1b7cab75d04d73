"""overopt: see, forecast, detect and mitigate reward over-optimization.

The public façade. Importing ``overopt`` is cheap and never imports torch; heavy pieces load on
first use. Quick start (CPU, a minute)::

    overopt lab --preset quick --out runs/quick
"""

from __future__ import annotations

import importlib
from typing import Any

from overopt._version import SCHEMA_VERSION, __version__
from overopt.errors import (
    ConfigError,
    FitError,
    InputError,
    MissingDependencyError,
    OveroptError,
    UnreliableWarning,
)

# name -> module that defines it; resolved lazily so ``import overopt`` stays light.
_LAZY: dict[str, str] = {}


def _lazy(module: str, *names: str) -> None:
    for name in names:
        _LAZY[name] = module


_lazy("overopt.core.kl", "kl_estimate", "KLEstimate", "per_token_to_per_sequence",
      "bon_kl_bound", "bon_kl_beirami")
_lazy("overopt.core.bon", "bon_curve", "BonCurve")
_lazy("overopt.core.ensemble", "ensemble_scores")
_lazy("overopt.core.laws", "fit_law", "LawFit")
_lazy("overopt.core.forecast", "forecast_peak", "Forecast")

__all__ = [
    "__version__", "SCHEMA_VERSION",
    "OveroptError", "InputError", "ConfigError", "MissingDependencyError", "FitError",
    "UnreliableWarning",
    *sorted(_LAZY),
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'overopt' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
