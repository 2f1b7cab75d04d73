"""Validation of the audit in the lab: the labelers' own utility, and does the audit predict optimization?

- :class:`LabelerUtility` scores a response by what the lab's labelers prefer in expectation,
  gold + bias (``overopt.lab.labelers``; no noise, no temperature). Auditing it says which
  directions the labelers really pay for, net of gold's own penalties: the target a proxy learns.
- :func:`bon_habit_growth` is the best-of-n analogue of the issue's RL predictive check: sample N
  responses per held-out prompt from the reference policy, select by the proxy, and measure the
  exact expected habit counts of the best-of-n pick (Nakano et al. 2021 estimator,
  ``overopt.core.bon.bon_expectation``) at n = 1 and n = N. Growth is in units of the habit's SD
  over reference samples, so habits with different base rates are comparable.
- :func:`predictive_check` is the Spearman rank correlation, over directions, between the audit
  effect and that growth. (The RL version needs the RL stage; see the audit report.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# direction -> the lab feature (``overopt.lab.gold.features(...).counts`` key) that measures the habit
DIRECTION_HABITS = {
    "filler_relevant": "n_filler",
    "filler_irrelevant": "n_words",  # off-topic padding: the habit is plain length
    "opener_confident": "n_opener_confident",
    "opener_stock": "n_opener_ai",
    "hedge": "n_hedge",
    "apology": "n_apology",
    "agreement": "n_agreement",
    "refusal": "n_refusal",  # benign prompts only
    "rare_tokens": "n_rare",
    "repetition": "repeat",
}


class LabelerUtility:
    """The labelers' expected preference score gold + bias, as a RewardModel over lab prompts."""

    def __init__(self, labelers: Any) -> None:
        self.labelers = labelers

    def score(self, prompts: list[str], responses: list[str]) -> np.ndarray:
        from overopt.lab.gold import features, gold_of, spec_for
        from overopt.lab.labelers import bias

        parsed = (features(spec_for(p), r) for p, r in zip(prompts, responses, strict=True))
        return np.array([gold_of(f) + bias(f, self.labelers) for f in parsed], dtype=float)


def habit_matrix(prompts: list[str], responses: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(S, H) habit counts in ``DIRECTION_HABITS`` order and (S,) benign flags."""
    from overopt.lab.gold import features, spec_for

    rows, benign = [], []
    for p, r in zip(prompts, responses, strict=True):
        spec = spec_for(p)
        f = features(spec, r)
        counts = {**f.counts, "n_words": float(f.n_words)}
        rows.append([float(counts.get(k, 0.0)) for k in DIRECTION_HABITS.values()])
        benign.append(spec.kind != "harmful")
    return np.asarray(rows), np.asarray(benign)


@dataclass(frozen=True)
class HabitGrowth:
    directions: list[str]
    growth_sd: np.ndarray  # (H,) E[habit | BoN(n_max)] - E[habit | BoN(1)], habit SDs over reference samples
    n_max: int
    n_prompts: int


def bon_habit_growth(rm: Any, prompts: list[str], responses: list[str], prompt_ids: np.ndarray) -> HabitGrowth:
    """Habit growth when best-of-N selects by ``rm`` among each prompt's reference samples (N = min per prompt)."""
    from overopt.core.bon import bon_expectation

    scores = np.asarray(rm.score(prompts, responses), dtype=float)
    habits, benign = habit_matrix(prompts, responses)  # (S, H), (S,)
    ids = np.asarray(prompt_ids)
    groups = [np.flatnonzero(ids == g) for g in np.unique(ids)]
    n_max = min(len(g) for g in groups)
    refusal = list(DIRECTION_HABITS).index("refusal")
    deltas, weights = [], []
    for g in groups:
        g = g[:n_max]
        curve = bon_expectation(scores[g], habits[g], [1, n_max])  # (2, H)
        deltas.append(curve[1] - curve[0])
        w = np.ones(habits.shape[1])
        w[refusal] = float(benign[g[0]])  # refusing a harmful prompt is no habit
        weights.append(w)
    delta = np.average(np.asarray(deltas), axis=0, weights=np.asarray(weights))
    sd = habits.std(axis=0, ddof=1)
    growth = np.where(sd > 0, delta / np.where(sd > 0, sd, 1.0), 0.0)
    return HabitGrowth(list(DIRECTION_HABITS), growth, n_max, len(groups))


@dataclass(frozen=True)
class PredictiveCheck:
    spearman_rho: float
    p_value: float
    effects: dict[str, float]
    growth_sd: dict[str, float]


def predictive_check(audit: Any, growth: HabitGrowth) -> PredictiveCheck:
    """Spearman rho over directions between audit effects and best-of-n habit growth."""
    from scipy.stats import spearmanr

    by = audit.by_name()
    names = [n for n in growth.directions if n in by]
    eff = np.array([by[n].effect for n in names])
    gro = np.array([growth.growth_sd[growth.directions.index(n)] for n in names])
    res = spearmanr(eff, gro)
    return PredictiveCheck(float(res.statistic), float(res.pvalue), dict(zip(names, eff.tolist(), strict=True)),
                           dict(zip(names, gro.tolist(), strict=True)))
