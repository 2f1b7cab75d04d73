"""One evaluation of a policy: fresh samples, held-out score, exact KL to the reference, detectors.

Framework-free (any ``overopt.models`` Policy / RewardModel). KL(pi || pi_ref) is estimated on the
policy's own samples at temperature 1 from per-token log-probs of the *same* token sequences under
both models: k1 = sum log pi - log pi_ref (unbiased, may be negative) with its SE, and k3
(Schulman 2020; unbiased, never negative) — both per sequence, in nats.
"""

from __future__ import annotations

import warnings as _warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from overopt import metrics as M
from overopt.errors import InputError, UnreliableWarning
from overopt.monitor.records import EvalRecord


@dataclass
class PolicyEval:
    """The numbers of one evaluation (per-sequence KL in nats; gold = held-out reward)."""

    step: int
    kl_k1: float
    kl_k1_se: float
    kl_k3: float
    mean_length_tokens: float
    gold: float
    gold_se: float
    proxy: float | None = None
    proxy_se: float | None = None
    rates: dict[str, float] = field(default_factory=dict)
    responses: list[str] = field(default_factory=list, repr=False)
    warnings: list[str] = field(default_factory=list)

    def record(self) -> EvalRecord:
        # one sequence / one prompt has no standard error (NaN): the record says "unknown" instead
        def se(x: float | None) -> float | None:
            return None if x is None or not np.isfinite(x) else x

        return EvalRecord(step=self.step, kl=self.kl_k1, kl_unit="per_sequence", kl_estimator="k1",
                          kl_se=se(self.kl_k1_se), mean_length=self.mean_length_tokens, proxy=self.proxy,
                          proxy_se=se(self.proxy_se), gold=self.gold, gold_se=se(self.gold_se), rates=self.rates)

    def metrics(self) -> dict[str, float]:
        """Metrics the monitor does not already produce from the record."""
        return {M.KL_K3: self.kl_k3, M.LEN_TOKENS: self.mean_length_tokens}


def as_reward(spec: Any, what: str) -> Any:
    """A RewardModel from a spec string (``load_reward``), an object with ``score``, or f(prompts, responses)."""
    if spec is None:
        return None
    if isinstance(spec, str):
        from overopt.models.resolve import load_reward

        return load_reward(spec)
    if hasattr(spec, "score"):
        return spec
    if callable(spec):
        from overopt.models.resolve import CallableReward

        return CallableReward(spec)
    raise InputError(f"{what} must be a reward spec string, a RewardModel or a callable f(prompts, responses)")


def clustered_mean_se(values: np.ndarray, groups: np.ndarray) -> tuple[float, float]:
    """Mean over all samples and its SE with prompts as clusters (samples of one prompt are not independent)."""
    ids = np.unique(groups)
    per = np.array([values[groups == g].mean() for g in ids])
    if per.size < 2:
        return float(values.mean()), float("nan")
    return float(values.mean()), float(per.std(ddof=1) / np.sqrt(per.size))


def _padded(rows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    width = max((len(r) for r in rows), default=0) or 1
    out = np.zeros((len(rows), width))  # (B, T)
    mask = np.zeros((len(rows), width), dtype=bool)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
        mask[i, : len(r)] = True
    return out, mask


def _kl(policy: Any, reference: Any, prompts: list[str], samples: Any, notes: list[str]) -> tuple[Any, Any]:
    from overopt.core.kl import kl_estimate

    responses, sampled_logp = samples.responses, np.asarray(samples.logprobs)
    if hasattr(policy, "token_logprobs_ids") and hasattr(reference, "token_logprobs_ids"):
        # exact: score the sampled token ids themselves (no decode / re-encode round trip)
        lp_pol = policy.token_logprobs_ids(prompts, samples.response_ids)
        lp_ref = reference.token_logprobs_ids(prompts, samples.response_ids)
    else:
        lp_pol = policy.token_logprobs(prompts, responses)
        lp_ref = reference.token_logprobs(prompts, responses)
    # token_logprobs appends end-of-sequence; a sample cut at max_new_tokens never drew it
    for i, ids in enumerate(samples.response_ids):
        if len(lp_pol[i]) == len(ids) + 1 and len(lp_ref[i]) == len(ids) + 1:
            lp_pol[i], lp_ref[i] = lp_pol[i][:-1], lp_ref[i][:-1]
    # The strings are re-tokenized for scoring; if that does not reproduce the sampled tokens the
    # sequences scored are not exactly the policy's samples and k1 is only approximately unbiased.
    off = np.abs(np.array([x.sum() for x in lp_pol]) - sampled_logp) > 1e-3 * np.maximum(1.0, np.abs(sampled_logp))
    if off.any():
        notes.append(f"{int(off.sum())} response(s) do not re-tokenize to the sampled tokens: KL is "
                     "estimated on the re-tokenized text")
    a, mask = _padded(lp_pol)
    b, _ = _padded(lp_ref)
    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always", UnreliableWarning)
        k1 = kl_estimate(a, b, mask, "k1")
        k3 = kl_estimate(a, b, mask, "k3")
    notes.extend(str(w.message) for w in caught)
    return k1, k3


def evaluate_policy(policy: Any, reference: Any, prompts: list[str], heldout: Any, *, step: int, n: int = 1,
                    max_new_tokens: int = 64, seed: int = 0, proxy: Any = None, detectors: bool = True,
                    detect_fn: Callable[..., Any] | None = None) -> PolicyEval:
    """Sample ``n`` completions per prompt at temperature 1 and measure them (see module docstring)."""
    if not prompts:
        raise InputError("eval_prompts is empty; pass a list of held-out prompts")
    heldout, proxy = as_reward(heldout, "heldout_reward"), as_reward(proxy, "proxy_reward")
    samples = policy.sample(list(prompts), n, max_new_tokens=max_new_tokens, temperature=1.0, seed=seed)
    texts, groups = samples.prompt_texts(), np.asarray(samples.prompt_index)
    notes: list[str] = []
    k1, k3 = _kl(policy, reference, texts, samples, notes)
    gold, gold_se = clustered_mean_se(np.asarray(heldout.score(texts, samples.responses), dtype=float), groups)
    p = p_se = None
    if proxy is not None:
        p, p_se = clustered_mean_se(np.asarray(proxy.score(texts, samples.responses), dtype=float), groups)
    rates: dict[str, float] = {}
    if detectors:
        if detect_fn is None:
            from overopt.text.detect import aggregate_rates, detect_many

            def detect_fn(rows: list[dict]) -> dict[str, Any]:
                return aggregate_rates(detect_many(rows), [r["response"] for r in rows])

        raw = detect_fn([{"prompt": q, "response": r} for q, r in zip(texts, samples.responses, strict=True)])
        rates = {k: float(v) for k, v in raw.items() if v is not None and np.isfinite(v)}
    return PolicyEval(step=step, kl_k1=k1.mean, kl_k1_se=k1.se, kl_k3=k3.mean, mean_length_tokens=k1.mean_length,
                      gold=gold, gold_se=gold_se, proxy=p, proxy_se=p_se, rates=rates,
                      responses=list(samples.responses), warnings=notes)
