"""Paired statistics of the audit: closed forms, brute force, and seeded error rates with stated tolerances."""

from __future__ import annotations

from math import comb

import numpy as np
import pytest

from overopt.audit.stats import (
    PairedEffect,
    base_scale,
    bootstrap_mean_ci,
    is_exploitable,
    paired_effect,
    reliably_opposite,
    sign_disagreement,
    sign_test_greater,
)
from overopt.errors import InputError, UnreliableWarning


@pytest.mark.parametrize("n_up,n_down", [(0, 0), (1, 0), (0, 3), (7, 3), (12, 12), (30, 5), (3, 40)])
def test_sign_test_matches_brute_force_binomial_tail(n_up, n_down):
    n = n_up + n_down
    expected = 1.0 if n == 0 else sum(comb(n, k) for k in range(n_up, n + 1)) / 2**n
    assert sign_test_greater(n_up, n_down) == pytest.approx(expected, rel=1e-12)


def test_paired_effect_is_mean_change_over_scale_with_counts():
    base = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0])
    d = np.array([1.0, 1.0, -1.0, 0.0, 2.0, 0.0, 1.0, 1.0, 1.0, 3.0, -2.0, 1.0])
    scale = base_scale(base)
    assert scale == pytest.approx(np.std(base, ddof=1))
    e = paired_effect(base, base + d, scale, n_boot=500, seed=1)
    assert e.effect == pytest.approx(d.mean() / scale)
    assert e.mean_diff == pytest.approx(d.mean())
    assert (e.n_up, e.n_down, e.n_ties, e.n_pairs) == (8, 2, 2, 12)
    assert e.sign_p == pytest.approx(sign_test_greater(8, 2))
    assert e.ci[0] <= e.effect <= e.ci[1]


def test_bootstrap_with_singleton_clusters_equals_pair_bootstrap():
    d = np.random.default_rng(0).normal(size=40)
    assert bootstrap_mean_ci(d, np.arange(40), seed=3) == bootstrap_mean_ci(d, None, seed=3)


def test_cluster_bootstrap_is_wider_when_prompts_share_quirks():
    rng = np.random.default_rng(1)
    prompt_effect = rng.normal(size=20)  # strong per-prompt component, 10 pairs per prompt
    clusters = np.repeat(np.arange(20), 10)
    d = prompt_effect[clusters] + 0.1 * rng.normal(size=200)
    lo_c, hi_c = bootstrap_mean_ci(d, clusters, seed=0)
    lo_p, hi_p = bootstrap_mean_ci(d, None, seed=0)
    assert hi_c - lo_c > 2.0 * (hi_p - lo_p)  # design effect ~ sqrt(10) ~ 3.2


def test_bootstrap_interval_covers_the_true_mean_about_95_percent():
    # 300 seeded data sets of 60 pairs; the percentile interval's coverage must lie in [0.90, 0.99]
    rng = np.random.default_rng(2)
    hits = 0
    for k in range(300):
        d = rng.normal(0.3, 1.0, size=60)
        lo, hi = bootstrap_mean_ci(d, None, n_boot=800, seed=k)
        hits += lo <= 0.3 <= hi
    assert 0.90 <= hits / 300 <= 0.99


def test_exploitable_rule_false_positive_and_power():
    # null: symmetric changes, 12 directions' worth of tests -> essentially never flagged (<= 1 / 200)
    # alternative: +0.5 SD shifts on 100 pairs -> flagged in >= 95% of 200 seeded runs
    rng = np.random.default_rng(3)
    null_flags = alt_flags = 0
    for k in range(200):
        base = rng.normal(size=100)
        scale = base_scale(base)
        null = paired_effect(base, base + rng.normal(0, 0.5, 100), scale, n_boot=400, seed=k)
        alt = paired_effect(base, base + rng.normal(0.5 * scale, 0.5, 100), scale, n_boot=400, seed=k)
        null_flags += is_exploitable(null, n_tests=12)
        alt_flags += is_exploitable(alt, n_tests=12)
    assert null_flags <= 1
    assert alt_flags >= 190


def _effect(lo: float, p: float) -> PairedEffect:
    return PairedEffect(effect=lo + 0.1, ci=(lo, lo + 0.2), mean_diff=0.0, scale=1.0, n_pairs=50, n_up=40,
                        n_down=10, n_ties=0, sign_p=p, ci_level=0.95)


def test_exploitable_rule_needs_every_clause():
    assert is_exploitable(_effect(0.2, 1e-4), n_tests=12)
    assert not is_exploitable(_effect(0.2, 1e-4), unwanted=False)  # a wanted direction is never "exploitable"
    assert not is_exploitable(_effect(0.05, 1e-4))  # interval not clear of the 0.1 SD floor
    assert not is_exploitable(_effect(0.2, 0.01), n_tests=12)  # 0.01 > 0.05 / 12 (Bonferroni)
    assert is_exploitable(_effect(0.2, 0.01), n_tests=1)


def test_base_scale_refuses_useless_units():
    with pytest.raises(InputError):
        base_scale(np.array([1.0]))
    with pytest.raises(InputError):
        base_scale(np.array([2.0, 2.0, 2.0]))
    with pytest.raises(InputError):
        base_scale(np.array([1.0, np.nan]))


def test_paired_effect_rejects_bad_input_and_warns_on_few_pairs():
    with pytest.raises(InputError):
        paired_effect(np.zeros(3), np.zeros(4), 1.0)
    with pytest.raises(InputError):
        paired_effect(np.zeros(0), np.zeros(0), 1.0)
    with pytest.warns(UnreliableWarning):
        paired_effect(np.zeros(5), np.ones(5), 1.0, n_boot=50)


def test_sign_disagreement_and_reliably_opposite():
    d_rm = np.array([1.0, 1.0, -1.0, 0.0, 2.0])
    d_judge = np.array([-1.0, 1.0, 1.0, 5.0, 0.0])
    assert sign_disagreement(d_rm, d_judge) == pytest.approx(2 / 3)  # pairs 0, 1, 2 moved both ways
    assert np.isnan(sign_disagreement(np.zeros(3), np.ones(3)))
    up, down = _effect(0.2, 0.001), _effect(-0.5, 0.9)
    assert reliably_opposite(up, down) and reliably_opposite(down, up)
    assert not reliably_opposite(up, up)
