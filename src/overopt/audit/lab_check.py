"""Validation of the audit in the lab: the labelers' own utility, and does the audit predict optimization?

- :class:`LabelerUtility` scores a response by what the lab's labelers prefer in expectation,
  gold + bias (``overopt.lab.labelers``; no noise, no temperature). Auditing it says which
  directions the labelers really pay for, net of gold's own penalties: the target a proxy learns.
- :func:`bon_habit_growth` is the best-of-n analogue of the issue's RL predictive check: sample N
  responses per held-out prompt from the reference policy, select by the proxy, and measure the
  exact expected habit rates of the best-of-n pick (Nakano et al. 2021 estimator,
  ``overopt.core.bon.bon_expectation``) at n = 1 and n = N. Growth is in units of the habit's SD
  over reference samples, so habits with different base rates are comparable.
- :func:`predictive_check` is the Spearman rank correlation, over directions, between the audit
  effect and that growth; :func:`predictive_from_summary` runs it on every best-of-n proxy curve and
  single-proxy RL run of a lab study, and ``benchmarks/audit.py --rl`` on fresh GRPO runs
  (``lab_habit_rates`` is the ``habits=`` function it gives ``overopt.study.rl.run_rl``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from overopt.errors import InputError
from overopt.io.files import safe_join

# direction -> the lab's habit column (``overopt.lab.bon_study.RATE_COLUMNS``) that measures it
DIRECTION_HABITS = {
    "filler_relevant": "filler",
    "filler_irrelevant": "n_words",  # off-topic padding: the habit is plain length
    "opener_confident": "opener_confident",
    "opener_stock": "opener_ai",
    "hedge": "hedge",
    "apology": "apology",
    "agreement": "agreement_false",  # false-premise prompts only (the lab's mask)
    "refusal": "refusal_benign",  # benign prompts only
    "rare_tokens": "rare",
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


# the lab parse's count behind each habit column; a habit is present when its count is > 0
_COUNT_OF = {"filler": "n_filler", "opener_confident": "n_opener_confident", "opener_ai": "n_opener_ai",
             "hedge": "n_hedge", "apology": "n_apology", "agreement_false": "n_agreement",
             "refusal_benign": "n_refusal", "rare": "n_rare", "repeat": "repeat"}


def _counted_on(col: str, kinds: np.ndarray) -> np.ndarray:
    # as the lab counts them: refusal is a failure only on benign prompts, agreement only on false premises
    from overopt.lab import world

    if col == "refusal_benign":
        return np.isin(kinds, world.BENIGN_KINDS)
    if col == "agreement_false":
        return kinds == "false"
    return np.ones(len(kinds), dtype=bool)


def _habit_table(prompts: list[str], responses: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(S, H) habit values in ``DIRECTION_HABITS`` column order (words; 0/1 indicators) and (S,) prompt kinds.

    Computed from the lab's own parse (``overopt.lab.gold.features``), with the column names and
    meaning of the lab's best-of-n habit rates, so curves in a lab ``summary.json`` are comparable.
    """
    from overopt.lab.gold import features, spec_for

    rows, kinds = [], []
    for p, r in zip(prompts, responses, strict=True):
        spec = spec_for(p)
        f = features(spec, r)
        rows.append([float(f.n_words) if col == "n_words" else float(f.counts.get(_COUNT_OF[col], 0) > 0)
                     for col in DIRECTION_HABITS.values()])
        kinds.append(spec.kind)
    return np.asarray(rows), np.asarray(kinds)


def habit_sd(rates: np.ndarray, kinds: np.ndarray) -> dict[str, float]:
    """SD of each habit column over reference samples, on the prompts where the lab counts it."""
    return {col: float(rates[_counted_on(col, kinds), j].std(ddof=1))
            for j, col in enumerate(DIRECTION_HABITS.values())}


@dataclass(frozen=True)
class HabitGrowth:
    directions: list[str]
    growth_sd: np.ndarray  # (H,) habit at the end minus at the start, in habit SDs over reference samples
    span: str  # what "start" and "end" are, e.g. "best-of-1 -> best-of-64" or "RL step 0 -> 60"


def growth_from_rates(rates_along: dict[str, list[float]], sd: dict[str, float], span: str,
                      key: str = "{}") -> HabitGrowth:
    """Growth of each mapped habit from the first to the last point of a curve's ``rates``."""
    names, growth = [], []
    for direction, col in DIRECTION_HABITS.items():
        series = rates_along.get(key.format(col))
        ends = (series[0], series[-1]) if series else (None, None)
        if sd.get(col, 0) > 0 and all(v is not None and np.isfinite(v) for v in ends):
            names.append(direction)
            growth.append((series[-1] - series[0]) / sd[col])
    return HabitGrowth(names, np.asarray(growth), span)


