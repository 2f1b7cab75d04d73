"""Conformance: every generation backend passes the same checks (the Policy contract in models/base.py).

Backends that cannot run here are skipped with the reason (vLLM: not installed / no GPU).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from overopt.errors import ConfigError, InputError, MissingDependencyError  # noqa: E402
from overopt.lab import world  # noqa: E402
from overopt.models.base import Policy  # noqa: E402
from overopt.models.generation import GENERATION_BACKENDS, load_policy, unavailable_reason  # noqa: E402

PROMPTS = [world.all_prompts()[0].text, world.all_prompts()[200].text, world.all_prompts()[300].text]


@pytest.fixture(scope="module", params=GENERATION_BACKENDS)
def policy(request, tiny_lm):
    reason = unavailable_reason(request.param)
    if reason:
        pytest.skip(f"{request.param} backend: {reason}")
    return load_policy(tiny_lm, backend=request.param)


def test_satisfies_the_protocol(policy):
    assert isinstance(policy, Policy)


def test_samples_are_grouped_by_prompt_and_bounded(policy):
    s = policy.sample(PROMPTS, 5, max_new_tokens=10, seed=0)
    assert len(s) == 15 and s.prompt_index.tolist() == [0] * 5 + [1] * 5 + [2] * 5
    assert s.prompts == PROMPTS and s.prompt_texts()[5] == PROMPTS[1]
    assert all(1 <= len(ids) <= 10 for ids in s.response_ids)
    assert s.logprobs.shape == (15,) and np.all(np.isfinite(s.logprobs)) and np.all(s.logprobs <= 0)


def test_same_seed_same_samples_other_seed_other_samples(policy):
    a = policy.sample(PROMPTS, 4, max_new_tokens=8, seed=5)
    b = policy.sample(PROMPTS, 4, max_new_tokens=8, seed=5)
    c = policy.sample(PROMPTS, 4, max_new_tokens=8, seed=6)
    assert a.response_ids == b.response_ids and a.response_ids != c.response_ids
    np.testing.assert_allclose(a.logprobs, b.logprobs, atol=1e-6)


def test_sequence_logprob_is_the_sum_of_token_logprobs(policy):
    """At temperature 1 the sampler's log-prob and a scoring pass agree (two independent code paths)."""
    s = policy.sample(PROMPTS, 8, max_new_tokens=12, seed=2)
    eos = policy.tokenizer.eos_token_id
    rows = [i for i, ids in enumerate(s.response_ids) if policy.tokenizer.unk_token_id not in ids]
    lp = policy.token_logprobs([s.prompt_texts()[i] for i in rows], [s.responses[i] for i in rows])
    # token_logprobs scores the response then end-of-sequence; a row cut at max_new_tokens sampled no EOS
    sums = [x.sum() if s.response_ids[i][-1] == eos else x[:-1].sum() for i, x in zip(rows, lp, strict=True)]
    assert len(rows) >= 12
    np.testing.assert_allclose(sums, s.logprobs[rows], atol=2e-3)


def test_tempered_logprobs_follow_the_temperature(policy):
    """Log-probs are under the sampling (tempered) policy: a colder policy is more confident in its picks."""
    hot = policy.sample(PROMPTS, 16, max_new_tokens=1, temperature=2.0, seed=3).logprobs.mean()
    cold = policy.sample(PROMPTS, 16, max_new_tokens=1, temperature=0.25, seed=3).logprobs.mean()
    assert cold > hot


@pytest.mark.parametrize("kw", [{"n": 0}, {"max_new_tokens": 0}, {"temperature": 0.0}])
def test_bad_sampling_arguments_are_input_errors(policy, kw):
    args = {"n": 2, "max_new_tokens": 4, "temperature": 1.0} | kw
    with pytest.raises(InputError):
        policy.sample(PROMPTS, args.pop("n"), **args)


def test_unknown_backend_is_a_config_error(tiny_lm):
    with pytest.raises(ConfigError, match="hf, vllm"):
        load_policy(tiny_lm, backend="tgi")


def test_vllm_without_the_package_names_the_extra(tiny_lm, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "vllm", None)  # as if vllm were not installed (it is not, here)
    with pytest.raises(MissingDependencyError, match=r"pip install 'overopt\[vllm\]'"):
        load_policy(tiny_lm, backend="vllm")
