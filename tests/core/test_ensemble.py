"""Ensembles: the three combination rules, and gold following the ensemble's ranking."""

from __future__ import annotations

import numpy as np
import pytest

from overopt.core.bon import bon_curve, bon_expectation
from overopt.core.ensemble import ensemble_scores
from overopt.errors import InputError


def test_rules_match_their_definitions():
    m = np.array([[1.0, 2.0, 6.0], [0.0, 0.0, 0.0], [-1.0, 3.0, 1.0]])
    np.testing.assert_allclose(ensemble_scores(m, "mean"), [3.0, 0.0, 1.0])
    np.testing.assert_allclose(ensemble_scores(m, "wco"), [1.0, 0.0, -1.0])
    # population variance over members (ddof = 0, Coste et al. 2023): row 0 -> ((2)^2+1^2+3^2)/3 = 14/3
    np.testing.assert_allclose(ensemble_scores(m, "uwo", uwo_lambda=0.5),
                               [3.0 - 0.5 * 14 / 3, 0.0, 1.0 - 0.5 * 8 / 3])
    np.testing.assert_allclose(ensemble_scores(m, "uwo", uwo_lambda=0.0), ensemble_scores(m, "mean"))


@pytest.mark.parametrize("kwargs", [dict(method="median"), dict(method="uwo", uwo_lambda=-1.0)])
def test_bad_arguments(kwargs):
    with pytest.raises(InputError):
        ensemble_scores(np.ones((3, 2)), **kwargs)


def test_nan_member_scores_rejected():
    with pytest.raises(InputError):
        ensemble_scores(np.array([[1.0, np.nan]]), "mean")


def test_gold_follows_the_ensemble_ranking_not_a_members():
    """Regression: selecting by an ensemble must re-sort gold by the ensemble score.

    Member A ranks sample 0 highest, member B ranks sample 2 highest; the WCO ensemble ranks sample 1
    highest (both members like it). Gold is high only on sample 1, so BoN(N) by the ensemble gets
    gold 1.0, while a bug that kept member A's (or B's) ranking would report gold 0.0.
    """
    members = np.array([[5.0, -3.0], [4.0, 4.0], [-3.0, 5.0], [0.0, 0.0]])  # (N=4 samples, k=2)
    gold = np.array([0.0, 1.0, 0.0, 0.0])
    for method in ("mean", "wco", "uwo"):
        select = ensemble_scores(members, method, uwo_lambda=0.1)
        by_ensemble = bon_expectation(select, gold, [4])[0]
        assert by_ensemble == pytest.approx(1.0, abs=1e-14), method
    assert bon_expectation(members[:, 0], gold, [4])[0] == 0.0
    assert bon_expectation(members[:, 1], gold, [4])[0] == 0.0


def test_ensemble_gold_curve_differs_from_each_members_over_many_prompts():
    """Each member is gold plus a large private error; the mean ensemble averages the errors out, so
    its BoN gold curve must lie clearly above either member's (a member-ranking bug equals one of them)."""
    rng = np.random.default_rng(0)
    prompts, big_n, k = 60, 32, 4
    gold = rng.standard_normal(prompts * big_n)
    members = gold[:, None] + 2.0 * rng.standard_normal((gold.size, k))  # (S, k)
    ids = np.repeat(np.arange(prompts), big_n)
    ens = bon_curve(ensemble_scores(members, "mean"), gold, ids, [32], n_boot=200)
    for j in range(k):
        single = bon_curve(members[:, j], gold, ids, [32], n_boot=200)
        assert ens.gold[0] > single.gold_ci[0, 1], j  # above the member's whole CI
    # and the proxy of the ensemble is the ensemble's own score, not a member's
    assert not np.isclose(ens.proxy[0], bon_curve(members[:, 0], members[:, 0], ids, [32]).proxy[0])
