"""``OverOptCallback``: the over-optimization monitor inside a TRL (or any transformers) trainer.

Every ``every`` steps it samples from the trainer's current model (``overopt.models.HFPolicy``
around the trainer's model and tokenizer), scores the samples with a *held-out* reward, measures
the exact per-sequence KL to the reference (k1 with SE, and k3), runs the text detectors, feeds
an :class:`~overopt.monitor.OverOptMonitor` and logs ``overopt/*`` metrics through the trainer's
own ``log`` (so they reach trainer_state.json, W&B, TensorBoard...). It saves the checkpoint the
monitor recommends to ``<output_dir>/overopt-best`` and can stop training on an alarm::

    cb = OverOptCallback(heldout_reward="path/to/heldout_rm", eval_prompts=prompts, every=50)
    trainer = GRPOTrainer(..., callbacks=[cb])   # or cb.attach(trainer) to log before W&B/TensorBoard
    trainer.train(); cb.monitor.summary()

Works with GRPO, RLOO and DPO trainers (it only uses the model, the tokenizer and the logging hooks).
"""

from __future__ import annotations

import copy
import json
import time
import warnings
from pathlib import Path
from typing import Any

from overopt.errors import InputError, require
from overopt.integrations.evaluate import PolicyEval, as_reward, evaluate_policy
from overopt.monitor import AlarmLevel, OverOptMonitor

require("transformers", "lab")
from transformers import TrainerCallback  # noqa: E402

BEST_DIR = "overopt-best"
RECORDS_FILE = "overopt_records.jsonl"


def _hf_policy_class() -> Any:
    from overopt.models.hf import HFPolicy

    class IdsHFPolicy(HFPolicy):
        """HFPolicy that can also score given token ids (exact KL on the sampled tokens)."""

        def token_logprobs_ids(self, prompts: list[str], response_ids: list[list[int]]) -> list[Any]:
            import torch

            device = next(self.model.parameters()).device
            pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
            rows = [(self._encode(p), list(r)) for p, r in zip(prompts, response_ids, strict=True)]
            width = max(len(p) + len(r) for p, r in rows)
            ids = torch.full((len(rows), width), pad, dtype=torch.long)  # (B, T) right-padded
            mask = torch.zeros_like(ids)
            for j, (p, r) in enumerate(rows):
                ids[j, : len(p) + len(r)] = torch.tensor(p + r)
                mask[j, : len(p) + len(r)] = 1
            with torch.inference_mode():
                logits = self.model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
            logp = torch.log_softmax(logits[:, :-1], -1).gather(2, ids[:, 1:, None].to(device))[..., 0].cpu()
            return [logp[j, len(p) - 1: len(p) - 1 + len(r)].double().numpy() for j, (p, r) in enumerate(rows)]

    return IdsHFPolicy


