"""Evaluation records: what the monitor consumes, one per evaluation of the policy.

A record carries the KL from the reference *with its unit and estimator* because frameworks
disagree: TRL GRPO/RLOO, OpenRLHF and veRL log per-token means, while Gao et al. (2022) state
their laws in per-sequence nats (sum over response tokens). The monitor works in per-sequence
nats; a per-token KL is converted with the mean response length (tokens) and refused without it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from overopt.errors import InputError, warn_unreliable

KL_UNITS = ("per_sequence", "per_token")
KL_ESTIMATORS = ("k1", "k2", "k3", "unknown")


def _finite_or_none(name: str, value: float | None, step: int) -> float | None:
    if value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"record at step {step}: {name} must be a number, got {value!r}") from exc
    if not math.isfinite(x):
        raise InputError(f"record at step {step}: {name} is {x}; drop the record or fill the value")
    return x


@dataclass(frozen=True)
class EvalRecord:
    """One evaluation of the policy at a training step.

    ``kl`` is KL(pi || pi_ref) in nats, ``kl_unit`` says whether it is summed over the response
    tokens (``per_sequence``) or averaged per token (``per_token``; then ``mean_length`` in tokens
    is required). ``gold`` is the gold or held-out reward mean and ``gold_se`` its standard error;
    ``rates`` maps ``overopt/*`` detector metric names to rates in [0, 1].
    """

    step: int
    kl: float
    kl_unit: str = "per_sequence"
    kl_estimator: str = "k1"
    kl_se: float | None = None
    mean_length: float | None = None
    proxy: float | None = None
    proxy_se: float | None = None
    gold: float | None = None
    gold_se: float | None = None
    rates: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            step = int(self.step)
        except (TypeError, ValueError) as exc:
            raise InputError(f"record step must be an integer, got {self.step!r}") from exc
        object.__setattr__(self, "step", step)
        if self.kl_unit not in KL_UNITS:
            raise InputError(f"record at step {step}: kl_unit {self.kl_unit!r} is not one of {KL_UNITS}")
        if self.kl_estimator not in KL_ESTIMATORS:
            raise InputError(
                f"record at step {step}: kl_estimator {self.kl_estimator!r} is not one of {KL_ESTIMATORS}"
            )
        for name in ("kl", "kl_se", "mean_length", "proxy", "proxy_se", "gold", "gold_se"):
            value = _finite_or_none(name, getattr(self, name), step)
            if name == "kl" and value is None:
                raise InputError(f"record at step {step}: kl is required")
            object.__setattr__(self, name, value)
        for name in ("kl_se", "proxy_se", "gold_se"):
            se = getattr(self, name)
            if se is not None and se < 0:
                raise InputError(f"record at step {step}: {name} is negative ({se}); a standard error is >= 0")
        if self.kl_unit == "per_token" and (self.mean_length is None or self.mean_length <= 0):
            raise InputError(
                f"record at step {step}: a per-token KL needs mean_length (response tokens > 0) "
                "to be converted to per-sequence nats"
            )
        rates = {str(k): _finite_or_none(k, v, step) for k, v in dict(self.rates).items()}
        object.__setattr__(self, "rates", {k: v for k, v in rates.items() if v is not None})

    @property
    def kl_nats(self) -> float:
        """Per-sequence KL in nats (a per-token mean times the mean response length)."""
        if self.kl_unit == "per_token":
            assert self.mean_length is not None
            return self.kl * self.mean_length
        return self.kl

    @property
    def kl_se_nats(self) -> float | None:
        if self.kl_se is None:
            return None
        return self.kl_se * self.mean_length if self.kl_unit == "per_token" and self.mean_length else self.kl_se

    @property
    def sqrt_kl(self) -> float:
        """d = sqrt(KL) of Gao et al. (2022); a negative KL estimate (k1 noise) counts as 0."""
        return math.sqrt(max(self.kl_nats, 0.0))


def check_order(records: list[EvalRecord], new: EvalRecord) -> None:
    """Steps must increase; a repeated or earlier step means two runs were mixed or a log restarted."""
    if records and new.step <= records[-1].step:
        raise InputError(
            f"record step {new.step} does not come after the previous step {records[-1].step}; "
            "records must arrive in increasing step order (was a run resumed into the same log?)"
        )
    if new.kl_nats < 0:
        warn_unreliable(
            f"step {new.step}: KL estimate {new.kl_nats:.4g} nats is negative ({new.kl_estimator} is unbiased "
            "but noisy; use more evaluation samples or k3); sqrt_kl uses 0"
        )
