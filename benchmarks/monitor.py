"""Overhead of the OverOptCallback on a TRL GRPO run, measured against the same run without it.

Runs GRPO on a tiny random-init GPT-2 (saved to a temp dir, no hub) for ``--steps`` steps,
alternating runs without and with the callback at its default cadence (``every=50``) in this
process, and prints the mean step time of each and their ratio. Step time is measured from one
``on_step_begin`` to the next, so it includes everything callbacks do at step end, in process CPU
time (with one torch thread this is the work done, and unlike wall time it does not move when
other processes load the machine; wall time is printed too). The one-time setup (reference load +
step-0 evaluation in ``on_train_begin``) is reported separately.

    .venv/bin/python benchmarks/monitor.py            # ~2-3 minutes on a laptop CPU
    .venv/bin/python benchmarks/monitor.py --steps 100 --repeats 1
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

WORDS = ["<pad>", "<eos>", "<unk>"] + [f"w{i}" for i in range(61)]


def save_tiny(path: Path) -> str:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    hf_tok = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>")
    cfg = GPT2Config(vocab_size=len(WORDS), n_positions=128, n_embd=64, n_layer=2, n_head=2,
                     bos_token_id=1, eos_token_id=1, pad_token_id=0)
    torch.manual_seed(0)
    GPT2LMHeadModel(cfg).save_pretrained(path)
    hf_tok.save_pretrained(path)
    return str(path)


def proxy(prompts, completions, **_):
    return [float(c.count("w7")) for c in completions]


def heldout(prompts, responses):
    # correlated with the proxy, so it rises and the best checkpoint is saved often (its cost counts)
    return [float(r.count("w7")) + 0.5 * r.count("w3") for r in responses]


def run(model: str, out: Path, steps: int, callback, clock=time.process_time) -> tuple[float, float, float]:
    """Mean CPU seconds per step (steps 2..end), mean wall seconds per step, on_train_begin setup seconds."""
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    marks: list[tuple[float, float]] = []

    def mark(*a, **k):
        marks.append((clock(), time.perf_counter()))

    class Timer(TrainerCallback):
        on_train_begin = on_step_begin = on_train_end = mark

    prompts = [" ".join(f"w{(i * 7 + j) % 61}" for j in range(6)) for i in range(64)]
    args = GRPOConfig(output_dir=str(out), per_device_train_batch_size=8, num_generations=4,
                      max_completion_length=16, max_steps=steps, logging_steps=10, report_to="none",
                      learning_rate=1e-3, save_strategy="no", use_cpu=True, disable_tqdm=True, seed=0)
    cbs = [Timer()] + ([callback] if callback is not None else [])
    trainer = GRPOTrainer(model=model, reward_funcs=proxy, args=args, callbacks=cbs,
                          train_dataset=Dataset.from_dict({"prompt": prompts}))
    trainer.train()
    # marks: train_begin, step_begin x steps, train_end. Setup = first step_begin - train_begin minus
    # nothing else (the Timer runs first, so on_train_begin of the overopt callback falls in between).
    setup = marks[1][1] - marks[0][1]
    # from step 2 on: no warm-up; includes all step-end work of every callback
    cpu, wall = ((marks[-1][i] - marks[2][i]) / (steps - 1) for i in (0, 1))
    return cpu, wall, setup


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--eval-prompts", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from overopt.integrations.trl import OverOptCallback

    tmp = Path(tempfile.mkdtemp(prefix="overopt-bench-"))
    model = save_tiny(tmp / "model")
    eval_prompts = [" ".join(f"w{(i * 5 + j) % 61}" for j in range(6)) for i in range(a.eval_prompts)]
    base, withcb, walls, setups, evals, inrun = [], [], [], [], [], []
    for r in range(a.repeats):
        cb = OverOptCallback(heldout_reward=heldout, eval_prompts=eval_prompts)  # default cadence
        if r % 2:  # alternate the order: machine load drifts, and the run order must not decide the ratio
            t, wall, setup = run(model, tmp / f"cb{r}", a.steps, cb)
            b0, bwall, _ = run(model, tmp / f"base{r}", a.steps, None)
        else:
            b0, bwall, _ = run(model, tmp / f"base{r}", a.steps, None)
            t, wall, setup = run(model, tmp / f"cb{r}", a.steps, cb)
        base.append(b0)
        walls.append((bwall, wall))
        withcb.append(t)
        setups.append(setup)
        first = cb.evals_[0]  # the step-0 evaluation happens in on_train_begin (setup, not step time)
        later = cb.eval_seconds_ - cb.step0_seconds_
        evals.append(later / max(len(cb.evals_) - 1, 1))
        inrun.append(later / (wall * (a.steps - 1) - later))  # callback wall time / the rest of the loop's
        print(f"repeat {r}: CPU without {b0 * 1e3:.1f} ms/step, with {t * 1e3:.1f} ms/step (wall {bwall * 1e3:.1f}"
              f" / {wall * 1e3:.1f}); "
              f"{len(cb.evals_) - 1} evaluations after step {first.step}, {evals[-1]:.3f} s each "
              f"(of which checkpoint saves {cb.save_seconds_:.2f} s in total)")
    b, w = sum(base) / len(base), sum(withcb) / len(withcb)
    print(f"GRPO tiny model, {a.steps} steps, every={cb.every}, {a.eval_prompts} eval prompts x {cb.n_samples}")
    print(f"CPU step time without callback: {b * 1e3:.1f} ms; with: {w * 1e3:.1f} ms; "
          f"ratio {w / b:.3f} (overhead {100 * (w / b - 1):+.1f} %, goal <= 5 %)")
    print(f"in-run attribution (noise-robust): time inside the callback's step-end evaluations / rest of the "
          f"loop = {100 * sum(inrun) / len(inrun):.1f} %")
    print(f"one-time setup in on_train_begin (reference load + step-0 evaluation): {sum(setups) / len(setups):.2f} s")


if __name__ == "__main__":
    main()