class OverOptCallback(TrainerCallback):
    """See the module docstring.

    heldout_reward: a saved RM path / ``lab:gold`` / ``module:function`` spec, a RewardModel, or
        ``f(prompts, responses) -> scores``. It must NOT be the reward the trainer optimizes.
    eval_prompts: held-out prompts (strings). ``n_samples`` completions each, at temperature 1.
    every: evaluate every this many optimizer steps (and at step 0, the reference point).
    reference: the reference policy: a model directory, a model, an overopt Policy, or None for the
        trainer model's ``config._name_or_path`` directory (else a copy of the model at train start).
    proxy_reward: optionally the trained-on reward, to score the same samples (divergence signal).
    stop_on_alarm: set ``control.should_training_stop`` once the monitor raises ALARM.
    save_best: save the recommended checkpoint under ``<output_dir>/overopt-best``.
    """

    def __init__(self, heldout_reward: Any, eval_prompts: list[str], every: int = 50, reference: Any = None, *,
                 n_samples: int = 1, max_new_tokens: int | None = None, proxy_reward: Any = None,
                 detectors: bool = True, stop_on_alarm: bool = False, save_best: bool = True,
                 monitor: OverOptMonitor | None = None, seed: int = 0) -> None:
        if every < 1:
            raise InputError(f"every must be >= 1, got {every}")
        if not eval_prompts or not all(isinstance(p, str) for p in eval_prompts):
            raise InputError("eval_prompts must be a non-empty list of prompt strings")
        self.heldout_reward = as_reward(heldout_reward, "heldout_reward")
        self.eval_prompts = list(eval_prompts)
        self.every = every
        self.reference = reference
        self.n_samples = n_samples
        self.max_new_tokens = max_new_tokens
        self.proxy_reward = as_reward(proxy_reward, "proxy_reward")
        self.detectors = detectors
        self.stop_on_alarm = stop_on_alarm
        self.save_best = save_best
        self.monitor = monitor if monitor is not None else OverOptMonitor(seed=seed)
        self.seed = seed
        self.evals_: list[PolicyEval] = []
        self.eval_seconds_: float = 0.0  # all evaluations, including step 0 and best-checkpoint saves
        self.save_seconds_: float = 0.0
        self.step0_seconds_: float = 0.0
        self.best_step_: int | None = None
        self.warnings_: list[str] = []
        self._ref: Any = None
        self._pending: dict[str, float] = {}
        self._trainer: Any = None
        self._reporting_warned = False

    # -- wiring ------------------------------------------------------------------------------
    def attach(self, trainer: Any) -> OverOptCallback:
        """Add this callback *first*, so reporting callbacks (W&B, TensorBoard) see ``overopt/*``."""
        trainer.callback_handler.callbacks.insert(0, self)
        self._trainer = trainer
        return self

    def _reference_policy(self, model: Any, tokenizer: Any) -> Any:
        HFPolicy = _hf_policy_class()  # noqa: N806
        ref = self.reference
        if ref is None:
            path = getattr(getattr(model, "config", None), "_name_or_path", "")
            if path and Path(path).is_dir():
                return HFPolicy.from_pretrained(path)
            self.warnings_.append("reference: the model at train start (config._name_or_path is not a local "
                                  "directory); pass reference= when resuming a run")
            return HFPolicy(copy.deepcopy(model), tokenizer)
        if isinstance(ref, (str, Path)):
            return HFPolicy.from_pretrained(ref)
        if hasattr(ref, "token_logprobs"):
            return ref
        if hasattr(ref, "forward"):
            return HFPolicy(ref, tokenizer)
        raise InputError("reference must be a model directory, a transformers model or an overopt Policy")

    # -- trainer events ----------------------------------------------------------------------
    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None,
                       processing_class: Any = None, **kw: Any) -> None:
        tokenizer = processing_class or kw.get("tokenizer")
        if model is None or tokenizer is None:
            raise InputError("OverOptCallback needs the trainer's model and tokenizer (processing_class)")
        self._ref = self._reference_policy(model, tokenizer)
        if self.max_new_tokens is None:
            self.max_new_tokens = int(getattr(args, "max_completion_length", None) or 64)
        if not self.monitor.records_:
            (Path(args.output_dir) / RECORDS_FILE).unlink(missing_ok=True)
            t0 = time.perf_counter()
            self._evaluate(args, state, model, tokenizer)  # the reference point: KL = 0 at step 0
            self.step0_seconds_ = time.perf_counter() - t0
            if state.is_world_process_zero:  # no trainer.log before the first step: record it directly
                state.log_history.append({**self._pending, "step": state.global_step})
            self._pending = {}

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None,
                    processing_class: Any = None, **kw: Any) -> Any:
        if state.global_step % self.every != 0 or not state.is_world_process_zero:
            return control
        level = self._evaluate(args, state, model, processing_class or kw.get("tokenizer"))
        control.should_log = True  # log this evaluation at this step
        if level == AlarmLevel.ALARM and self.stop_on_alarm:
            control.should_training_stop = True
        return control

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kw: Any) -> None:
        if not self._pending or logs is None or any(k.startswith("eval_") for k in logs):
            return
        logs.update(self._pending)
        # Trainer.log appended a copy of ``logs`` to log_history before calling us: complete it too
        if state.log_history and state.log_history[-1].get("step") == state.global_step:
            state.log_history[-1].update(self._pending)
        self._pending = {}
        if self._trainer is None and not self._reporting_warned and _reports(args):
            self._reporting_warned = True
            warnings.warn("OverOptCallback was added after the reporting callbacks: overopt/* reach "
                          "trainer_state.json but W&B/TensorBoard only from the next log; use cb.attach(trainer)",
                          stacklevel=2)

    # -- the evaluation ----------------------------------------------------------------------
    def _evaluate(self, args: Any, state: Any, model: Any, tokenizer: Any) -> AlarmLevel:
        HFPolicy = _hf_policy_class()  # noqa: N806
        t0 = time.perf_counter()
        was_training = model.training
        try:
            ev = evaluate_policy(HFPolicy(model, tokenizer), self._ref, self.eval_prompts, self.heldout_reward,
                                 step=state.global_step, n=self.n_samples, max_new_tokens=self.max_new_tokens or 64,
                                 seed=self.seed + state.global_step, proxy=self.proxy_reward,
                                 detectors=self.detectors)
        finally:
            model.train(was_training)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # kept in the state's warnings instead
            st = self.monitor.update(ev.record())
        self.evals_.append(ev)
        self.warnings_.extend(w for w in ev.warnings if w not in self.warnings_)
        self._pending = {**self.monitor.metrics(), **ev.metrics()}
        if self.save_best and st.recommended_step == ev.step and ev.step != self.best_step_:
            self._save_best(args, model, tokenizer, ev)
        self._append_record(args, ev)
        self.eval_seconds_ += time.perf_counter() - t0
        return st.alarm.level

    def _save_best(self, args: Any, model: Any, tokenizer: Any, ev: PolicyEval) -> None:
        t0 = time.perf_counter()
        out = Path(args.output_dir) / BEST_DIR
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
        info = {"step": ev.step, "gold": ev.gold, "gold_se": ev.gold_se, "kl_nats": ev.kl_k1}
        (out / "overopt_best.json").write_text(json.dumps(info))
        self.best_step_ = ev.step
        self.save_seconds_ += time.perf_counter() - t0

    def _append_record(self, args: Any, ev: PolicyEval) -> None:
        row = {"step": ev.step, **self._pending}
        path = Path(args.output_dir) / RECORDS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")


def _reports(args: Any) -> bool:
    to = getattr(args, "report_to", None) or []
    to = [to] if isinstance(to, str) else list(to)
    return any(t not in ("none", None) for t in to)
