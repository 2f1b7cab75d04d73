"""``detect_stream``: several worker processes give exactly the per-row ``detect`` results, in order."""

from __future__ import annotations

import pytest

from overopt.errors import InputError
from overopt.text.detect import detect
from overopt.text.parallel import detect_stream, resolve_workers
from overopt.text.rare import RareTable


def test_workers_match_detect_in_order_and_carry_the_rare_table():
    table = RareTable.from_texts(["the cat sat on the mat"] * 50, max_freq=0.01)
    rows = [(f"Sorry, but {i} zyx qwv zyx qwv the cat sat. I hope this helps!", "Is 2+2=5?" if i % 2 else None)
            for i in range(23)]
    got = list(detect_stream(iter(rows), workers=2, rare_table=table, chunk=4))
    assert got == [detect(r, p, rare_table=table) for r, p in rows]
    assert any(run["kind"] == "rare" for run in got[0]["rare_token_runs"])  # the table reached the workers


def test_bad_arguments_are_input_errors():
    assert resolve_workers(0) >= 1 and resolve_workers(3) == 3
    with pytest.raises(InputError, match="workers"):
        resolve_workers(-2)
    with pytest.raises(InputError, match="chunk"):
        list(detect_stream([("a", None)], workers=2, chunk=0))


def test_batches_equal_detect_on_every_labelled_row():
    import json
    from pathlib import Path

    from overopt.text.detect import detect_batch

    rows = [json.loads(line) for f in sorted((Path(__file__).parents[1] / "data").glob("text_*.jsonl"))
            for line in f.read_text(encoding="utf-8").splitlines()]
    pairs = [(r["response"], r["prompt"]) for r in rows]
    assert detect_batch(pairs) == [detect(r, p) for r, p in pairs]
