"""EnsembleReward: z-scoring members and combining them exactly as overopt.core.ensemble does."""

from __future__ import annotations

import numpy as np
import pytest

from overopt.errors import InputError
from overopt.models.ensemble import EnsembleReward
from overopt.models.resolve import CallableReward

PROMPTS = ["p"] * 4
RESPONSES = ["a", "bb", "ccc", "dddd"]


def _members():
    return [CallableReward(lambda p, r: [10.0 + len(x) for x in r]),
            CallableReward(lambda p, r: [-5.0 + 3 * (len(x) % 2) for x in r])]


def test_wco_is_min_of_z_scored_members():
    ens = EnsembleReward(_members(), method="wco", ref_stats=[(10.0, 2.0), (-5.0, 3.0)])
    z = np.array([[0.5, 1.0], [1.0, 0.0], [1.5, 1.0], [2.0, 0.0]])
    np.testing.assert_allclose(ens.member_scores(PROMPTS, RESPONSES), z)
    np.testing.assert_allclose(ens.score(PROMPTS, RESPONSES), z.min(axis=1))


def test_uwo_and_calibration():
    ens = EnsembleReward.calibrated(_members(), PROMPTS, RESPONSES, method="uwo", uwo_lambda=0.5)
    z = ens.member_scores(PROMPTS, RESPONSES)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-12)
    np.testing.assert_allclose(ens.score(PROMPTS, RESPONSES), z.mean(1) - 0.5 * z.var(1), atol=1e-12)


def test_bad_ensembles_are_input_errors():
    with pytest.raises(InputError):
        EnsembleReward(_members()[:1])
    with pytest.raises(InputError):
        EnsembleReward(_members(), ref_stats=[(0.0, 1.0)])
