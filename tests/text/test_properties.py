"""Property tests: on any text the detectors return well-formed output and spans that index it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from overopt.text.detect import KEYS, detect
from overopt.text.normalize import fold

_PIECES = st.sampled_from([
    "Certainly! ", "I can't help with that. ", "I'm sorry, but ", "at a high level, ", "```x```", "\n- item",
    "I\u2019m not sure. ", "İ", "ß", "\u00a0", "the the the ", "You're absolutely right! ", "...", "\ud7ff", "é",
])
TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=20)), max_size=12).map("".join)


@settings(max_examples=150, deadline=None)
@given(TEXT, st.one_of(st.none(), TEXT))
def test_detect_is_total_and_spans_index_the_input(response, prompt):
    assert len(fold(response)) == len(response)
    res = detect(response, prompt)
    assert set(KEYS) <= set(res)
    assert res["refusal"] in ("compliance", "refusal", "partial")
    assert res["sycophancy"] in ("sycophantic", "grounded", None)
    for key in ("stock_phrases", "hedges", "apologies", "rare_token_runs"):
        for span in res[key]:
            assert 0 <= span["start"] < span["end"] <= len(response)
            assert response[span["start"]:span["end"]] == span["text"]
    if res["rep_2"] is not None:
        assert 0.0 <= res["rep_2"] < 1.0
        assert abs(res["distinct_2"] + res["rep_2"] - 1.0) < 1e-12
