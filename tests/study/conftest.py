"""One trained lab world and the RL runs on it, shared by the study tests (session scope).

The world is the quick lab preset's (``preset_config("quick")``): its reference LM (cached by config
hash, so the lab tests of the same session train it once), labeler pairs over reference samples,
and three proxies of the preset's ensemble size (``s``: dim 4, hidden 8) trained on its smallest
data budget (250 pairs) from seeds 0, 1, 2 — member 0 is the single proxy optimized, as in the
lab's RL stage.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

THREADS = 2
STEPS = 60  # in the quick world the KL-0 run reaches ~2 nats in 60 steps (the default preset uses 80)


@dataclass
class LabWorld:
    ref_dir: str
    train: list[str]
    held: list[str]
    proxies: list[Any]
    gold: Any
    reference: Any
    scales: list[tuple[float, float]]  # each proxy's (mean, std) on reference samples, as the lab keeps


@pytest.fixture(scope="session")
def lab_world() -> LabWorld:
    import torch

    from overopt.lab import world
    from overopt.lab.gold import GoldReward
    from overopt.lab.pairs import sample_pairs
    from overopt.lab.presets import preset_config
    from overopt.lab.proxies import train_proxy
    from overopt.lab.reference import reference_path
    from overopt.models.hf import HFPolicy

    torch.set_num_threads(THREADS)
    cfg = preset_config("quick", seed=0)
    ref_dir = str(reference_path(cfg.reference))
    train, held = world.split_prompts(cfg.reference.heldout_frac, cfg.reference.seed)
    reference = HFPolicy.from_pretrained(ref_dir)
    pool = sample_pairs(reference, train, cfg.n_pairs[0], cfg.labelers, max_new_tokens=cfg.pair_max_new_tokens, seed=1)
    size = next(s for s in cfg.sizes if s.name == cfg.ensemble.size)
    proxies = [train_proxy(pool, world.vocabulary(), size, cfg.train, seed=k) for k in range(3)]
    ref_scores = [m.score(pool.prompts * 2, pool.a + pool.b) for m in proxies]
    scales = [(float(np.mean(x)), float(np.std(x))) for x in ref_scores]
    order = np.random.default_rng(0).permutation(len(held))
    return LabWorld(ref_dir, [p.text for p in train], [held[i].text for i in order], proxies, GoldReward(),
                    reference, scales)


def _run(w: LabWorld, tmp: Path, name: str, eval_prompts: int = 40, eval_n: int = 4, **cfg: Any) -> Any:
    from overopt.study.lab_rl import lab_habits
    from overopt.study.rl import RLRunConfig, run_rl

    members = w.proxies if cfg.get("ensemble") else w.proxies[:1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_rl(RLRunConfig(steps=STEPS, eval_every=6, eval_prompts=eval_prompts, eval_samples_per_prompt=eval_n,
                                 **cfg), policy_path=w.ref_dir,
                     train_prompts=w.train, rewards=members, reference=w.reference, eval_prompts=w.held,
                     gold=w.gold, habits=lab_habits, eval_proxy=w.proxies[0], detectors=False,
                     save_to=tmp / name, threads=THREADS, member_scales=w.scales if cfg.get("ensemble") else None)
    res.final_dir = tmp / name
    return res


@pytest.fixture(scope="session")
def run_kl0(lab_world, tmp_path_factory):
    # every held-out prompt x 8 samples per point: the law fit needs gold SEs well below the curve's range
    return _run(lab_world, tmp_path_factory.mktemp("rl"), "kl0", eval_prompts=len(lab_world.held), eval_n=8,
                kl_coef=0.0)


@pytest.fixture(scope="session")
def run_kl_high(lab_world, tmp_path_factory):
    return _run(lab_world, tmp_path_factory.mktemp("rl"), "kl1", kl_coef=1.0)


@pytest.fixture(scope="session")
def run_wco(lab_world, tmp_path_factory):
    return _run(lab_world, tmp_path_factory.mktemp("rl"), "wco", kl_coef=0.0, ensemble="wco")


@pytest.fixture(scope="session")
def ray_backend():
    """One local Ray (2 CPUs, started here) shared by every Ray test of the session: starting Ray and
    importing torch / TRL in its workers costs more than most of the tests themselves."""
    pytest.importorskip("ray")
    from overopt.study.backend import make_backend

    backend = make_backend("ray", num_cpus=2)
    yield backend
    backend.close()
