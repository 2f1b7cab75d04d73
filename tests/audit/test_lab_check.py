"""``predictive_from_summary`` reads paths out of a lab run's summary.json: they cannot leave the run."""

from __future__ import annotations

import json

import pytest

from overopt.audit.lab_check import predictive_from_summary
from overopt.errors import ConfigError, InputError


@pytest.mark.parametrize("reference, proxy", [("../../etc", "artifacts/proxy-s"), ("/etc", "artifacts/proxy-s"),
                                              ("artifacts/reference", "../../etc/passwd")])
def test_a_summary_pointing_outside_the_run_is_refused(tmp_path, reference, proxy):
    run = tmp_path / "run"
    (run / "artifacts" / "reference").mkdir(parents=True)
    (run / "summary.json").write_text(json.dumps({"reference": {"path": reference},
                                                  "proxies": [{"name": "s-250", "path": proxy}]}))
    # ConfigError is what the CLI prints as one line with exit 2; refused before any model is read
    with pytest.raises(ConfigError, match="output directory"):
        predictive_from_summary(run)


@pytest.mark.parametrize("content", [None, "not json", "[1, 2]", '{"proxies": []}'])
def test_a_missing_or_malformed_summary_is_an_input_error(tmp_path, content):
    if content is not None:
        (tmp_path / "summary.json").write_text(content)
    with pytest.raises(InputError, match="summary.json"):
        predictive_from_summary(tmp_path)
