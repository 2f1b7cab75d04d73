"""Checkpoint evaluation independent of the trainer: fresh samples, exact KL, proxy and gold scores.

What a trainer logs about itself is measured on its own training batch with its own estimator
(TRL GRPO: token-mean of k3; RLOO: token-mean of k1) — see ``overopt.study.rl.TRAINER_KL``. This
module measures the policy *from outside*: it samples ``n`` fresh completions per held-out prompt
from the current policy, scores every token under the policy and the reference, and reports the
per-sequence KL(pi || pi_ref) in nats (Schulman 2020 k1 with its standard error, and k3), the
proxy and gold means with prompt-clustered intervals, detector rates and a few stored samples.

CPU one-liner (any two saved causal LMs with the same tokenizer)::

    from overopt.models.hf import HFPolicy; from overopt.study.evaluate import evaluate_policy
    ev = evaluate_policy(HFPolicy.from_pretrained(p), HFPolicy.from_pretrained(r), prompts, n=4)

``evaluate_policy`` only needs the ``Policy`` / ``RewardModel`` interfaces, so the monitor's TRL
callback can call it too; ``EvalCallback`` is the thin TRL adapter used by the study runners.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy.stats import norm

from overopt import metrics
from overopt.core.kl import kl_estimate
from overopt.errors import InputError, UnreliableWarning, warn_unreliable
from overopt.models.base import Policy, RewardModel

HabitFn = Callable[[list[str], list[str]], dict[str, float]]


@dataclass(frozen=True)
class MeanCI:
    """A mean over samples with an interval from the spread of per-prompt means (samples of one prompt
    are correlated, so the prompt is the independent unit)."""

    mean: float
    se: float
    ci: tuple[float, float]
    n_prompts: int


def clustered_mean(values: np.ndarray, groups: np.ndarray, ci: float = 0.95) -> MeanCI:
    """Mean of ``values`` with a normal interval from the SE of per-group means (equal group sizes
    make this the usual cluster-robust SE)."""
    values = np.asarray(values, dtype=float)
    uniq, inv = np.unique(np.asarray(groups), return_inverse=True)
    per_group = np.bincount(inv, weights=values) / np.bincount(inv)  # (G,)
    g = len(uniq)
    se = float(per_group.std(ddof=1) / np.sqrt(g)) if g > 1 else float("nan")
    z = float(norm.ppf(0.5 + ci / 2))
    m = float(values.mean())
    return MeanCI(m, se, (m - z * se, m + z * se), g)


@dataclass
class PolicyEvaluation:
    """One evaluation point. KL in nats per sequence; ``kl_per_token`` = total KL / total tokens."""

    step: int | None
    kl_nats: float  # k1 mean (unbiased, may be negative on a small sample)
    kl_se: float
    kl_k3: float  # k3 mean (unbiased, never negative)
    kl_k3_se: float
    kl_per_token: float
    mean_length_tokens: float
    n_samples: int
    proxy: MeanCI | None
    gold: MeanCI | None
    rates: dict[str, float | None] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    logprob_roundtrip_nats: float = 0.0  # max |sampler log-prob - re-scored log-prob| over sequences
    warnings: list[str] = field(default_factory=list)

    def to_record(self) -> dict[str, Any]:
        """A flat JSON-ready record keyed by metric names (``overopt.metrics``)."""
        rec: dict[str, Any] = {
            "step": self.step, metrics.KL: self.kl_nats, metrics.KL_SE: self.kl_se, metrics.KL_K3: self.kl_k3,
            "overopt/kl_k3_se": self.kl_k3_se, "overopt/kl_per_token": self.kl_per_token,
            metrics.SQRT_KL: float(np.sqrt(max(self.kl_nats, 0.0))), metrics.LEN_TOKENS: self.mean_length_tokens,
            "n_samples": self.n_samples, "seconds": self.seconds, "warnings": list(self.warnings),
            "samples": self.samples, "logprob_roundtrip_nats": self.logprob_roundtrip_nats, **self.rates,
        }
        for name, se_name, m in ((metrics.PROXY, metrics.PROXY_SE, self.proxy), (metrics.GOLD, metrics.GOLD_SE, self.gold)):
            if m is not None:
                rec[name], rec[se_name], rec[name + "_ci"] = m.mean, m.se, list(m.ci)
        return rec


def _trim_to_sampled(lp: np.ndarray, ids: list[int], eos: int | None) -> np.ndarray:
    # token_logprobs appends end-of-sequence; a truncated sample never drew it, so its term is not
    # a sample from pi and would bias the estimator.
    if eos is not None and (not ids or ids[-1] != eos) and len(lp) > 0:
        return lp[:-1]
    return lp


def ids_logprobs(policy: Any, prompts: list[str], response_ids: list[list[int]]) -> list[np.ndarray] | None:
    """Log-prob of each *sampled* token id under ``policy`` (no decode / re-encode), or None when the
    backend offers no way to score ids (``token_logprobs_ids``: the Hugging Face backend has it)."""
    fn = getattr(policy, "token_logprobs_ids", None)
    return None if fn is None else list(fn(prompts, response_ids))


def sequence_kl(policy: Policy, reference: Policy, prompts: list[str], responses: list[str],
                response_ids: list[list[int]], eos_id: int | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(B, T) policy and reference log-probs of the sampled tokens, padded with NaN, and warnings.

    Scores the sampled ids when both backends can (``ids_logprobs``); otherwise the decoded text,
    and when re-tokenizing does not give back the sampled number of tokens (a lossy round trip)
    the estimate is exact only for the re-tokenized text, which the warnings say.
    """
    lp_pi, lp_ref = ids_logprobs(policy, prompts, response_ids), ids_logprobs(reference, prompts, response_ids)
    notes: list[str] = []
    if lp_pi is None or lp_ref is None:
        lp_pi = [_trim_to_sampled(a, ids, eos_id) for a, ids in
                 zip(policy.token_logprobs(prompts, responses), response_ids, strict=True)]
        lp_ref = [_trim_to_sampled(b, ids, eos_id) for b, ids in
                  zip(reference.token_logprobs(prompts, responses), response_ids, strict=True)]
        mismatched = sum(len(a) != len(ids) for a, ids in zip(lp_pi, response_ids, strict=True))
        if mismatched:
            notes.append(f"{mismatched}/{len(lp_pi)} responses re-tokenize to a different length than sampled; "
                         "KL is exact for the re-tokenized text")
    width = max(1, max(len(r) for r in lp_pi))
    pi = np.full((len(lp_pi), width), np.nan)  # (B, T)
    ref = np.full_like(pi, np.nan)
    for i, (a, b) in enumerate(zip(lp_pi, lp_ref, strict=True)):
        pi[i, : len(a)], ref[i, : len(b)] = a, b
    return pi, ref, notes


