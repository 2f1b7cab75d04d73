"""Best-of-n curve: brute force over every n-subset (with ties), closed forms, and input errors."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest

from overopt.core.bon import (
    BonCurve,
    BonPerPrompt,
    bon_aggregate,
    bon_curve,
    bon_expectation,
    bon_per_prompt,
    bon_weights,
)
from overopt.errors import InputError, UnreliableWarning


def brute_force(select, values, n):
    """Average over all C(N, n) subsets; the pick is uniform among the subset's tied maxima."""
    total = 0.0
    subsets = list(itertools.combinations(range(len(select)), n))
    for sub in subsets:
        best = max(select[i] for i in sub)
        tied = [i for i in sub if select[i] == best]
        total += np.mean([values[i] for i in tied])
    return total / len(subsets)


@pytest.mark.parametrize("seed", range(12))
def test_matches_brute_force_with_ties(seed):
    rng = np.random.default_rng(seed)
    big_n = int(rng.integers(1, 10))
    # few distinct selection scores -> many ties, including ties at the top
    select = rng.integers(0, 3, big_n).astype(float)
    values = rng.standard_normal(big_n)
    ns = list(range(1, big_n + 1))
    got = bon_expectation(select, values, ns)
    want = [brute_force(select, values, n) for n in ns]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_sort_order_of_ties_does_not_matter():
    """The answer must not depend on the order a sort leaves tied samples in."""
    select = np.array([1.0, 2.0, 2.0, 2.0, 0.5, 2.0])
    values = np.array([0.3, 10.0, -4.0, 1.0, 7.0, 2.5])
    perm = np.array([5, 3, 1, 0, 4, 2])
    a = bon_expectation(select, values, [1, 2, 3, 6])
    b = bon_expectation(select[perm], values[perm], [1, 2, 3, 6])
    np.testing.assert_allclose(a, b, atol=1e-14)
    # n = N picks uniformly among the four tied maxima
    assert a[-1] == pytest.approx(np.mean([10.0, -4.0, 1.0, 2.5]), abs=1e-14)


def test_multicolumn_values_and_edges():
    rng = np.random.default_rng(3)
    select, values = rng.standard_normal(7), rng.standard_normal((7, 3))
    got = bon_expectation(select, values, [1, 7])  # (K, m)
    assert got.shape == (2, 3)
    np.testing.assert_allclose(got[0], values.mean(axis=0), atol=1e-14)  # n=1: plain mean
    np.testing.assert_allclose(got[1], values[np.argmax(select)], atol=1e-14)  # n=N: the argmax


