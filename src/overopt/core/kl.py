"""KL divergence between a policy and its reference: sample estimators and best-of-n formulas.

Sample estimators (Schulman 2020, "Approximating KL divergence"): with tokens sampled from the policy
pi and ``log r = log pi_ref - log pi`` per token,

- ``k1 = -log r``             unbiased, high variance, can be negative on a sample;
- ``k2 = (log r)^2 / 2``      biased (low bias only when pi is close to pi_ref), always >= 0;
- ``k3 = (r - 1) - log r``    unbiased and always >= 0, lower variance than k1 when pi ~ pi_ref.

Summed over the response tokens they estimate the per-sequence KL(pi || pi_ref) in nats, which is the
unit every overopt curve uses (DESIGN.md, d = sqrt(KL)).

Best-of-n: ``log n - (n-1)/n`` (Stiennon et al. 2020) is an *upper bound* (Beirami et al. 2024,
Theorem 3.1); Beirami et al.'s estimator and the exact KL for a categorical reference are given too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import xlogy

from overopt.errors import InputError, warn_unreliable

ESTIMATORS = ("k1", "k2", "k3")


@dataclass(frozen=True)
class KLEstimate:
    """A KL(pi || pi_ref) estimate from policy samples; every number is in nats.

    ``per_sequence`` holds one summed estimate per sequence; ``mean``/``se`` are their mean and standard
    error; ``per_token_mean`` is (sum over all tokens) / (number of tokens) with a delta-method SE.
    """

    estimator: str
    per_sequence: np.ndarray
    mean: float
    se: float
    per_token_mean: float
    per_token_se: float
    n_sequences: int
    mean_length: float


def _token_terms(log_ratio: np.ndarray, estimator: str) -> np.ndarray:
    """Per-token estimator values from ``log r = log pi_ref - log pi`` (Schulman 2020)."""
    if estimator == "k1":
        return -log_ratio
    if estimator == "k2":
        return 0.5 * log_ratio**2
    # k3 = (r - 1) - log r; expm1 keeps precision when r is close to 1 (the common case)
    return np.expm1(log_ratio) - log_ratio


def _as_2d(name: str, x: np.ndarray) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise InputError(f"{name} must be a (batch, tokens) array, got shape {arr.shape}")
    return arr


def kl_estimate(
    logp_policy: np.ndarray,
    logp_ref: np.ndarray,
    mask: np.ndarray | None = None,
    estimator: str = "k1",
) -> KLEstimate:
    """Estimate KL(pi || pi_ref) per sequence and per token from tokens sampled from pi.

    ``logp_policy`` and ``logp_ref`` are (B, T) log-probabilities of the *sampled* tokens under the policy
    and the reference; ``mask`` (B, T) marks real response tokens (padding may hold any value, even NaN).
    Warns (UnreliableWarning) when the k1 mean is negative: the true KL is >= 0, so the sample is too
    small or the log-probs do not come from the policy that generated the tokens.
    """
    if estimator not in ESTIMATORS:
        raise InputError(f"unknown KL estimator {estimator!r}; use one of {', '.join(ESTIMATORS)}")
    lp = _as_2d("logp_policy", logp_policy)
    lr = _as_2d("logp_ref", logp_ref)
    if lp.shape != lr.shape:
        raise InputError(f"logp_policy {lp.shape} and logp_ref {lr.shape} must have the same shape")
    m = np.ones(lp.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if m.ndim == 1:
        m = m[None, :]
    if m.shape != lp.shape:
        raise InputError(f"mask {m.shape} must have the shape of the log-probs {lp.shape}")
    log_ratio = np.where(m, lr - lp, 0.0)  # (B, T); padding contributes exactly 0
    if not np.all(np.isfinite(log_ratio)):
        raise InputError("log-probs contain NaN/inf at unmasked tokens; mask padding or fix the log-probs")
    terms = np.where(m, _token_terms(log_ratio, estimator), 0.0)  # (B, T)
    per_seq = terms.sum(axis=1)  # (B,) nats per sequence
    lengths = m.sum(axis=1).astype(float)  # (B,)
    b = per_seq.shape[0]
    total_tokens = lengths.sum()
    if total_tokens == 0:
        raise InputError("the mask selects no tokens; nothing to estimate")
    mean = float(per_seq.mean())
    ratio = float(per_seq.sum() / total_tokens)
    if b > 1:
        se = float(per_seq.std(ddof=1) / np.sqrt(b))
        # Ratio estimator sum(x)/sum(L): delta-method SE from residuals x_b - R * L_b (Cochran 1977, 6.9).
        resid = per_seq - ratio * lengths
        per_token_se = float(np.sqrt(np.sum(resid**2) / (b * (b - 1))) / lengths.mean())
    else:
        warn_unreliable("KL from a single sequence has no standard error (reported as NaN)")
        se = per_token_se = float("nan")
    if estimator == "k1" and mean < 0:
        warn_unreliable(
            f"k1 KL mean is negative ({mean:.4g} nats/sequence, SE {se:.3g}); the true KL is >= 0, so use "
            "more samples or the k3 estimator, and check the log-probs are for the policy's own samples"
        )
    return KLEstimate(
        estimator=estimator,
        per_sequence=per_seq,
        mean=mean,
        se=se,
        per_token_mean=ratio,
        per_token_se=per_token_se,
        n_sequences=b,
        mean_length=float(lengths.mean()),
    )


def per_token_to_per_sequence(kl_per_token: float | np.ndarray, mean_length: float) -> float | np.ndarray:
    """Per-token mean KL (what OpenRLHF / veRL log) -> per-sequence KL in nats.

    Exact when the per-token mean is total KL / total tokens; approximate when a framework averages
    per-sequence token means (then long and short responses are weighted differently).
    """
    if not mean_length > 0:
        raise InputError(f"mean_length must be > 0 tokens, got {mean_length}")
    return kl_per_token * mean_length


def per_sequence_to_per_token(kl_per_sequence: float | np.ndarray, mean_length: float) -> float | np.ndarray:
    """Per-sequence KL in nats -> per-token mean KL (inverse of ``per_token_to_per_sequence``)."""
    if not mean_length > 0:
        raise InputError(f"mean_length must be > 0 tokens, got {mean_length}")
    return kl_per_sequence / mean_length


def _check_n(n: int | np.ndarray) -> np.ndarray:
    arr = np.asarray(n, dtype=float)
    if np.any(~np.isfinite(arr)) or np.any(arr < 1) or np.any(arr != np.round(arr)):
        raise InputError(f"best-of-n needs integer n >= 1, got {n!r}")
    return arr


def bon_kl_bound(n: int | np.ndarray) -> float | np.ndarray:
    """``log n - (n-1)/n`` nats: the best-of-n KL as usually quoted (Stiennon et al. 2020, App. G.3).

    Beirami et al. (2024, Theorem 3.1) show it is an upper bound on KL(BoN(n) || ref), tight only when every
    outcome is rare (n^2 * max prob << 1); overopt labels it estimator "bound".
    """
    arr = _check_n(n)
    out = np.log(arr) - (arr - 1.0) / arr
    return float(out) if out.ndim == 0 else out


def bon_kl_beirami(n: int | np.ndarray, p_best: float | np.ndarray) -> float | np.ndarray:
    """Beirami et al. (2024, Sec. 4) estimator of KL(BoN(n) || ref) from one best-of-n draw.

    ``p_best`` = eps_n = pi_ref(y | x), the reference probability of the sample that best-of-n *selected*
    (the highest-reward of the n). With q = (1 - eps)^n::

        KL_hat = q * (log n + (n-1) log(1-eps) - (n-1)/n) + (1 - q) * log((1 - q) / eps)

    It lies in [0, log n - (n-1)/n]; average it over BoN draws (and prompts). Broadcasts over ``n`` and
    ``p_best``; returns nats. The paper conjectures (4.4) that its mean upper-bounds the true KL.
    """
    nn = _check_n(n)
    eps = np.asarray(p_best, dtype=float)
    if np.any(~np.isfinite(eps)) or np.any(eps <= 0) or np.any(eps > 1):
        raise InputError("p_best must be reference probabilities in (0, 1]; pass exp(sequence log-prob)")
    with np.errstate(divide="ignore"):
        log_q = nn * np.log1p(-eps)  # log (1 - eps)^n; -inf at eps = 1
    q = np.exp(log_q)  # (1 - eps)^n
    one_minus_q = -np.expm1(log_q)  # 1 - (1 - eps)^n without cancellation for tiny eps
    a = 1.0 - eps
    # (n-1) * q * log(1-eps) = (n-1) * (1-eps)^(n-1) * xlogy(a, a): finite (0) at eps = 1
    tail = (nn - 1.0) * np.power(a, nn - 1.0) * xlogy(a, a)
    out = q * (np.log(nn) - (nn - 1.0) / nn) + tail + one_minus_q * np.log(one_minus_q / eps)
    out = np.maximum(out, 0.0)  # rounding can leave -1e-17 at n = 1
    return float(out) if out.ndim == 0 else out


def bon_distribution(ref_probs: np.ndarray, rewards: np.ndarray, n: int) -> np.ndarray:
    """Exact best-of-n distribution over a categorical reference (Beirami et al. 2024, Lemma 2.3).

    For reward class r with total reference mass P(r), CDF F(r) and strict CDF F(r-) (reward order),
    BoN picks class r with probability F(r)^n - F(r-)^n; ties inside the class are broken uniformly, so
    outcome y in class r gets (F(r)^n - F(r-)^n) * p(y) / P(r). Returns (V,) probabilities.
    """
    p = np.asarray(ref_probs, dtype=float)
    r = np.asarray(rewards, dtype=float)
    if p.ndim != 1 or p.shape != r.shape or p.size == 0:
        raise InputError("ref_probs and rewards must be 1-D arrays of the same non-zero length")
    if np.any(~np.isfinite(p)) or np.any(p < 0) or abs(p.sum() - 1.0) > 1e-9:
        raise InputError("ref_probs must be non-negative and sum to 1")
    if np.any(~np.isfinite(r)):
        raise InputError("rewards must be finite")
    n_arr = _check_n(n)
    if n_arr.ndim != 0:
        raise InputError("bon_distribution takes one n at a time")
    levels, cls = np.unique(r, return_inverse=True)  # reward classes in increasing order
    mass = np.bincount(cls, weights=p, minlength=levels.size)  # P(r)
    cdf = np.minimum(np.cumsum(mass), 1.0)  # F(r)
    strict = cdf - mass  # F(r-)
    with np.errstate(divide="ignore", invalid="ignore"):
        # F^n - F-^n = F^n * (1 - (F-/F)^n), computed in log space: C(12500, n)-sized powers underflow
        class_prob = np.where(
            mass > 0,
            np.exp(float(n_arr) * np.log(cdf)) * -np.expm1(float(n_arr) * np.log(strict / cdf)),
            0.0,
        )
        share = np.where(mass[cls] > 0, p / mass[cls], 0.0)
    return class_prob[cls] * share


def bon_kl_exact(ref_probs: np.ndarray, rewards: np.ndarray, n: int | np.ndarray) -> float | np.ndarray:
    """Exact KL(BoN(n) || ref) in nats for a categorical reference with rewards (ties handled).

    Within a reward class BoN keeps the reference's relative probabilities, so the KL reduces to the
    classes: sum_r Q(r) log(Q(r) / P(r)) with Q(r) = F(r)^n - F(r-)^n (Beirami et al. 2024, Lemma 2.3).
    """
    ns = _check_n(n)
    p = np.asarray(ref_probs, dtype=float)
    out = []
    for value in np.atleast_1d(ns):
        bon = bon_distribution(p, rewards, int(value))
        with np.errstate(divide="ignore", invalid="ignore"):
            out.append(float(np.sum(np.where(bon > 0, xlogy(bon, bon) - bon * np.log(p), 0.0))))
    res = np.maximum(np.asarray(out), 0.0)
    return float(res[0]) if ns.ndim == 0 else res.reshape(ns.shape)