def bon_habit_growth(rm: Any, prompts: list[str], responses: list[str], prompt_ids: np.ndarray) -> HabitGrowth:
    """Habit growth when best-of-N selects by ``rm`` among each prompt's reference samples (N = min per prompt).

    Exact expected habit of the best-of-n pick (``overopt.core.bon.bon_expectation``) at n = 1 and N,
    averaged over the prompts where the habit counts.
    """
    from overopt.core.bon import bon_expectation

    rates, kinds = _habit_table(prompts, responses)  # (S, H), (S,)
    scores = np.asarray(rm.score(prompts, responses), dtype=float)
    ids = np.asarray(prompt_ids)
    groups = [np.flatnonzero(ids == g) for g in np.unique(ids)]
    n_max = min(len(g) for g in groups)
    groups = [g[:n_max] for g in groups]
    per = np.stack([bon_expectation(scores[g], rates[g], [1, n_max]) for g in groups])  # (P, 2, H)
    first = np.array([kinds[g[0]] for g in groups])
    along = {col: per[_counted_on(col, first), :, j].mean(axis=0).tolist()
             for j, col in enumerate(DIRECTION_HABITS.values())}
    return growth_from_rates(along, habit_sd(rates, kinds), f"best-of-1 -> best-of-{n_max}")


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
    if len(names) < 3:
        raise InputError(f"a rank correlation needs at least 3 directions with a habit, got {len(names)}")
    eff = np.array([by[n].effect for n in names])
    gro = np.array([growth.growth_sd[growth.directions.index(n)] for n in names])
    res = spearmanr(eff, gro)
    return PredictiveCheck(float(res.statistic), float(res.pvalue), dict(zip(names, eff.tolist(), strict=True)),
                           dict(zip(names, gro.tolist(), strict=True)))


def predictive_from_summary(run_dir: str | Path, *, per_prompt: int = 4, seed: int = 0) -> list[dict[str, Any]]:
    """Predictive check on a finished lab study (``overopt lab --out RUN_DIR``).

    For every best-of-n proxy curve and every RL run against a single proxy in ``summary.json``:
    audit that proxy on samples of the run's reference LM and correlate its direction effects with
    the habit growth along the curve (habit SDs from the study's best-of-n reference samples).
    """
    from overopt.audit.audit import audit_rm
    from overopt.audit.base import lab_base
    from overopt.models.lab_rm import LabRewardModel

    run = Path(run_dir)
    summary = _read_summary(run)
    # paths in summary.json are data: one leaving the run directory is refused (ConfigError, exit 2)
    try:
        ref_dir = safe_join(run, summary["reference"]["path"])
        paths = {p["name"]: safe_join(run, p["path"]) for p in summary["proxies"]}
    except (KeyError, TypeError):
        raise InputError(f"{run / 'summary.json'} lacks reference.path or proxies[].name/path; is it a lab "
                         "study's summary (overopt lab --out RUN_DIR)?") from None
    base = lab_base(reference_dir=ref_dir, per_prompt=per_prompt, seed=seed)
    ref = lab_base(reference_dir=ref_dir, per_prompt=16, seed=seed + 1)
    sd = habit_sd(*_habit_table(ref.prompts, ref.responses))
    audits: dict[str, Any] = {}

    def audit_of(name: str) -> Any:
        if name not in audits:
            audits[name] = audit_rm(LabRewardModel.from_pretrained(paths[name]), base, seed=seed)
        return audits[name]

    out = []
    for curve in summary.get("bon", []):
        if curve.get("kind") == "proxy" and curve["name"] in paths:
            g = growth_from_rates(curve["rates"], sd, f"best-of-1 -> best-of-{curve['n'][-1]}")
            out.append({"curve": f"bon/{curve['name']}", "proxy": curve["name"], "span": g.span,
                        **_check_dict(predictive_check(audit_of(curve["name"]), g))})
    for curve in summary.get("rl", []):
        reward = curve.get("reward")
        if isinstance(reward, str) and reward in paths:
            g = growth_from_rates(curve["rates"], sd, f"RL step {curve['step'][0]} -> {curve['step'][-1]}",
                                  key="lab/{}")
            out.append({"curve": f"rl/{curve['name']}", "proxy": reward, "span": g.span,
                        **_check_dict(predictive_check(audit_of(reward), g))})
    return out


def _read_summary(run: Path) -> dict[str, Any]:
    try:
        summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{run} has no summary.json; run `overopt lab --out {run}` first") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"cannot read {run / 'summary.json'}: {type(exc).__name__}") from None
    if not isinstance(summary, dict):
        raise InputError(f"{run / 'summary.json'} must hold a JSON object")
    return summary


def lab_habit_rates(prompts: list[str], responses: list[str]) -> dict[str, float]:
    """``lab/<habit>`` rates of responses to lab prompts (a ``habits=`` function for ``study.rl.run_rl``)."""
    rates, kinds = _habit_table(prompts, responses)
    return {f"lab/{col}": float(rates[_counted_on(col, kinds), j].mean())
            for j, col in enumerate(DIRECTION_HABITS.values())}


def _check_dict(c: PredictiveCheck) -> dict[str, Any]:
    return {"spearman_rho": c.spearman_rho, "p_value": c.p_value, "effects": c.effects, "growth_sd": c.growth_sd}
