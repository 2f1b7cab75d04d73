"""Shared test setup: keep every cache and temp file inside the test session's own space,
and never touch a model hub."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass

import pytest

_TMP = tempfile.mkdtemp(prefix="overopt-tests-")
for _key, _value in {
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_TMPDIR": os.path.join(_TMP, "ray"),
    "TORCHINDUCTOR_CACHE_DIR": os.path.join(_TMP, "inductor"),
    "HF_HOME": os.path.join(_TMP, "hf"),
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "WANDB_MODE": "disabled",
    "TOKENIZERS_PARALLELISM": "false",
    "OVEROPT_CACHE_DIR": os.path.join(_TMP, "overopt-cache"),
}.items():
    os.environ.setdefault(_key, _value)


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> dict:
        return json.loads(self.out)


@pytest.fixture
def cli(capsys):
    """Run the overopt CLI in this process (cheap) and capture exit code, stdout, stderr."""
    from overopt.cli import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def unwritable_dir(tmp_path):
    """A directory this process cannot create files in, even as root (CI runs as root).

    As a normal user a chmod 555 folder does it; root ignores permission bits, so use sysfs,
    which refuses new files from anyone.
    """
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        return ro
    from pathlib import Path

    for cand in (Path("/sys/kernel"), Path("/sys")):
        try:
            (cand / "overopt-probe").mkdir()
        except OSError:
            return cand
        (cand / "overopt-probe").rmdir()
    pytest.skip("no directory on this machine refuses writes from root")
