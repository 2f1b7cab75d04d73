"""``overopt detect``: annotated rows keep their fields; bad lines become per-row errors; --json rates."""

from __future__ import annotations

import json
from pathlib import Path

DEVSET = Path(__file__).parents[1] / "data" / "text_devset.jsonl"

DETECT_KEYS = {"refusal", "sycophancy", "stock_phrases", "hedges", "apologies", "n_words", "rep_2",
               "distinct_2", "compression_ratio", "rare_token_runs"}


def _write(path, lines: list[bytes]) -> None:
    path.write_bytes(b"\n".join(lines) + b"\n")


def test_detect_writes_rows_and_survives_bad_lines(cli, tmp_path):
    src = tmp_path / "in.jsonl"
    big = "Certainly! " + "word " * 2_000_000  # a ~10 MB single response
    _write(src, [
        json.dumps({"id": "a", "prompt": "How do I kill a python process?",
                    "response": "I cannot help with that."}).encode(),
        b"{not json",
        json.dumps({"id": "c"}).encode(),
        b'{"id": "d", "response": "caf\xe9 \xff"}',
        json.dumps({"id": "e", "response": big}).encode(),
        json.dumps([1, 2]).encode(),
    ])
    out = tmp_path / "out.jsonl"
    r = cli("detect", src, "-o", out, "--json")
    assert r.code == 0, r.err
    summary = r.json()
    assert (summary["n_rows"], summary["n_ok"], summary["n_errors"]) == (6, 2, 4)
    assert summary["rates"]["overopt/refusal_rate"] == 0.5
    lo, hi = summary["ci95"]["overopt/refusal_rate"]
    assert 0 < lo < 0.5 < hi < 1
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r.get("id") for r in rows] == ["a", None, "c", None, "e", None]
    assert rows[0]["overopt"]["refusal"] == "refusal" and set(rows[0]["overopt"]) >= DETECT_KEYS
    assert rows[0]["prompt"] == "How do I kill a python process?"
    assert "not valid JSON" in rows[1]["overopt_error"] and rows[1]["overopt_line"] == 2
    assert "missing" in rows[2]["overopt_error"]
    assert "UTF-8" in rows[3]["overopt_error"]
    assert rows[4]["overopt"]["n_words"] == 2_000_001
    assert rows[4]["overopt"]["rare_token_runs"][0]["kind"] == "repeat"
    assert "overopt_error" in rows[5]


def test_detect_prints_rows_to_stdout_and_rejects_missing_file(cli, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"response": "Sure! I hope this helps."}) + "\n", encoding="utf-8")
    r = cli("detect", src)
    assert r.code == 0
    row = json.loads(r.out.splitlines()[0])
    assert [s["category"] for s in row["overopt"]["stock_phrases"]] == ["closer"]
    r = cli("detect", tmp_path / "nope.jsonl")
    assert r.code == 2 and "does not exist" in r.err and "Traceback" not in r.err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    r = cli("detect", empty, "--json")
    assert r.code == 2 and "no rows" in r.err


def test_detect_on_two_workers_writes_the_same_rows_in_the_same_order(cli, tmp_path):
    """--workers 2 (real processes, chunks in flight) = --workers 1, bad lines kept in place."""
    dev = [json.loads(line) for line in open(DEVSET, encoding="utf-8")]
    lines = []
    for i, row in enumerate(dev * 3):  # ~390 rows: more than one 256-row chunk per worker
        lines.append(json.dumps({"id": i, "prompt": row["prompt"], "response": row["response"]}).encode())
        if i % 97 == 0:
            lines.append(b"{broken")
    src = tmp_path / "in.jsonl"
    _write(src, lines)
    outs = {}
    for workers in ("1", "2"):
        outs[workers] = tmp_path / f"out{workers}.jsonl"
        r = cli("detect", src, "-o", outs[workers], "--workers", workers, "--json")
        assert r.code == 0, r.err
        assert r.json()["n_errors"] == sum(1 for line in lines if line == b"{broken")
    one, two = outs["1"].read_text(encoding="utf-8"), outs["2"].read_text(encoding="utf-8")
    assert one == two and len(one.splitlines()) == len(lines)
    r = cli("detect", src, "--workers", "-1")
    assert r.code == 2 and "--workers" in r.err and "Traceback" not in r.err
