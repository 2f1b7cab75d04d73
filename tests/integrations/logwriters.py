"""Writers of training logs in each framework's own format, from a seeded Gao RL-form run.

The run: KL per token grows linearly, responses lengthen, entropy falls, the proxy rises, and the
held-out score follows gold(d) = d (1 - beta log d), d = sqrt(per-sequence KL), peaking at d = 2.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass

import numpy as np

BETA = 1.0 / (1.0 + np.log(2.0))


@dataclass
class Run:
    step: np.ndarray
    kl_tok: np.ndarray
    length: np.ndarray
    reward: np.ndarray
    entropy: np.ndarray
    gold: np.ndarray
    gold_se: np.ndarray

    @property
    def kl_seq(self) -> np.ndarray:
        return self.kl_tok * self.length


def make_run(n: int = 60, *, overopt: bool = True, seed: int = 0, noise: float = 0.03) -> Run:
    rng = np.random.default_rng(seed)
    step = np.arange(1, n + 1) * 10
    t = np.linspace(0.0, 1.0, n)
    length = 20.0 + 20.0 * t
    d = 6.0 * np.sqrt(t) if overopt else 1.5 * (1 - np.exp(-5 * t))
    kl_tok = d**2 / length
    gold = np.where(d > 0, d * (1 - BETA * np.log(np.maximum(d, 1e-12))), 0.0)
    return Run(step=step, kl_tok=kl_tok, length=length, reward=0.3 * d + rng.normal(0, 0.02, n),
               entropy=2.0 - 1.5 * t, gold=gold + rng.normal(0, noise, n), gold_se=np.full(n, noise))


def write_trl(path, run: Run, *, gold_every: int | None = 5) -> None:
    """trainer_state.json: GRPO rows every step, overopt/* rows (our callback) every few steps."""
    history = []
    for i, s in enumerate(run.step):
        row = {"step": int(s), "kl": float(run.kl_tok[i]), "completions/mean_length": float(run.length[i]),
               "reward": float(run.reward[i]), "reward_std": 0.1, "entropy": float(run.entropy[i]),
               "loss": 0.01, "epoch": i / 100}
        if gold_every and i % gold_every == 0:
            row.update({"overopt/kl": float(run.kl_seq[i]), "overopt/gold": float(run.gold[i]),
                        "overopt/gold_se": float(run.gold_se[i])})
        history.append(row)
    history.append({"step": int(run.step[-1]), "train_runtime": 12.0, "train_loss": 0.01})
    path.write_text(json.dumps({"global_step": int(run.step[-1]), "log_history": history}))


def write_openrlhf_wandb_csv(path, run: Run, run_name: str = "ppo-run") -> None:
    """A W&B chart export: Step, '<run> - train/<metric>' and __MIN/__MAX twins."""
    metrics = {"train/kl": run.kl_tok, "train/reward": run.reward, "train/response_length": run.length,
               "train/return": run.reward - 0.01, "eval/heldout": run.gold}
    header = ["Step"] + [f"{run_name} - {m}{suffix}" for m in metrics for suffix in ("", "__MIN", "__MAX")]
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for i, s in enumerate(run.step):
            w.writerow([int(s)] + [float(v[i]) for v in metrics.values() for _ in range(3)])


def write_verl_jsonl(path, run: Run) -> None:
    """veRL file-logger lines: {"step": N, "data": {metric: value}}."""
    with path.open("w") as fh:
        for i, s in enumerate(run.step):
            data = {"actor/kl_loss": float(run.kl_tok[i]), "critic/score/mean": float(run.reward[i]),
                    "critic/rewards/mean": float(run.reward[i] - 0.1), "response_length/mean": float(run.length[i]),
                    "actor/entropy": float(run.entropy[i]), "actor/pg_loss": 0.0,
                    "val/heldout_rm": float(run.gold[i])}
            fh.write(json.dumps({"step": int(s), "data": data}) + "\n")
