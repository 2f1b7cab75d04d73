"""Fixtures of the integration tests."""

from __future__ import annotations

import logwriters
import pytest


@pytest.fixture
def logs():
    """The run maker and the framework log writers (``logwriters``)."""
    return logwriters
