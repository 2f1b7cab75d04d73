"""``overopt report RUN_DIR [-o FILE] [--svg DIR] [--json]``: outputs and one-line errors (exit 2)."""

from __future__ import annotations

import json


def test_report_command_json_html_and_svg(cli, lab_run, tmp_path):
    out = tmp_path / "r.html"
    r = cli("report", lab_run, "-o", out, "--svg", tmp_path / "svg", "--json")
    assert r.code == 0, r.err
    obj = r.json()
    assert obj["report"] == str(out) and out.read_text().startswith("<!doctype html>")
    assert obj["verdict"]["headline"] and "overview" in obj["figures"] and obj["sample_groups"] > 0
    assert set(obj["absent"]) == {"rl", "dpo", "audit"}
    assert obj["svg"] and all((tmp_path / "svg" / f"{f}.svg").is_file() for f in ("overview", "bon-gold-proxies"))


def test_report_defaults_to_run_dir(cli, lab_run):
    r = cli("report", lab_run)
    assert r.code == 0 and "wrote" in r.out and (lab_run / "report.html").is_file()


def test_bad_inputs_exit_2_with_one_line(cli, tmp_path, lab_run):
    cases = [
        (tmp_path / "missing",),  # no run directory
        (tmp_path,),  # a directory without summary.json
        (lab_run, "-o", tmp_path),  # -o is a directory
        (lab_run, "-o", tmp_path / "no" / "such" / "r.html"),  # its folder does not exist
    ]
    for args in cases:
        r = cli("report", *args)
        assert r.code == 2 and r.err.count("\n") == 1 and "Traceback" not in r.err, (args, r.err)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "summary.json").write_text("{not json")
    r = cli("report", bad)
    assert r.code == 2 and "not valid JSON" in r.err
    (bad / "summary.json").write_text(json.dumps([1, 2]))
    assert cli("report", bad).code == 2
