"""The policy and reward-model interface every backend implements (CONTRACTS.md, models layer)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from overopt.errors import InputError


@dataclass
class Samples:
    """Completions of ``prompts``: ``n`` per prompt, grouped by prompt in input order.

    ``logprobs`` is the per-sequence log-probability (nats, sum over response tokens including the
    end-of-sequence token when one was sampled) under the sampling policy *at the sampling
    temperature*; ``response_ids`` hold the sampled token ids (end-of-sequence included).
    """

    prompts: list[str]
    responses: list[str]
    prompt_index: np.ndarray  # (B*n,) index into ``prompts``
    response_ids: list[list[int]]
    logprobs: np.ndarray  # (B*n,) nats per sequence

    def __len__(self) -> int:
        return len(self.responses)

    def prompt_texts(self) -> list[str]:
        return [self.prompts[i] for i in self.prompt_index]


@runtime_checkable
class Policy(Protocol):
    def sample(
        self, prompts: list[str], n: int, *, max_new_tokens: int, temperature: float = 1.0, seed: int = 0
    ) -> Samples: ...

    def token_logprobs(self, prompts: list[str], responses: list[str]) -> list[np.ndarray]: ...


@runtime_checkable
class RewardModel(Protocol):
    def score(self, prompts: list[str], responses: list[str]) -> np.ndarray: ...


def reward_function(rm: RewardModel, *, name: str | None = None) -> Callable[..., list[float]]:
    """Wrap a RewardModel as a TRL reward function ``f(prompts, completions, **kwargs) -> list[float]``.

    TRL's GRPO / RLOO trainers accept such callables in ``reward_funcs``; they call them with the
    prompt and completion strings of a batch (plus dataset columns as keyword arguments, ignored here).
    """

    def reward(prompts: list[Any], completions: list[Any], **_: Any) -> list[float]:
        return [float(x) for x in rm.score([as_text(p) for p in prompts], [as_text(c) for c in completions])]

    reward.__name__ = name or type(rm).__name__
    return reward


def as_text(x: Any) -> str:
    # Conversational TRL datasets pass lists of {"role", "content"} messages.
    if isinstance(x, str):
        return x
    if isinstance(x, list) and x and isinstance(x[-1], dict):
        return str(x[-1].get("content", ""))
    return str(x)


def check_sample_args(n: int, max_new_tokens: int, temperature: float) -> None:
    """The arguments every ``Policy.sample`` backend accepts; anything else is an InputError."""
    if n < 1 or max_new_tokens < 1 or temperature <= 0:
        raise InputError("sample needs n >= 1, max_new_tokens >= 1 and temperature > 0")
