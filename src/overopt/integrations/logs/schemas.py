"""What each framework calls its metrics, and in which KL unit it logs.

Verified against the sources: TRL 1.x GRPO/RLOO log ``kl`` as a masked mean over completion
tokens (per token) next to ``completions/mean_length`` (tokens) and ``reward``; TRL's older
PPO/RLOO-v0 log ``objective/kl`` summed over the sequence. OpenRLHF logs ``kl`` (per-token mean
within each sequence), ``reward`` and ``response_length`` (tokens), prefixed ``train/`` in W&B
with ``train/global_step``. veRL logs ``actor/kl_loss`` (KL-in-loss, token mean) or
``actor/reward_kl_penalty`` (KL-in-reward, token mean), ``critic/score/mean`` (the RM score;
``critic/rewards/mean`` already has the KL penalty subtracted), ``response_length/mean`` and
``actor/entropy``. Our own callback logs ``overopt/*`` (per-sequence KL, held-out gold).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from overopt import metrics as M

FORMATS = ("auto", "trl", "openrlhf", "verl", "csv")


@dataclass(frozen=True)
class Schema:
    """Candidate column names per role, most preferred first; ``kl`` entries carry their unit."""

    name: str
    step: tuple[str, ...]
    kl: tuple[tuple[str, str], ...]  # (column, "per_token" | "per_sequence")
    length: tuple[str, ...] = ()  # mean response length in tokens
    proxy: tuple[str, ...] = ()
    entropy: tuple[str, ...] = ()
    gold: tuple[str, ...] = (M.GOLD,)
    gold_se: tuple[str, ...] = (M.GOLD_SE,)
    markers: tuple[str, ...] = field(default=())  # columns that identify the framework

    def roles(self) -> set[str]:
        cols = {*self.step, *(c for c, _ in self.kl), *self.length, *self.proxy, *self.entropy,
                *self.gold, *self.gold_se}
        return cols


_OVEROPT_KL = ((M.KL, "per_sequence"),)
_OVEROPT_LEN = (M.LEN_TOKENS,)

SCHEMAS: dict[str, Schema] = {
    "trl": Schema(
        "trl", step=("step", "global_step", "train/global_step", "Step", "_step"),
        kl=(*_OVEROPT_KL, ("kl", "per_token"), ("train/kl", "per_token"), ("objective/kl", "per_sequence"),
            ("train/objective/kl", "per_sequence")),
        length=(*_OVEROPT_LEN, "completions/mean_length", "train/completions/mean_length"),
        proxy=(M.PROXY, "reward", "train/reward", "objective/scores", "train/objective/scores",
               "objective/rlhf_reward"),
        entropy=("entropy", "train/entropy", "objective/entropy"),
        markers=("completions/mean_length", "train/completions/mean_length", "objective/kl", "reward_std",
                 "frac_reward_zero_std", "rewards/margins"),
    ),
    "openrlhf": Schema(
        "openrlhf", step=("train/global_step", "global_step", "step", "Step", "_step"),
        kl=(*_OVEROPT_KL, ("train/kl", "per_token"), ("kl", "per_token")),
        length=(*_OVEROPT_LEN, "train/response_length", "response_length"),
        proxy=(M.PROXY, "train/reward", "reward"),
        entropy=("train/entropy", "entropy"),
        markers=("train/response_length", "train/return", "train/policy_loss", "train/actor_lr"),
    ),
    "verl": Schema(
        "verl", step=("training/global_step", "step", "global_step", "Step", "_step"),
        kl=(*_OVEROPT_KL, ("actor/kl_loss", "per_token"), ("actor/reward_kl_penalty", "per_token")),
        length=(*_OVEROPT_LEN, "response_length/mean"),
        proxy=(M.PROXY, "critic/score/mean", "critic/rewards/mean"),
        entropy=("actor/entropy", "actor/entropy_loss"),
        markers=("critic/score/mean", "actor/kl_loss", "actor/reward_kl_penalty", "response_length/mean",
                 "actor/pg_loss"),
    ),
    "csv": Schema(
        "csv", step=("step", "global_step", "Step", "_step", "iteration"),
        kl=(*_OVEROPT_KL, ("kl_per_sequence", "per_sequence"), ("kl_per_token", "per_token"),
            ("kl", "unknown")),
        length=(*_OVEROPT_LEN, "length_tokens", "mean_length", "response_length"),
        proxy=(M.PROXY, "proxy", "reward"),
        entropy=("entropy",),
        gold=(M.GOLD, "gold", "heldout"),
        gold_se=(M.GOLD_SE, "gold_se", "heldout_se"),
    ),
}


def detect_format(columns: set[str]) -> str:
    """The framework whose marker columns appear most; ``csv`` when none do."""
    scores = {name: sum(m in columns for m in s.markers) for name, s in SCHEMAS.items() if s.markers}
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] > 0 else "csv"
