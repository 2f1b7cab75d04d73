"""RL and DPO stages of the lab study (``overopt lab``): KL-coefficient sweep, ensemble run, DPO beta sweep.

Each run is one resumable point ``rl/<name>`` / ``dpo/<name>`` of the lab's run store (plus one
point per evaluation, ``rl/<name>/eval/<step>``), so an interrupted study resumes at the first
unfinished run. Every curve carries ``kl, proxy, gold`` lists (KL per sequence, nats, k1 on fresh
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

from overopt.study.curves import run_record, split_timing
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
    ref_dir = str(study.out / study.store.get("reference")["path"])
    return ref_dir, [p.text for p in train], held_texts


def _members(study: Any, proxies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    e = study.cfg.ensemble
    first = f"{e.size}-{e.n_pairs or study.cfg.n_pairs[0]}"
    return [p for p in proxies if p["name"] == first] + [p for p in proxies if p["role"] == "ensemble_member"
                                                         and p["name"] != first]


def run_rl_stage(study: Any, proxies: list[dict[str, Any]], cfg: RLStageConfig | None = None) -> list[dict[str, Any]]:
    """RL curves of the lab study: one GRPO run per KL coefficient against the ensemble's first
    member, and one run per ensemble method at ``ensemble_coef``. ``study`` is a ``LabStudy``."""
    from overopt.lab.gold import GoldReward
    from overopt.models.hf import HFPolicy
    from overopt.models.lab_rm import LabRewardModel
    from overopt.study.rl import run_rl

    cfg = cfg or getattr(study.cfg, "rl", None) or rl_stage_config(study.cfg.preset)
    if not cfg.enabled:
        return []
    ref_dir, train, held = _lab_inputs(study)
    members = _members(study, proxies)
    rms = [LabRewardModel.from_pretrained(study.out / m["path"]) for m in members]
    runs: list[tuple[str, RLRunConfig, list[Any], dict[str, Any]]] = []
    for coef in cfg.kl_coefs:
        runs.append((f"{members[0]['name']}-kl{coef:g}", cfg.run.model_copy(update={"kl_coef": coef, "seed": study.cfg.seed}),
                     rms[:1], {"reward": members[0]["name"], "kl_coef": coef, "ensemble": None}))
    for method in cfg.ensemble_methods:
        runs.append((f"ensemble-{method}-kl{cfg.ensemble_coef:g}",
                     cfg.run.model_copy(update={"kl_coef": cfg.ensemble_coef, "ensemble": method, "seed": study.cfg.seed}),
                     rms, {"reward": [m["name"] for m in members], "kl_coef": cfg.ensemble_coef, "ensemble": method}))
    reference = HFPolicy.from_pretrained(ref_dir)
    out = []
    for name, run_cfg, rewards, extra in runs:
        def build(name: str = name, run_cfg: RLRunConfig = run_cfg, rewards: list[Any] = rewards,
                  extra: dict[str, Any] = extra) -> dict[str, Any]:
            scales = [(m["score_mean_ref"], m["score_std_ref"]) for m in members] if len(rewards) > 1 else None
            res = run_rl(run_cfg, policy_path=ref_dir, train_prompts=train, rewards=rewards, reference=reference,
                         eval_prompts=held, gold=GoldReward(), habits=lab_habits, store=study.store,
                         key=f"rl/{name}", eval_proxy=rms[0], detectors=False, threads=study.cfg.threads,
                         member_scales=scales)
            return run_record(name, res, {**extra, "algo": run_cfg.algo, "eval_proxy": members[0]["name"]},
                               study.cfg.seed)

        out.append(split_timing(study._stage(f"rl/{name}", build, f"RL {name}"), f"rl/{name}", study.timings))
    return out


def run_dpo_stage(study: Any, proxies: list[dict[str, Any]], cfg: RLStageConfig | None = None,
                  pool: Any = None) -> list[dict[str, Any]]:
    """DPO curves: one run per beta on pairs from the reference labelled by the ensemble's first
    member (``dpo_labels="proxy"``) or by the lab's labelers (``"labelers"``: the training pool)."""
    from overopt.lab.gold import GoldReward
    from overopt.models.hf import HFPolicy
    from overopt.models.lab_rm import LabRewardModel
    from overopt.study.dpo import pairs_from_labels, proxy_pairs, run_dpo

    cfg = cfg or getattr(study.cfg, "rl", None) or rl_stage_config(study.cfg.preset)
    if not cfg.enabled or not cfg.dpo_betas:
        return []
    ref_dir, train, held = _lab_inputs(study)
    member = _members(study, proxies)[0]
    rm = LabRewardModel.from_pretrained(study.out / member["path"])
    reference = HFPolicy.from_pretrained(ref_dir)
    if cfg.dpo_labels == "labelers":
        if pool is None:
            pool = study.pairs("train")
        pairs = pairs_from_labels(pool.prompts, pool.a, pool.b, pool.label)
    else:
        pairs = proxy_pairs(reference, train, rm, pairs_per_prompt=cfg.dpo_pairs_per_prompt,
                            max_new_tokens=cfg.dpo.max_new_tokens, seed=study.cfg.seed * 1000 + 7)
    out = []
    for beta in cfg.dpo_betas:
        name = f"{cfg.dpo_loss}-beta{beta:g}"
        run_cfg = cfg.dpo.model_copy(update={"beta": beta, "loss": cfg.dpo_loss, "seed": study.cfg.seed})

        def build(name: str = name, run_cfg: DPORunConfig = run_cfg) -> dict[str, Any]:
            res = run_dpo(run_cfg, policy_path=ref_dir, pairs=pairs, reference=reference, eval_prompts=held,
                          proxy=rm, gold=GoldReward(), habits=lab_habits, store=study.store, key=f"dpo/{name}",
                          detectors=False, threads=study.cfg.threads)
            return run_record(name, res, {"beta": run_cfg.beta, "loss": cfg.dpo_loss, "labels": cfg.dpo_labels,
                                           "label_rm": member["name"], "n_pairs": len(pairs)}, study.cfg.seed)

        out.append(split_timing(study._stage(f"dpo/{name}", build, f"DPO {name}"), f"dpo/{name}", study.timings))
    return out
