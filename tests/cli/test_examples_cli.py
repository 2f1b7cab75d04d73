"""The interim main job: example-scores -> bon -> fit, all through the CLI."""

from __future__ import annotations

import numpy as np


def test_example_scores_bon_fit_pipeline(cli, tmp_path):
    scores = tmp_path / "scores.csv"
    r = cli("example-scores", scores, "--seed", "0", "--json")
    assert r.code == 0 and r.json()["n_rows"] == 50 * 256
    r = cli("bon", scores, "--gold", "gold", "--proxy", "proxy", "--n-boot", "200", "--json")
    assert r.code == 0, r.err
    (tmp_path / "bon.json").write_text(r.out)
    r = cli("fit", tmp_path / "bon.json", "--form", "bon", "--json")
    assert r.code == 0, r.err
    fit = r.json()
    # the mechanism puts the peak of expected gold at n = 29, i.e. KL bound log 29 - 28/29 = 2.40 nats;
    # the fit weights points by the bon CIs, and its peak interval must contain that value
    assert fit["status"] == "ok" and not fit["extrapolated"] and fit["r2"] > 0.9
    assert fit["peak_kl_ci"][0] < np.log(29) - 28 / 29 < fit["peak_kl_ci"][1]


def test_example_scores_bad_path_exit_2(cli, tmp_path):
    r = cli("example-scores", tmp_path / "nope" / "s.csv")
    assert r.code == 2 and "does not exist" in r.err
    r = cli("example-scores", tmp_path / "s.csv")
    assert r.code == 0 and "next: overopt bon" in r.out
