"""Lose nothing: ``overopt lab`` killed with SIGKILL at random moments, rerun until it finishes.

Each kill lands a random 0-1.5 s after the run starts a new point (so it falls inside real work:
pretraining, labelling, a proxy training, sampling, scoring, or writing the summary and report).
The store logs every point start and commit to ``$OVEROPT_STORE_LOG``; from it the test counts that
no committed point is ever started again, and the final summary must equal an uninterrupted run's
(timings aside).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import numpy as np
import pytest

pytest.importorskip("torch")

N_KILLS = 10
CLI = [sys.executable, "-c", "from overopt.cli import main; main()"]


def _without_timings(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k != "timings"}


def _starts(log) -> int:
    return sum(1 for line in log.read_text().splitlines() if line.startswith("start ")) if log.exists() else 0


@pytest.mark.slow
def test_kill_9_at_random_moments_loses_and_recomputes_nothing(tmp_path):
    from overopt.lab.presets import preset_config
    from overopt.study.lab import run_study
    from overopt.study.store import LOG_ENV, RunStore

    clean = run_study(preset_config("tiny"), tmp_path / "clean")  # the uninterrupted run (BoN, RL, DPO), in process

    out, log = tmp_path / "faulty", tmp_path / "store.log"
    env = {**os.environ, LOG_ENV: str(log), "OVEROPT_CACHE_DIR": str(tmp_path / "cache")}  # pretrain anew
    rng = np.random.default_rng(9)
    kills, runs, start = 0, 0, time.monotonic()
    while True:
        runs += 1
        seen = _starts(log)
        proc = subprocess.Popen([*CLI, "lab", "--preset", "tiny", "--out", str(out), "--json"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if kills < N_KILLS:
            while proc.poll() is None and _starts(log) == seen:  # wait until it is doing work
                time.sleep(0.02)
            time.sleep(rng.uniform(0, 1.5))
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                kills += 1
                continue
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr.decode()[-2000:]
        break
    elapsed = time.monotonic() - start
    interrupted = Counter(k for e, k in (ln.split(" ", 1) for ln in log.read_text().splitlines()) if e == "start")
    print(f"{kills} kills, {runs} runs, {elapsed:.0f} s, {sum(v - 1 for v in interrupted.values())} points restarted")
    assert kills >= 5, f"the run finished before {kills} kills could land"

    events = [line.split(" ", 1) for line in log.read_text().splitlines()]
    committed: set[str] = set()
    for event, key in events:
        assert not (event == "start" and key in committed), f"finished point {key} was computed again"
        if event == "commit":
            committed.add(key)
    commits = Counter(key for event, key in events if event == "commit")
    assert max(commits.values()) == 1
    store = RunStore(out, config=preset_config("tiny").model_dump(mode="json"))
    # every logged commit is in the store (a kill between the SQLite commit and the log line can leave a
    # stored point unlogged, never the reverse)
    assert committed <= set(store.keys()) and len(set(store.keys()) - committed) <= kills
    store.close()

    summary = json.loads((out / "summary.json").read_text())
    assert _without_timings(summary) == json.loads(json.dumps(_without_timings(clean)))
    assert (out / "report.html").stat().st_size > 10_000
    assert json.loads(stdout)["summary"].endswith("summary.json")
