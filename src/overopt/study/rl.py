"""RL against a proxy through TRL's GRPO / RLOO trainers, with outside evaluation every k steps.

We do not write a trainer (DESIGN.md). What is ours: the reward (a proxy RM, an ensemble of RMs
combined by mean / WCO / UWO (Coste et al. 2023), or any callable) wrapped as a TRL reward
function on text; fixed KL coefficients including 0; Ziegler et al.'s (2019) adaptive KL
controller as a callback; and the evaluation of ``overopt.study.evaluate`` at checkpoints.

Which KL each trainer uses (read from TRL 1.16's source, ``trl/trainer/grpo_trainer.py`` and
``rloo_trainer.py``) is recorded in every run as ``TRAINER_KL``. CPU one-liner::

    run_rl(RLRunConfig(kl_coef=0.05, steps=50), policy_path=ref_dir, train_prompts=p,
           rewards=[proxy], reference=HFPolicy.from_pretrained(ref_dir), eval_prompts=q)
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from overopt.core.ensemble import ensemble_scores
from overopt.errors import ConfigError
from overopt.models.base import RewardModel, as_text
from overopt.models.resolve import CallableReward

TRAINER_KL = {
    "grpo": {"estimator": "k3", "where": "per-token penalty in the loss: beta * (exp(ref - logp) - (ref - logp) - 1)",
             "logged": "kl = token-mean of k3 over the training batch (nats per token)"},
    "rloo": {"estimator": "k1", "where": "summed per sequence and subtracted from the reward: r - beta * sum(logp_old - ref)",
             "logged": "kl = token-mean of k1 over the training batch (nats per token)"},
}


class AdaptiveKL(BaseModel):
    """Ziegler et al. (2019) Sec. 2.2: e = clip(KL/target - 1, -0.2, 0.2); beta <- beta (1 + e n / horizon)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target_kl_nats: float = Field(gt=0)
    horizon: int = Field(10000, ge=1)
    init_coef: float = Field(0.05, gt=0)


def load_trainable(policy_path: str | Path, *, seed: int, threads: int | None) -> tuple[Any, Any]:
    """The policy a trainer will update, and its tokenizer (safetensors only; a pad token set).

    Seeds torch first so a run's initial state and dropout draws repeat; ``threads`` fixes the float
    reduction order, so the same seed gives the same run.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from overopt.io.weights import require_safetensors

    path = require_safetensors(policy_path)  # pickle weights can run code: refused before loading
    if threads is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(str(path), use_safetensors=True)
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


class TrainEvalConfig(BaseModel):
    """What every optimizer run (RL or DPO) shares: its budget and how it is evaluated along the way."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    steps: int = Field(60, ge=1)
    lr: float = Field(1e-4, gt=0)
    max_new_tokens: int = Field(32, ge=1)
    eval_every: int = Field(10, ge=1)
    eval_samples_per_prompt: int = Field(4, ge=1)
    eval_prompts: int = Field(48, ge=1)
    seed: int = 0
    # where the trainer runs: "cuda" trains on a GPU (a Ray point then requests one; evaluation samples
    # the model where the trainer put it) and fails with a clear message where torch sees none
    device: Literal["cpu", "cuda"] = "cpu"


class RLRunConfig(TrainEvalConfig):
    """One RL run. ``steps`` optimizer steps of ``batch_prompts * num_generations`` completions."""

    algo: Literal["grpo", "rloo"] = "grpo"
    kl_coef: float = Field(0.0, ge=0)
    adaptive: AdaptiveKL | None = None
    ensemble: Literal["mean", "wco", "uwo"] = "mean"
    uwo_lambda: float = Field(0.5, ge=0)
    batch_prompts: int = Field(4, ge=1)
    num_generations: int = Field(8, ge=2)

    @model_validator(mode="after")
    def _adaptive_needs_coef(self) -> RLRunConfig:
        if self.adaptive is not None and self.kl_coef != 0.0:
            raise ValueError("give either kl_coef or adaptive (whose init_coef starts the controller), not both")
        return self

    @property
    def initial_coef(self) -> float:
        return self.adaptive.init_coef if self.adaptive is not None else self.kl_coef


