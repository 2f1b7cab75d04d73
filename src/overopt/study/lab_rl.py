"""RL and DPO stages of the lab study (``overopt lab``): KL-coefficient sweep, ensemble run, DPO beta sweep.

Each run is one resumable point ``rl/<name>`` / ``dpo/<name>`` of the lab's run store, run on the
study's backend (in process, or a Ray task: ``overopt.study.train_points``); its evaluations are
committed beside it as ``rl/<name>/eval/<step>`` rows when it finishes. An interrupted study
resumes at the first unfinished run (a run cut off mid-way starts again from step 0). Every curve carries ``kl, proxy, gold`` lists (KL per sequence, nats, k1 on fresh
held-out samples; gold and proxy relative to nothing — the step-0 point is the reference) and a
Gao RL-form fit (``overopt.core.laws.fit_law(form="rl")``) with its peak and interval.

The single proxy optimized is the ensemble's first member (smallest size and data budget, the
most exploitable), so "ensemble vs single member at equal steps" compares runs that differ only
in the reward.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from overopt.io.files import safe_join
from overopt.study.curves import split_timing
from overopt.study.dpo import DPORunConfig
from overopt.study.rl import RLRunConfig

# habit -> the lab parse count that marks it (``overopt.lab.gold.features``); n_words is the mean length
HABITS = {"opener_confident": "n_opener_confident", "opener_ai": "n_opener_ai", "hedge": "n_hedge",
          "apology": "n_apology", "closer": "n_closer", "refusal_benign": "n_refusal",
          "agreement_false": "n_agreement", "rare": "n_rare", "repeat": "repeat"}


class RLStageConfig(BaseModel):
    """The lab's RL / DPO sweep (a ``LabConfig`` field; presets pick sizes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    kl_coefs: tuple[float, ...] = (0.0, 0.05, 0.2, 1.0)
    ensemble_methods: tuple[Literal["mean", "wco", "uwo"], ...] = ("wco",)
    ensemble_coef: float = Field(0.05, ge=0)  # the single-member run at this coefficient is the comparison
    # 80 steps: the KL-0 run should cover KL of a few nats (best-of-n reaches log 1024 - 1 ~ 5.9); at
    # 60 steps it reached ~1.1 nats in the default world (seed 0), too short to show the fall after the peak
    run: RLRunConfig = RLRunConfig(steps=80, eval_every=8, eval_prompts=40)
    dpo_betas: tuple[float, ...] = (0.1, 0.01)
    dpo_loss: Literal["sigmoid", "ipo"] = "sigmoid"
    dpo_labels: Literal["proxy", "labelers"] = "proxy"
    dpo_pairs_per_prompt: int = Field(4, ge=1)
    dpo: DPORunConfig = DPORunConfig(steps=80, eval_every=8, eval_prompts=40)


def rl_stage_config(preset: str) -> RLStageConfig:
    """The RL / DPO sweep of a lab preset (used when the lab config carries no ``rl`` field).

    tiny: one 4-step run of each kind. quick: KL coefficients 0 and 1, a WCO ensemble at 0, one DPO
    beta, 40 steps.
    default: coefficients 0, 0.05, 0.2, 1 and a WCO ensemble at 0.05, DPO betas 0.1 and 0.01, 80 steps.
    full: coefficients up to 3, mean / WCO / UWO ensembles, four DPO betas, 150 steps, every held-out prompt.
    """
    if preset == "tiny":  # seconds: plumbing checks (resume, fault injection, backends), no phenomenon
        tiny = dict(steps=4, eval_every=2, eval_prompts=5, eval_samples_per_prompt=2, max_new_tokens=16)
        return RLStageConfig(kl_coefs=(0.0,), ensemble_methods=(), run=RLRunConfig(batch_prompts=2, **tiny),
                             dpo_betas=(0.1,), dpo=DPORunConfig(batch_size=4, **tiny))
    if preset == "quick":
        return RLStageConfig(kl_coefs=(0.0, 1.0), ensemble_coef=0.0,
                             run=RLRunConfig(steps=40, eval_every=8, eval_prompts=24), dpo_betas=(0.05,),
                             dpo=DPORunConfig(steps=40, eval_every=8, eval_prompts=24))
    if preset == "full":
        return RLStageConfig(kl_coefs=(0.0, 0.05, 0.2, 1.0, 3.0), ensemble_methods=("mean", "wco", "uwo"),
                             run=RLRunConfig(steps=150, eval_every=10, eval_prompts=200),
                             dpo_betas=(0.3, 0.1, 0.03, 0.01),
                             dpo=DPORunConfig(steps=150, eval_every=10, eval_prompts=200))
    return RLStageConfig()


