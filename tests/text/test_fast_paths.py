"""The speed-ups return exactly what the plain definitions return: fold, words, the compression
ratio and the refusal clause split, on every labelled response and on random text (hypothesis)."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from overopt.text.normalize import fold, fold_reference
from overopt.text.refusal import _CLAUSE_FAST, CLAUSE_REFERENCE
from overopt.text.repetition import (
    compression_ratio,
    compression_ratio_reference,
    rep_n,
    words,
    words_reference,
)

DATA = Path(__file__).parents[1] / "data"
RESPONSES = [json.loads(line)["response"] for f in sorted(DATA.glob("text_*.jsonl"))
             for line in f.read_text(encoding="utf-8").splitlines()]
_PIECES = st.sampled_from([
    "I can't", " -", " - ", "e.g. ", "etc. ", "vs. ", "i.e.", ", but ", "; however ", ":\n\n", "...", "?!",
    "\u2019", "\u201c", "\u2014", "\u00a0", "\u2026", "\u0130", "\x1c", "\x1f", "\u2028", "\u3000", "ß", "é", "_",
    "Don't", "one-size", "\t", "\n", "```x```", "a" * 600,
])
TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=12)), max_size=16).map("".join)


def _check(text: str) -> None:
    low = fold(text)
    assert low == fold_reference(text)
    toks = words(low, folded=True)
    assert toks == words_reference(low, folded=True)
    assert words(text) == words_reference(text)
    assert rep_n(toks, 2) == (None if len(toks) < 2 else 1 - len(set(zip(toks, toks[1:]))) / (len(toks) - 1))  # noqa: B905
    assert compression_ratio(text) == compression_ratio_reference(text)
    if " -" not in low:  # the fast clause split is used only then
        assert [m.span() for m in _CLAUSE_FAST.finditer(low)] == [m.span() for m in CLAUSE_REFERENCE.finditer(low)]


def test_fast_paths_equal_the_definitions_on_the_labelled_responses():
    assert len(RESPONSES) >= 260
    for text in RESPONSES:
        _check(text)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_fast_paths_equal_the_definitions_on_random_text(text):
    _check(text)
