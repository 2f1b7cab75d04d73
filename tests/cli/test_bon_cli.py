"""``overopt bon`` end to end on real files: JSON contract, ensembles, and every kind of bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from overopt.core.bon import bon_curve
from overopt.core.ensemble import ensemble_scores

KEYS = {"schema_version", "n", "kl_bound", "proxy", "gold", "gold_ci", "n_prompts", "samples_per_prompt"}


def score_table(prompts=12, per_prompt=16, seed=0):
    rng = np.random.default_rng(seed)
    gold = rng.standard_normal(prompts * per_prompt)
    return pd.DataFrame({
        "prompt_id": np.repeat([f"q{j}" for j in range(prompts)], per_prompt),
        "gold": gold,
        "rm1": gold + rng.standard_normal(gold.size),
        "rm2": gold + rng.standard_normal(gold.size),
        "rm3": np.round(gold + rng.standard_normal(gold.size)),  # coarse scores: ties
    })


@pytest.fixture
def scores_csv(tmp_path):
    path = tmp_path / "scores.csv"
    score_table().to_csv(path, index=False)
    return path


def test_json_contract_and_values(cli, scores_csv):
    r = cli("bon", scores_csv, "--gold", "gold", "--proxy", "rm1", "--json")
    assert r.code == 0, r.err
    out = r.json()
    assert KEYS <= set(out)
    assert out["n"] == [1, 2, 4, 8, 16]  # default grid: powers of 2 below N, plus N
    assert out["n_prompts"] == 12 and out["samples_per_prompt"] == 16
    assert out["kl_estimator"] == "bound"
    df = score_table()
    want = bon_curve(df.rm1.to_numpy(), df.gold.to_numpy(), df.prompt_id.to_numpy(), out["n"])
    np.testing.assert_allclose(out["gold"], want.gold, atol=1e-12)
    np.testing.assert_allclose(out["gold_ci"], want.gold_ci, atol=1e-12)
    np.testing.assert_allclose(out["kl_bound"], want.kl_bound, atol=1e-12)


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_other_formats(cli, tmp_path, suffix):
    df = score_table(prompts=4, per_prompt=5)
    path = tmp_path / f"scores{suffix}"
    df.to_json(path, orient="records", lines=True) if suffix == ".jsonl" else df.to_parquet(path)
    r = cli("bon", path, "--gold", "gold", "--proxy", "rm2", "--n", "1,5", "--json")
    assert r.code == 0, r.err
    assert r.json()["n"] == [1, 5]


def test_ensemble_selection_carries_gold(cli, scores_csv):
    args = ["bon", scores_csv, "--gold", "gold", "--proxy", "rm1", "--proxy", "rm2", "--proxy", "rm3"]
    r = cli(*args, "--ensemble", "uwo", "--uwo-lambda", "0.3", "--n", "1,4,16", "--json")
    assert r.code == 0, r.err
    df = score_table()
    select = ensemble_scores(df[["rm1", "rm2", "rm3"]].to_numpy(), "uwo", 0.3)
    want = bon_curve(select, df.gold.to_numpy(), df.prompt_id.to_numpy(), [1, 4, 16])
    np.testing.assert_allclose(r.json()["gold"], want.gold, atol=1e-12)
    np.testing.assert_allclose(r.json()["proxy"], want.proxy, atol=1e-12)


def test_table_output(cli, scores_csv):
    r = cli("bon", scores_csv, "--gold", "gold", "--proxy", "rm1", "--n", "1,2")
    assert r.code == 0, r.err
    assert "KL bound" in r.out and "gold" in r.out


@pytest.mark.parametrize("args,needle", [
    (["--gold", "gld", "--proxy", "rm1"], "did you mean 'gold'"),
    (["--gold", "gold", "--proxy", "rm1", "--proxy", "rm2"], "--ensemble"),
    (["--gold", "gold", "--proxy", "rm1", "--n", "1,32"], "exceeds"),
    (["--gold", "gold", "--proxy", "rm1", "--n", "a,b"], "comma-separated"),
    (["--gold", "gold", "--proxy", "rm1", "--prompt-col", "prompt"], "prompt"),
    (["--gold", "gold", "--proxy", "rm1", "--ensemble", "median"], "mean, wco or uwo"),
])
def test_bad_arguments_exit_2(cli, scores_csv, args, needle):
    r = cli("bon", scores_csv, *args, "--json")
    assert r.code == 2
    assert needle in r.err and len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err


@pytest.mark.parametrize("content,name,needle", [
    ("", "s.csv", "empty"),
    ("prompt_id,gold,rm1\na,1,2\na,nan,3\n", "s.csv", "NaN/inf"),
    ("prompt_id,gold,rm1\na,1,2\na,inf,3\n", "s.csv", "NaN/inf"),
    ("prompt_id,gold,rm1\na,1,2\na,good,3\n", "s.csv", "not numeric"),
    ("prompt_id,gold,rm1\na,1,2\n", "s.xlsx", "extension"),
    ("prompt_id,gold,rm1\n", "s.csv", "no data rows"),
    ('{"prompt_id": "a", "gold": 1, "rm1": ', "s.jsonl", "could not read"),
])
def test_bad_files_exit_2(cli, tmp_path, content, name, needle):
    path = tmp_path / name
    path.write_text(content)
    r = cli("bon", path, "--gold", "gold", "--proxy", "rm1", "--json")
    assert r.code == 2, (r.code, r.err)
    assert needle in r.err and "Traceback" not in r.err


CELL = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5),
                 st.text(max_size=4), st.none())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(
    st.binary(max_size=200),
    st.lists(st.tuples(st.sampled_from(["a", "b", "", "1"]), CELL, CELL), max_size=8).map(
        lambda rows: "prompt_id,gold,rm1\n" + "".join(f"{p},{g},{r}\n" for p, g, r in rows)),
    st.lists(st.fixed_dictionaries({"prompt_id": CELL, "gold": CELL, "rm1": CELL}), max_size=6).map(
        lambda rows: "\n".join(json.dumps(r) for r in rows)),
), suffix=st.sampled_from([".csv", ".jsonl", ".parquet", ".tsv"]))
def test_fuzzed_files_never_crash(cli, tmp_path, data, suffix):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
    r = cli("bon", path, "--gold", "gold", "--proxy", "rm1", "--json")
    assert r.code in (0, 2), r.err
    assert "Traceback" not in r.err and "internal error" not in r.err
    if r.code == 0:
        assert KEYS <= set(r.json())


def test_missing_required_option_is_a_usage_error(cli, scores_csv):
    r = cli("bon", scores_csv, "--gold", "gold", "--json")
    assert r.code == 2 and "proxy" in r.err
