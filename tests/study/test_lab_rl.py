"""The lab's RL / DPO stages on a tiny lab study: summary-ready curves, resumable points, same seed
same records (timings apart)."""

from __future__ import annotations

import json
import warnings

import pytest

from overopt.study.dpo import DPORunConfig
from overopt.study.lab_rl import RLStageConfig, lab_habits, run_dpo_stage, run_rl_stage
from overopt.study.rl import RLRunConfig

TINY_RUN = dict(steps=2, eval_every=1, eval_prompts=5, batch_prompts=2, num_generations=2, max_new_tokens=8,
                eval_samples_per_prompt=2)
STAGE = RLStageConfig(kl_coefs=(0.0, 0.1), ensemble_methods=("wco",), ensemble_coef=0.1, run=RLRunConfig(**TINY_RUN),
                      dpo_betas=(0.1,), dpo=DPORunConfig(steps=2, eval_every=1, eval_prompts=5, batch_size=2,
                                                         max_new_tokens=8, eval_samples_per_prompt=2))


def _study(out, events=None, backend=None):
    from overopt.lab.presets import preset_config
    from overopt.lab.proxies import TrainConfig
    from overopt.lab.reference import ReferenceConfig
    from overopt.study.lab import LabStudy

    cfg = preset_config("quick", seed=0, threads=1, reference=ReferenceConfig(steps=20, n_corpus=300, seed=0),
                        n_pairs=(20, 40, 80), heldout_pairs=20, train=TrainConfig(min_steps=5, epochs=1),
                        pair_max_new_tokens=16)
    study = LabStudy(cfg, out, progress=None if events is None else lambda stage, e: events.append((stage, e)),
                     backend=backend)
    study.reference()
    pool = study.pairs("train")
    return study, pool, study.proxies(pool, study.pairs("heldout"))


def _stages(out, events=None, backend=None):
    study, pool, proxies = _study(out, events, backend)
    study.proxy_points = study.backend.submitted  # proxy trainings, before the RL / DPO points
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rl = run_rl_stage(study, proxies, STAGE)
        dpo = run_dpo_stage(study, proxies, STAGE, pool=pool)
    return study, rl, dpo


def test_stages_give_summary_curves_and_resume(tmp_path):
    study, rl, dpo = _stages(tmp_path / "a")
    assert [c["name"] for c in rl] == ["s-20-kl0", "s-20-kl0.1", "ensemble-wco-kl0.1"]
    assert rl[2]["reward"] == ["s-20", "s-20-seed1", "s-20-seed2"] and rl[2]["kl_coef"] == 0.1
    assert [c["name"] for c in dpo] == ["sigmoid-beta0.1"] and dpo[0]["label_rm"] == "s-20"
    for c in rl + dpo:
        assert c["step"] == [0, 1, 2] and len(c["kl"]) == len(c["proxy"]) == len(c["gold"]) == 3
        assert "status" in c["fit"] and "timing" not in c and "lab/n_words" in c["rates"]
    json.dumps({"rl": rl, "dpo": dpo}, allow_nan=False, default=float)  # the lab writes with allow_nan=False
    # 3 RL + 1 DPO points ran on the study's (local) backend; each evaluation is a row beside its run
    assert study.backend.submitted - study.proxy_points == 4 and study.store.done("dpo/sigmoid-beta0.1")
    assert [k.rsplit("/", 1)[1] for k in study.store.keys("rl/s-20-kl0/eval/")] == ["000000", "000001", "000002"]
    assert study.store.get("rl/s-20-kl0/eval/000002")["overopt/kl"] == rl[0]["kl"][2]
    assert "rl/s-20-kl0/train_seconds" in study.timings
    study.store.close()
    events: list = []
    again, rl2, dpo2 = _stages(tmp_path / "a", events)  # every run is a stored point: resumed, not retrained
    assert rl2 == rl and dpo2 == dpo
    assert ("RL s-20-kl0", "resumed") in events and ("DPO sigmoid-beta0.1", "resumed") in events
    assert not any(e == "done" for _, e in events) and again.backend.submitted == 0
    again.store.close()


@pytest.mark.slow
def test_same_seed_same_records_in_process_and_on_ray(tmp_path, ray_backend):
    a = _stages(tmp_path / "a")
    before = ray_backend.submitted
    b = _stages(tmp_path / "b", backend=ray_backend)  # lab RMs travel as bytes, the gold by name
    assert a[1] == b[1] and a[2] == b[2]
    assert ray_backend.submitted - b[0].proxy_points == 4 and b[0].proxy_points > before
    a[0].store.close()
    b[0].store.close()


def test_lab_habits_use_the_gold_parse():
    from overopt.lab import world

    prompts = [p.text for p in world.all_prompts() if p.kind == "false"][:2]
    rates = lab_habits(prompts, ["Yes, you are absolutely right.", "Certainly! Actually, that is not correct."])
    assert rates["lab/agreement_false"] == pytest.approx(0.5) and rates["lab/opener_confident"] == 0.5
    assert "lab/refusal_benign" in rates and rates["lab/n_words"] == pytest.approx(5.5)
