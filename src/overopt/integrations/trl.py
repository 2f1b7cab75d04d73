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
import math
import time
import warnings
from pathlib import Path
from typing import Any

from overopt import metrics as M
from overopt.errors import InputError, require
from overopt.monitor import AlarmLevel, EvalRecord, OverOptMonitor

require("transformers", "lab")
from transformers import TrainerCallback  # noqa: E402

BEST_DIR = "overopt-best"
RECORDS_FILE = "overopt_records.jsonl"


def as_reward(spec: Any, what: str) -> Any:
    """A RewardModel from a spec string (``load_reward``), an object with ``score``, or f(prompts, responses)."""
    if spec is None or hasattr(spec, "score"):
        return spec
    if isinstance(spec, (str, Path)):
        from overopt.models.resolve import load_reward

        return load_reward(str(spec))
    if callable(spec):
        from overopt.models.resolve import CallableReward

        return CallableReward(spec)
    raise InputError(f"{what} must be a reward spec string, a RewardModel or a callable f(prompts, responses)")


def to_record(ev: Any) -> EvalRecord:
    """A monitor record from a ``study.evaluate.PolicyEvaluation`` (NaN standard errors = unknown)."""
    def fin(x: Any) -> float | None:
        return None if x is None or not math.isfinite(float(x)) else float(x)

    rates = {k: float(v) for k, v in ev.rates.items() if fin(v) is not None}
    return EvalRecord(step=ev.step, kl=ev.kl_nats, kl_unit="per_sequence", kl_estimator="k1", kl_se=fin(ev.kl_se),
                      mean_length=ev.mean_length_tokens, proxy=None if ev.proxy is None else ev.proxy.mean,
                      proxy_se=None if ev.proxy is None else fin(ev.proxy.se), gold=ev.gold.mean,
                      gold_se=fin(ev.gold.se), rates=rates)


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
        self.evals_: list[Any] = []  # overopt.study.evaluate.PolicyEvaluation, one per evaluation
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
        from overopt.models.hf import HFPolicy

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
        from overopt.models.hf import HFPolicy
        from overopt.study.evaluate import evaluate_policy

        t0 = time.perf_counter()
        was_training = model.training
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                # scores the sampled token ids under both models (study.evaluate.ids_logprobs): exact KL
                ev = evaluate_policy(HFPolicy(model, tokenizer), self._ref, self.eval_prompts, n=self.n_samples,
                                     max_new_tokens=self.max_new_tokens or 64, proxy=self.proxy_reward,
                                     gold=self.heldout_reward, detectors=self.detectors, n_stored=4,
                                     seed=self.seed + state.global_step, step=state.global_step,
                                     eos_id=tokenizer.eos_token_id)
                st = self.monitor.update(to_record(ev))
        finally:
            model.train(was_training)
        self.evals_.append(ev)
        self.warnings_.extend(m for m in (str(w.message) for w in caught) if m not in self.warnings_)
        self._pending = {**self.monitor.metrics(), M.KL_K3: ev.kl_k3, M.LEN_TOKENS: ev.mean_length_tokens}
        if self.save_best and st.recommended_step == ev.step and ev.step != self.best_step_:
            self._save_best(args, model, tokenizer, ev)
        self._append_record(args, ev)
        self.eval_seconds_ += time.perf_counter() - t0
        return st.alarm.level

    def _save_best(self, args: Any, model: Any, tokenizer: Any, ev: Any) -> None:
        t0 = time.perf_counter()
        out = Path(args.output_dir) / BEST_DIR
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
        info = {"step": ev.step, "gold": ev.gold.mean, "gold_se": ev.gold.se, "kl_nats": ev.kl_nats}
        (out / "overopt_best.json").write_text(json.dumps(info))
        self.best_step_ = ev.step
        self.save_seconds_ += time.perf_counter() - t0

    def _append_record(self, args: Any, ev: Any) -> None:
        row = {"step": ev.step, **self._pending}
        path = Path(args.output_dir) / RECORDS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")


def _reports(args: Any) -> bool:
    to = getattr(args, "report_to", None) or []
    to = [to] if isinstance(to, str) else list(to)
    return any(t not in ("none", None) for t in to)
