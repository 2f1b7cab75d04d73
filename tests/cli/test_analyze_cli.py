"""``overopt analyze``: the JSON contract, verdicts on framework logs, one-line errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integrations"))
import logwriters as logs  # noqa: E402  (the log writers of tests/integrations)

KEYS = {"schema_version", "overoptimized", "peak", "recommended_step", "fit", "kl_unit", "warnings"}


def test_overoptimizing_trl_run_is_flagged_with_a_checkpoint(tmp_path, cli):
    logs.write_trl(tmp_path / "trainer_state.json", logs.make_run(60, overopt=True))
    r = cli("analyze", tmp_path, "--json")
    assert r.code == 0, r.err
    out = r.json()
    assert KEYS <= set(out)
    assert out["overoptimized"] is True and out["kl_unit"] == "per_sequence"
    # the true peak is at per-sequence KL 4 (d = 2); the checkpoint lies near it, the alarm after it
    assert 2.0 <= out["peak"]["kl"] <= 8.0
    assert out["recommended_step"] == out["peak"]["step"] < out["alarm_step"]
    assert out["fit"]["form"] == "rl" and 3.0 <= out["fit"]["peak_kl"] <= 5.0


def test_run_that_does_not_overoptimize_is_not_flagged(tmp_path, cli):
    logs.write_trl(tmp_path / "trainer_state.json", logs.make_run(60, overopt=False, seed=3))
    out = cli("analyze", tmp_path / "trainer_state.json", "--json").json()
    assert out["overoptimized"] is False and out.get("alarm_step") is None


def test_without_gold_it_reports_training_signals_and_null(tmp_path, cli):
    logs.write_verl_jsonl(tmp_path / "verl.jsonl", logs.make_run(40))
    out = cli("analyze", tmp_path / "verl.jsonl", "--format", "verl", "--json").json()
    assert out["overoptimized"] is None and out["peak"] is None and out["recommended_step"] is None
    assert any("cannot be established without a held-out signal" in w for w in out["warnings"])
    sig = out["signals"]
    assert sig["length_drift"]["drifting"] and sig["entropy_collapse"]["collapsed"]
    assert sig["kl_growth"]["last"] > sig["kl_growth"]["first"]


def test_user_named_gold_in_a_wandb_export(tmp_path, cli):
    logs.write_openrlhf_wandb_csv(tmp_path / "export.csv", logs.make_run(50))
    out = cli("analyze", tmp_path / "export.csv", "--gold", "eval/heldout", "--json").json()
    assert out["format"] == "openrlhf" and out["overoptimized"] is True
    assert any("noise estimated" in w for w in out["warnings"])


def test_human_output(tmp_path, cli):
    logs.write_trl(tmp_path / "trainer_state.json", logs.make_run(30))
    r = cli("analyze", tmp_path)
    assert r.code == 0 and "recommended checkpoint" in r.out


@pytest.mark.parametrize("args,match", [
    (("missing.json",), "does not exist"),
    (("empty.jsonl",), "empty"),
    (("ok.jsonl", "--format", "mlflow"), "unknown log format"),
    (("ok.jsonl", "--gold", "heldot"), "did you mean 'heldout'"),
    (("ok.jsonl", "--kl-unit", "nats"), "per_token or per_sequence"),
    (("ok.jsonl", "--alpha", "2"), "alpha"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, cli, args, match):
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "ok.jsonl").write_text("".join(json.dumps({"step": i, "kl": 0.1 * i, "heldout": 1.0}) + "\n"
                                               for i in range(5)))
    r = cli("analyze", *(str(tmp_path / a) if a.endswith((".json", ".jsonl")) else a for a in args), "--json")
    assert r.code == 2 and r.out == ""
    assert match in r.err and len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
