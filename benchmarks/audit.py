"""Benchmark: ``overopt audit-rm`` throughput (pairs scored per second) and end-to-end audit time.

Measures, on this machine's CPU, for a lab proxy RM (sizes s and l of the quick preset) and for a
tiny random-init Hugging Face sequence classifier (GPT-2, 2 layers, 64 dims):
- pairs/second of the audit's batched scoring, against the same RM scoring the same pairs one call
  per pair (the reference, measured in the same run, on a prefix of the pairs);
- the end-to-end audit of a lab proxy on its default base set (all held-out lab prompts x 4 reference
  samples, every direction): load the saved RM, sample base responses, build pairs, score, statistics.
  Target: under a minute.

With ``--lab-run DIR`` (a finished ``overopt lab`` study) it also prints the predictive check: per
best-of-n proxy curve (and RL run against a single proxy, when the study has them), the Spearman
rank correlation between the audit effects of that proxy and the habit growth along the curve.

Run (CPU; first run trains and caches the quick reference LM, ~30 s)::

    .venv/bin/python benchmarks/audit.py [--threads 1] [--lab-run DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def per_pair_rate(rm, prompts: list[str], responses: list[str], k: int) -> float:
    t0 = time.perf_counter()
    for p, r in zip(prompts[:k], responses[:k], strict=True):
        rm.score([p], [r])
    return k / (time.perf_counter() - t0)


def batched_rate(rm, prompts: list[str], responses: list[str], batch_size: int) -> float:
    from overopt.audit.audit import score_batched

    t0 = time.perf_counter()
    score_batched(rm, prompts, responses, batch_size=batch_size)
    return len(responses) / (time.perf_counter() - t0)


def tiny_hf_rm(path: Path):
    import torch
    from transformers import GPT2Config, GPT2ForSequenceClassification

    from overopt.lab.reference import build_tokenizer
    from overopt.lab.world import vocabulary

    torch.manual_seed(0)
    vocab = vocabulary()
    tok = build_tokenizer(vocab)
    GPT2ForSequenceClassification(GPT2Config(vocab_size=len(vocab), n_positions=256, n_embd=64, n_layer=2,
                                             n_head=2, num_labels=1, pad_token_id=tok.pad_token_id,
                                             bos_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id)).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--lab-run", default=None, help="a finished lab study directory (summary.json)")
    ap.add_argument("--rl", default="", help="with --lab-run: comma-separated proxy names to optimize with "
                                             "GRPO (60 steps, KL coef 0; ~1 min each) for the RL predictive check")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    from overopt.audit import audit_rm, build_pairs, lab_base
    from overopt.audit.perturbations import select_directions
    from overopt.lab import world
    from overopt.lab.labelers import LabelerConfig
    from overopt.lab.pairs import sample_pairs
    from overopt.lab.presets import preset_config
    from overopt.lab.proxies import train_proxy
    from overopt.lab.reference import reference_path
    from overopt.models.hf import HFPolicy
    from overopt.models.resolve import load_reward

    cfg = preset_config("quick")
    t0 = time.perf_counter()
    policy = HFPolicy.from_pretrained(reference_path(cfg.reference))
    print(f"reference LM ready in {time.perf_counter() - t0:.1f} s (cached after the first run)")
    train, _ = world.split_prompts(cfg.reference.heldout_frac, cfg.reference.seed)
    data = sample_pairs(policy, train, 1000, LabelerConfig(), max_new_tokens=cfg.pair_max_new_tokens, seed=1)
    sizes = {s.name: s for s in cfg.sizes}
    tmp = Path(tempfile.mkdtemp(prefix="overopt-audit-bench-"))
    paths = {}
    for name in ("s", "l"):
        rm = train_proxy(data, world.vocabulary(), sizes[name], cfg.train, seed=0)
        paths[f"lab proxy {name} ({rm.n_params} params)"] = rm.save_pretrained(tmp / f"proxy-{name}")
    paths["tiny HF classifier (GPT-2 2x64)"] = tiny_hf_rm(tmp / "hf")

    base = lab_base(reference=cfg.reference, per_prompt=4)
    pairs = build_pairs(base, select_directions(None), seed=0)
    prompts = [base.prompts[i] for i in pairs.base_index]
    print(f"\n{len(pairs.perturbed)} pairs from {len(base.responses)} base responses")
    print(f"{'RM':34s} {'batched pairs/s':>16s} {'one-by-one pairs/s':>19s} {'speedup':>8s}")
    for label, path in paths.items():
        rm = load_reward(str(path))
        fast = batched_rate(rm, prompts, pairs.perturbed, batch_size=512)
        slow = per_pair_rate(rm, prompts, pairs.perturbed, k=min(300, len(prompts)))
        print(f"{label:34s} {fast:16.0f} {slow:19.0f} {fast / slow:7.1f}x")

    print("\nend-to-end audit of a saved lab proxy on the default lab base set (the CLI's path):")
    for label, path in list(paths.items())[:2]:
        t0 = time.perf_counter()
        rm = load_reward(str(path))
        b = lab_base(reference=cfg.reference, per_prompt=4)
        res = audit_rm(rm, b)
        total = time.perf_counter() - t0
        print(f"  {label}: {total:.1f} s total ({res.seconds:.2f} s audit, {res.pairs_scored} pairs, "
              f"{res.pairs_per_second:.0f} pairs/s), exploitable={res.exploitable()}; target < 60 s: "
              f"{'ok' if total < 60 else 'MISSED'}")
    if args.lab_run:
        predictive(args.lab_run)
        if args.rl:
            rl_predictive(args.lab_run, [n for n in args.rl.split(",") if n])


def rl_predictive(run_dir: str, names: list[str]) -> None:
    """Optimize each named proxy of the lab run with GRPO and correlate its audit with habit growth."""
    import json
    import warnings

    import numpy as np

    from overopt.audit import audit_rm, lab_base
    from overopt.audit.lab_check import (
        _habit_table,
        growth_from_rates,
        habit_sd,
        lab_habit_rates,
        predictive_check,
    )
    from overopt.lab import world
    from overopt.lab.gold import GoldReward
    from overopt.models.hf import HFPolicy
    from overopt.models.lab_rm import LabRewardModel
    from overopt.study.curves import curve_from_evaluations
    from overopt.study.rl import RLRunConfig, run_rl

    run = Path(run_dir)
    summary = json.loads((run / "summary.json").read_text())
    ref_dir = run / summary["reference"]["path"]
    rcfg = summary["reference"]["config"]
    train, held = world.split_prompts(rcfg["heldout_frac"], rcfg["seed"])
    base = lab_base(reference_dir=ref_dir, per_prompt=4)
    ref = lab_base(reference_dir=ref_dir, per_prompt=16, seed=1)
    sd = habit_sd(*_habit_table(ref.prompts, ref.responses))
    paths = {p["name"]: run / p["path"] for p in summary["proxies"]}
    reference = HFPolicy.from_pretrained(ref_dir)
    # held-out prompts come grouped by kind; evaluate on a seeded shuffle so the first 40 cover every kind
    held_mixed = [held[i].text for i in np.random.default_rng(0).permutation(len(held))]
    print("\nRL predictive check: GRPO 60 steps, KL coef 0, against one proxy each")
    for name in names:
        rm = LabRewardModel.from_pretrained(paths[name])
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = run_rl(RLRunConfig(steps=60, eval_every=6, eval_prompts=40, kl_coef=0.0), policy_path=ref_dir,
                         train_prompts=[p.text for p in train], rewards=[rm], reference=reference,
                         eval_prompts=held_mixed, gold=GoldReward(), habits=lab_habit_rates,
                         eval_proxy=rm, detectors=False)
        curve = curve_from_evaluations(name, res.evaluations)
        check = predictive_check(audit_rm(rm, base), growth_from_rates(curve["rates"], sd, "rl", key="lab/{}"))
        print(f"  rl/{name:20s} rho={check.spearman_rho:+.2f} (p={check.p_value:.3f}), gold "
              f"{curve['gold'][0]:+.2f} -> {curve['gold'][-1]:+.2f}, KL {curve['kl'][-1]:.1f} nats, "
              f"{time.perf_counter() - t0:.0f} s")


def predictive(run_dir: str) -> None:
    import numpy as np

    from overopt.audit.lab_check import predictive_from_summary

    rows = predictive_from_summary(run_dir)
    print(f"\npredictive check on {run_dir}: Spearman rho(audit effect, habit growth) over directions")
    for r in rows:
        print(f"  {r['curve']:24s} {r['span']:28s} rho={r['spearman_rho']:+.2f} (p={r['p_value']:.3f}, "
              f"{len(r['effects'])} directions)")
    if rows:
        rhos = np.array([r["spearman_rho"] for r in rows])
        print(f"  median rho {np.median(rhos):+.2f}, mean {rhos.mean():+.2f} over {len(rows)} curves")


if __name__ == "__main__":
    main()
