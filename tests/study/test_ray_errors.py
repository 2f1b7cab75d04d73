"""An overopt error raised inside a Ray task reaches the driver as itself (one line, exit 2), as in process.

Point functions must be importable on the workers (pickled by reference), so these are library
functions: ``require`` of a module that does not exist raises MissingDependencyError; ``floordiv``
by zero is a plain bug that stays wrapped in Ray's error (with the worker's traceback).
"""

from __future__ import annotations

import operator

import pytest

from overopt.errors import MissingDependencyError, require
from overopt.study.backend import Point


def test_our_errors_come_back_unwrapped_and_others_stay_ray_errors(ray_backend):
    import ray

    with pytest.raises(MissingDependencyError, match="no_such_module_xyz is not installed") as info:
        list(ray_backend.run([Point("p", require, ("no_such_module_xyz", "lab"))]))
    assert type(info.value) is MissingDependencyError
    with pytest.raises(ray.exceptions.RayTaskError):
        list(ray_backend.run([Point("q", operator.floordiv, (1, 0))]))