def test_weights_match_exact_binomials_for_large_n():
    big_n, ns = 3000, [1, 2, 17, 1500, 2999, 3000]
    w = bon_weights(big_n, ns)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-12)
    for k, n in enumerate(ns):
        for i in (n - 1, n, big_n // 2, big_n - 2, big_n - 1):  # 0-based sorted positions
            if i < n - 1 or i >= big_n:
                continue
            exact = math.comb(i, n - 1) / math.comb(big_n, n)  # correctly rounded big-int division
            assert w[k, i] == pytest.approx(exact, rel=1e-11, abs=1e-300)
    assert np.all(w[3, :1499] == 0)  # below position n the weight is exactly 0


def test_uniform_scores_closed_form():
    """Gold = selection score ~ U(0,1): E[max of n] = n/(n+1); the unbiased estimator averages there."""
    rng = np.random.default_rng(0)
    prompts, big_n = 400, 64
    s = rng.random(prompts * big_n)
    ids = np.repeat(np.arange(prompts), big_n)
    curve = bon_curve(s, s, ids, [1, 4, 16, 64], n_boot=200, seed=1)
    want = np.array([1, 4, 16, 64]) / np.array([2, 5, 17, 65])
    assert np.all((curve.gold_ci[:, 0] < want) & (want < curve.gold_ci[:, 1]))
    np.testing.assert_allclose(curve.proxy, curve.gold, atol=1e-15)


def test_curve_equals_mean_of_per_prompt_expectations_with_unequal_n():
    rng = np.random.default_rng(5)
    sizes = [5, 9, 5, 12, 9]
    ids = np.concatenate([[f"p{j}"] * m for j, m in enumerate(sizes)])
    sel = rng.integers(0, 4, ids.size).astype(float)
    gold = rng.standard_normal(ids.size)
    perm = rng.permutation(ids.size)  # prompts interleaved: grouping must not rely on row order
    with pytest.warns(UnreliableWarning, match="5 prompt"):
        curve = bon_curve(sel[perm], gold[perm], ids[perm], [1, 2, 5], n_boot=50)
    per_prompt = [bon_expectation(sel[ids == f"p{j}"], gold[ids == f"p{j}"], [1, 2, 5]) for j in range(5)]
    np.testing.assert_allclose(curve.gold, np.mean(per_prompt, axis=0), atol=1e-13)
    assert isinstance(curve, BonCurve)
    assert (curve.n_prompts, curve.samples_per_prompt) == (5, 5)
    assert curve.kl_estimator == "bound" and curve.kl_bound[0] == 0.0


def test_bootstrap_is_seeded_and_brackets_the_mean():
    rng = np.random.default_rng(2)
    ids = np.repeat(np.arange(30), 8)
    sel, gold = rng.standard_normal(240), rng.standard_normal(240)
    a = bon_curve(sel, gold, ids, [1, 8], seed=4)
    b = bon_curve(sel, gold, ids, [1, 8], seed=4)
    np.testing.assert_array_equal(a.gold_ci, b.gold_ci)
    assert np.all(a.gold_ci[:, 0] <= a.gold) and np.all(a.gold <= a.gold_ci[:, 1])
    assert np.all(a.gold_ci[:, 1] - a.gold_ci[:, 0] > 0)


def test_n_above_a_prompts_samples_names_the_prompt():
    ids = np.array(["a"] * 4 + ["short"] * 2)
    with pytest.raises(InputError, match="'short'"):
        bon_curve(np.arange(6.0), np.arange(6.0), ids, [1, 3])


@pytest.mark.parametrize("bad", [
    dict(select=[1.0, np.nan], gold=[1.0, 2.0], ids=[0, 0], ns=[1]),
    dict(select=[1.0, 2.0], gold=[1.0, np.inf], ids=[0, 0], ns=[1]),
    dict(select=[1.0, 2.0], gold=[1.0, 2.0], ids=[0, 0], ns=[0]),
    dict(select=[1.0, 2.0], gold=[1.0, 2.0], ids=[0, 0], ns=[1.5]),
    dict(select=[1.0, 2.0], gold=[1.0], ids=[0, 0], ns=[1]),
    dict(select=[1.0, 2.0], gold=[1.0, 2.0], ids=[0.0, np.nan], ns=[1]),
])
def test_bad_input_raises_input_error(bad):
    with pytest.raises(InputError):
        bon_curve(bad["select"], bad["gold"], bad["ids"], bad["ns"])


def test_tuple_prompt_ids():
    ids = [("a", 1)] * 3 + [("b", 2)] * 3
    with pytest.warns(UnreliableWarning):
        curve = bon_curve(np.arange(6.0), np.arange(6.0), ids, [1, 3], n_boot=10)
    np.testing.assert_allclose(curve.gold, [2.5, 3.5])
    assert curve.n_prompts == 2


def test_few_prompts_warn():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bon_curve([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [0, 0, 0], [1, 2], n_boot=10)
    assert any(issubclass(w.category, UnreliableWarning) for w in caught)


def test_weight_chunks_give_the_same_curve(monkeypatch):
    """Long n grids are processed in chunks of the (K, N) weight matrix; chunking must not change results."""
    from overopt.core import bon

    rng = np.random.default_rng(9)
    select, values = rng.integers(0, 20, 50).astype(float), rng.standard_normal(50)
    whole = bon_expectation(select, values, np.arange(1, 51))
    monkeypatch.setattr(bon, "_WEIGHT_BUDGET", 120)  # 2 values of n per chunk
    np.testing.assert_allclose(bon_expectation(select, values, np.arange(1, 51)), whole, rtol=0, atol=1e-14)


def test_shards_of_prompts_aggregate_to_the_single_call_curve():
    """bon_per_prompt on shards of prompts, concatenated, then bon_aggregate == bon_curve on all samples
    (means, CIs, counts; to 1e-12), for one shard and for uneven shards; unequal N and ties included."""
    rng = np.random.default_rng(11)
    sizes = rng.integers(6, 14, 23)
    ids = np.repeat(np.arange(sizes.size), sizes)
    sel = rng.integers(0, 5, ids.size).astype(float)  # many ties
    gold = rng.standard_normal(ids.size)
    ns = [1, 2, 3, 6]
    whole = bon_curve(sel, gold, ids, ns, n_boot=300, seed=7)
    for cuts in ([0, 23], [0, 1, 9, 10, 17, 23]):
        parts = []
        for lo, hi in itertools.pairwise(cuts):
            rows = (ids >= lo) & (ids < hi)
            parts.append(bon_per_prompt(sel[rows], gold[rows], ids[rows], ns))
        per = BonPerPrompt.concat(parts)
        got = bon_aggregate(per, n_boot=300, seed=7)
        for field in ("n", "proxy", "gold", "proxy_ci", "gold_ci", "kl_bound"):
            np.testing.assert_allclose(getattr(got, field), getattr(whole, field), rtol=0, atol=1e-12)
        assert (got.n_prompts, got.samples_per_prompt) == (whole.n_prompts, whole.samples_per_prompt) == (23, 6)
        assert per.prompt_ids == list(range(23))
    # each row is that prompt's exact expectation (an independent route: bon_expectation per prompt)
    np.testing.assert_allclose(per.gold[4], bon_expectation(sel[ids == 4], gold[ids == 4], ns), atol=1e-13)


def test_concat_refuses_overlapping_or_mismatched_shards():
    rng = np.random.default_rng(0)
    ids = np.repeat([0, 1], 4)
    a = bon_per_prompt(rng.standard_normal(8), rng.standard_normal(8), ids, [1, 2])
    with pytest.raises(InputError, match="two shards"):
        BonPerPrompt.concat([a, a])
    b = bon_per_prompt(rng.standard_normal(8), rng.standard_normal(8), ids + 2, [1, 4])
    with pytest.raises(InputError, match="different n"):
        BonPerPrompt.concat([a, b])
