"""Fixtures of the report tests: ONE tiny real lab run per session, and a hostile copy of it.

The tiny lab (a 1-layer reference LM pretrained for a few steps, 2 proxy sizes x 2 data budgets,
16 samples per prompt) runs the real ``LabStudy`` end to end in well under a minute; the reference
LM is cached by config hash like any lab reference. The hostile copy rewrites the run's stored
completions, prompts and a curve name with payloads that would run code if the page ever parsed
them as HTML.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from report_world import HOSTILE, tiny_config


@pytest.fixture(scope="session")
def lab_run(tmp_path_factory) -> Path:
    """A real, finished tiny lab run directory (summary.json, store, report.html)."""
    pytest.importorskip("torch")
    from overopt.lab.study import LabStudy

    out = tmp_path_factory.mktemp("report-lab")
    LabStudy(tiny_config(), out).run()
    return out


@pytest.fixture(scope="session")
def hostile_run(lab_run, tmp_path_factory) -> Path:
    """A copy of ``lab_run`` whose stored completions, prompts and a curve name are hostile."""
    out = tmp_path_factory.mktemp("report-hostile") / "run"
    shutil.copytree(lab_run, out)
    summary = json.loads((out / "summary.json").read_text())
    curve = summary["bon"][0]
    for i, s in enumerate(curve["samples"]):
        s["response"] = HOSTILE[i % len(HOSTILE)]
        s["prompt"] = HOSTILE[(i + 1) % len(HOSTILE)][:200]
    curve["name"] = "<img src=x onerror=\"window.__pwned_name = 1\">"
    summary["proxies"][0]["name"] = curve["name"]
    (out / "summary.json").write_text(json.dumps(summary))
    return out
