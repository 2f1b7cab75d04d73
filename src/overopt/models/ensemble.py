"""Several reward models as one: mean, worst-case (WCO) or uncertainty-weighted (UWO) of z-scored members.

Coste et al. (2023): WCO = min over members, UWO = mean - lambda * variance over members
(``overopt.core.ensemble``). Members are first standardized with per-member ``(mean, std)`` measured
on reference samples, because Bradley–Terry scores are only defined up to a shift and seeds differ in
offset and scale (raw min / variance would mostly follow the member with the lowest offset).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from overopt.core.ensemble import ensemble_scores
from overopt.errors import InputError
from overopt.models.base import RewardModel


class EnsembleReward:
    """A RewardModel combining ``members`` (each z-scored by ``ref_stats[i] = (mean, std)``)."""

    def __init__(self, members: Sequence[RewardModel], *, method: str = "mean", uwo_lambda: float = 0.5,
                 ref_stats: Sequence[tuple[float, float]] | None = None) -> None:
        if len(members) < 2:
            raise InputError(f"an ensemble needs >= 2 members, got {len(members)}")
        if ref_stats is not None and len(ref_stats) != len(members):
            raise InputError("ref_stats needs one (mean, std) per member")
        if ref_stats is not None and any(s <= 0 for _, s in ref_stats):
            raise InputError("ref_stats std must be > 0")
        self.members = list(members)
        self.method = method
        self.uwo_lambda = uwo_lambda
        self.ref_stats = list(ref_stats) if ref_stats is not None else [(0.0, 1.0)] * len(members)

    @classmethod
    def calibrated(cls, members: Sequence[RewardModel], prompts: list[str], responses: list[str],
                   **kw: object) -> EnsembleReward:
        """Measure each member's (mean, std) on reference samples ``(prompts, responses)``."""
        stats = []
        for m in members:
            s = np.asarray(m.score(prompts, responses), dtype=float)
            stats.append((float(s.mean()), float(s.std()) or 1.0))
        return cls(members, ref_stats=stats, **kw)  # type: ignore[arg-type]

    def member_scores(self, prompts: list[str], responses: list[str]) -> np.ndarray:
        """(B, k) z-scored member scores."""
        cols = [(np.asarray(m.score(prompts, responses), dtype=float) - mu) / sd
                for m, (mu, sd) in zip(self.members, self.ref_stats, strict=True)]
        return np.stack(cols, axis=1)

    def score(self, prompts: list[str], responses: list[str]) -> np.ndarray:
        return ensemble_scores(self.member_scores(prompts, responses), self.method, uwo_lambda=self.uwo_lambda)