@dataclass
class AdaptiveKLController:
    """The controller's state (the coefficient) apart from its hyperparameters."""

    target_kl_nats: float
    horizon: int
    coef: float

    def update(self, kl_nats: float, n_samples: int) -> float:
        error = float(np.clip(kl_nats / self.target_kl_nats - 1.0, -0.2, 0.2))
        self.coef *= 1.0 + error * n_samples / self.horizon
        return self.coef


def combine_rewards(members: Sequence[RewardModel], method: str = "mean", uwo_lambda: float = 0.5,
                    name: str | None = None,
                    scales: Sequence[tuple[float, float]] | None = None) -> Callable[..., list[float]]:
    """A TRL reward function ``f(prompts, completions, **kw)`` from one RM or an ensemble of RMs.

    One member: its score. Several: ``ensemble_scores`` over the (S, k) member scores (Coste et al.
    2023: mean, WCO = min, UWO = mean - lambda * population variance). ``scales`` = one (mean, std)
    per member, measured on reference samples, z-scores the members first: Bradley-Terry RMs are
    defined up to an offset, and without it min / variance would follow the lowest-offset member.
    """
    if not members:
        raise ValueError("combine_rewards needs at least one reward model")
    if scales is not None and (len(scales) != len(members) or any(not sd > 0 for _, sd in scales)):
        raise ValueError("scales needs one (mean, std > 0) pair per member")
    loc = np.array([m for m, _ in scales]) if scales is not None else np.zeros(len(members))
    scale = np.array([sd for _, sd in scales]) if scales is not None else np.ones(len(members))

    def reward(prompts: list[Any], completions: list[Any], **_: Any) -> list[float]:
        p = [as_text(x) for x in prompts]
        c = [as_text(x) for x in completions]
        scores = np.stack([np.asarray(m.score(p, c), dtype=float) for m in members], axis=1)  # (S, k)
        return ensemble_scores((scores - loc) / scale, method, uwo_lambda).tolist()

    reward.__name__ = name or (f"ensemble_{method}" if len(members) > 1 else "proxy")
    return reward


@dataclass
class RLRunResult:
    config: dict[str, Any]
    evaluations: list[dict[str, Any]]  # EvalCallback records, in step order
    trainer_log: list[dict[str, float]]  # TRL's per-step log (kl, reward, completions/mean_length, ...)
    kl_coef_history: list[dict[str, float]] = field(default_factory=list)
    trainer_kl: dict[str, str] = field(default_factory=dict)
    train_seconds: float = 0.0
    eval_seconds: float = 0.0
    steps: int = 0


def device_args(device: str) -> dict[str, Any]:
    """Trainer arguments for ``device``. On CPU, TRL 1.x's default gradient checkpointing only re-runs
    forward passes (it saves accelerator memory), so it is off; on a GPU TRL's default stays."""
    if device == "cpu":
        return {"use_cpu": True, "gradient_checkpointing": False}
    import torch

    if not torch.cuda.is_available():
        raise ConfigError("device: cuda was asked for but torch sees no GPU here (torch.cuda.is_available() is "
                          "False); set device: cpu, or run where a GPU is visible (on Ray: a node with one)")
    return {"use_cpu": False}


def _trainer(cfg: RLRunConfig, model: Any, tokenizer: Any, prompts: list[str], reward: Callable[..., list[float]],
             out_dir: str, callbacks: list[Any], device: dict[str, Any]) -> Any:
    from datasets import Dataset

    common = dict(
        output_dir=out_dir, per_device_train_batch_size=cfg.batch_prompts * cfg.num_generations,
        num_generations=cfg.num_generations, max_completion_length=cfg.max_new_tokens, learning_rate=cfg.lr,
        lr_scheduler_type="constant", beta=cfg.initial_coef, max_steps=cfg.steps, logging_steps=1, report_to=[],
        save_strategy="no", seed=cfg.seed, data_seed=cfg.seed, temperature=1.0, disable_tqdm=True,
        dataloader_num_workers=0, **device,
    )
    ds = Dataset.from_dict({"prompt": list(prompts)})
    if cfg.algo == "grpo":
        from trl import GRPOConfig, GRPOTrainer

        return GRPOTrainer(model=model, reward_funcs=[reward], args=GRPOConfig(**common), train_dataset=ds,
                           processing_class=tokenizer, callbacks=callbacks)
    from trl import RLOOConfig, RLOOTrainer

    return RLOOTrainer(model=model, reward_funcs=[reward], args=RLOOConfig(**common), train_dataset=ds,
                       processing_class=tokenizer, callbacks=callbacks)


