"""The page's escaping rules, the static SVG export, and the report built from a real tiny lab run."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from report_world import HOSTILE

from overopt.report import build_report, render
from overopt.report.page import json_for_script, table
from overopt.report.spans import completion_spans
from overopt.report.svg import MAIN_FIGURES, figure_svg, nice_ticks


def test_embedded_json_cannot_close_its_script_element_and_round_trips():
    obj = {"r": HOSTILE[:4], "nan": float("nan"), "line": "a\u2028b\u2029c"}
    text = json_for_script(obj)
    assert not re.search(r"[<>&\u2028\u2029]", text)
    back = json.loads(text)
    assert back["r"] == HOSTILE[:4] and back["nan"] is None and back["line"] == "a\u2028b\u2029c"


def test_tables_escape_every_cell():
    out = table({"head": ["<th>"], "rows": [["<script>x</script>"], ['" onmouseover="y']]})
    assert "<script>" not in out and "&lt;script&gt;" in out and '" onmouseover' not in out


def test_spans_index_the_text_in_utf16_units():
    text = "Certainly! \U0001F600 Perhaps this works. I hope this helps!"
    spans = completion_spans(text)
    u16 = text.encode("utf-16-le")
    got = [(s["cat"], u16[2 * s["start"]:2 * s["end"]].decode("utf-16-le")) for s in spans]
    assert got == [("stock", "Certainly"), ("hedge", "Perhaps"), ("stock", "I hope this helps")]
    assert spans[1]["start"] == 14  # 13 code points before it, the emoji counting twice


def test_refusal_spans_are_the_detectors_confirmed_declines():
    def marked(text: str) -> list[tuple[str, str]]:
        return [(s["cat"], text[s["start"]:s["end"]]) for s in completion_spans(text) if s["cat"] == "refusal"]

    assert marked("Sharing that isn't something I can do.")  # a decline confirmed by the "n't" before it
    assert marked("I can't help but notice the typo.") == []  # a look-alike
    assert marked('She said "I cannot help you" and left.') == []  # quoted speech


def test_report_of_a_real_lab_run(lab_run):
    # 'overopt lab' (LabStudy.run) wrote this report itself at the end of the run
    assert 'id="overopt-data"' in (lab_run / "report.html").read_text()
    view = build_report(lab_run)
    summary = json.loads((lab_run / "summary.json").read_text())
    assert view["verdict"]["headline"].startswith(("Best-of-n against proxy", "No over-optimization"))
    names = {c["name"] for c in summary["bon"]}
    assert view["verdict"]["curve"][1] in names
    # every clickable point links to a stored group of that curve
    for f in view["figures"]:
        for t in f["data"]:
            for key in t.get("customdata") or []:
                assert key == "" or key in view["samples"], (f["id"], key)
    assert set(view["notes"]) >= {"rl", "dpo", "audit"}  # absent sections say so
    html = render(view)
    assert html.count("<script") == 3 and "https://" not in html.split("<script type")[0]
    assert len(view["tables"]["proxies"]["rows"]) == len(summary["proxies"])


def test_svg_export_is_valid_xml_with_escaped_names(lab_run, tmp_path):
    from overopt.report.svg import write_svgs

    view = build_report(lab_run)
    view["figures"][0]["data"][0]["name"] = "&lt;b&gt; x &amp; y"  # as plotly strings are stored
    paths = write_svgs(view, tmp_path)
    assert {p.stem for p in paths} <= set(MAIN_FIGURES) and "overview" in {p.stem for p in paths}
    for p in paths:
        root = ET.fromstring(p.read_text())
        assert root.tag.endswith("svg") and root.findall(".//{http://www.w3.org/2000/svg}polyline")
    assert "&lt;b&gt; x &amp; y" in figure_svg(view["figures"][0])


def test_nice_ticks():
    assert nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(-0.13, 0.41) == [0.0, 0.2, 0.4]
    assert nice_ticks(-0.13, 0.91) == [0.0, 0.25, 0.5, 0.75]


def test_study_run_without_best_of_n_or_proxies(rl_run, tmp_path):
    """An 'overopt study' summary (RL/DPO only): the headline is about RL and the empty sections say why."""
    import shutil

    run = tmp_path / "study"
    shutil.copytree(rl_run, run)
    summary = json.loads((run / "summary.json").read_text())
    for key in ("bon", "proxies", "bon_info", "preset"):
        summary.pop(key)
    summary["rl"][0]["gold_se"][0] = float("nan")  # runner.py writes NaN tokens (json allow_nan)
    (run / "summary.json").write_text(json.dumps(summary))
    view = build_report(run)
    assert view["kind"] == "study" and view["verdict"]["curve"][0] in ("rl", "dpo")
    assert view["verdict"]["headline"].startswith(("RL (grpo, KL coefficient", "DPO run"))
    assert {"bon", "proxies"} <= set(view["notes"]) and "rl" not in view["notes"]
    html = render(view)
    assert html.count("<script") == 3 and "NaN" not in html.split('id="overopt-data">')[1].split("</script>")[0]


def test_monitor_replay_alarms_on_the_run_that_turns_down(rl_run):
    """kl0's gold (Gao RL form d(1 - 0.6 log d), d = step/15: peak 1.17 at step ~29) falls to 0.67 by step 60:
    the monitor alarms; coefficient 0.2 (KL / 3) only reaches d = 2.3 by step 60, gold 1.15 vs its peak 1.17
    (flat within noise): no alarm (it must not cry wolf)."""
    rows = {r[0]: r for r in build_report(rl_run)["tables"]["monitor"]["rows"]}
    assert rows["rl/s-40-kl0"][3] is not None and rows["rl/s-40-kl0"][5] > 0.2
    assert rows["rl/s-40-kl0.2"][3] is None and rows["rl/s-40-kl0.2"][7] == "no alarm"


def test_missing_chromium_skips_locally_but_fails_on_ci(monkeypatch):
    import pytest
    import report_world

    monkeypatch.setattr(report_world, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="missing on CI"):
        report_world.need_chromium()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        report_world.need_chromium()
