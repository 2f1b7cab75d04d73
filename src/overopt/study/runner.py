"""Run a ``StudyConfig`` (``overopt study CONFIG.yaml``): RL and DPO sweeps with outside evaluation.

Each run is one point ``rl/<name>`` / ``dpo/<name>`` in the run store of ``out_dir`` (and one point
per evaluation), so an interrupted sweep resumes at the first unfinished run. Writes
``out_dir/summary.json`` with ``schema_version, config, rl, dpo, timings``; every curve has
``kl, proxy, gold`` lists and a Gao RL-form ``fit`` (see ``overopt.study.curves``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from overopt._version import SCHEMA_VERSION
from overopt.io.files import atomic_write
from overopt.study.config import StudyConfig, load_prompts, load_reward_spec, resolve_model_dir, split_prompts
from overopt.study.curves import run_record, split_timing
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


def run_study_config(cfg: StudyConfig, out_dir: str | Path, *, progress: Progress | None = None) -> dict[str, Any]:
    """Resolve models and prompts (offline), run every planned run, write and return the summary."""
    import torch

    from overopt.models.hf import HFPolicy
    from overopt.models.resolve import CallableReward
    from overopt.study.dpo import proxy_pairs, run_dpo
    from overopt.study.rl import combine_rewards, run_rl

    progress = progress or (lambda stage, event: None)
    torch.set_num_threads(cfg.threads)
    policy_dir = resolve_model_dir(cfg.policy)
    proxies = [load_reward_spec(s) for s in cfg.proxies]
    gold = load_reward_spec(cfg.gold) if cfg.gold else None
    train, held = split_prompts(load_prompts(cfg.prompts), cfg.heldout_frac, cfg.seed)
    store = RunStore(out_dir, config=cfg.model_dump(mode="json"))
    reference = HFPolicy.from_pretrained(policy_dir)
    scales = _member_scales(reference, train, proxies, cfg.seed) if len(proxies) > 1 else None
    ensemble = combine_rewards(proxies, cfg.ensemble, cfg.uwo_lambda, scales=scales)
    proxy_rm = proxies[0] if len(proxies) == 1 else CallableReward(ensemble)
    out: dict[str, list[dict[str, Any]]] = {"rl": [], "dpo": []}
    timings: dict[str, float] = {}
    pairs: list[dict[str, str]] | None = None
    start = time.perf_counter()
    for kind, name, run_cfg in _plan(cfg):
        key = f"{kind}/{name}"
        run_cfg = run_cfg.model_copy(update={"seed": cfg.seed})

        def build(kind: str = kind, name: str = name, run_cfg: Any = run_cfg, key: str = key) -> dict[str, Any]:
            nonlocal pairs
            if kind == "rl":
                res = run_rl(run_cfg.model_copy(update={"ensemble": cfg.ensemble, "uwo_lambda": cfg.uwo_lambda}),
                             policy_path=policy_dir, train_prompts=train, rewards=proxies, reference=reference,
                             eval_prompts=held, gold=gold, store=store, key=key, threads=cfg.threads,
                             member_scales=scales)
                extra = {"algo": run_cfg.algo, "kl_coef": run_cfg.kl_coef,
                         "adaptive": None if run_cfg.adaptive is None else run_cfg.adaptive.model_dump()}
            else:
                if pairs is None:
                    pairs = proxy_pairs(reference, train, proxy_rm, pairs_per_prompt=cfg.dpo.pairs_per_prompt,
                                        max_new_tokens=run_cfg.max_new_tokens, seed=cfg.seed)
                res = run_dpo(run_cfg, policy_path=policy_dir, pairs=pairs, reference=reference, eval_prompts=held,
                              proxy=proxy_rm, gold=gold, store=store, key=key, threads=cfg.threads)
                extra = {"beta": run_cfg.beta, "loss": run_cfg.loss, "n_pairs": len(pairs)}
            return run_record(name, res, extra, cfg.seed)

        progress(key, "start")
        rec, ran = store.compute(key, build, seed=cfg.seed)
        timings[key] = float(store.seconds(key) or 0.0)
        progress(key, "done" if ran else "resumed")
        out[kind].append(split_timing(rec, key, timings))
    timings["total_this_run"] = time.perf_counter() - start
    summary = ({"schema_version": SCHEMA_VERSION, "config": cfg.model_dump(mode="json"),
                           "n_train_prompts": len(train), "n_heldout_prompts": len(held), **out, "timings": timings})
    atomic_write(Path(out_dir) / "summary.json", json.dumps(summary, indent=1, default=_json_default))
    store.close()
    return summary