def evaluate_policy(
    policy: Policy, reference: Policy, prompts: list[str], *, n: int = 4, max_new_tokens: int = 32,
    proxy: RewardModel | None = None, gold: RewardModel | None = None, habits: HabitFn | None = None,
    detectors: bool = True, n_stored: int = 6, temperature: float = 1.0, seed: int = 0, ci: float = 0.95,
    step: int | None = None, eos_id: int | None = None,
) -> PolicyEvaluation:
    """Evaluate ``policy`` on fresh samples (``n`` per prompt) against ``reference``.

    KL(pi || pi_ref) is per sequence in nats from the sampled tokens' log-probs under both models
    (k1 mean with SE, and k3); it needs ``temperature == 1`` (samples from pi itself). ``proxy`` /
    ``gold`` are scored on the same samples; ``habits(prompts, responses)`` adds world-specific rates
    (the lab's opener / agreement / rare-token rates); ``detectors`` adds ``overopt.text`` rates.
    """
    if temperature != 1.0:
        raise InputError("exact KL(pi || pi_ref) needs samples from pi itself: use temperature 1.0")
    if not prompts:
        raise InputError("evaluate_policy needs at least one held-out prompt")
    start = time.perf_counter()
    s = policy.sample(list(prompts), n, max_new_tokens=max_new_tokens, temperature=1.0, seed=seed)
    texts = s.prompt_texts()
    lp_pi, lp_ref, notes = sequence_kl(policy, reference, texts, s.responses, s.response_ids, eos_id)
    # The sampler's own per-sequence log-prob must equal the re-scored one (same tokens, same model).
    roundtrip = float(np.max(np.abs(np.nansum(lp_pi, axis=1) - s.logprobs))) if len(s.logprobs) else 0.0
    if roundtrip > 1e-3:
        notes.append(f"re-scored policy log-probs differ from the sampler's by up to {roundtrip:.3g} nats; "
                     "the samples were not re-tokenized exactly, so the KL is approximate")
    mask = np.isfinite(lp_pi)
    empty = ~mask.any(axis=1)
    if empty.any():  # a zero-token response has KL exactly 0; keep it so the mean stays over all samples
        mask[empty, 0] = True
        lp_pi[empty, 0] = lp_ref[empty, 0] = 0.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnreliableWarning)
        k1 = kl_estimate(lp_pi, lp_ref, mask, estimator="k1")
        k3 = kl_estimate(lp_pi, lp_ref, mask, estimator="k3")
    notes += [str(w.message) for w in caught]
    for note in notes:
        warn_unreliable(note, stacklevel=2)
    groups = s.prompt_index
    proxy_scores = None if proxy is None else np.asarray(proxy.score(texts, s.responses), dtype=float)
    gold_scores = None if gold is None else np.asarray(gold.score(texts, s.responses), dtype=float)
    rates: dict[str, float | None] = {metrics.LEN_WORDS: float(np.mean([len(r.split()) for r in s.responses]))}
    if detectors:
        rates.update(_detector_rates(texts, s.responses))
    if habits is not None:
        rates.update(habits(texts, s.responses))
    stored = _stored_samples(texts, s.responses, proxy_scores, gold_scores, n_stored, seed)
    return PolicyEvaluation(
        step=step, kl_nats=k1.mean, kl_se=k1.se, kl_k3=k3.mean, kl_k3_se=k3.se, kl_per_token=k1.per_token_mean,
        mean_length_tokens=k1.mean_length, n_samples=len(s.responses),
        proxy=None if proxy_scores is None else clustered_mean(proxy_scores, groups, ci),
        gold=None if gold_scores is None else clustered_mean(gold_scores, groups, ci),
        rates=rates, samples=stored, seconds=time.perf_counter() - start, logprob_roundtrip_nats=roundtrip,
        warnings=notes,
    )


