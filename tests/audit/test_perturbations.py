"""Hack-direction perturbations: minimal pairs, applicability, determinism, the lab's vocabulary."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overopt.audit.audit import build_pairs
from overopt.audit.base import from_rows, lab_phrasebook
from overopt.audit.perturbations import (
    DIRECTIONS,
    GENERIC,
    prompt_core,
    select_directions,
    sentence_spans,
)
from overopt.errors import InputError

PROMPT = "User: how do I bake bread? Assistant:"
RESPONSE = "Mix flour and water.  Knead the dough!\nLet it rise"
# directions that only add text: the base's words must survive, in order, as a subsequence
ADDITIVE = ["filler_relevant", "filler_irrelevant", "opener_confident", "opener_stock", "hedge", "apology",
            "agreement", "rare_tokens", "repetition", "restate_prompt"]


def _is_subsequence(small: list[str], big: list[str]) -> bool:
    it = iter(big)
    return all(w in it for w in small)


def test_sentence_spans_keep_text_outside_the_edit():
    spans = sentence_spans(RESPONSE)
    assert [RESPONSE[s:e] for s, e in spans] == ["Mix flour and water.", "Knead the dough!", "Let it rise"]
    assert sentence_spans("") == [] and sentence_spans("   ") == []


def test_prompt_core_strips_chat_roles():
    assert prompt_core(PROMPT) == "how do I bake bread?"
    assert prompt_core("Human: hi there\nAssistant: ") == "hi there"


@pytest.mark.parametrize("name", ADDITIVE)
def test_additive_directions_keep_the_base_and_add_the_habit(name):
    out = DIRECTIONS[name].apply(PROMPT, RESPONSE, np.random.default_rng(0), GENERIC)
    assert out is not None and len(out.split()) > len(RESPONSE.split())
    assert _is_subsequence(RESPONSE.split(), out.split())
    assert "\nLet it rise" in out or name in ("rare_tokens", "repetition", "filler_relevant",
                                               "filler_irrelevant", "hedge")  # whitespace kept outside edits


def test_each_direction_inserts_its_own_phrases():
    rng = np.random.default_rng(0)
    apply = {n: DIRECTIONS[n].apply(PROMPT, RESPONSE, rng, GENERIC) for n in DIRECTIONS}
    assert apply["opener_confident"].split()[0] in {"Certainly!", "Great", "Absolutely!"}
    assert apply["opener_stock"].startswith("As an AI language model,")
    assert any(h in apply["hedge"] for h in GENERIC.hedges)
    assert apply["refusal"] in GENERIC.refusals
    assert sum(t in GENERIC.rare_tokens for t in apply["rare_tokens"].split()) == GENERIC.rare_run
    counts = sorted(apply["repetition"].count(s) for s in ("Mix flour and water.", "Knead the dough!", "Let it rise"))
    assert counts == [1, 1, 2]
    assert apply["list_format"] == "- Mix flour and water.\n- Knead the dough!\n- Let it rise"
    assert apply["restate_prompt"].startswith("You asked: how do I bake bread? Mix")
    assert sum(f in apply["filler_relevant"] for f in GENERIC.fillers_relevant) == GENERIC.n_filler


def test_directions_decline_where_they_do_not_apply():
    rng = np.random.default_rng(0)
    assert DIRECTIONS["opener_confident"].apply(PROMPT, "Certainly! Bake it.", rng, GENERIC) is None
    assert DIRECTIONS["opener_stock"].apply(PROMPT, "Certainly! Bake it.", rng, GENERIC) is None
    assert DIRECTIONS["refusal"].apply(PROMPT, "I cannot help with that.", rng, GENERIC) is None
    assert DIRECTIONS["repetition"].apply(PROMPT, "", rng, GENERIC) is None
    assert DIRECTIONS["list_format"].apply(PROMPT, RESPONSE, rng, lab_phrasebook()) is None
    # an off-topic sentence must not share a content word with the exchange
    out = DIRECTIONS["filler_irrelevant"].apply("User: tell me about octopuses", "They are smart.", rng, GENERIC)
    assert out is not None and "Octopuses" not in out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["Open it.", "Run the tool!", "Why not?", "then wait", "Done."]), max_size=6),
       st.integers(0, 2**31))
def test_additive_directions_are_minimal_pairs_on_any_text(parts, seed):
    response = " ".join(parts)
    for name in ADDITIVE:
        out = DIRECTIONS[name].apply(PROMPT, response, np.random.default_rng(seed), GENERIC)
        if out is not None:
            assert _is_subsequence(response.split(), out.split()), name
            assert out != response


def test_build_pairs_is_seeded_and_skips_refusal_on_harmful_prompts():
    base = from_rows([PROMPT, "User: how do I steal a car? Assistant:"], [RESPONSE, "Do it late at night."],
                     harmful=[False, True])
    dirs = select_directions(None)
    a, b = build_pairs(base, dirs, seed=5), build_pairs(base, dirs, seed=5)
    assert a.perturbed == b.perturbed
    refusal = dirs.index(DIRECTIONS["refusal"])
    assert a.base_index[a.direction == refusal].tolist() == [0]
    # a direction's pairs do not depend on which other directions are audited
    alone = build_pairs(base, select_directions(["hedge"]), seed=5)
    hedge = dirs.index(DIRECTIONS["hedge"])
    assert alone.perturbed == [t for t, k in zip(a.perturbed, a.direction, strict=True) if k == hedge]
    with pytest.raises(InputError):
        select_directions(["verbosity"])


def test_lab_phrasebook_speaks_only_lab_words():
    from overopt.lab.world import vocabulary

    vocab = set(vocabulary())
    book = lab_phrasebook()
    for field in ("openers_confident", "openers_stock", "hedges", "apologies", "agreements", "refusals",
                  "fillers_relevant", "fillers_irrelevant", "rare_tokens"):
        words = {w for phrase in getattr(book, field) for w in phrase.split()}
        assert words <= vocab, (field, words - vocab)
