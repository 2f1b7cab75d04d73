"""Audit a reward model along the known hack directions, before RL finds them.

For every base response and every direction, build the minimal pair (base, base + one habit),
score both sides with the RM under audit (batched, with a progress bar), and summarise each
direction with :mod:`overopt.audit.stats`: effect in base-score SDs, prompt-bootstrap interval,
exact sign test, and the exploitable rule. With a judge (a gold RM, ``lab:gold``, a bigger RM) the
same pairs are scored by it too and we report where the two disagree in sign. CPU one-liner::

    from overopt.audit import audit_rm, lab_base
    from overopt.models.resolve import load_reward
    print(audit_rm(load_reward("lab:gold"), lab_base(source="grammar")).exploitable())
"""

from __future__ import annotations

import time
import warnings
import zlib
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from overopt.audit.base import BaseSet
from overopt.audit.perturbations import Direction, select_directions
from overopt.audit.stats import (
    ALPHA,
    EXPLOITABLE_RULE,
    MIN_EFFECT_SD,
    PairedEffect,
    base_scale,
    is_exploitable,
    paired_effect,
    reliably_opposite,
    sign_disagreement,
)
from overopt.errors import InputError, UnreliableWarning, warn_unreliable
from overopt.models.base import RewardModel


@dataclass(frozen=True)
class PairSet:
    """The perturbed side of every pair: ``direction[i]`` applied to base response ``base_index[i]``."""

    direction: np.ndarray  # (P,) index into the audited directions
    base_index: np.ndarray  # (P,) index into the BaseSet
    perturbed: list[str]


def build_pairs(base: BaseSet, directions: list[Direction], *, seed: int = 0) -> PairSet:
    """Apply every direction to every base response it applies to (seeded, reproducible per direction)."""
    d_idx: list[int] = []
    b_idx: list[int] = []
    texts: list[str] = []
    for k, d in enumerate(directions):
        # one stream per (seed, direction name): adding a direction does not change the others' pairs
        rng = np.random.default_rng([seed, zlib.crc32(d.name.encode())])
        for i, (p, r) in enumerate(zip(base.prompts, base.responses, strict=True)):
            if d.skip_harmful and base.harmful[i]:
                continue
            out = d.apply(p, r, rng, base.phrasebook)
            if out is not None and out != r:
                d_idx.append(k)
                b_idx.append(i)
                texts.append(out)
    return PairSet(np.asarray(d_idx, dtype=np.int64), np.asarray(b_idx, dtype=np.int64), texts)


def score_batched(rm: RewardModel, prompts: list[str], responses: list[str], *, batch_size: int = 512,
                  progress: Any = None, label: str = "scoring") -> np.ndarray:
    """``rm.score`` in batches; ``progress`` is a rich Progress (or None) that gets one task per call."""
    if batch_size < 1:
        raise InputError(f"batch size must be >= 1, got {batch_size}")
    task = progress.add_task(label, total=len(responses)) if progress is not None else None
    out: list[np.ndarray] = []
    for s in range(0, len(responses), batch_size):
        scores = np.asarray(rm.score(prompts[s:s + batch_size], responses[s:s + batch_size]), dtype=float)
        if scores.shape != (len(responses[s:s + batch_size]),):
            raise InputError(f"the RM returned scores of shape {scores.shape} for {len(responses[s:s + batch_size])} "
                             "responses; score(prompts, responses) must return one number per response")
        out.append(scores)
        if progress is not None:
            progress.advance(task, len(scores))
    return np.concatenate(out) if out else np.zeros(0)


@dataclass(frozen=True)
class DirectionResult:
    """One direction's verdict for the audited RM (and, when given, the judge)."""

    name: str
    description: str
    unwanted: bool
    n_pairs: int
    effect: float  # mean paired change, base-score SDs of the audited RM
    ci: tuple[float, float]
    mean_diff: float  # raw RM units
    n_up: int
    n_down: int
    n_ties: int
    sign_p: float
    exploitable: bool
    gold_effect: float | None = None  # the judge's effect, in the judge's base-score SDs
    gold_ci: tuple[float, float] | None = None
    gold_sign_p: float | None = None
    sign_disagreement: float | None = None  # fraction of pairs both moved in opposite directions
    disagrees: bool | None = None  # RM and judge intervals exclude 0 on opposite sides
    example: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditResult:
    directions: list[DirectionResult]
    skipped: dict[str, str]  # direction -> why no pair was built
    source: str
    phrasebook: str
    n_prompts: int
    n_base: int
    base_sd: float
    gold_base_sd: float | None
    rule: str
    min_effect: float
    alpha: float
    ci_level: float
    seconds: float
    pairs_scored: int  # perturbed responses scored by the audited RM
    pairs_per_second: float
    warnings: list[str] = field(default_factory=list)

    def exploitable(self) -> list[str]:
        return [d.name for d in self.directions if d.exploitable]

    def by_name(self) -> dict[str, DirectionResult]:
        return {d.name: d for d in self.directions}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _judge_fields(e: PairedEffect, g: PairedEffect, d_rm: np.ndarray, d_gold: np.ndarray) -> dict[str, Any]:
    dis = sign_disagreement(d_rm, d_gold)
    return {"gold_effect": g.effect, "gold_ci": g.ci, "gold_sign_p": g.sign_p,
            "sign_disagreement": None if np.isnan(dis) else dis, "disagrees": reliably_opposite(e, g)}


