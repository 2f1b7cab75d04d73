"""RL and DPO runs as backend points: what ``overopt lab``'s RL / DPO stages and ``overopt study`` hand
to the local or Ray backend (``overopt.study.backend``).

A point function gets everything by value and returns plain data, so it runs the same in this process
or on a Ray worker that shares no filesystem with the driver:

- models travel as a ``ModelSource``: a local directory on the local backend (no copy), its files as
  bytes on Ray (written to a temporary directory on the worker, which lives as long as the run: TRL
  reloads its reference model from the policy's directory), or a spec resolved by name
  (``lab:gold``, ``module:function``: the module must be importable on the worker);
- the result is ``{"record": run record, "evaluations": [one record per evaluation]}``; the driver
  commits the evaluations as ``KEY/eval/STEP`` rows and then the run's row (``commit_evaluations``).

Every point seeds itself and fixes its torch threads (``load_trainable``), so the same seed gives the
same record on either backend. Resource request (:func:`resources`): ``num_cpus`` = the run's threads;
``num_gpus`` = 1 when the run config says ``device: cuda``, else 0.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from overopt.io.files import safe_join

Files = dict[str, bytes]


def resources(run_cfg: Any, threads: int) -> dict[str, float]:
    """The backend resource request of one RL / DPO run: its threads, and a GPU when it trains on one."""
    return {"num_cpus": float(threads), "num_gpus": 1.0 if getattr(run_cfg, "device", "cpu") == "cuda" else 0.0}


@dataclass(frozen=True)
class ModelSource:
    """A saved model (or reward) as a point receives it: exactly one of ``path``, ``files``, ``spec``."""

    path: str | None = None
    files: Files | None = field(default=None, repr=False)
    spec: str | None = None

    def materialize(self, tmp: str | Path, name: str) -> str:
        """A local directory holding the model (``files`` are written under ``tmp/name``)."""
        if self.path is not None:
            return self.path
        if self.files is None:
            raise ValueError("a ModelSource with a spec has no directory")
        root = Path(tmp) / name
        for rel, blob in self.files.items():
            target = safe_join(root, rel)  # a file name cannot write outside the temporary directory
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob)
        return str(root)


def dir_files(path: str | Path) -> Files:
    """Every file under a saved model directory as ``{relative posix path: bytes}`` (hidden entries,
    such as a ``.cache`` folder, left out; symlinks, as in Hugging Face cache snapshots, followed)."""
    root = Path(path)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)}


def model_source(path: str | Path, *, by_value: bool) -> ModelSource:
    """The directory itself (local backend) or its files as bytes (Ray: workers share no filesystem)."""
    return ModelSource(files=dir_files(path)) if by_value else ModelSource(path=str(path))


def reward_source(spec: str, *, by_value: bool) -> ModelSource:
    """A reward SPEC (``overopt.study.config.load_reward_spec``) as a ``ModelSource``."""
    from overopt.study.config import resolve_model_dir

    if Path(spec).exists():
        return model_source(spec, by_value=by_value)
    if ":" in spec and not spec.startswith((".", "/")):
        return ModelSource(spec=spec)
    return model_source(resolve_model_dir(spec), by_value=by_value)


def _load_reward(src: ModelSource, tmp: str, name: str) -> Any:
    from overopt.models.resolve import load_reward

    return load_reward(src.spec if src.spec is not None else src.materialize(tmp, name))


@dataclass(frozen=True)
class RunJob:
    """What one RL / DPO point needs besides its run config and models (all plain data)."""

    name: str
    seed: int
    eval_prompts: list[str]
    train_prompts: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # facts copied into the record (kl_coef, reward, ...)
    habits: Callable[[list[str], list[str]], dict[str, float]] | None = None  # module-level: pickled by name
    detectors: bool = True
    threads: int | None = None
    member_scales: Sequence[tuple[float, float]] | None = None  # z-scores ensemble members (combine_rewards)
    ensemble: str = "mean"  # DPO: how several proxies combine into the evaluation proxy
    uwo_lambda: float = 0.5
    eval_proxy: int | None = None  # RL: index of the reward scored at evaluations (None: the optimized one)


def _threads(n: int | None) -> None:
    if n is not None:
        import torch

        torch.set_num_threads(n)


def rl_point(cfg: Any, policy: ModelSource, rewards: Sequence[ModelSource], gold: ModelSource | None,
             job: RunJob) -> dict[str, Any]:
    """One ``run_rl`` (``cfg`` an ``RLRunConfig``) from ``policy`` against ``rewards``; its record and evaluations."""
    from overopt.models.hf import HFPolicy
    from overopt.study.curves import run_record
    from overopt.study.rl import run_rl

    _threads(job.threads)
    with tempfile.TemporaryDirectory(prefix="overopt-rl-point-") as tmp:
        policy_dir = policy.materialize(tmp, "policy")
        rms = [_load_reward(r, tmp, f"reward{i}") for i, r in enumerate(rewards)]
        res = run_rl(cfg, policy_path=policy_dir, train_prompts=job.train_prompts, rewards=rms,
                     reference=HFPolicy.from_pretrained(policy_dir), eval_prompts=job.eval_prompts,
                     gold=None if gold is None else _load_reward(gold, tmp, "gold"), habits=job.habits,
                     eval_proxy=None if job.eval_proxy is None else rms[job.eval_proxy], detectors=job.detectors,
                     threads=job.threads, member_scales=job.member_scales)
    return {"record": run_record(job.name, res, job.extra, job.seed), "evaluations": res.evaluations}


def dpo_point(cfg: Any, policy: ModelSource, rewards: Sequence[ModelSource], gold: ModelSource | None,
              pairs: list[dict[str, str]], job: RunJob) -> dict[str, Any]:
    """One ``run_dpo`` (``cfg`` a ``DPORunConfig``) on ``pairs``; the proxy scored at evaluations is
    ``rewards`` (combined by ``job.ensemble`` when several)."""
    from overopt.models.hf import HFPolicy
    from overopt.models.resolve import CallableReward
    from overopt.study.curves import run_record
    from overopt.study.dpo import run_dpo
    from overopt.study.rl import combine_rewards

    _threads(job.threads)
    with tempfile.TemporaryDirectory(prefix="overopt-dpo-point-") as tmp:
        policy_dir = policy.materialize(tmp, "policy")
        rms = [_load_reward(r, tmp, f"reward{i}") for i, r in enumerate(rewards)]
        proxy = rms[0] if len(rms) == 1 else CallableReward(
            combine_rewards(rms, job.ensemble, job.uwo_lambda, scales=job.member_scales))
        res = run_dpo(cfg, policy_path=policy_dir, pairs=pairs, reference=HFPolicy.from_pretrained(policy_dir),
                      eval_prompts=job.eval_prompts, proxy=proxy,
                      gold=None if gold is None else _load_reward(gold, tmp, "gold"), habits=job.habits,
                      detectors=job.detectors, threads=job.threads)
    return {"record": run_record(job.name, res, job.extra, job.seed), "evaluations": res.evaluations}


def commit_evaluations(store: Any, key: str, out: dict[str, Any], seed: int | None) -> dict[str, Any]:
    """``run_points``' ``finish`` for RL / DPO points: each evaluation as its own row ``KEY/eval/STEP``
    (kept as first committed: a run rerun after a kill repeats the same seeded evaluations), then
    the run's record, which ``run_points`` commits."""
    for ev in out["evaluations"]:
        ev_key = f"{key}/eval/{int(ev['step']):06d}"
        if not store.done(ev_key):
            store.put(ev_key, ev, seed=seed, seconds=ev.get("seconds"))
    return out["record"]
