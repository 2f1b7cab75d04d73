"""Run a ``StudyConfig`` (``overopt study CONFIG.yaml``): RL and DPO sweeps with outside evaluation.

Each run is one point ``rl/<name>`` / ``dpo/<name>`` in the run store of ``out_dir`` (its evaluations
committed beside it as ``<key>/eval/<step>`` rows), run in process or as a Ray task
(``overopt.study.train_points``), so an interrupted sweep resumes at the first unfinished run.
Writes ``out_dir/summary.json`` with ``schema_version, versions, config, rl, dpo, timings``
(``versions``: ``overopt._version.package_versions()``); every curve has ``kl, proxy, gold`` lists and
a Gao RL-form ``fit`` (see ``overopt.study.curves``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from overopt._version import SCHEMA_VERSION, package_versions
from overopt.io.files import atomic_write
from overopt.study.config import StudyConfig, load_prompts, load_reward_spec, resolve_model_dir, split_prompts
from overopt.study.curves import split_timing
from overopt.study.store import RunStore, _json_default

Progress = Callable[[str, str], None]


def _plan(cfg: StudyConfig) -> list[tuple[str, str, Any]]:
    runs: list[tuple[str, str, Any]] = []
    for coef in cfg.rl.kl_coefs:
        runs.append(("rl", f"{cfg.rl.run.algo}-kl{coef:g}", cfg.rl.run.model_copy(update={"kl_coef": coef})))
    for a in cfg.rl.adaptive:
        runs.append(("rl", f"{cfg.rl.run.algo}-adaptive{a.target_kl_nats:g}",
                     cfg.rl.run.model_copy(update={"kl_coef": 0.0, "adaptive": a})))
    for beta in cfg.dpo.betas:
        runs.append(("dpo", f"{cfg.dpo.loss}-beta{beta:g}",
                     cfg.dpo.run.model_copy(update={"beta": beta, "loss": cfg.dpo.loss})))
    return runs


def _member_scales(reference: Any, prompts: list[str], rms: list[Any], seed: int) -> list[tuple[float, float]]:
    """Each RM's (mean, std) on reference samples (2 per prompt, up to 128 prompts): ensemble members
    are z-scored with these before mean / WCO / UWO (Bradley-Terry scores have arbitrary offsets)."""
    import numpy as np

    s = reference.sample(prompts[:128], 2, max_new_tokens=32, seed=seed + 1)
    out = []
    for rm in rms:
        x = np.asarray(rm.score(s.prompt_texts(), s.responses), dtype=float)
        out.append((float(x.mean()), float(x.std()) or 1.0))
    return out


def run_study_config(cfg: StudyConfig, out_dir: str | Path, *, progress: Progress | None = None,
                     backend: Any = None) -> dict[str, Any]:
    """Resolve models and prompts (offline), run every planned run on ``backend`` (default: in this
    process; a Ray backend runs each as a task), write and return the summary."""
    import torch

    from overopt.study.backend import LocalBackend, run_points
    from overopt.study.train_points import commit_evaluations

    backend = backend or LocalBackend()
    torch.set_num_threads(cfg.threads)
    policy_dir = resolve_model_dir(cfg.policy)
    proxies = [load_reward_spec(s) for s in cfg.proxies]  # bad specs fail here, before any run starts
    if cfg.gold:
        load_reward_spec(cfg.gold)
    train, held = split_prompts(load_prompts(cfg.prompts), cfg.heldout_frac, cfg.seed)
    store = RunStore(out_dir, config=cfg.model_dump(mode="json"))
    start = time.perf_counter()
    try:
        points = _points(cfg, store, backend, policy_dir, proxies, train, held)
        records = run_points(store, backend, points, progress=progress,
                             finish=lambda p, out: commit_evaluations(store, p.key, out, cfg.seed))
        out: dict[str, list[dict[str, Any]]] = {"rl": [], "dpo": []}
        timings: dict[str, float] = {}
        for p in points:
            timings[p.key] = float(store.seconds(p.key) or 0.0)
            out[p.key.split("/", 1)[0]].append(split_timing(records[p.key], p.key, timings))
        timings["total_this_run"] = time.perf_counter() - start
        summary = {"schema_version": SCHEMA_VERSION, "versions": package_versions(),
                   "config": cfg.model_dump(mode="json"), "n_train_prompts": len(train),
                   "n_heldout_prompts": len(held), **out, "timings": timings}
        atomic_write(Path(out_dir) / "summary.json", json.dumps(summary, indent=1, default=_json_default))
    finally:
        store.close()
    return summary


def _points(cfg: StudyConfig, store: RunStore, backend: Any, policy_dir: Path, proxies: list[Any],
            train: list[str], held: list[str]) -> list[Any]:
    """One backend point per planned run; the shared inputs (models by value on Ray, member scales,
    DPO pairs) are prepared only when some run is left to do."""
    from overopt.models.hf import HFPolicy
    from overopt.models.resolve import CallableReward
    from overopt.study.backend import Point
    from overopt.study.dpo import proxy_pairs
    from overopt.study.rl import combine_rewards
    from overopt.study.train_points import RunJob, dpo_point, model_source, resources, reward_source, rl_point

    plan = _plan(cfg)
    left = [kind for kind, name, _ in plan if not store.done(f"{kind}/{name}")]
    if not left:
        return [Point(f"{kind}/{name}", rl_point if kind == "rl" else dpo_point, label=f"{kind}/{name}")
                for kind, name, _ in plan]
    by_value = backend.name != "local"
    reference = HFPolicy.from_pretrained(policy_dir)
    scales = _member_scales(reference, train, proxies, cfg.seed) if len(proxies) > 1 else None
    pairs: list[dict[str, str]] = []
    if "dpo" in left:
        ensemble = combine_rewards(proxies, cfg.ensemble, cfg.uwo_lambda, scales=scales)
        proxy_rm = proxies[0] if len(proxies) == 1 else CallableReward(ensemble)
        pairs = proxy_pairs(reference, train, proxy_rm, pairs_per_prompt=cfg.dpo.pairs_per_prompt,
                            max_new_tokens=cfg.dpo.run.max_new_tokens, seed=cfg.seed)
    put = backend.put
    policy, pairs_ref = put(model_source(policy_dir, by_value=by_value)), put(pairs)
    rewards = put([reward_source(s, by_value=by_value) for s in cfg.proxies])
    gold = reward_source(cfg.gold, by_value=by_value) if cfg.gold else None
    points = []
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    for kind, name, run_cfg in plan:
        run_cfg = run_cfg.model_copy(update={"seed": cfg.seed})
        job = RunJob(name=name, seed=cfg.seed, eval_prompts=held, train_prompts=train, threads=cfg.threads,
                     member_scales=scales, ensemble=cfg.ensemble, uwo_lambda=cfg.uwo_lambda)
        if kind == "rl":
            job = replace(job, extra={"algo": run_cfg.algo, "kl_coef": run_cfg.kl_coef, "adaptive": None
                                      if run_cfg.adaptive is None else run_cfg.adaptive.model_dump()})
            run_cfg = run_cfg.model_copy(update={"ensemble": cfg.ensemble, "uwo_lambda": cfg.uwo_lambda})
            fn, args = rl_point, (run_cfg, policy, rewards, gold, job)
        else:
            job = replace(job, extra={"beta": run_cfg.beta, "loss": run_cfg.loss, "n_pairs": len(pairs)})
            fn, args = dpo_point, (run_cfg, policy, rewards, gold, pairs_ref, job)
        points.append(Point(f"{kind}/{name}", fn, args, **resources(run_cfg, cfg.threads), label=f"{kind}/{name}"))
    return points
