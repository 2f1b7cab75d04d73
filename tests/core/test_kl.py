"""KL estimators against closed forms (Gaussian, categorical) and best-of-n KL over a categorical."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from overopt.core.kl import (
    bon_distribution,
    bon_kl_beirami,
    bon_kl_bound,
    bon_kl_exact,
    kl_estimate,
    per_sequence_to_per_token,
    per_token_to_per_sequence,
)
from overopt.errors import InputError, UnreliableWarning


def gaussian_logpdf(x, mu, sigma):
    return -0.5 * ((x - mu) / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)


def gaussian_case(mu, sigma_p, size, seed):
    """One-token 'sequences' x ~ pi = N(mu, sigma_p^2), reference N(0, 1)."""
    x = np.random.default_rng(seed).normal(mu, sigma_p, size=(size, 1))
    true_kl = np.log(1 / sigma_p) + (sigma_p**2 + mu**2) / 2 - 0.5
    return gaussian_logpdf(x, mu, sigma_p), gaussian_logpdf(x, 0.0, 1.0), true_kl


@pytest.mark.parametrize("mu,sigma_p", [(1.0, 1.0), (0.5, 0.7)])
def test_k1_k3_unbiased_on_gaussians(mu, sigma_p):
    lp, lr, true_kl = gaussian_case(mu, sigma_p, 200_000, seed=1)
    for est in ("k1", "k3"):
        res = kl_estimate(lp, lr, estimator=est)
        assert res.estimator == est
        assert abs(res.mean - true_kl) < 4 * res.se, (est, res.mean, res.se, true_kl)  # 4-sigma band


def test_k2_bias_matches_closed_form():
    """mu = 1, unit variances: log r = -mu z - mu^2/2, so E[k2] = mu^2/2 + mu^4/8 = 0.625 != KL = 0.5."""
    lp, lr, true_kl = gaussian_case(1.0, 1.0, 200_000, seed=2)
    res = kl_estimate(lp, lr, estimator="k2")
    assert abs(res.mean - 0.625) < 4 * res.se
    assert res.mean - true_kl > 20 * res.se  # clearly biased
    # the bias is small (fourth order in mu) when pi is close to pi_ref: mu = 0.1 -> 1.25e-5 on 5e-3
    lp, lr, true_kl = gaussian_case(0.1, 1.0, 200_000, seed=3)
    near = kl_estimate(lp, lr, estimator="k2")
    assert abs(near.mean - true_kl) / true_kl < 0.05


def test_k3_has_lower_variance_than_k1_near_the_reference():
    lp, lr, _ = gaussian_case(0.2, 1.0, 50_000, seed=4)
    v1 = kl_estimate(lp, lr, estimator="k1").per_sequence.var()
    v3 = kl_estimate(lp, lr, estimator="k3").per_sequence.var()
    assert v3 < 0.2 * v1


def test_categorical_sequences_closed_forms():
    """T i.i.d. tokens from a categorical policy: per-sequence KL = T * KL(p||q); E[k2] has a closed form."""
    rng = np.random.default_rng(7)
    p = np.array([0.5, 0.2, 0.2, 0.1])
    q = np.array([0.25, 0.25, 0.25, 0.25])
    b, t = 40_000, 6
    tokens = rng.choice(4, size=(b, t), p=p)
    lengths = rng.integers(1, t + 1, size=b)
    mask = np.arange(t)[None, :] < lengths[:, None]  # ragged responses
    lp = np.where(mask, np.log(p)[tokens], np.nan)  # padding is NaN: must be ignored
    lr = np.where(mask, np.log(q)[tokens], np.nan)
    kl_tok = float(np.sum(p * np.log(p / q)))
    k2_tok = float(np.sum(p * 0.5 * np.log(q / p) ** 2))
    for est, per_tok in (("k1", kl_tok), ("k3", kl_tok), ("k2", k2_tok)):
        res = kl_estimate(lp, lr, mask, estimator=est)
        assert abs(res.mean - per_tok * lengths.mean()) < 4 * res.se, est
        assert abs(res.per_token_mean - per_tok) < 4 * res.per_token_se, est
        assert res.n_sequences == b and res.mean_length == pytest.approx(lengths.mean())
    res = kl_estimate(lp, lr, mask, estimator="k1")
    assert per_token_to_per_sequence(res.per_token_mean, res.mean_length) == pytest.approx(res.mean)
    assert per_sequence_to_per_token(res.mean, res.mean_length) == pytest.approx(res.per_token_mean)


def test_negative_k1_mean_warns():
    lp = np.log(np.array([[0.1], [0.2]]))
    lr = np.log(np.array([[0.5], [0.6]]))  # reference more likely than the policy on its own samples
    with pytest.warns(UnreliableWarning, match="negative"):
        res = kl_estimate(lp, lr, estimator="k1")
    assert res.mean < 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert kl_estimate(lp, lr, estimator="k3").mean > 0  # k3 is never negative, no warning


@pytest.mark.parametrize("kwargs", [
    dict(logp_policy=np.zeros((2, 3)), logp_ref=np.zeros((2, 4))),
    dict(logp_policy=np.zeros((2, 3)), logp_ref=np.zeros((2, 3)), estimator="k4"),
    dict(logp_policy=np.full((2, 3), np.nan), logp_ref=np.zeros((2, 3))),
    dict(logp_policy=np.zeros((2, 3)), logp_ref=np.zeros((2, 3)), mask=np.zeros((2, 3), bool)),
])
def test_bad_kl_input(kwargs):
    with pytest.raises(InputError):
        kl_estimate(**kwargs)


def test_bound_values():
    assert bon_kl_bound(1) == 0.0
    np.testing.assert_allclose(bon_kl_bound(np.array([2, 16])), np.log([2, 16]) - np.array([0.5, 15 / 16]))
    with pytest.raises(InputError):
        bon_kl_bound(0)


def test_bon_distribution_handles_ties():
    p = np.array([0.1, 0.3, 0.2, 0.4])
    r = np.array([0.0, 1.0, 1.0, 2.0])  # outcomes 1 and 2 tie
    n = 3
    bon = bon_distribution(p, r, n)
    # brute force over all ordered n-tuples of outcomes, uniform among tied maxima
    want = np.zeros(4)
    for tup in np.ndindex(4, 4, 4):
        prob = np.prod(p[list(tup)])
        best = max(r[j] for j in tup)
        tied = [j for j in tup if r[j] == best]
        for j in tied:
            want[j] += prob / len(tied)
    np.testing.assert_allclose(bon, want, atol=1e-15)
    exact = bon_kl_exact(p, r, n)
    assert exact == pytest.approx(float(np.sum(want * np.log(want / p))), abs=1e-14)


def test_exact_kl_approaches_bound_when_every_outcome_is_rare():
    for n in (2, 8, 32):
        gaps = []
        for v in (100, 2000):
            p = np.full(v, 1.0 / v)
            r = np.arange(v, dtype=float)
            gap = bon_kl_bound(n) - bon_kl_exact(p, r, n)
            assert 0 < gap < 2 * n * (n - 1) / v  # Beirami et al. 2024, Thm 3.4 with delta = 1/V
            gaps.append(gap)
        assert gaps[1] < 1e-4 * bon_kl_bound(n)  # V = 2000: the bound is all but exact
        assert gaps[1] < gaps[0] / 10  # and tighter the rarer every outcome is


def test_exact_kl_below_bound_and_beirami_closer_when_one_outcome_dominates():
    """Best outcome has mass 0.5: KL saturates near log 2 while the bound keeps growing with n.
    The Beirami estimator, averaged exactly over the BoN distribution, tracks the exact KL far better."""
    rest = 1000
    p = np.concatenate([np.full(rest, 0.5 / rest), [0.5]])
    r = np.arange(rest + 1, dtype=float)  # the dominant outcome has the highest reward
    for n in (4, 16, 64):
        exact = bon_kl_exact(p, r, n)
        bound = bon_kl_bound(n)
        bon = bon_distribution(p, r, n)
        beirami = float(np.sum(bon * bon_kl_beirami(n, p)))  # E over BoN picks of KL_hat(pi_ref(pick))
        assert exact < 0.8 * bound
        assert abs(beirami - exact) < 0.5 * abs(bound - exact), (n, exact, beirami, bound)
        assert beirami <= bound + 1e-12


def test_beirami_limits():
    assert bon_kl_beirami(1, 0.3) == pytest.approx(0.0, abs=1e-15)  # BoN(1) is the reference
    assert bon_kl_beirami(8, 1.0) == 0.0  # a single possible outcome: no divergence
    assert bon_kl_beirami(8, 1e-12) == pytest.approx(bon_kl_bound(8), rel=1e-9)  # rare picks -> bound
    with pytest.raises(InputError):
        bon_kl_beirami(4, 0.0)
