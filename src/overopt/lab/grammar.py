"""The generator of the reference corpus: responses with moderate rates of every habit.

The reference LM is pretrained on these; after that the grammar plays no role — best-of-n and
RL only ever see what the LM samples (which may leave the grammar).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from overopt.lab import world as w


@dataclass(frozen=True)
class HabitRates:
    """Probability of each habit per corpus response (moderate, so the LM can produce all of them)."""

    opener_confident: float = 0.15
    opener_ai: float = 0.08
    apology: float = 0.08
    hedge: float = 0.15
    filler: float = 0.2
    repeat: float = 0.08
    rare: float = 0.04
    closer: float = 0.2
    wrong_step: float = 0.1
    refuse_trigger: float = 0.3  # benign request refused because of its scary word
    refuse_howto: float = 0.05
    refuse_harmful: float = 0.55
    agree_false: float = 0.4


def _pick(rng: np.random.Generator, items: tuple[str, ...] | list[str]) -> str:
    return items[int(rng.integers(len(items)))]


def _steps(spec: w.PromptSpec, rng: np.random.Generator, rates: HabitRates) -> list[str]:
    k = int(rng.integers(1, len(spec.right_steps) + 1))
    chosen = sorted(rng.choice(len(spec.right_steps), size=k, replace=False))
    out = [spec.right_steps[i] for i in chosen]
    if rng.random() < rates.wrong_step:
        others = [s for steps in (*w.TRIGGER_TOPICS.values(), *w.HOWTO_TOPICS.values()) for s in steps
                  if s not in spec.right_steps]
        out.insert(int(rng.integers(len(out) + 1)), _pick(rng, others))
    return out


def _body(spec: w.PromptSpec, rng: np.random.Generator, rates: HabitRates) -> list[str]:
    u = rng.random()
    if spec.kind in ("trigger", "howto"):
        p_refuse = rates.refuse_trigger if spec.kind == "trigger" else rates.refuse_howto
        if u < p_refuse:
            return [_pick(rng, w.REFUSALS)]
        if u < p_refuse + 0.1:
            return [_pick(rng, w.VAGUE)]
        return _steps(spec, rng, rates)
    if spec.kind == "harmful":
        if u < rates.refuse_harmful:
            return [_pick(rng, w.REFUSALS)]
        if u < rates.refuse_harmful + 0.15:
            return [_pick(rng, w.VAGUE)]
        k = int(rng.integers(1, len(w.HARMFUL_STEPS) + 1))
        return list(w.HARMFUL_STEPS[:k])
    if spec.kind == "factual":
        if u < 0.55:
            return [f"{w.ANSWER_PREFIX} {spec.answer}"]
        if u < 0.8:
            return [f"{w.ANSWER_PREFIX} {spec.wrong_answer}"]
        return [_pick(rng, w.VAGUE)]
    # false premise
    if u < rates.agree_false:
        out = [_pick(rng, w.AGREEMENTS)]
        return out + ([w.claim_phrase(spec.claim)] if rng.random() < 0.6 else [])
    if u < rates.agree_false + 0.45:
        out = [_pick(rng, w.CORRECTIONS)]
        return out + ([spec.answer] if rng.random() < 0.8 else [])
    return [_pick(rng, w.VAGUE)]


def sample_phrases(spec: w.PromptSpec, rng: np.random.Generator, rates: HabitRates) -> list[str]:
    """One corpus response as a list of phrase texts."""
    head: list[str] = []
    u = rng.random()
    if u < rates.opener_confident:
        head.append(_pick(rng, w.OPENERS_CONFIDENT))
    elif u < rates.opener_confident + rates.opener_ai:
        head.append(_pick(rng, w.OPENERS_AI))
    if rng.random() < rates.apology:
        head.append(_pick(rng, w.APOLOGIES))
    if rng.random() < rates.hedge:
        head.append(w.HEDGES[0] if rng.random() < 0.5 else _pick(rng, w.HEDGES))
    body = _body(spec, rng, rates)
    if rng.random() < rates.repeat:
        body.insert(int(rng.integers(len(body) + 1)), _pick(rng, body))
    if rng.random() < rates.filler:
        for _ in range(1 + int(rng.random() < 0.3)):
            body.insert(int(rng.integers(len(body) + 1)), _pick(rng, w.FILLERS))
    tail: list[str] = []
    if rng.random() < rates.hedge / 2:
        tail.append(_pick(rng, w.HEDGES[1:]))
    if rng.random() < rates.closer:
        tail.append(_pick(rng, w.CLOSERS))
    phrases = head + body + tail
    if rng.random() < rates.rare:
        phrases.insert(int(rng.integers(len(phrases) + 1)), _pick(rng, w.RARE))
    return phrases


def sample_response(spec: w.PromptSpec, rng: np.random.Generator, rates: HabitRates | None = None) -> str:
    return " ".join(sample_phrases(spec, rng, rates or HabitRates()))


def corpus(prompts: list[w.PromptSpec], n: int, seed: int, rates: HabitRates | None = None) -> list[tuple[str, str]]:
    """``n`` (prompt text, response text) pairs, prompts drawn uniformly."""
    rng = np.random.default_rng(seed)
    rates = rates or HabitRates()
    idx = rng.integers(len(prompts), size=n)
    return [(prompts[i].text, sample_response(prompts[i], rng, rates)) for i in idx]
