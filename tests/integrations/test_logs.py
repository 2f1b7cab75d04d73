"""Log readers: each framework's format as written by the tests, unit conversion, bad logs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from overopt.errors import InputError
from overopt.integrations.analyze import analyze_log
from overopt.integrations.logs import Columns, read_log


def test_trl_trainer_state_merges_rows_per_step_and_prefers_callback_kl(tmp_path, logs):
    run = logs.make_run(30)
    logs.write_trl(tmp_path / "trainer_state.json", run)
    log = read_log(tmp_path)  # a directory: finds trainer_state.json
    assert log.format == "trl" and log.kl_unit == "per_sequence"
    assert log.sources["kl"] == "overopt/kl" and log.sources["gold"] == "overopt/gold"
    f = log.frame
    assert len(f) == 30  # the final train_runtime row merged into the last step
    gold_rows = f[f["gold"].notna()]
    assert np.allclose(gold_rows["kl"], run.kl_seq[::5])


def test_trl_checkpoint_dirs_pick_the_newest_state(tmp_path, logs):
    for n, k in ((5, 2), (12, 10)):
        (tmp_path / f"checkpoint-{k}").mkdir()
        logs.write_trl(tmp_path / f"checkpoint-{k}" / "trainer_state.json", logs.make_run(n), gold_every=None)
    assert len(read_log(tmp_path).frame) == 12


def test_trl_per_token_kl_is_converted_with_completion_length(tmp_path, logs):
    run = logs.make_run(20)
    logs.write_trl(tmp_path / "trainer_state.json", run, gold_every=None)
    log = read_log(tmp_path / "trainer_state.json")
    assert log.sources["kl"] == "kl" and log.kl_unit == "per_sequence"
    assert np.allclose(log.frame["kl"], run.kl_seq)
    assert any("converted per-token KL" in w for w in log.warnings)


def test_wandb_export_of_openrlhf(tmp_path, logs):
    run = logs.make_run(25)
    logs.write_openrlhf_wandb_csv(tmp_path / "export.csv", run)
    log = read_log(tmp_path / "export.csv", columns=Columns(gold="eval/heldout"))
    assert log.format == "openrlhf"
    assert log.sources == {"step": "Step", "length": "train/response_length", "proxy": "train/reward",
                           "gold": "eval/heldout", "kl": "train/kl"}
    assert np.allclose(log.frame["kl"], run.kl_seq) and np.allclose(log.frame["gold"], run.gold)


def test_wandb_export_with_two_runs_needs_a_choice(tmp_path, logs):
    run = logs.make_run(10)
    p = tmp_path / "two.csv"
    logs.write_openrlhf_wandb_csv(p, run, run_name="a")
    lines = p.read_text().splitlines()
    header = lines[0] + "," + ",".join(c.replace("a - ", "b - ") for c in lines[0].split(",")[1:])
    body = [ln + "," + ",".join(ln.split(",")[1:]) for ln in lines[1:]]
    p.write_text("\n".join([header, *body]) + "\n")
    log = read_log(p)
    assert any("2 runs" in w for w in log.warnings)
    assert len(read_log(p, run="b").frame) == 10
    with pytest.raises(InputError, match="run 'c' not in"):
        read_log(p, run="c")


def test_verl_file_logger_jsonl(tmp_path, logs):
    run = logs.make_run(15)
    logs.write_verl_jsonl(tmp_path / "verl.jsonl", run)
    log = read_log(tmp_path / "verl.jsonl")
    assert log.format == "verl"
    assert log.sources["proxy"] == "critic/score/mean"  # the RM score, not the KL-penalised reward
    assert log.sources["entropy"] == "actor/entropy"
    assert np.allclose(log.frame["kl"], run.kl_seq)


def test_per_token_kl_without_length_stays_per_token_and_says_so(tmp_path):
    p = tmp_path / "m.jsonl"
    p.write_text("".join(json.dumps({"step": i, "actor/kl_loss": 0.01 * i, "critic/score/mean": i}) + "\n"
                         for i in range(8)))
    log = read_log(p)
    assert log.kl_unit == "per_token"
    assert any("NOT comparable" in w for w in log.warnings)


def test_generic_csv_with_user_columns_and_unknown_unit(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("iter,my_kl,score,heldout_mean\n" + "".join(f"{i},{0.1 * i},{i},{i}\n" for i in range(6)))
    log = read_log(p, columns=Columns(step="iter", kl="my_kl", proxy="score", gold="heldout_mean"))
    assert log.format == "csv" and log.kl_unit == "per_sequence"
    assert any("unit of KL column 'my_kl' is unknown" in w for w in log.warnings)
    log2 = read_log(p, columns=Columns(step="iter", kl="my_kl", kl_unit="per_sequence"))
    assert not any("unknown" in w for w in log2.warnings)
    with pytest.raises(InputError, match="'nope'"):
        read_log(p, columns=Columns(gold="nope"))


def test_nan_rows_missing_and_backwards_steps(tmp_path):
    rows = [{"step": 1, "kl": 0.1, "reward": 1.0, "completions/mean_length": 10},
            {"step": None, "kl": 0.2, "reward": 1.0},
            {"step": 2, "kl": float("nan"), "reward": float("nan")},
            {"step": 3, "kl": 0.3, "reward": 2.0, "completions/mean_length": 10},
            {"step": 2, "kl": 0.25, "reward": 1.5, "completions/mean_length": 10},  # resumed from step 2
            {"step": 5, "kl": "Infinity", "reward": 3.0, "completions/mean_length": 10}]
    p = tmp_path / "m.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"step": 6, "kl"\n')  # cut-off last line
    log = read_log(p)
    w = " | ".join(log.warnings)
    assert "without a step" in w and "go backwards" in w and "cut-off" in w
    assert list(log.frame["step"]) == [1, 2, 3, 5]
    assert log.frame.set_index("step").loc[2, "kl"] == pytest.approx(2.5)  # the resumed run's value wins
    assert np.isnan(log.frame.set_index("step").loc[5, "kl"])  # inf is not a number we analyse


def test_mixed_kl_columns_across_a_concatenated_log(tmp_path):
    rows = [{"step": i, "objective/kl": 0.5 * i, "reward": i} for i in range(5)]
    rows += [{"step": i, "kl": 0.01 * i, "reward": i, "completions/mean_length": 20} for i in range(5, 10)]
    p = tmp_path / "m.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    log = read_log(p, "trl")
    assert any("mixed KL columns/units" in w for w in log.warnings)


@pytest.mark.parametrize("content,match", [
    ("", "empty"),
    ("{not json", "not valid JSON"),
    ('{"a": 1}', "neither a trainer_state"),
    ('{"log_history": []}', "no numeric metric rows"),
    ('[{"x": "text"}]', "no numeric metric rows|none of"),
])
def test_bad_json_logs_are_input_errors(tmp_path, content, match):
    p = tmp_path / "trainer_state.json"
    p.write_text(content)
    with pytest.raises(InputError, match=match):
        read_log(p)


def test_other_bad_inputs(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_log(tmp_path / "missing.csv")
    with pytest.raises(InputError, match="without trainer_state"):
        read_log(tmp_path)
    (tmp_path / "x.bin").write_bytes(b"\x00\x01")
    with pytest.raises(InputError, match="cannot tell"):
        read_log(tmp_path / "x.bin")
    (tmp_path / "h.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="none of the metric columns"):
        read_log(tmp_path / "h.csv")
    with pytest.raises(InputError, match="unknown log format"):
        read_log(tmp_path / "h.csv", "mlflow")


def test_huge_log_is_binned_and_stays_fast(tmp_path, logs):
    import time

    n = 200_000
    step = np.arange(n)
    kl = np.linspace(0, 0.2, n)
    p = tmp_path / "big.csv"
    with p.open("w") as fh:
        fh.write("step,kl,reward,completions/mean_length,entropy,unused_1,unused_2\n")
        np.savetxt(fh, np.c_[step, kl, kl * 3, np.full(n, 30.0), np.full(n, 1.0), step, step],
                   delimiter=",", fmt="%.6g")
    t0 = time.perf_counter()
    res = analyze_log(p)
    assert time.perf_counter() - t0 < 20
    assert res["n_steps"] == 400 and any("averaged into 400 step bins" in w for w in res["warnings"])


_TEXT = st.text(alphabet=st.sampled_from(list('{}[]",:0123456789.-eE naNIfty\nstepklrwd/_')), max_size=300)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=_TEXT, suffix=st.sampled_from([".json", ".jsonl", ".csv"]))
def test_fuzzed_logs_never_crash(tmp_path, content, suffix):
    p = tmp_path / f"fuzz{suffix}"
    p.write_text(content)
    try:
        res = analyze_log(p)
    except InputError:
        return
    assert set(res) >= {"overoptimized", "peak", "recommended_step", "fit", "kl_unit", "warnings"}
    json.dumps(res, default=float)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.fixed_dictionaries({}, optional={
    "step": st.one_of(st.integers(-5, 50), st.none(), st.floats(allow_nan=True)),
    "kl": st.floats(allow_nan=True, allow_infinity=True),
    "reward": st.floats(allow_nan=True, width=32),
    "overopt/gold": st.floats(-10, 10),
    "completions/mean_length": st.floats(0, 100)}), max_size=40))
def test_fuzzed_structured_rows_never_crash(tmp_path, rows):
    p = tmp_path / "trainer_state.json"
    p.write_text(json.dumps({"log_history": rows}, allow_nan=True))
    try:
        res = analyze_log(p)
    except InputError:
        return
    assert res["overoptimized"] in (True, False, None)
