"""Direct alignment against a proxy through TRL's DPOTrainer (sigmoid = DPO, or IPO), with a beta sweep.

Pairs are sampled from the reference policy and labelled either by the proxy RM (the synthetic
setup of Rafailov et al. 2023 / 2024 "Scaling laws for reward model overoptimization in direct
alignment algorithms": the proxy plays the labeler, chosen = higher proxy score) or by given
labels (the lab's biased labelers). Evaluation is the same outside measurement as for RL
(``overopt.study.evaluate``): KL on fresh samples, proxy and gold — DPO's implicit reward is not
trusted as a KL measure. Smaller beta lets the policy move further (a larger KL budget).

    run_dpo(DPORunConfig(beta=0.1), policy_path=ref_dir, pairs=proxy_pairs(ref, prompts, proxy),
            reference=ref, eval_prompts=heldout, gold=gold)
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from overopt.errors import InputError
from overopt.models.base import Policy, RewardModel
from overopt.study.rl import RLRunResult, TrainEvalConfig, device_args, load_trainable


class DPORunConfig(TrainEvalConfig):
    """One DPO (or IPO) run on preference pairs sampled from the reference."""

    beta: float = Field(0.1, gt=0)
    loss: Literal["sigmoid", "ipo"] = "sigmoid"
    batch_size: int = Field(16, ge=1)


def pairs_from_labels(prompts: list[str], a: list[str], b: list[str], label_a: np.ndarray) -> list[dict[str, str]]:
    """(prompt, chosen, rejected) rows from two responses and a label (1 = ``a`` preferred)."""
    return [{"prompt": p, "chosen": x if lab else y, "rejected": y if lab else x}
            for p, x, y, lab in zip(prompts, a, b, np.asarray(label_a), strict=True)]


def proxy_pairs(reference: Policy, prompts: list[str], rm: RewardModel, *, pairs_per_prompt: int = 1,
                max_new_tokens: int = 32, seed: int = 0) -> list[dict[str, str]]:
    """Sample 2 responses per pair from the reference, chosen = higher ``rm`` score (identical responses
    and score ties within 1e-6 dropped)."""
    s = reference.sample(list(prompts), 2 * pairs_per_prompt, max_new_tokens=max_new_tokens, seed=seed)
    texts = s.prompt_texts()
    scores = np.asarray(rm.score(texts, s.responses), dtype=float)
    a, b = np.arange(0, len(texts), 2), np.arange(1, len(texts), 2)  # grouped by prompt, even count
    same = np.array([s.responses[i] == s.responses[j] for i, j in zip(a, b, strict=True)], dtype=bool)
    keep = ~same & ~np.isclose(scores[a], scores[b], rtol=0.0, atol=1e-6)  # ties carry no preference
    a, b = a[keep], b[keep]
    return pairs_from_labels([texts[i] for i in a], [s.responses[i] for i in a], [s.responses[i] for i in b],
                             (scores[a] > scores[b]).astype(np.int8))


def _completion(tokenizer: Any, text: str) -> str:
    # TRL appends the eos *string* to completions that do not end with it; a whitespace word-level
    # tokenizer would read "end.<eos>" as one unknown word, so add the separator ourselves then.
    eos = tokenizer.eos_token or ""
    ids = tokenizer(text + eos, add_special_tokens=False)["input_ids"]
    joined = bool(ids) and ids[-1] == tokenizer.eos_token_id
    return " " + text + ("" if joined else " ") + eos


def run_dpo(cfg: DPORunConfig, *, policy_path: str | Path, pairs: list[dict[str, str]], reference: Any,
            eval_prompts: list[str], proxy: RewardModel | None = None, gold: RewardModel | None = None,
            habits: Any = None, store: Any = None, key: str = "dpo", detectors: bool = True,
            threads: int | None = None) -> RLRunResult:
    """Train with TRL's DPOTrainer on ``pairs``; evaluate every ``eval_every`` steps like the RL runs."""
    from datasets import Dataset
    from transformers.trainer_callback import PrinterCallback, ProgressCallback
    from trl import DPOConfig, DPOTrainer

    from overopt.study.callbacks import EvalCallback

    if not pairs:
        raise InputError("DPO needs at least one preference pair")
    device = device_args(cfg.device)  # a GPU asked for where there is none: fail before loading anything
    from datasets.utils import logging as ds_logging

    bars_were_on = ds_logging.is_progress_bar_enabled()
    ds_logging.disable_progress_bar()  # TRL's per-map bars; our evaluation records are the progress
    model, tok = load_trainable(policy_path, seed=cfg.seed, threads=threads)
    ds = Dataset.from_dict({"prompt": [p["prompt"] for p in pairs],
                            "chosen": [_completion(tok, p["chosen"]) for p in pairs],
                            "rejected": [_completion(tok, p["rejected"]) for p in pairs]})
    ev = EvalCallback(reference=reference, tokenizer=tok, prompts=eval_prompts[: cfg.eval_prompts],
                      every=cfg.eval_every, store=store, key=key, seed=cfg.seed, n=cfg.eval_samples_per_prompt,
                      max_new_tokens=cfg.max_new_tokens, proxy=proxy, gold=gold, habits=habits, detectors=detectors)
    with tempfile.TemporaryDirectory(prefix="overopt-dpo-") as tmp:
        args = DPOConfig(output_dir=tmp, beta=cfg.beta, loss_type=[cfg.loss], max_steps=cfg.steps,
                         per_device_train_batch_size=cfg.batch_size, learning_rate=cfg.lr,
                         lr_scheduler_type="constant", logging_steps=1, report_to=[], save_strategy="no",
                         seed=cfg.seed, data_seed=cfg.seed, disable_tqdm=True,
                         dataloader_num_workers=0, **device)
        trainer = DPOTrainer(model=model, args=args, train_dataset=ds, processing_class=tok, callbacks=[ev])
        for cb in (PrinterCallback, ProgressCallback):
            trainer.remove_callback(cb)
        start = time.perf_counter()
        try:
            trainer.train()
        finally:
            if bars_were_on:
                ds_logging.enable_progress_bar()
        total = time.perf_counter() - start
    keys = ("step", "loss", "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies")
    log = [{k: float(v) for k, v in h.items() if k in keys} for h in trainer.state.log_history if "loss" in h]
    return RLRunResult(config=cfg.model_dump(), evaluations=[e.to_record() for e in ev.evaluations], trainer_log=log,
                       trainer_kl={"estimator": "none", "where": f"DPO ({cfg.loss}) has no explicit KL term; beta "
                                   "scales the implicit reward log(pi/pi_ref)"},
                       train_seconds=total - ev.seconds, eval_seconds=ev.seconds, steps=cfg.steps)
