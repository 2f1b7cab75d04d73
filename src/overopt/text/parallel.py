"""The detector suite over a stream of responses on several cores, in input order, in bounded memory.

One core runs the suite at a few MB/s of text (``benchmarks/detect.py``); the work per response is
independent, so ``workers`` processes scale it with the cores a machine has::

    from overopt.text.parallel import detect_stream
    for result in detect_stream(((r["response"], r.get("prompt")) for r in rows), workers=8):
        ...

Responses travel in chunks of ``chunk`` rows; at most ``2 * workers`` chunks are in flight, so memory
stays at about ``2 * workers * chunk`` responses whatever the input size. Results come back in input
order and equal :func:`overopt.text.detect.detect` of each row exactly (every chunk, in this process
or a worker, goes through :func:`overopt.text.detect.detect_batch`). ``workers=1`` runs in this process (no pool). The rare-token table is sent to each worker
once, when it starts, not with every chunk.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice

from overopt.errors import InputError
from overopt.text.detect import detect_batch
from overopt.text.rare import RareTable

Pair = tuple[str, str | None]

_TABLE: RareTable | None = None  # set once per worker process by _init


def _init(table: RareTable | None) -> None:
    global _TABLE
    _TABLE = table


def _detect_chunk(pairs: list[Pair]) -> list[dict]:
    return detect_batch(pairs, rare_table=_TABLE)


def resolve_workers(workers: int) -> int:
    """``workers`` as a process count: ``0`` means every core this process may use."""
    if workers < 0:
        raise InputError(f"--workers must be >= 0 (0 = all cores), got {workers}")
    if workers == 0:
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return workers


def detect_stream(pairs: Iterable[Pair], *, workers: int = 1, rare_table: RareTable | None = None,
                  chunk: int = 256) -> Iterator[dict]:
    """``detect(response, prompt)`` of every ``(response, prompt)``, in order, on ``workers`` processes."""
    n = resolve_workers(workers)
    if chunk < 1:
        raise InputError(f"chunk must be >= 1, got {chunk}")
    it = iter(pairs)
    if n == 1:
        while block := list(islice(it, chunk)):
            yield from detect_batch(block, rare_table=rare_table)
        return
    with ProcessPoolExecutor(max_workers=n, initializer=_init, initargs=(rare_table,)) as pool:
        in_flight: deque[Future[list[dict]]] = deque()
        while True:
            while len(in_flight) < 2 * n:
                block = list(islice(it, chunk))
                if not block:
                    break
                in_flight.append(pool.submit(_detect_chunk, block))
            if not in_flight:
                return
            yield from in_flight.popleft().result()