def lab_habits(prompts: list[str], responses: list[str]) -> dict[str, float]:
    """Habit rates of responses to lab prompts (``lab/<habit>``: share of responses showing it), from
    the gold's own parse. Refusal counts only on benign prompts, agreement only on false premises."""
    from overopt.lab import world
    from overopt.lab.gold import features, spec_for

    specs = [spec_for(p) for p in prompts]
    parsed = [features(s, r) for s, r in zip(specs, responses, strict=True)]
    kinds = np.array([s.kind for s in specs])
    out = {"lab/n_words": float(np.mean([p.n_words for p in parsed]))}
    for habit, count in HABITS.items():
        mask = (np.isin(kinds, world.BENIGN_KINDS) if habit == "refusal_benign"
                else kinds == "false" if habit == "agreement_false" else np.ones(len(kinds), bool))
        flags = np.array([p.counts.get(count, 0) > 0 for p in parsed])
        if mask.any():  # no prompt of the kind: the rate is undefined and left out
            out[f"lab/{habit}"] = float(flags[mask].mean())
    return out


def _lab_inputs(study: Any) -> tuple[str, list[str], list[str]]:
    from overopt.lab import world

    train, held = world.split_prompts(study.cfg.reference.heldout_frac, study.cfg.reference.seed)
    # round-robin over kinds (seeded order within each), so any prefix of the list covers every kind
    rng = np.random.default_rng(study.cfg.seed)
    groups = [[p.text for p in held if p.kind == k] for k in world.KINDS]
    groups = [[g[i] for i in rng.permutation(len(g))] for g in groups]
    held_texts = [g[i] for i in range(max(map(len, groups))) for g in groups if i < len(g)]
    ref_dir = str(safe_join(study.out, study.store.get("reference")["path"]))
    return ref_dir, [p.text for p in train], held_texts


