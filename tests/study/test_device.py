"""Where a run trains: ``device`` in the run config sets the trainer's device and the point's GPU request,
and asking for a GPU where torch sees none fails before anything loads, with the fix."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from overopt.errors import ConfigError
from overopt.study.dpo import DPORunConfig
from overopt.study.rl import RLRunConfig, device_args, run_rl
from overopt.study.train_points import resources


def test_a_gpu_run_requests_one_gpu_and_cpu_runs_none():
    assert resources(RLRunConfig(), 2) == {"num_cpus": 2.0, "num_gpus": 0.0}
    assert resources(RLRunConfig(device="cuda"), 1) == {"num_cpus": 1.0, "num_gpus": 1.0}
    assert resources(DPORunConfig(device="cuda"), 4)["num_gpus"] == 1.0
    assert device_args("cpu") == {"use_cpu": True, "gradient_checkpointing": False}
    with pytest.raises(ValidationError):
        RLRunConfig(device="tpu")


def test_cuda_where_there_is_none_fails_first_with_the_fix(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the refusal path is for machines without one")
    with pytest.raises(ConfigError, match="device: cuda was asked for but torch sees no GPU"):
        device_args("cuda")
    with pytest.raises(ConfigError, match="set device: cpu"):  # before the (missing) policy is even read
        run_rl(RLRunConfig(device="cuda"), policy_path=tmp_path / "no-model", train_prompts=["a"], rewards=[],
               reference=None, eval_prompts=["a"])
