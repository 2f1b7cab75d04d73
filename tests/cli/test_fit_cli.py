"""``overopt fit``: JSON contract, valid no-peak answers, bad input exit 2."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from overopt.core.laws import gao_bon, gao_rl

CONTRACT_KEYS = {"form", "alpha", "beta", "intercept", "r2", "peak_kl", "peak_gold", "alpha_ci", "beta_ci",
                 "peak_kl_ci", "schema_version", "status", "extrapolated", "warnings", "peak_gold_ci",
                 "n_points"}


def _curve(form, n=25, seed=0):
    fn, a, b = (gao_bon, 1.0, 0.1) if form == "bon" else (gao_rl, 1.0, 0.3)
    d = np.linspace(0, 10 if form == "bon" else 20, n)
    gold = fn(d, a, b) + 0.05 * np.random.default_rng(seed).standard_normal(n)
    return pd.DataFrame({"step": np.arange(n), "kl": d**2, "gold": gold, "proxy": 2 * d})


@pytest.mark.parametrize(("form", "suffix"), [("bon", ".csv"), ("rl", ".jsonl"), ("bon", ".parquet")])
def test_fit_json_contract(cli, tmp_path, form, suffix):
    df = _curve(form)
    path = tmp_path / f"curve{suffix}"
    {".csv": lambda: df.to_csv(path, index=False),
     ".jsonl": lambda: df.to_json(path, orient="records", lines=True),
     ".parquet": lambda: df.to_parquet(path)}[suffix]()
    r = cli("fit", path, "--form", form, "--json")
    assert r.code == 0, r.err
    out = r.json()
    assert CONTRACT_KEYS <= set(out)
    assert out["status"] == "ok" and out["form"] == form and out["intercept"] == pytest.approx(df.gold[0])
    assert out["peak_kl_ci"][0] < out["peak_kl"] < out["peak_kl_ci"][1]
    expected = 25.0 if form == "bon" else float(np.exp(2 * (1 / 0.3 - 1)))
    assert out["peak_kl"] == pytest.approx(expected, rel=0.1)


def test_fit_table_output_and_gold_se(cli, tmp_path):
    df = _curve("bon")
    df["gold_se"] = 0.05
    df.to_csv(tmp_path / "c.csv", index=False)
    r = cli("fit", tmp_path / "c.csv", "--form", "bon")
    assert r.code == 0 and "peak KL" in r.out and "alpha" in r.out


def test_no_peak_and_too_few_points_exit_0_with_status(cli, tmp_path):
    d = np.linspace(0, 5, 10)
    pd.DataFrame({"kl": d**2, "gold": d + 0.02 * d**2}).to_csv(tmp_path / "rise.csv", index=False)
    r = cli("fit", tmp_path / "rise.csv", "--form", "bon", "--json")
    assert r.code == 0 and r.json()["status"] == "no_peak" and r.json()["peak_kl"] is None
    assert "warning" in r.err and "no peak" in r.err
    pd.DataFrame({"kl": [0, 1, 4], "gold": [0, 1, 1.5]}).to_csv(tmp_path / "few.csv", index=False)
    r = cli("fit", tmp_path / "few.csv", "--form", "rl", "--json")
    assert r.code == 0 and r.json()["status"] == "too_few_points" and r.json()["alpha"] is None
    assert "too few points" in r.err


def test_reads_bon_json_output_using_kl_bound(cli, tmp_path):
    n = np.array([1, 2, 4, 8, 16, 32, 64, 128, 256])
    kl_bound = np.log(n) - (n - 1) / n
    gold = gao_bon(np.sqrt(kl_bound), 1.0, 0.4)
    payload = {"schema_version": 1, "n": n.tolist(), "kl_bound": kl_bound.tolist(), "gold": gold.tolist(),
               "gold_ci": [[g - 0.01, g + 0.01] for g in gold], "n_prompts": 50, "warnings": []}
    (tmp_path / "bon.json").write_text(json.dumps(payload))
    r = cli("fit", tmp_path / "bon.json", "--form", "bon", "--json")
    assert r.code == 0, r.err
    assert r.json()["kl_column"] == "kl_bound" and "kl_bound" in r.err and "gold_se" in r.err
    assert r.json()["alpha"] == pytest.approx(1.0, rel=1e-6)


@pytest.mark.parametrize(("rows", "args", "match"), [
    ({"kl": [0, 1, -2, 4, 9], "gold": [0, 1, 1, 1, 1]}, (), "negative"),
    ({"kl": [0, 1, 2, 4, 9], "gold": [0, 1, None, 1, 1]}, (), "NaN"),
    ({"kl": [0, 1, 2, 4, 9], "gold": [0, 1, "x", 1, 1]}, (), "not numeric"),
    ({"KL": [0, 1, 2, 4, 9], "gold": [0, 1, 1, 1, 1]}, (), "'kl' not found"),
    ({"kl": [0, 1, 2, 4, 9], "gold": [0, 1, 1, 1, 1]}, ("--form", "ppo"), "unknown --form"),
])
def test_bad_input_exit_2(cli, tmp_path, rows, args, match):
    pd.DataFrame(rows).to_csv(tmp_path / "bad.csv", index=False)
    r = cli("fit", tmp_path / "bad.csv", *(args or ("--form", "bon")), "--json")
    assert r.code == 2 and match in r.err and "Traceback" not in r.err and r.out == ""


def test_unreadable_files_exit_2(cli, tmp_path):
    (tmp_path / "empty.csv").write_text("")
    assert cli("fit", tmp_path / "empty.csv", "--form", "bon").code == 2
    (tmp_path / "x.txt").write_text("kl,gold\n0,0\n")
    assert cli("fit", tmp_path / "x.txt", "--form", "bon").code == 2
    (tmp_path / "broken.json").write_text("{not json")
    assert cli("fit", tmp_path / "broken.json", "--form", "bon").code == 2
