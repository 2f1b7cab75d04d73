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


# Phrase openings of every lexicon kind, glued with separators: the batch pre-scan must find every
# span the plain scan finds (and nothing else), across rows, apostrophes, hyphens and odd characters.
_PHRASE_PIECES = st.sampled_from([
    "I can't", "I cannot provide", "that's not something I", "'s lucky to have you", "sorry, but",
    "I'm so sorry", "Certainly!", "as an AI language model", "I hope this helps", "it's worth noting",
    "you're absolutely right", "great question", "consult a doctor", "well-being", "wellbeing", "one size fits all",
    "I won't", "it is", "what a", "I apologize", "however", "not something i", "dont", "i'm", "im", " ",
    "\n\n", ", ", "...", "'", "-", "\u2019", "\x00", "|", "_", "é", "\u0130", "\ud800", "🙂",
])
PHRASE_TEXT = st.lists(st.one_of(_PHRASE_PIECES, st.text(max_size=6)), max_size=14).map("".join)


def _same_scan(texts: list[str]) -> None:
    from overopt.text.phrases import builtin_scanner, scan, scan_many

    assert builtin_scanner().prefilter is not None  # pyahocorasick is a dependency
    assert scan_many(texts) == [scan(t) for t in texts]


def test_batch_prescan_equals_the_plain_scan_on_the_labelled_responses():
    prompts = [json.loads(line)["prompt"] for f in sorted(DATA.glob("text_*.jsonl"))
               for line in f.read_text(encoding="utf-8").splitlines()]
    _same_scan(RESPONSES + prompts)


@settings(max_examples=300, deadline=None)
@given(st.lists(PHRASE_TEXT, min_size=1, max_size=4))
def test_batch_prescan_equals_the_plain_scan_on_random_text(texts):
    _same_scan(texts)
