"""Shared checks for the lab tests."""

from __future__ import annotations

import numpy as np
import pytest


def _assert_close(got, want, path: str, atol: float) -> None:
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), path
        for k in want:
            _assert_close(got[k], want[k], f"{path}.{k}", atol)
    elif isinstance(want, list | tuple) and not all(isinstance(v, int | float) for v in want):
        assert isinstance(got, list | tuple) and len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _assert_close(g, w, f"{path}[{i}]", atol)
    elif isinstance(want, float) or (isinstance(want, list | tuple) and want):
        np.testing.assert_allclose(np.asarray(got, dtype=float), np.asarray(want, dtype=float), rtol=0, atol=atol,
                                   err_msg=path)
    else:
        assert got == want, path


@pytest.fixture
def assert_json_close():
    """``check(got, want, atol=1e-12)``: equal JSON-like trees, numbers within ``atol`` (NaN equals NaN)."""

    def check(got, want, atol: float = 1e-12) -> None:
        _assert_close(got, want, "", atol)

    return check
