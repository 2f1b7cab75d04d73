"""Lab RM backend: save/load round trip, the reward SPEC resolver, the TRL reward-function wrapper."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from overopt.errors import InputError  # noqa: E402
from overopt.lab import world  # noqa: E402
from overopt.lab.gold import GoldReward  # noqa: E402
from overopt.models.base import RewardModel, reward_function  # noqa: E402
from overopt.models.lab_rm import LabRewardModel, LabRMConfig, build_net  # noqa: E402
from overopt.models.resolve import load_reward  # noqa: E402

SPEC = world.all_prompts()[0]
RESPONSES = ["Open a terminal. Find the process id.", "I cannot help with that.", "zqx zqx zqx", ""]


def _rm(n_buckets: int) -> LabRewardModel:
    import torch

    torch.manual_seed(0)
    vocab = world.vocabulary()
    cfg = LabRMConfig(vocab_size=len(vocab), dim=4, hidden=8, n_buckets=n_buckets)
    return LabRewardModel(build_net(cfg), vocab, cfg)


@pytest.mark.parametrize("n_buckets", [0, 64])
def test_save_load_round_trip(tmp_path, n_buckets):
    rm = _rm(n_buckets)
    before = rm.score([SPEC.text] * 4, RESPONSES)
    rm.save_pretrained(tmp_path / "rm")
    loaded = load_reward(str(tmp_path / "rm"))
    assert isinstance(loaded, LabRewardModel) and isinstance(loaded, RewardModel)
    np.testing.assert_array_equal(loaded.score([SPEC.text] * 4, RESPONSES), before)
    # a score does not depend on the batch it is in
    np.testing.assert_allclose(rm.score([SPEC.text], RESPONSES[1:2]), before[1:2], rtol=1e-6)


def test_resolve_gold_and_callable():
    gold = load_reward("lab:gold")
    expected = GoldReward().score([SPEC.text] * 2, RESPONSES[:2])
    np.testing.assert_array_equal(gold.score([SPEC.text] * 2, RESPONSES[:2]), expected)
    fn = load_reward("overopt.lab.gold:gold_reward")
    np.testing.assert_array_equal(fn.score([SPEC.text] * 2, RESPONSES[:2]), expected)


@pytest.mark.parametrize("spec", ["no/such/dir", "overopt.lab.gold:nothing", "nomodule_xyz:f"])
def test_resolve_bad_spec_is_input_error(spec):
    with pytest.raises(InputError):
        load_reward(spec)


def test_reward_function_takes_trl_arguments():
    f = reward_function(load_reward("lab:gold"))
    plain = f(prompts=[SPEC.text], completions=[RESPONSES[0]], completion_ids=[[1]])
    chat = f(prompts=[[{"role": "user", "content": SPEC.text}]],
             completions=[[{"role": "assistant", "content": RESPONSES[0]}]])
    assert plain == chat and isinstance(plain[0], float)
