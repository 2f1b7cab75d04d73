"""Preference data: pairs of reference samples for one prompt, labelled by the labelers."""

from __future__ import annotations

import numpy as np

from overopt.lab import world
from overopt.lab.gold import features, gold_of, spec_for
from overopt.lab.labelers import LabelerConfig, bias, label_pairs
from overopt.lab.proxies import PairData
from overopt.models.base import Policy


def sample_pairs(
    policy: Policy, prompts: list[world.PromptSpec], n_pairs: int, labelers: LabelerConfig, *,
    max_new_tokens: int, seed: int,
) -> PairData:
    """``n_pairs`` labelled pairs; each prompt gets ceil(n_pairs / len(prompts)) pairs, then a seeded subset.

    The order is shuffled once, so the first k pairs of the result are a uniform subset: nested data
    budgets (as in Gao et al.) are prefixes of one pool.
    """
    per_prompt = 2 * int(np.ceil(n_pairs / len(prompts)))
    s = policy.sample([p.text for p in prompts], per_prompt, max_new_tokens=max_new_tokens, seed=seed)
    texts = s.prompt_texts()
    parsed = [features(spec_for(p), r) for p, r in zip(texts, s.responses, strict=False)]
    gold = np.array([gold_of(x) for x in parsed])
    bias_v = np.array([bias(x, labelers) for x in parsed])
    a_idx = np.arange(0, len(texts), 2)  # samples come grouped by prompt, per_prompt is even
    b_idx = a_idx + 1
    order = np.random.default_rng(seed).permutation(len(a_idx))[:n_pairs]
    a_idx, b_idx = a_idx[order], b_idx[order]
    label = label_pairs(gold[a_idx], gold[b_idx], bias_v[a_idx], bias_v[b_idx], labelers, seed=seed + 1)
    return PairData([texts[i] for i in a_idx], [s.responses[i] for i in a_idx], [s.responses[i] for i in b_idx],
                    label, gold[a_idx], gold[b_idx])