def _detector_rates(prompts: list[str], responses: list[str]) -> dict[str, float | None]:
    try:
        from overopt.text.detect import aggregate_rates, detect_many
    except ImportError:  # the detectors are optional here; length is always reported
        return {}
    rows = [{"prompt": p, "response": r} for p, r in zip(prompts, responses, strict=True)]
    return dict(aggregate_rates(detect_many(rows), responses))


def _stored_samples(prompts: list[str], responses: list[str], proxy: np.ndarray | None, gold: np.ndarray | None,
                    k: int, seed: int) -> list[dict[str, Any]]:
    idx = np.random.default_rng(seed).choice(len(responses), size=min(k, len(responses)), replace=False)
    out = []
    for i in sorted(idx.tolist()):
        row: dict[str, Any] = {"prompt": prompts[i], "response": responses[i]}
        if proxy is not None:
            row["proxy"] = float(proxy[i])
        if gold is not None:
            row["gold"] = float(gold[i])
        out.append(row)
    return out


def evaluation_from_record(rec: dict[str, Any]) -> dict[str, Any]:
    """The curve fields of a stored record: ``step, kl, kl_se, kl_k3, proxy, gold`` (+ SEs)."""
    return {"step": rec.get("step"), "kl": rec[metrics.KL], "kl_se": rec[metrics.KL_SE], "kl_k3": rec[metrics.KL_K3],
            "proxy": rec.get(metrics.PROXY), "proxy_se": rec.get(metrics.PROXY_SE), "gold": rec.get(metrics.GOLD),
            "gold_se": rec.get(metrics.GOLD_SE)}


def as_dict(ev: PolicyEvaluation) -> dict[str, Any]:
    return asdict(ev)