def _members(study: Any, proxies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    e = study.cfg.ensemble
    first = f"{e.size}-{e.n_pairs or study.cfg.n_pairs[0]}"
    return [p for p in proxies if p["name"] == first] + [p for p in proxies if p["role"] == "ensemble_member"
                                                         and p["name"] != first]


def _run_points(study: Any, points: list[Any]) -> list[dict[str, Any]]:
    """Run ``points`` on the study's backend (stored ones resumed); their records in order, timings split off."""
    from overopt.study.backend import run_points
    from overopt.study.train_points import commit_evaluations

    seed = study.cfg.seed
    records = run_points(study.store, study.backend, points, progress=study.progress,
                         finish=lambda p, out: commit_evaluations(study.store, p.key, out, seed))
    for p in points:
        study.timings[p.key] = float(study.store.seconds(p.key) or 0.0)
    return [split_timing(records[p.key], p.key, study.timings) for p in points]


def _sources(study: Any, ref_dir: str, members: list[dict[str, Any]]) -> tuple[Any, list[Any]]:
    """The reference and the members' RMs as the backend's points take them (files by value on Ray)."""
    from overopt.study.train_points import model_source

    by_value = study.backend.name != "local"
    policy = study.backend.put(model_source(ref_dir, by_value=by_value))
    return policy, [model_source(safe_join(study.out, m["path"]), by_value=by_value) for m in members]


def run_rl_stage(study: Any, proxies: list[dict[str, Any]], cfg: RLStageConfig | None = None) -> list[dict[str, Any]]:
    """RL curves of the lab study: one GRPO run per KL coefficient against the ensemble's first
    member, and one run per ensemble method at ``ensemble_coef``. ``study`` is a ``LabStudy``; each
    run is one point on ``study.backend`` (a Ray task on the ray backend)."""
    from overopt.study.backend import Point
    from overopt.study.train_points import ModelSource, RunJob, resources, rl_point

    cfg = cfg or getattr(study.cfg, "rl", None) or rl_stage_config(study.cfg.preset)
    if not cfg.enabled:
        return []
    ref_dir, train, held = _lab_inputs(study)
    members = _members(study, proxies)
    runs: list[tuple[str, RLRunConfig, bool, dict[str, Any]]] = []
    for coef in cfg.kl_coefs:
        runs.append((f"{members[0]['name']}-kl{coef:g}", cfg.run.model_copy(update={"kl_coef": coef, "seed": study.cfg.seed}),
                     False, {"reward": members[0]["name"], "kl_coef": coef, "ensemble": None}))
    for method in cfg.ensemble_methods:
        runs.append((f"ensemble-{method}-kl{cfg.ensemble_coef:g}",
                     cfg.run.model_copy(update={"kl_coef": cfg.ensemble_coef, "ensemble": method, "seed": study.cfg.seed}),
                     True, {"reward": [m["name"] for m in members], "kl_coef": cfg.ensemble_coef, "ensemble": method}))
    todo = any(not study.store.done(f"rl/{name}") for name, *_ in runs)
    policy, rms = _sources(study, ref_dir, members) if todo else (None, [])
    one, all_ = (study.backend.put(rms[:1]), study.backend.put(rms)) if todo else (None, None)
    scales = [(m["score_mean_ref"], m["score_std_ref"]) for m in members]
    points = []
    for name, run_cfg, ensemble, extra in runs:
        job = RunJob(name=name, seed=study.cfg.seed, eval_prompts=held, train_prompts=train,
                     extra={**extra, "algo": run_cfg.algo, "eval_proxy": members[0]["name"]}, habits=lab_habits,
                     detectors=False, threads=study.cfg.threads, member_scales=scales if ensemble else None,
                     eval_proxy=0)
        args = (run_cfg, policy, all_ if ensemble else one, ModelSource(spec="lab:gold"), job) if todo else ()
        points.append(Point(f"rl/{name}", rl_point, args, **resources(run_cfg, study.cfg.threads), label=f"RL {name}"))
    return _run_points(study, points)


def run_dpo_stage(study: Any, proxies: list[dict[str, Any]], cfg: RLStageConfig | None = None,
                  pool: Any = None) -> list[dict[str, Any]]:
    """DPO curves: one run per beta on pairs from the reference labelled by the ensemble's first
    member (``dpo_labels="proxy"``) or by the lab's labelers (``"labelers"``: the training pool).
    Each run is one point on ``study.backend``; the pairs are sampled here, once, when a run is left."""
    from overopt.study.backend import Point
    from overopt.study.dpo import pairs_from_labels, proxy_pairs
    from overopt.study.train_points import ModelSource, RunJob, dpo_point, resources

    cfg = cfg or getattr(study.cfg, "rl", None) or rl_stage_config(study.cfg.preset)
    if not cfg.enabled or not cfg.dpo_betas:
        return []
    ref_dir, train, held = _lab_inputs(study)
    member = _members(study, proxies)[0]
    names = [f"{cfg.dpo_loss}-beta{beta:g}" for beta in cfg.dpo_betas]
    todo = any(not study.store.done(f"dpo/{name}") for name in names)
    pairs: list[dict[str, str]] = []
    if todo:
        if cfg.dpo_labels == "labelers":
            pool = pool if pool is not None else study.pairs("train")
            pairs = pairs_from_labels(pool.prompts, pool.a, pool.b, pool.label)
        else:
            from overopt.models.hf import HFPolicy
            from overopt.models.lab_rm import LabRewardModel

            rm = LabRewardModel.from_pretrained(safe_join(study.out, member["path"]))
            pairs = proxy_pairs(HFPolicy.from_pretrained(ref_dir), train, rm, pairs_per_prompt=cfg.dpo_pairs_per_prompt,
                                max_new_tokens=cfg.dpo.max_new_tokens, seed=study.cfg.seed * 1000 + 7)
    policy, rms = _sources(study, ref_dir, [member]) if todo else (None, [])
    shared = (study.backend.put(rms), study.backend.put(pairs)) if todo else (None, None)
    points = []
    for beta, name in zip(cfg.dpo_betas, names, strict=True):
        run_cfg = cfg.dpo.model_copy(update={"beta": beta, "loss": cfg.dpo_loss, "seed": study.cfg.seed})
        job = RunJob(name=name, seed=study.cfg.seed, eval_prompts=held, habits=lab_habits, detectors=False,
                     threads=study.cfg.threads, extra={"beta": beta, "loss": cfg.dpo_loss, "labels": cfg.dpo_labels,
                                                       "label_rm": member["name"], "n_pairs": len(pairs)})
        args = (run_cfg, policy, shared[0], ModelSource(spec="lab:gold"), shared[1], job) if todo else ()
        points.append(Point(f"dpo/{name}", dpo_point, args, **resources(run_cfg, study.cfg.threads),
                            label=f"DPO {name}"))
    return _run_points(study, points)
