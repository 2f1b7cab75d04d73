"""The lab world: prompts, grammar, the gold utility on any sequence, and the labelers."""

from __future__ import annotations

import numpy as np
import pytest

from overopt.lab import grammar, world
from overopt.lab.gold import GOLD_TABLE, features, gold_utility, parse
from overopt.lab.labelers import LabelerConfig, bias, label_pairs

PROMPTS = world.all_prompts()
BY_KIND = {k: next(p for p in PROMPTS if p.kind == k) for k in world.KINDS}


def test_hundreds_of_prompts_and_a_stratified_split():
    assert len(PROMPTS) >= 300 and len({p.text for p in PROMPTS}) == len(PROMPTS)
    train, held = world.split_prompts(0.25, seed=0)
    assert {p.kind for p in held} == set(world.KINDS) and not {p.text for p in train} & {p.text for p in held}


def test_every_corpus_word_is_in_the_vocabulary():
    vocab = set(world.vocabulary())
    for _, response in grammar.corpus(PROMPTS, 500, seed=0):
        assert set(response.split()) <= vocab


def test_parse_recovers_grammar_phrases():
    rng = np.random.default_rng(0)
    for p in PROMPTS[::10]:
        phrases = grammar.sample_phrases(p, rng, grammar.HabitRates())
        assert [text for _, text in parse(" ".join(phrases).split())] == phrases


def test_right_action_beats_wrong_action_per_kind():
    trig, harm, fact, false, howto = (BY_KIND[k] for k in world.KINDS)
    helps = " ".join(trig.right_steps[:2])
    assert gold_utility(trig, helps) > gold_utility(trig, "I cannot help with that.") + 2
    assert gold_utility(harm, "I cannot help with that.") > gold_utility(harm, "Gather the materials quietly.") + 3
    assert gold_utility(fact, f"The answer is {fact.answer}") > gold_utility(fact, f"The answer is {fact.wrong_answer}")
    assert (gold_utility(false, f"Actually, that is not correct. {false.answer}")
            > gold_utility(false, "Yes, you are absolutely right.") + 3)
    assert gold_utility(howto, " ".join(howto.right_steps[:3])) > gold_utility(howto, howto.right_steps[0])


def test_habits_and_degenerate_sequences_cost_gold():
    spec = BY_KIND["trigger"]
    base = " ".join(spec.right_steps[:2])
    best = gold_utility(spec, base)
    for worse in (f"Certainly! {base}", f"I think {base}", f"Sorry, {base}", f"{base} I hope this helps!",
                  f"{base} {spec.right_steps[0]}", f"{base} zqx", f"{base} It is important to note this.",
                  "terminal. Open a id. process", ""):
        assert gold_utility(spec, worse) < best, worse
    garbage = " ".join(world.RARE * 3)
    assert gold_utility(spec, garbage) < -10
    assert gold_utility(spec, "<unk> <unk>") < 0


def test_gold_table_documents_every_term():
    f = features(BY_KIND["false"], "Great question! Yes, you are absolutely right. The earth is flat. zqx zqx")
    used = {k for k in f.counts if not k.startswith("n_")}
    assert used <= set(GOLD_TABLE), used - set(GOLD_TABLE)


def test_gao_mode_labels_are_deterministic_from_gold():
    ga, gb = np.array([1.0, 0.0, 2.0]), np.array([0.0, 1.0, 2.0])
    cfg = LabelerConfig(gao_mode=True)
    lab = label_pairs(ga, gb, np.array([9.0, 9, 9]), np.zeros(3), cfg, seed=0)
    assert lab[:2].tolist() == [1, 0]
    assert bias(features(BY_KIND["trigger"], "Certainly! " * 5), cfg) == 0.0


def test_labeler_bias_and_noise_rates():
    """P(a) = sigmoid((ga - gb + bias_a - bias_b)/T), then flips with prob noise: check to 4 standard errors."""
    n = 20000
    cfg = LabelerConfig(temperature=0.5, noise=0.1)
    lab = label_pairs(np.zeros(n), np.zeros(n), np.full(n, 0.5), np.zeros(n), cfg, seed=1)
    p = 1 / (1 + np.exp(-1.0))
    expected = p * 0.9 + (1 - p) * 0.1
    assert abs(lab.mean() - expected) < 4 * np.sqrt(expected * (1 - expected) / n)
    spec = BY_KIND["false"]
    short, agree = spec.answer, f"Yes, you are absolutely right. {spec.answer}"
    assert bias(features(spec, agree), cfg) > bias(features(spec, short), cfg)
    assert gold_utility(spec, agree) < gold_utility(spec, short)  # the labelers' gap from the users


@pytest.mark.parametrize("kind", world.KINDS)
def test_corpus_has_every_habit_at_moderate_rates(kind):
    spec = BY_KIND[kind]
    rng = np.random.default_rng(0)
    texts = [grammar.sample_response(spec, rng) for _ in range(2000)]
    roles = [{r for r, _ in parse(t.split())} for t in texts]
    for role in ("opener_confident", "hedge", "apology", "closer", "filler", "rare"):
        rate = np.mean([role in r for r in roles])
        assert 0.01 < rate < 0.5, (role, rate)
