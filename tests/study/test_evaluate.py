"""Checkpoint evaluation: exact KL against a brute-force value, zero KL for the reference itself,
prompt-clustered intervals, stored samples. Tiny random GPT-2s with a word-level tokenizer."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from overopt.errors import InputError
from overopt.study.evaluate import clustered_mean, evaluate_policy

VOCAB = ["<pad>", "<eos>", "<unk>", "User:", "Assistant:", "a", "b", "c", "d"]
PROMPT = "User: a b Assistant:"


def _tiny_policy(seed: int, tmp_path, name: str):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from overopt.lab.reference import build_tokenizer
    from overopt.models.hf import HFPolicy

    torch.manual_seed(seed)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(VOCAB), n_positions=32, n_embd=16, n_layer=1, n_head=2,
                                       eos_token_id=1, bos_token_id=1, pad_token_id=0))
    with torch.no_grad():  # larger logits than the default init, so the two models differ clearly
        model.lm_head.weight.mul_(8.0)
    model.save_pretrained(tmp_path / name)
    build_tokenizer(VOCAB).save_pretrained(tmp_path / name)
    return HFPolicy.from_pretrained(tmp_path / name)


def _first_token_kl(pi, ref) -> float:
    import torch

    ids = torch.tensor([pi._encode(PROMPT)])
    with torch.inference_mode():
        lp = torch.log_softmax(pi.model(input_ids=ids).logits[0, -1].double(), -1)
        lq = torch.log_softmax(ref.model(input_ids=ids).logits[0, -1].double(), -1)
    return float((lp.exp() * (lp - lq)).sum())


def test_one_token_kl_matches_brute_force(tmp_path):
    """max_new_tokens=1: a response is one sampled token (EOS kept only when EOS was drawn), so
    KL(pi || ref) per sequence is exactly the first-token KL. 3000 samples: within 4 SE."""
    pi, ref = _tiny_policy(0, tmp_path, "pi"), _tiny_policy(1, tmp_path, "ref")
    exact = _first_token_kl(pi, ref)
    assert exact > 0.05
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ev = evaluate_policy(pi, ref, [PROMPT], n=3000, max_new_tokens=1, detectors=False, seed=3, eos_id=1)
    assert ev.n_samples == 3000 and ev.logprob_roundtrip_nats < 1e-4
    assert abs(ev.kl_nats - exact) < 4 * ev.kl_se, (ev.kl_nats, ev.kl_se, exact)
    assert abs(ev.kl_k3 - exact) < 4 * ev.kl_k3_se, (ev.kl_k3, ev.kl_k3_se, exact)
    assert ev.mean_length_tokens == 1.0


def test_reference_against_itself_is_zero_kl_and_scores_have_intervals(tmp_path):
    from overopt.models.resolve import CallableReward

    ref = _tiny_policy(1, tmp_path, "ref")
    length = CallableReward(lambda p, r: [len(x.split()) for x in r])
    prompts = [PROMPT, "User: c Assistant:", "User: d d Assistant:"]
    ev = evaluate_policy(ref, ref, prompts, n=5, max_new_tokens=6, proxy=length, gold=length, n_stored=4, step=7,
                         eos_id=1)
    assert ev.kl_nats == 0.0 and ev.kl_k3 == 0.0 and ev.kl_se == 0.0
    assert ev.proxy.n_prompts == 3 and ev.proxy.ci[0] <= ev.proxy.mean <= ev.proxy.ci[1]
    assert ev.rates["overopt/len_words"] == pytest.approx(ev.proxy.mean)
    assert "overopt/refusal_rate" in ev.rates  # the text detectors ran
    rec = ev.to_record()
    assert rec["step"] == 7 and rec["overopt/kl"] == 0.0 and len(rec["samples"]) == 4
    assert {"prompt", "response", "proxy", "gold"} <= set(rec["samples"][0])


def test_evaluation_needs_temperature_one_and_prompts(tmp_path):
    ref = _tiny_policy(1, tmp_path, "ref")
    with pytest.raises(InputError, match="temperature 1.0"):
        evaluate_policy(ref, ref, [PROMPT], temperature=0.7)
    with pytest.raises(InputError, match="at least one"):
        evaluate_policy(ref, ref, [])


def test_clustered_mean_is_se_of_group_means():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(6), 4)
    x = rng.normal(size=24) + groups  # strongly clustered
    m = clustered_mean(x, groups)
    per = x.reshape(6, 4).mean(1)
    assert m.mean == pytest.approx(x.mean())
    assert m.se == pytest.approx(per.std(ddof=1) / np.sqrt(6))
    assert m.ci[0] == pytest.approx(x.mean() - 1.959964 * m.se, rel=1e-5)
