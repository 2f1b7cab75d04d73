"""HF backend: the KV-cache sampling loop against a full forward pass (two independent code paths)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from overopt.errors import InputError  # noqa: E402
from overopt.lab import world  # noqa: E402
from overopt.lab.reference import build_tokenizer  # noqa: E402
from overopt.models.base import Policy, RewardModel  # noqa: E402
from overopt.models.hf import HFPolicy, HFRewardModel  # noqa: E402
from overopt.models.resolve import load_reward  # noqa: E402

PROMPTS = [world.all_prompts()[0].text, world.all_prompts()[200].text]


def test_sample_logprobs_match_full_forward(tiny_lm):
    pol = HFPolicy.from_pretrained(tiny_lm)
    assert isinstance(pol, Policy)
    s = pol.sample(PROMPTS, 6, max_new_tokens=12, seed=3)
    assert len(s) == 12 and s.prompt_index.tolist() == [0] * 6 + [1] * 6
    eos = pol.tokenizer.eos_token_id
    for ids in s.response_ids:
        assert len(ids) <= 12 and (eos not in ids[:-1])
    # rows that ended with EOS: their text re-tokenizes to the same ids, so a full forward pass must agree
    done = [i for i, ids in enumerate(s.response_ids) if ids and ids[-1] == eos
            and pol.tokenizer.unk_token_id not in ids]
    assert done, "a random tiny LM emits EOS within 12 tokens for some rows"
    lp = pol.token_logprobs([s.prompt_texts()[i] for i in done], [s.responses[i] for i in done])
    np.testing.assert_allclose([x.sum() for x in lp], s.logprobs[done], atol=1e-4)


def test_scoring_the_sampled_ids_gives_every_rows_sample_logprob(tiny_lm):
    """token_logprobs_ids scores the drawn ids themselves (rows cut at max_new_tokens too, where text
    would not re-tokenize to the same ids): their sum is the sampler's log-prob of each row."""
    pol = HFPolicy.from_pretrained(tiny_lm)
    s = pol.sample(PROMPTS, 6, max_new_tokens=12, seed=4)
    lp = pol.token_logprobs_ids(s.prompt_texts(), s.response_ids)
    assert [len(x) for x in lp] == [len(ids) for ids in s.response_ids]
    np.testing.assert_allclose([x.sum() for x in lp], s.logprobs, atol=1e-4)
    with pytest.raises(InputError, match="one prompt per response"):
        pol.token_logprobs_ids(PROMPTS, s.response_ids)


def test_sample_is_seeded(tiny_lm):
    pol = HFPolicy.from_pretrained(tiny_lm)
    a = pol.sample(PROMPTS, 5, max_new_tokens=8, seed=1)
    b = pol.sample(PROMPTS, 5, max_new_tokens=8, seed=1)
    c = pol.sample(PROMPTS, 5, max_new_tokens=8, seed=2)
    assert a.response_ids == b.response_ids and a.response_ids != c.response_ids


def test_hf_reward_model_scores_and_resolves(tmp_path):
    torch.manual_seed(0)
    vocab = world.vocabulary()
    tok = build_tokenizer(vocab)
    cfg = transformers.GPT2Config(vocab_size=len(vocab), n_positions=128, n_embd=16, n_layer=1, n_head=2,
                                  num_labels=1, pad_token_id=tok.pad_token_id)
    transformers.GPT2ForSequenceClassification(cfg).save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    rm = HFRewardModel.from_pretrained(tmp_path)
    assert isinstance(rm, RewardModel)
    scores = rm.score(PROMPTS, ["Certainly!", "The answer is Paris. I hope this helps!"])
    assert scores.shape == (2,) and np.all(np.isfinite(scores))
    # batching with padding must not change a score (the classifier reads the last real token)
    alone = rm.score(PROMPTS[:1], ["Certainly!"])
    np.testing.assert_allclose(alone, scores[:1], atol=1e-5)
    np.testing.assert_allclose(load_reward(str(tmp_path)).score(PROMPTS[:1], ["Certainly!"]), alone, atol=1e-6)
