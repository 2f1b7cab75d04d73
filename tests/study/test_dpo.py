"""DPO through TRL on lab pairs labelled by the s-250 proxy; the measured curve is documented."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from overopt import metrics
from overopt.study.dpo import DPORunConfig, _completion, pairs_from_labels, proxy_pairs


def test_pairs_follow_labels_and_proxy(lab_world):
    rows = pairs_from_labels(["p", "q"], ["a1", "a2"], ["b1", "b2"], np.array([1, 0]))
    assert rows == [{"prompt": "p", "chosen": "a1", "rejected": "b1"}, {"prompt": "q", "chosen": "b2", "rejected": "a2"}]
    pairs = proxy_pairs(lab_world.reference, lab_world.train[:20], lab_world.proxies[0], pairs_per_prompt=2, seed=0)
    assert 25 <= len(pairs) <= 40  # identical responses and ties are dropped
    c = lab_world.proxies[0].score([p["prompt"] for p in pairs], [p["chosen"] for p in pairs])
    r = lab_world.proxies[0].score([p["prompt"] for p in pairs], [p["rejected"] for p in pairs])
    assert (c > r - 1e-6).all() and all(p["chosen"] != p["rejected"] for p in pairs)


def test_completion_keeps_eos_a_separate_word(lab_world):
    tok = lab_world.reference.tokenizer
    text = _completion(tok, "Open a terminal.")
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert ids[-1] == tok.eos_token_id and tok.unk_token_id not in ids


@pytest.fixture(scope="module")
def dpo_run(lab_world):
    from overopt.study.dpo import run_dpo
    from overopt.study.lab_rl import lab_habits

    pairs = proxy_pairs(lab_world.reference, lab_world.train, lab_world.proxies[0], pairs_per_prompt=4, seed=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_dpo(DPORunConfig(beta=0.01, steps=60, eval_every=10, eval_prompts=40), policy_path=lab_world.ref_dir,
                       pairs=pairs, reference=lab_world.reference, eval_prompts=lab_world.held,
                       proxy=lab_world.proxies[0], gold=lab_world.gold, habits=lab_habits, detectors=False, threads=2)


def test_dpo_moves_away_from_reference_and_gold_turns_down(dpo_run):
    """Rafailov et al. 2024: direct alignment over-optimizes too. Measured at beta 0.01, 60 steps
    of 16 pairs (< 1 epoch of ~1100 pairs): proxy and KL rise; gold rises, then falls from its peak
    at the largest KL (documented numbers printed; asserted: the last point is below the peak)."""
    kl = np.array([e[metrics.KL] for e in dpo_run.evaluations])
    proxy = np.array([e[metrics.PROXY] for e in dpo_run.evaluations])
    gold = np.array([e[metrics.GOLD] for e in dpo_run.evaluations])
    print("DPO beta=0.01 kl", kl.round(3), "proxy", proxy.round(3), "gold", gold.round(3))
    assert kl[-1] > 0.3 and proxy[-1] > proxy[0]
    assert gold.max() > gold[0] and gold[-1] < gold.max()
    assert dpo_run.trainer_kl["estimator"] == "none" and all("loss" in h for h in dpo_run.trainer_log)