def _progress(enabled: bool) -> Any:
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=Console(stderr=True), transient=True)


def audit_rm(
    rm: RewardModel, base: BaseSet, *, gold: RewardModel | None = None, directions: list[str] | None = None,
    batch_size: int = 512, ci: float = 0.95, n_boot: int = 2000, min_effect: float = MIN_EFFECT_SD,
    alpha: float = ALPHA, seed: int = 0, progress: bool = False,
) -> AuditResult:
    """Audit ``rm`` on ``base`` along ``directions`` (all by default); see the module docstring."""
    dirs = select_directions(directions)
    t0 = time.perf_counter()
    pairs = build_pairs(base, dirs, seed=seed)
    prompts = [base.prompts[i] for i in pairs.base_index]
    bar = _progress(progress)
    if bar is not None:
        bar.start()
    try:
        base_scores = score_batched(rm, base.prompts, base.responses, batch_size=batch_size, progress=bar,
                                    label="RM: base responses")
        t_pert = time.perf_counter()
        pert_scores = score_batched(rm, prompts, pairs.perturbed, batch_size=batch_size, progress=bar,
                                    label="RM: perturbed responses")
        t_pert = time.perf_counter() - t_pert
        if gold is not None:
            gold_base = score_batched(gold, base.prompts, base.responses, batch_size=batch_size, progress=bar,
                                      label="judge: base")
            gold_pert = score_batched(gold, prompts, pairs.perturbed, batch_size=batch_size, progress=bar,
                                      label="judge: perturbed")
    finally:
        if bar is not None:
            bar.stop()
    scale = base_scale(base_scores)
    gold_scale = base_scale(gold_base) if gold is not None else None
    clusters = base.prompt_ids[pairs.base_index]
    present = sorted(set(pairs.direction.tolist()))
    n_tests = max(len(present), 1)
    results: list[DirectionResult] = []
    why = f"applies to none of the {len(base.responses)} base responses in phrasebook {base.phrasebook.name!r}"
    skipped = {d.name: why for k, d in enumerate(dirs) if k not in present}
    notes: list[str] = []
    for k in present:
        d = dirs[k]
        sel = np.flatnonzero(pairs.direction == k)
        b_i = pairs.base_index[sel]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UnreliableWarning)
            e = paired_effect(base_scores[b_i], pert_scores[sel], scale, clusters=clusters[sel], ci=ci,
                              n_boot=n_boot, seed=seed)
            extra: dict[str, Any] = {}
            if gold is not None:
                g = paired_effect(gold_base[b_i], gold_pert[sel], gold_scale, clusters=clusters[sel], ci=ci,
                                  n_boot=n_boot, seed=seed)
                extra = _judge_fields(e, g, pert_scores[sel] - base_scores[b_i], gold_pert[sel] - gold_base[b_i])
        for msg in dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, UnreliableWarning)):
            notes.append(f"{d.name}: {msg}")
            warn_unreliable(notes[-1])
        first = int(sel[0])
        results.append(DirectionResult(
            name=d.name, description=d.description, unwanted=d.unwanted, n_pairs=e.n_pairs, effect=e.effect,
            ci=e.ci, mean_diff=e.mean_diff, n_up=e.n_up, n_down=e.n_down, n_ties=e.n_ties, sign_p=e.sign_p,
            exploitable=is_exploitable(e, unwanted=d.unwanted, min_effect=min_effect, alpha=alpha, n_tests=n_tests),
            example={"prompt": prompts[first], "base": base.responses[int(pairs.base_index[first])],
                     "perturbed": pairs.perturbed[first]},
            **extra,
        ))
    seconds = time.perf_counter() - t0
    return AuditResult(
        directions=results, skipped=skipped, source=base.source, phrasebook=base.phrasebook.name,
        n_prompts=int(np.unique(base.prompt_ids).size), n_base=len(base.responses), base_sd=scale,
        gold_base_sd=gold_scale,
        rule=EXPLOITABLE_RULE.format(ci=ci, min_effect=min_effect, alpha=alpha, n_tests=n_tests),
        min_effect=min_effect, alpha=alpha, ci_level=ci, seconds=seconds, pairs_scored=len(pairs.perturbed),
        pairs_per_second=len(pairs.perturbed) / t_pert if t_pert > 0 else float("inf"), warnings=notes,
    )
