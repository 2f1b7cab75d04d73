"""TRL/transformers callbacks of the study: evaluation every k steps, and the adaptive KL coefficient.

Imported only by the study runners (it imports transformers at module level).
"""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback

from overopt.models.base import Policy
from overopt.study.evaluate import PolicyEvaluation, evaluate_policy
from overopt.study.store import RunStore


class EvalCallback(TrainerCallback):
    """Run :func:`evaluate_policy` on the trainer's live model at step 0 and every ``every`` steps.

    Each evaluation is appended to ``self.evaluations`` and, with a ``store``, committed as one point
    ``{key}/eval/{step:06d}`` (so an interrupted sweep keeps what it measured). The same sampling
    seed is used at every step (common random numbers: differences between steps carry less noise).
    """

    def __init__(self, *, reference: Policy, tokenizer: Any, prompts: list[str], every: int,
                 store: RunStore | None = None, key: str = "run", seed: int = 0, **eval_kwargs: Any) -> None:
        if every < 1:
            raise ValueError("eval every must be >= 1 step")
        self.reference, self.tokenizer, self.prompts, self.every = reference, tokenizer, list(prompts), every
        self.store, self.key, self.seed, self.eval_kwargs = store, key, seed, eval_kwargs
        self.evaluations: list[PolicyEvaluation] = []
        self.seconds = 0.0

    def evaluate(self, model: Any, step: int) -> PolicyEvaluation:
        from overopt.models.hf import HFPolicy

        was_training = model.training
        try:
            ev = evaluate_policy(HFPolicy(model, self.tokenizer), self.reference, self.prompts, step=step,
                                 seed=self.seed, eos_id=self.tokenizer.eos_token_id, **self.eval_kwargs)
        finally:
            model.train(was_training)
        self.evaluations.append(ev)
        self.seconds += ev.seconds
        key = f"{self.key}/eval/{step:06d}"
        # a run restarted after a kill repeats its (seeded, deterministic) evaluations: keep the first commit
        if self.store is not None and not self.store.done(key):
            self.store.put(key, ev.to_record(), seed=self.seed, seconds=ev.seconds)
        return ev

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **_: Any) -> None:
        if model is not None and state.global_step == 0:
            self.evaluate(model, 0)

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, **_: Any) -> None:
        step = state.global_step
        if model is not None and (step % self.every == 0 or step == state.max_steps):
            self.evaluate(model, step)


class AdaptiveKLCallback(TrainerCallback):
    """Ziegler et al. (2019) adaptive KL coefficient for TRL's GRPO / RLOO trainers.

    TRL keeps the coefficient in ``trainer.beta`` and reads it afresh at every step (GRPO in the
    loss, RLOO when it subtracts the penalty from the reward), so updating that attribute is enough.
    The KL fed to the controller is the trainer's own logged token-mean KL times its logged mean
    completion length = its per-sequence KL in nats (exact: both are over the same tokens). Needs
    ``logging_steps=1`` so that every step is seen once, and ``beta > 0`` at start (TRL builds no
    reference model when beta is 0).
    """

    def __init__(self, controller: Any, n_per_step: int) -> None:
        self.controller, self.n_per_step = controller, n_per_step
        self.trainer: Any = None
        self.history: list[dict[str, float]] = []

    def bind(self, trainer: Any) -> AdaptiveKLCallback:
        if float(trainer.beta) <= 0:
            raise ValueError("the adaptive KL controller needs an initial coefficient > 0")
        self.trainer = trainer
        return self

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **_: Any) -> None:
        if self.trainer is None or not logs or "kl" not in logs or "completions/mean_length" not in logs:
            return
        kl_seq = float(logs["kl"]) * float(logs["completions/mean_length"])
        coef = self.controller.update(kl_seq, self.n_per_step)
        self.trainer.beta = coef
        self.history.append({"step": state.global_step, "kl_nats": kl_seq, "kl_coef": coef})
