"""The run store keeps finished points across processes and refuses a changed config."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal

import pytest

from overopt.errors import ConfigError
from overopt.io.files import atomic_write
from overopt.study.store import RunStore


def test_points_survive_reopen_and_compute_skips_done(tmp_path):
    calls = []
    with RunStore(tmp_path, config={"a": 1, "b": [1, 2]}) as store:
        rec, ran = store.compute("bon/small", lambda: calls.append(1) or {"gold": [0.1, 0.2]}, seed=3)
        assert ran and rec == {"gold": [0.1, 0.2]}
    # key order in the config does not matter
    with RunStore(tmp_path, config={"b": [1, 2], "a": 1}) as store:
        rec, ran = store.compute("bon/small", lambda: calls.append(1) or {"gold": []})
        assert not ran and rec == {"gold": [0.1, 0.2]}
        assert store.keys("bon/") == ["bon/small"]
        assert store.keys("bon_") == []  # '_' is not a LIKE wildcard here
    assert calls == [1]


def test_changed_config_is_refused(tmp_path):
    RunStore(tmp_path, config={"seed": 0}).close()
    with pytest.raises(ConfigError, match="different config"):
        RunStore(tmp_path, config={"seed": 1})


def test_out_dir_that_is_a_file_is_refused(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        RunStore(f, config={})


def test_read_only_dir_is_refused(unwritable_dir):
    with pytest.raises(ConfigError, match="cannot write"):
        RunStore(unwritable_dir / "sub", config={})


def _writer(path: str) -> None:
    store = RunStore(path, config={"k": 1})
    i = 0
    while True:
        store.put(f"p/{i:06d}", {"i": i, "payload": "x" * 1000})
        atomic_write(os.path.join(path, "latest.txt"), str(i) * 100)
        i += 1


def test_kill_9_leaves_only_whole_points(tmp_path):
    ctx = mp.get_context("spawn")
    for _ in range(3):
        proc = ctx.Process(target=_writer, args=(str(tmp_path),))
        proc.start()
        # wait until it has committed something, then kill it mid-write
        with RunStore(tmp_path, config={"k": 1}) as probe:
            for _ in range(400):
                if probe.keys():
                    break
                proc.join(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        with RunStore(tmp_path, config={"k": 1}) as store:
            for key, rec in store.items("p/"):
                assert rec["payload"] == "x" * 1000 and key == f"p/{rec['i']:06d}"
        text = (tmp_path / "latest.txt").read_text()
        unit = text[: len(text) // 100]
        assert unit and unit * 100 == text  # never a torn file
