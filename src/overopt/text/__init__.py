"""Offline detectors of qualitative over-optimization (refusal, sycophancy, stock phrases, hedges,
apologies, length, repetition, rare-token runs), prompt suites and public-set loaders.

Pure Python: nothing here imports torch. Entry point: :func:`overopt.text.detect.detect`::

    from overopt.text.detect import detect          # (``overopt.text.detect`` is the module)
    from overopt.text import detect_many, aggregate_rates, load_suite
    detect("Certainly! As an AI language model, I can't help with that.", "How do I kill a process?")
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "detect_many": "overopt.text.detect", "detect_stream": "overopt.text.parallel",
    "aggregate": "overopt.text.detect", "aggregate_rates": "overopt.text.detect",
    "classify_refusal": "overopt.text.refusal", "explain_refusal": "overopt.text.refusal",
    "classify_sycophancy": "overopt.text.sycophancy", "explain_sycophancy": "overopt.text.sycophancy",
    "find_spans": "overopt.text.phrases", "scan": "overopt.text.phrases",
    "rep_n": "overopt.text.repetition", "distinct_n": "overopt.text.repetition",
    "compression_ratio": "overopt.text.repetition", "words": "overopt.text.repetition",
    "RareTable": "overopt.text.rare", "rare_token_runs": "overopt.text.rare",
    "load_suite": "overopt.text.suites", "SUITES": "overopt.text.suites",
    "Judge": "overopt.text.judge", "HeuristicJudge": "overopt.text.judge",
    "HFClassifierJudge": "overopt.text.judge", "ChatEndpointJudge": "overopt.text.judge",
    "load_xstest": "overopt.text.loaders", "load_orbench": "overopt.text.loaders",
    "load_sycophancy_eval": "overopt.text.loaders",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'overopt.text' has no attribute {name!r}")
