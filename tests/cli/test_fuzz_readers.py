"""Hostile input to every reader the CLI exposes: exit 0 or 2, one line on stderr, never a traceback.

Already fuzzed elsewhere: ``bon`` score tables (tests/cli/test_bon_cli.py) and the log readers as a
library (tests/integrations/test_logs.py). Here: study YAML configs, run directories' summary.json
(``overopt report``), ``overopt detect`` JSONL and ``overopt analyze`` logs through the CLI.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True),
                   st.text(max_size=20), st.sampled_from(["../../etc/passwd", "/etc", "lab:gold", "os:system",
                                                          "builtins:exec", "\x00", "~"]))
JSONISH = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                       max_leaves=12)
RAW = st.one_of(st.binary(max_size=300), st.text(max_size=300))


def _write(path, data) -> None:
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))


def _check(r) -> None:
    assert r.code in (0, 2), r.err
    assert "Traceback" not in r.err and "internal error" not in r.err, r.err
    if r.code == 2:
        assert len(r.err.strip().splitlines()) == 1, r.err


STUDY_KEYS = ["policy", "proxy", "gold", "prompts", "ensemble", "uwo_lambda", "heldout_frac", "seed", "threads",
              "rl", "dpo"]


@FUZZ
@given(doc=st.one_of(RAW, st.dictionaries(st.sampled_from(STUDY_KEYS), JSONISH, max_size=8)
                     .map(json.dumps)))
def test_fuzzed_study_configs(cli, tmp_path, doc):
    cfg = tmp_path / "study.yaml"
    _write(cfg, doc)  # JSON is YAML: the structured half exercises validation, the raw half the parser
    r = cli("study", cfg, "--out", tmp_path / "out", "--json")
    _check(r)
    assert r.code == 2  # no fuzzed config names a real policy model


SUMMARY_KEYS = ["schema_version", "preset", "seed", "config", "reference", "proxies", "bon", "bon_info", "rl",
                "dpo", "timings", "study"]


@FUZZ
@given(doc=st.one_of(RAW,
                     st.dictionaries(st.sampled_from(SUMMARY_KEYS), JSONISH, max_size=8).map(json.dumps)),
       store=st.booleans())
def test_fuzzed_run_directories(cli, tmp_path, doc, store):
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    _write(run / "summary.json", doc)
    if store:
        (run / "store.sqlite").write_bytes(b"SQLite format 3\x00" + bytes(100))  # a corrupt store beside it
    _check(cli("report", run, "-o", tmp_path / "r.html", "--json"))


ROW = st.one_of(JSONISH, st.fixed_dictionaries({"response": SCALAR}, optional={"prompt": SCALAR, "id": JSONISH}))


@FUZZ
@given(lines=st.one_of(RAW, st.lists(ROW.map(lambda r: json.dumps(r)), max_size=6).map("\n".join)))
def test_fuzzed_detect_jsonl(cli, tmp_path, lines):
    src = tmp_path / "in.jsonl"
    _write(src, lines)
    r = cli("detect", src, "-o", tmp_path / "out.jsonl", "--json")
    _check(r)


@FUZZ
@given(doc=st.one_of(RAW, JSONISH.map(json.dumps),
                     st.lists(st.dictionaries(st.sampled_from(["step", "kl", "reward", "overopt/gold", "_step"]),
                                              SCALAR, max_size=5), max_size=10)
                     .map(lambda rows: json.dumps({"log_history": rows}))),
       name=st.sampled_from(["trainer_state.json", "log.jsonl", "log.csv", "export.csv", "x.txt"]),
       fmt=st.sampled_from(["auto", "trl", "openrlhf", "verl", "csv"]))
def test_fuzzed_analyze_logs(cli, tmp_path, doc, name, fmt):
    log = tmp_path / name
    _write(log, doc)
    _check(cli("analyze", log, "--format", fmt, "--json"))


def test_summary_that_is_not_utf8(cli, tmp_path):
    (tmp_path / "summary.json").write_bytes(b"\x80{}")
    _check(cli("report", tmp_path, "--json"))


@pytest.mark.parametrize("name", ["summary.json"])
def test_report_of_a_directory_without_summary_is_one_line(cli, tmp_path, name):
    r = cli("report", tmp_path, "--json")
    _check(r)
    assert r.code == 2
