"""Shared pieces of the report tests: the tiny lab config, hostile payloads, the Chromium check.

(A module of its own rather than conftest.py, so tests can import it without clashing with other
test folders' conftest modules.)
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
# Every payload sets a window flag if it ever runs.
HOSTILE = [
    "<script>window.__pwned_script = 1</script> Certainly! I hope this helps!",
    "</script><script>window.__pwned_close = 1</script>",
    '<img src=x onerror="window.__pwned_img = 1"> Perhaps I am sorry.',
    '"><svg onload="window.__pwned_svg = 1"></svg>\u2028\u2029 & &amp; <!-- -->',
    "<p>" + "A" * 1_000_000 + "</p>",  # a 1 MB line
]


def tiny_config():
    from overopt.lab.presets import BonConfig, EnsembleConfig, preset_config
    from overopt.lab.proxies import ProxySize, TrainConfig
    from overopt.lab.reference import ReferenceConfig

    return preset_config(
        "quick", seed=0, threads=1,
        reference=ReferenceConfig(n_layer=1, n_embd=16, n_head=1, n_corpus=400, steps=40, batch_size=32),
        sizes=(ProxySize(name="s", dim=4, hidden=8), ProxySize(name="m", dim=8, hidden=16)),
        n_pairs=(40, 120), heldout_pairs=40, train=TrainConfig(epochs=1, min_steps=20),
        ensemble=EnsembleConfig(size="s", n_members=2), gao_control=False, bai_split=True,
        bon=BonConfig(n_samples=16, prompts_per_kind=1, max_new_tokens=16, n_boot=20, n_sample_prompts=2),
        pair_max_new_tokens=16,
    )


def need_chromium() -> None:
    """Skip without Debian's chromium, except on CI (CI=true), where its absence is a failure."""
    if Path(CHROMIUM).is_file():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{CHROMIUM} is missing on CI: scripts/setup --dev must install Debian's chromium package")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium); the browser tests need it")
