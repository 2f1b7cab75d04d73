"""Paths read from records and configs cannot leave the output directory (``safe_join``)."""

from __future__ import annotations

import json
import os

import pytest

from overopt.errors import ConfigError, InputError
from overopt.io.files import safe_join
from overopt.study.store import RunStore


@pytest.mark.parametrize("rel", ["a/b.json", "artifacts/proxy-s/model.safetensors", "./x", "a/../b"])
def test_paths_inside_are_kept(tmp_path, rel):
    assert safe_join(tmp_path, rel) == tmp_path / rel


@pytest.mark.parametrize("rel", ["../x", "a/../../x", "/etc/passwd", "", "artifacts/../../../tmp/x", "a\x00b"])
def test_paths_outside_are_refused(tmp_path, rel):
    with pytest.raises(ConfigError, match="output directory"):
        safe_join(tmp_path / "out", rel)


def test_symlink_out_of_the_directory_is_refused(tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    os.symlink(elsewhere, out / "link")
    os.symlink(out / "sub", out / "inner")  # a link that stays inside is fine
    (out / "sub").mkdir()
    assert safe_join(out, "inner/f") == out / "inner/f"
    with pytest.raises(ConfigError, match="leaves the output directory"):
        safe_join(out, "link/f")


def test_store_artifacts_stay_inside_whatever_the_key(tmp_path):
    store = RunStore(tmp_path / "run", config={"a": 1})
    for key in ("../../evil", "/abs/path", "..", "a/../../b"):
        path = store.artifact_dir(key)
        assert (tmp_path / "run" / "artifacts").resolve() in path.resolve().parents
    store.close()


def test_lab_run_refuses_a_summary_pointing_outside(tmp_path):
    from overopt.lab.run import LabRun

    (tmp_path / "summary.json").write_text(json.dumps({
        "reference": {"path": "../../etc"}, "proxies": [{"name": "s-250", "path": "/etc"}]}))
    run = LabRun(tmp_path)
    with pytest.raises(InputError, match="output directory"):
        run.reference_path  # noqa: B018
    with pytest.raises(InputError, match="output directory"):
        run.proxy("s-250")


@pytest.mark.parametrize("bad", ["reference", "proxy"])
def test_lab_rl_stage_refuses_stored_paths_outside(tmp_path, bad):
    from overopt.lab.presets import preset_config
    from overopt.study.lab import LabStudy
    from overopt.study.lab_rl import run_rl_stage

    study = LabStudy(preset_config("tiny"), tmp_path / "run")
    study.store.put("reference", {"path": "../../etc" if bad == "reference" else "artifacts/reference"})
    proxies = [{**s, "path": "../../etc" if bad == "proxy" else f"artifacts/{s['name']}"}
               for s in study.proxy_specs()]
    with pytest.raises(ConfigError, match="output directory"):  # before any model is loaded or trained
        run_rl_stage(study, proxies)
    study.store.close()
