"""Backends: a lab study on a local Ray (2 CPUs, started by the test) equals the same study in process."""

from __future__ import annotations

import json

import pytest

from overopt.errors import ConfigError
from overopt.study.backend import LocalBackend, Point, make_backend, run_points
from overopt.study.store import LOG_ENV, RunStore


def _square(x: int) -> dict:
    return {"x": x, "y": x * x}


def test_local_points_are_stored_and_not_rerun(tmp_path, monkeypatch):
    log = tmp_path / "log"
    monkeypatch.setenv(LOG_ENV, str(log))
    store = RunStore(tmp_path / "run", config={"seed": 3})
    points = [Point(f"sq/{i}", _square, (i,)) for i in range(4)]
    first = run_points(store, LocalBackend(), points[:2])
    again = run_points(store, LocalBackend(), points)
    assert first == {k: again[k] for k in first} and again["sq/3"] == {"x": 3, "y": 9}
    assert log.read_text().count("start sq/0") == 1 and log.read_text().count("commit ") == 4
    store.close()


@pytest.mark.parametrize("args", [{"name": "slurm"}, {"name": "local", "address": "ray://x:1"}])
def test_bad_backend_choices_are_config_errors(args):
    with pytest.raises(ConfigError):
        make_backend(**args)


def test_lab_cli_refuses_an_unknown_backend(cli, tmp_path):
    r = cli("lab", "--preset", "tiny", "--out", tmp_path, "--backend", "slurm", "--json")
    assert r.code == 2 and "backend" in r.err and len(r.err.strip().splitlines()) == 1


@pytest.mark.parametrize("address", ["127.0.0.1:1", "ray://127.0.0.1:1", "not-an-address"])
def test_unreachable_ray_address_fails_fast_with_one_line(cli, tmp_path, address):
    pytest.importorskip("ray")
    import ray

    if ray.is_initialized():  # a Ray started by another test would be joined instead
        pytest.skip("Ray already running in this process")
    r = cli("lab", "--preset", "tiny", "--out", tmp_path, "--backend", "ray", "--ray-address", address, "--json")
    assert r.code == 2 and "ray-address" in r.err and len(r.err.strip().splitlines()) == 1, r.err


@pytest.mark.slow
def test_same_seed_same_summary_on_local_and_ray(tmp_path, ray_backend, monkeypatch):
    pytest.importorskip("torch")
    from overopt.lab.presets import preset_config
    from overopt.study.lab import LabStudy

    log = tmp_path / "log"
    monkeypatch.setenv(LOG_ENV, str(log))
    submitted = ray_backend.submitted  # the Ray is shared by the session's Ray tests
    ray_summary = LabStudy(preset_config("tiny"), tmp_path / "ray", backend=ray_backend).run()
    assert ray_backend.submitted - submitted == 10  # 7 proxy trainings + 3 best-of-n shards ran as Ray tasks
    monkeypatch.delenv(LOG_ENV)
    local_summary = LabStudy(preset_config("tiny"), tmp_path / "local").run()
    for s in (ray_summary, local_summary):
        s.pop("timings")
    assert json.dumps(ray_summary, sort_keys=True) == json.dumps(local_summary, sort_keys=True)
    # every proxy training and best-of-n shard went through Ray and was committed once
    commits = [line.split()[1] for line in log.read_text().splitlines() if line.startswith("commit ")]
    assert len(commits) == len(set(commits))
    assert sum(k.startswith("proxy/") for k in commits) == len(ray_summary["proxies"]) == 7
    assert sum(k.startswith("bon/shard/") for k in commits) == 3  # 5 prompts in shards of 2

    # a rerun on Ray resumes: nothing is submitted again
    monkeypatch.setenv(LOG_ENV, str(log))
    before = log.read_text()
    LabStudy(preset_config("tiny"), tmp_path / "ray", backend=ray_backend).run()
    assert log.read_text() == before and ray_backend.submitted - submitted == 10


def test_ray_missing_names_the_extra(monkeypatch):
    import sys

    from overopt.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "ray", None)  # as if ray were not installed
    with pytest.raises(MissingDependencyError, match=r"pip install 'overopt\[ray\]'"):
        make_backend("ray")


@pytest.mark.slow
def test_lab_cli_on_ray(cli, tmp_path, ray_backend):
    r = cli("lab", "--preset", "tiny", "--out", tmp_path, "--backend", "ray", "--json")
    assert r.code == 0, r.err
    assert len(r.json()["proxies"]) == 7 and (tmp_path / "report.html").is_file()

