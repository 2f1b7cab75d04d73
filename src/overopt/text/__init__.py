"""Offline detectors of qualitative over-optimization (refusal, sycophancy, stock phrases, hedges,
apologies, length, repetition, rare-token runs), prompt suites and public-set loaders.

Pure Python: nothing here imports torch. Entry point: :func:`overopt.text.detect.detect`.
"""

from __future__ import annotations
