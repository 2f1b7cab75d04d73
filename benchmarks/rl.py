"""Benchmark: seconds per optimizer step of overopt's RL / DPO runs vs a plain TRL GRPO run.

Measures, in one process on this machine's CPU, on the default lab reference LM (cached by config
hash) against a lab proxy RM (size s, 250 labeler pairs):
- plain TRL ``GRPOTrainer`` (no callbacks of ours, TRL's defaults for logging) — the reference;
- ``overopt.study.rl.run_rl`` with evaluation every k steps (fresh held-out samples, exact KL,
  proxy, gold, lab habit rates), reporting train and evaluation seconds separately;
- ``overopt.study.dpo.run_dpo`` with the same evaluation.
Prints s/step for each and the overhead ratio (ours / plain, same steps, same batch).

Run (CPU; first run trains and caches the default reference LM, ~40 s)::

    .venv/bin/python benchmarks/rl.py [--steps 30] [--eval-every 6] [--threads 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--eval-every", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    warnings.simplefilter("ignore")

    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from overopt.lab import world
    from overopt.lab.gold import GoldReward
    from overopt.lab.labelers import LabelerConfig
    from overopt.lab.pairs import sample_pairs
    from overopt.lab.proxies import ProxySize, TrainConfig, train_proxy
    from overopt.lab.reference import ReferenceConfig, reference_path
    from overopt.models.base import reward_function
    from overopt.models.hf import HFPolicy
    from overopt.study.dpo import DPORunConfig, proxy_pairs, run_dpo
    from overopt.study.lab_rl import lab_habits
    from overopt.study.rl import RLRunConfig, run_rl

    torch.set_num_threads(args.threads)
    ref_dir = str(reference_path(ReferenceConfig()))
    train, held = world.split_prompts(0.25, 0)
    train_t, held_t = [p.text for p in train], [p.text for p in held]
    reference = HFPolicy.from_pretrained(ref_dir)
    pool = sample_pairs(reference, train, 250, LabelerConfig(), max_new_tokens=40, seed=1)
    proxy = train_proxy(pool, world.vocabulary(), ProxySize(name="s", dim=4, hidden=8), TrainConfig(), seed=0)
    cfg = RLRunConfig(steps=args.steps, eval_every=args.eval_every, eval_prompts=40)

    # plain TRL GRPO, same model, batch, lengths and steps
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        trainer = GRPOTrainer(
            model=AutoModelForCausalLM.from_pretrained(ref_dir), reward_funcs=[reward_function(proxy, name="proxy")],
            args=GRPOConfig(output_dir=tmp, per_device_train_batch_size=cfg.batch_prompts * cfg.num_generations,
                            num_generations=cfg.num_generations, max_completion_length=cfg.max_new_tokens,
                            learning_rate=cfg.lr, beta=0.0, max_steps=args.steps, report_to=[], save_strategy="no",
                            use_cpu=True, seed=0, disable_tqdm=True, logging_steps=args.steps),
            train_dataset=Dataset.from_dict({"prompt": train_t}), processing_class=AutoTokenizer.from_pretrained(ref_dir))
        t0 = time.perf_counter()
        trainer.train()
        plain = (time.perf_counter() - t0) / args.steps

    t0 = time.perf_counter()
    rl = run_rl(cfg, policy_path=ref_dir, train_prompts=train_t, rewards=[proxy], reference=reference,
                eval_prompts=held_t, gold=GoldReward(), habits=lab_habits, detectors=False)
    rl_total = (time.perf_counter() - t0) / args.steps
    pairs = proxy_pairs(reference, train_t, proxy, pairs_per_prompt=4, seed=7)
    t0 = time.perf_counter()
    dpo = run_dpo(DPORunConfig(steps=args.steps, eval_every=args.eval_every, eval_prompts=40), policy_path=ref_dir,
                  pairs=pairs, reference=reference, eval_prompts=held_t, proxy=proxy, gold=GoldReward(),
                  habits=lab_habits, detectors=False)
    dpo_total = (time.perf_counter() - t0) / args.steps

    n_eval = len(rl.evaluations)
    print(f"threads={args.threads} steps={args.steps} eval_every={args.eval_every} "
          f"({n_eval} evaluations of 40 prompts x 4 samples)")
    print(f"plain TRL GRPO            {plain:.3f} s/step")
    print(f"overopt GRPO train only   {rl.train_seconds / args.steps:.3f} s/step  "
          f"(ratio {rl.train_seconds / args.steps / plain:.2f})")
    print(f"overopt GRPO with eval    {rl_total:.3f} s/step  (ratio {rl_total / plain:.2f}; "
          f"{rl.eval_seconds / n_eval:.2f} s per evaluation)")
    print(f"overopt DPO with eval     {dpo_total:.3f} s/step  (train only {dpo.train_seconds / args.steps:.3f})")


if __name__ == "__main__":
    main()
