"""The example score table: its mechanism produces a best-of-n gold curve that rises then falls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from overopt.core.bon import bon_curve
from overopt.errors import InputError
from overopt.examples import example_scores_frame, expected_bon_gold, make_example_scores

NS = [1, 2, 4, 8, 16, 32, 64, 128, 256]


def test_expected_curve_matches_monte_carlo_of_the_model():
    # brute force: many independent best-of-8 draws from the model, picked by proxy
    df = example_scores_frame(n_prompts=4000, n_samples=8, seed=1)
    g = df.groupby("prompt_id", sort=False)
    pick = df.loc[g["proxy"].idxmax()]
    mc_mean = pick["gold"].mean()
    mc_se = pick["gold"].std() / np.sqrt(len(pick))
    assert abs(mc_mean - expected_bon_gold([8])[0]) < 4 * mc_se
    assert expected_bon_gold([1])[0] == pytest.approx(-0.5 * (1 + 0.3**2))  # E[gold] of the reference


def test_mechanism_gold_rises_then_falls():
    g = expected_bon_gold(np.arange(1, 257))
    peak_n = int(np.argmax(g)) + 1
    assert 8 <= peak_n <= 64 and g[peak_n - 1] - g[0] > 0.5 and g[peak_n - 1] - g[-1] > 0.1


def test_file_curve_agrees_with_the_model(tmp_path):
    info = make_example_scores(tmp_path / "s.csv", seed=0)
    df = pd.read_csv(info.path)
    assert info.n_rows == len(df) == 50 * 256
    assert {"prompt_id", "proxy", "gold"} <= set(df.columns)
    curve = bon_curve(df.proxy.to_numpy(), df.gold.to_numpy(), df.prompt_id.to_numpy(), NS, n_boot=300)
    expected = expected_bon_gold(NS)
    inside = (curve.gold_ci[:, 0] <= expected) & (expected <= curve.gold_ci[:, 1])
    assert inside.sum() >= len(NS) - 1, (curve.gold, expected)  # 95 % CIs; allow one miss of 9
    assert curve.gold[4] > curve.gold[0] + 0.5  # n = 16 well above n = 1
    assert np.all(np.diff(curve.proxy) > 0)  # the proxy keeps rising


def test_seeded_and_validated(tmp_path):
    a = example_scores_frame(n_prompts=3, n_samples=5, seed=7)
    pd.testing.assert_frame_equal(a, example_scores_frame(n_prompts=3, n_samples=5, seed=7))
    assert not a.equals(example_scores_frame(n_prompts=3, n_samples=5, seed=8))
    # the proxy's bias is correlated with length: the mechanism, not noise
    big = example_scores_frame(n_prompts=20, n_samples=200, seed=0)
    assert stats.pearsonr(big.proxy - big.gold, big.length_z)[0] > 0.5
    with pytest.raises(InputError, match=".csv"):
        make_example_scores(tmp_path / "s.txt")
    with pytest.raises(InputError, match=">= 1"):
        example_scores_frame(n_prompts=0)
