"""Where independent sweep points run: in this process (``local``, the default) or as Ray tasks (``ray``).

overopt does not schedule anything itself: a point is a module-level function plus its arguments
and a resource request; the Ray backend turns it into ``ray.remote(fn).options(num_cpus=...,
num_gpus=...)`` and the *driver* commits each result to the run store as soon as it arrives, so a
crash of the driver or of any worker loses at most the points still in flight. Results do not
depend on the backend: every point carries its own seed and thread count. CPU one-liner::

    python -c "from overopt.study.backend import Point, make_backend; b = make_backend('ray'); \\
               print([r for _, r, _ in b.run([Point('a', pow, (2, 10))])]); b.close()"

Ray joins an existing cluster with ``address`` (``ray://host:10001`` or ``auto``), otherwise starts a
local one. Point functions receive their arguments by value (large ones through ``backend.put``)
and return plain data; files are returned as bytes and written by the driver, so workers need no
shared filesystem.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from overopt.errors import ConfigError, MissingDependencyError, OveroptError

BACKENDS = ("local", "ray")


@dataclass(frozen=True)
class Point:
    """One independent unit of a sweep: ``fn(*args)`` stored under ``key`` when it finishes."""

    key: str
    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    label: str = field(default="", compare=False)


def _timed(fn: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


class LocalBackend:
    """Points run one after another in this process."""

    name = "local"

    def __init__(self) -> None:
        self.submitted = 0  # points run so far (tests count that resumed points are not rerun)

    def put(self, obj: Any) -> Any:
        return obj

    def run(self, points: Iterable[Point]) -> Iterator[tuple[Point, Any, float]]:
        """Yield ``(point, result, seconds)`` as each point finishes."""
        for p in points:
            self.submitted += 1
            out, seconds = _timed(p.fn, *p.args)
            yield p, out, seconds

    def close(self) -> None:
        return None


class RayBackend:
    """Points run as Ray tasks; results come back in the order they finish."""

    name = "ray"

    def __init__(self, address: str | None = None, *, num_cpus: int | None = None) -> None:
        try:
            import ray
        except ImportError as exc:
            raise MissingDependencyError("ray is not installed; install it with: pip install 'overopt[ray]'") from exc
        self._ray = ray
        self._started = not ray.is_initialized()
        if self._started and address:
            _check_reachable(address)
        if self._started:
            try:
                ray.init(address=address, num_cpus=None if address else num_cpus, include_dashboard=False,
                         log_to_driver=False, configure_logging=False)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise ConfigError(f"cannot join the Ray cluster at {address!r}: {' '.join(str(exc).split())}; "
                                  "check --ray-address (or leave it out to start a local Ray)") from None
        self._remote = ray.remote(_timed)
        self.submitted = 0

    def put(self, obj: Any) -> Any:
        return self._ray.put(obj)

    def run(self, points: Iterable[Point]) -> Iterator[tuple[Point, Any, float]]:
        ray = self._ray
        pending = {self._remote.options(num_cpus=p.num_cpus, num_gpus=p.num_gpus).remote(p.fn, *p.args): p
                   for p in points}
        self.submitted += len(pending)
        try:
            while pending:
                (ready,), _ = ray.wait(list(pending), num_returns=1)
                point = pending.pop(ready)
                try:
                    out, seconds = ray.get(ready)
                except ray.exceptions.RayTaskError as exc:
                    # our own errors (bad input, missing dependency) read the same as in process: one
                    # line, exit 2, not wrapped in the worker's traceback
                    if isinstance(exc.cause, OveroptError):
                        raise exc.cause from None
                    raise
                yield point, out, seconds
        finally:  # the driver stopped listening (error, interrupt): do not leave tasks burning CPUs
            for ref in pending:
                ray.cancel(ref, force=True)

    def close(self) -> None:
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail in seconds on an unreachable ``host:port`` (``ray.init`` retries for minutes before giving up)."""
    import socket

    if address == "auto":
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--ray-address {address!r} is not auto, HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise ConfigError(f"cannot reach the Ray cluster at {address} ({exc.strerror or type(exc).__name__}); "
                          "check --ray-address (or leave it out to start a local Ray)") from None


def make_backend(name: str = "local", *, address: str | None = None, num_cpus: int | None = None) -> Any:
    """``LocalBackend()`` or ``RayBackend(address)``; an unknown name is a ConfigError."""
    if name == "local":
        if address:
            raise ConfigError("--ray-address needs --backend ray")
        return LocalBackend()
    if name == "ray":
        return RayBackend(address, num_cpus=num_cpus)
    raise ConfigError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")


def run_points(store: Any, backend: Any, points: list[Point], *,
               finish: Callable[[Point, Any], dict[str, Any]] | None = None,
               progress: Callable[[str, str], None] | None = None) -> dict[str, dict[str, Any]]:
    """Records of all ``points``: stored ones as they are, the rest computed on ``backend``.

    ``finish(point, result) -> record`` runs in the driver (write artifact files there, then the row
    that points at them is committed), one point at a time as results arrive.
    """
    records: dict[str, dict[str, Any]] = {}
    todo = []
    for p in points:
        rec = store.get(p.key)
        if rec is None:
            todo.append(p)
            store.log_event("start", p.key)
            if progress:
                progress(p.label or p.key, "start")
        else:
            records[p.key] = rec
            if progress:
                progress(p.label or p.key, "start")
                progress(p.label or p.key, "resumed")
    seed = getattr(getattr(store, "config", None), "get", lambda *_: None)("seed")
    for p, out, seconds in backend.run(todo):
        rec = finish(p, out) if finish else out
        store.put(p.key, rec, seed=seed, seconds=seconds)
        records[p.key] = rec
        if progress:
            progress(p.label or p.key, "done")
    return records