_LOG_KEYS = ("step", "kl", "reward", "reward_std", "completions/mean_length", "entropy", "loss", "step_time")


def run_rl(cfg: RLRunConfig, *, policy_path: str | Path, train_prompts: list[str], rewards: Sequence[RewardModel],
           reference: Any, eval_prompts: list[str], gold: RewardModel | None = None, habits: Any = None,
           store: Any = None, key: str = "rl", eval_proxy: RewardModel | None = None, detectors: bool = True,
           save_to: str | Path | None = None, threads: int | None = None,
           member_scales: Sequence[tuple[float, float]] | None = None) -> RLRunResult:
    """Train ``policy_path`` (a saved causal LM directory) against ``rewards`` with TRL; evaluate every k steps.

    ``reference`` is the reference as a ``Policy`` (for exact KL); TRL rebuilds its own reference
    from the model's ``_name_or_path`` (so the policy must be loaded from disk). ``eval_proxy``
    defaults to the optimized reward (the combined ensemble score when several); ``member_scales``
    z-scores ensemble members (see ``combine_rewards``).
    """
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from overopt.study.callbacks import AdaptiveKLCallback, EvalCallback

    device = device_args(cfg.device)  # a GPU asked for where there is none: fail before loading anything
    model, tokenizer = load_trainable(policy_path, seed=cfg.seed, threads=threads)
    reward = combine_rewards(rewards, cfg.ensemble, cfg.uwo_lambda, scales=member_scales)
    scorer = eval_proxy if eval_proxy is not None else (rewards[0] if len(rewards) == 1 else CallableReward(reward))
    ev = EvalCallback(reference=reference, tokenizer=tokenizer, prompts=eval_prompts[: cfg.eval_prompts],
                      every=cfg.eval_every, store=store, key=key, seed=cfg.seed, n=cfg.eval_samples_per_prompt,
                      max_new_tokens=cfg.max_new_tokens, proxy=scorer, gold=gold, habits=habits, detectors=detectors)
    callbacks: list[Any] = [ev]
    adaptive = None
    if cfg.adaptive is not None:
        ctl = AdaptiveKLController(cfg.adaptive.target_kl_nats, cfg.adaptive.horizon, cfg.adaptive.init_coef)
        adaptive = AdaptiveKLCallback(ctl, cfg.batch_prompts * cfg.num_generations)
        callbacks.append(adaptive)
    with tempfile.TemporaryDirectory(prefix="overopt-rl-") as tmp:
        trainer = _trainer(cfg, model, tokenizer, train_prompts, reward, tmp, callbacks, device)
        for cb in (PrinterCallback, ProgressCallback):  # our evaluation records replace TRL's console log
            trainer.remove_callback(cb)
        if adaptive is not None:
            adaptive.bind(trainer)
        start = time.perf_counter()
        trainer.train()
        total = time.perf_counter() - start
    if save_to is not None:
        trainer.model.save_pretrained(save_to)
        tokenizer.save_pretrained(save_to)
    log = [{k: float(v) for k, v in h.items() if k in _LOG_KEYS} for h in trainer.state.log_history if "loss" in h]
    return RLRunResult(
        config=cfg.model_dump(), evaluations=[e.to_record() for e in ev.evaluations], trainer_log=log,
        kl_coef_history=adaptive.history if adaptive else [], trainer_kl=TRAINER_KL[cfg.algo],
        train_seconds=total - ev.seconds, eval_seconds=ev.seconds, steps=cfg.steps,
    )
