"""Fixtures of the monitor tests."""

from __future__ import annotations

import pytest
import synthetic_curves


@pytest.fixture
def synth():
    """The seeded Gao RL-form curve generator (``synthetic_curves``)."""
    return synthetic_curves
