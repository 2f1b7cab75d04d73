"""``overopt study CONFIG.yaml`` end to end on tiny local HF models saved by the test (no hub)."""

from __future__ import annotations

import json
import platform
import warnings
from importlib import metadata

import pytest

VOCAB = ["<pad>", "<eos>", "<unk>", "User:", "Assistant:", "a", "b", "c", "d", "e"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    import torch
    from transformers import GPT2Config, GPT2ForSequenceClassification, GPT2LMHeadModel

    from overopt.lab.reference import build_tokenizer

    root = tmp_path_factory.mktemp("study-models")
    cfg = dict(vocab_size=len(VOCAB), n_positions=64, n_embd=16, n_layer=1, n_head=2, eos_token_id=1,
               bos_token_id=1, pad_token_id=0)
    tok = build_tokenizer(VOCAB)
    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config(**cfg)).save_pretrained(root / "policy")
    tok.save_pretrained(root / "policy")
    for name, seed in (("proxy", 1), ("heldout", 2), ("proxy2", 3)):
        torch.manual_seed(seed)
        GPT2ForSequenceClassification(GPT2Config(num_labels=1, **cfg)).save_pretrained(root / name)
        tok.save_pretrained(root / name)
    prompts = [f"User: {a} {b} Assistant:" for a in "abcde" for b in "abc"]
    (root / "prompts.txt").write_text("\n".join(prompts) + "\n")
    return root


RUN = "{steps: 2, eval_every: 1, eval_prompts: 3, batch_prompts: 2, num_generations: 2, max_new_tokens: 4, " \
      "eval_samples_per_prompt: 2}"


def _yaml(models, **over) -> str:
    dpo = "{steps: 2, eval_every: 1, eval_prompts: 3, batch_size: 2, max_new_tokens: 4, eval_samples_per_prompt: 2}"
    fields = {"policy": "policy", "proxy": "proxy", "gold": "heldout", "prompts": "prompts.txt", "threads": 1,
              "rl": f"{{kl_coefs: [0.0, 0.1], run: {RUN}}}", "dpo": f"{{betas: [0.1], pairs_per_prompt: 1, run: {dpo}}}"}
    fields.update(over)
    return "\n".join(f"{k}: {v}" for k, v in fields.items()) + "\n"


def test_study_runs_writes_summary_and_resumes(cli, models, tmp_path):
    cfg = models / "study.yaml"
    cfg.write_text(_yaml(models, proxy="[proxy, proxy2]", ensemble="wco"))
    out = tmp_path / "run"
    r = cli("study", cfg, "--out", out, "--json")
    assert r.code == 0, r.err
    s = r.json()
    assert s["schema_version"] == 1 and s["n_heldout_prompts"] == 3
    assert s["versions"]["trl"] == metadata.version("trl") and s["versions"]["python"] == platform.python_version()
    assert set(s["versions"]) == {"overopt", "python", "torch", "transformers", "trl", "numpy"}
    assert [c["name"] for c in s["rl"]] == ["grpo-kl0", "grpo-kl0.1"] and [c["name"] for c in s["dpo"]] == ["sigmoid-beta0.1"]
    for c in s["rl"] + s["dpo"]:
        assert c["step"] == [0, 1, 2] and len(c["kl"]) == len(c["proxy"]) == len(c["gold"]) == 3
        assert abs(c["kl"][0]) < 1e-3 and "status" in c["fit"]  # step 0 is the reference itself
    assert s["rl"][1]["trainer_kl"]["estimator"] == "k3"
    assert json.loads((out / "summary.json").read_text())["rl"][0]["gold"] == s["rl"][0]["gold"]
    assert "grpo-kl0" in (out / "report.html").read_text(encoding="utf-8")  # overopt study ends in its report
    again = cli("study", cfg, "--out", out, "--json")  # every run is stored: nothing retrains
    assert again.code == 0 and again.json()["rl"] == s["rl"]
    assert again.json()["timings"]["total_this_run"] < s["timings"]["total_this_run"] / 3


def test_hub_id_fails_clearly_offline(cli, models, tmp_path):
    cfg = models / "hub.yaml"
    cfg.write_text(_yaml(models, policy="some-org/not-cached-model"))
    r = cli("study", cfg, "--out", tmp_path / "x")
    assert r.code == 2 and "not in the local Hugging Face cache" in r.err and "huggingface-cli download" in r.err
    assert len(r.err.strip().splitlines()) == 1


def test_bad_config_values_exit_2(cli, models, tmp_path):
    bad = models / "bad.yaml"
    bad.write_text(_yaml(models, rl="{kl_coefs: [0.0], run: {algo: ppo}}"))
    r = cli("study", bad, "--out", tmp_path / "y")
    assert r.code == 2 and "rl.run.algo" in r.err
    missing = models / "missing.yaml"
    missing.write_text("policy: policy\n")
    assert cli("study", missing).code == 2
    assert cli("study", models / "nope.yaml").code == 2
    prompts_bad = models / "p.yaml"
    prompts_bad.write_text(_yaml(models, prompts="no-such-prompts.txt"))
    r = cli("study", prompts_bad, "--out", tmp_path / "z")
    assert r.code == 2 and "no prompts file" in r.err


@pytest.mark.slow
def test_same_seed_same_summary_on_local_and_ray(models, tmp_path, ray_backend):
    """Every RL / DPO run is a Ray task (models shipped as bytes, evaluations committed by the driver);
    the summary equals the in-process one, and a rerun on Ray submits nothing."""
    from overopt.study.backend import LocalBackend
    from overopt.study.config import load_config
    from overopt.study.runner import run_study_config
    from overopt.study.store import RunStore

    path = models / "ray.yaml"  # an ensemble of two proxies: member scales and the combination travel too
    path.write_text(_yaml(models, proxy="[proxy, proxy2]", ensemble="wco", rl=f"{{kl_coefs: [0.1], run: {RUN}}}"))
    cfg, local, before = load_config(path), LocalBackend(), ray_backend.submitted
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        on_ray = run_study_config(cfg, tmp_path / "ray", backend=ray_backend)
        in_process = run_study_config(cfg, tmp_path / "local", backend=local)
    assert ray_backend.submitted - before == 2 == local.submitted  # 1 RL + 1 DPO point each
    for s in (on_ray, in_process):
        s.pop("timings")
    assert json.dumps(on_ray, sort_keys=True) == json.dumps(in_process, sort_keys=True)
    assert on_ray["rl"][0]["config"]["ensemble"] == "wco" and on_ray["dpo"][0]["n_pairs"] > 0
    with RunStore(tmp_path / "ray", config=cfg.model_dump(mode="json")) as store:
        assert len(store.keys("rl/grpo-kl0.1/eval/")) == len(store.keys("dpo/sigmoid-beta0.1/eval/")) == 3
    again = run_study_config(cfg, tmp_path / "ray", backend=ray_backend)
    assert ray_backend.submitted - before == 2 and again["rl"] == on_ray["rl"] and again["dpo"] == on_ray["dpo"]


@pytest.mark.parametrize("args", [("--backend", "slurm"), ("--ray-address", "auto")])
def test_bad_backend_choices_exit_2(cli, models, tmp_path, args):
    cfg = models / "study.yaml"
    cfg.write_text(_yaml(models))
    r = cli("study", cfg, "--out", tmp_path / "b", *args)
    assert r.code == 2 and "backend" in r.err and len(r.err.strip().splitlines()) == 1, r.err
    assert not (tmp_path / "b").exists()  # refused before the run store is created
