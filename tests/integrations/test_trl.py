"""OverOptCallback in real TRL runs (GRPO, RLOO, DPO) on a tiny random-init model saved to disk,
and the exactness of the KL it logs (brute force over every sequence of a 5-token vocabulary)."""

from __future__ import annotations

import itertools
import json
import math
import warnings

import pytest

torch = pytest.importorskip("torch")
trl = pytest.importorskip("trl")

from overopt import metrics as M  # noqa: E402
from overopt.cli import main as cli_main  # noqa: E402
from overopt.integrations.trl import BEST_DIR, RECORDS_FILE, OverOptCallback  # noqa: E402
from overopt.models.hf import HFPolicy  # noqa: E402
from overopt.study.evaluate import evaluate_policy  # noqa: E402

pytestmark = pytest.mark.slow
WORDS = ["<pad>", "<eos>", "<unk>", "tell", "me", "about", "cats", "dogs", "good", "bad", "very", "yes", "no"]
PROMPTS = ["tell me about cats", "tell me about dogs"]


def _save_tiny(path, words, seed):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    hf_tok = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>")
    cfg = GPT2Config(vocab_size=len(words), n_positions=64, n_embd=16, n_layer=1, n_head=2,
                     bos_token_id=1, eos_token_id=1, pad_token_id=0)
    torch.manual_seed(seed)
    GPT2LMHeadModel(cfg).save_pretrained(path)
    hf_tok.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    torch.set_num_threads(1)
    return _save_tiny(tmp_path_factory.mktemp("tiny"), WORDS, 0)


def proxy(prompts, completions, **_):
    return [float(c.split().count("very")) for c in completions]


def heldout(prompts, responses):
    return [float(r.split().count("good")) - 0.5 * r.split().count("very") for r in responses]


def _grpo(tiny, tmp_path, cb, steps=4, **kw):
    from datasets import Dataset

    args = trl.GRPOConfig(output_dir=str(tmp_path / "out"), per_device_train_batch_size=4, num_generations=4,
                          max_completion_length=6, max_steps=steps, logging_steps=1, report_to="none",
                          learning_rate=1e-2, save_strategy="no", use_cpu=True, disable_tqdm=True, seed=0, **kw)
    tr = trl.GRPOTrainer(model=tiny, reward_funcs=proxy, args=args,
                         train_dataset=Dataset.from_dict({"prompt": PROMPTS * 8}),
                         callbacks=None if cb is None else [cb])
    tr.train()
    return tr


def test_grpo_run_logs_overopt_metrics_saves_best_and_is_analyzable(tiny, tmp_path, capsys):
    cb = OverOptCallback(heldout_reward=heldout, eval_prompts=PROMPTS * 4, every=2, n_samples=2)
    tr = _grpo(tiny, tmp_path, cb, beta=0.1)
    rows = [r for r in tr.state.log_history if M.GOLD in r]
    assert [r["step"] for r in rows] == [0, 2, 4]
    assert abs(rows[0][M.KL]) < 1e-3 and rows[0][M.KL_K3] < 1e-6  # policy == reference at step 0
    assert all(r[M.KL_K3] >= 0 and r[M.ALARM] in (0, 1, 2, 3) for r in rows)
    assert {M.KL, M.SQRT_KL, M.KL_SE, M.GOLD, M.GOLD_SE, M.LEN_TOKENS, M.HEDGE_RATE} <= set(rows[1])
    best = json.loads((tmp_path / "out" / BEST_DIR / "overopt_best.json").read_text())
    assert best["step"] == cb.best_step_ == cb.monitor.recommended_step_
    assert (tmp_path / "out" / BEST_DIR / "config.json").exists()
    records = tmp_path / "out" / RECORDS_FILE
    assert [json.loads(x)["step"] for x in records.read_text().splitlines()] == [0, 2, 4]
    tr.save_state()  # trainer_state.json: the trainer's own log, overopt/* rows included
    for log in (records, tmp_path / "out"):
        capsys.readouterr()
        assert cli_main(["analyze", str(log), "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["kl_unit"] == "per_sequence" and out["columns"]["gold"] == M.GOLD
        assert out["overoptimized"] is False and out["n_steps"] >= 3


def test_the_callback_does_not_change_training(tiny, tmp_path):
    # it samples with its own generator and restores train mode: same seed, same losses, same lengths
    def trajectory(callbacks):
        tr = _grpo(tiny, tmp_path, callbacks, steps=3)
        return [(r["loss"], r["completions/mean_length"]) for r in tr.state.log_history if "loss" in r]

    cb = OverOptCallback(heldout_reward=heldout, eval_prompts=PROMPTS, every=1, detectors=False, save_best=False)
    assert trajectory(cb) == trajectory(None)


def test_stop_on_alarm_stops_a_grpo_run(tiny, tmp_path):
    calls = {"n": 0}

    def collapsing(prompts, responses):  # held-out quality falls from the third evaluation on
        calls["n"] += 1
        return [1.0 if calls["n"] <= 2 else -1.0] * len(responses)

    cb = OverOptCallback(heldout_reward=collapsing, eval_prompts=PROMPTS, every=1, detectors=False,
                         stop_on_alarm=True, save_best=False)
    tr = _grpo(tiny, tmp_path, cb, steps=10)
    assert cb.monitor.first_alarm_step_ == 3 and tr.state.global_step == 3
    assert "peaked" in cb.monitor.state_.alarm.reasons[0]


def test_rloo_and_dpo_runs(tiny, tmp_path):
    from datasets import Dataset

    cb = OverOptCallback(heldout_reward=heldout, eval_prompts=PROMPTS, every=2, reference=tiny, detectors=False,
                         save_best=False)
    args = trl.RLOOConfig(output_dir=str(tmp_path / "rloo"), per_device_train_batch_size=4, num_generations=2,
                          max_completion_length=6, max_steps=2, logging_steps=1, report_to="none", use_cpu=True,
                          disable_tqdm=True, save_strategy="no")
    tr = trl.RLOOTrainer(model=tiny, reward_funcs=proxy, args=args, train_dataset=Dataset.from_dict({"prompt": PROMPTS * 4}))
    cb.attach(tr)  # first in line, before any reporting callback
    tr.train()
    assert tr.callback_handler.callbacks[0] is cb
    assert [r.step for r in cb.monitor.records_] == [0, 2]
    assert [r["step"] for r in tr.state.log_history if M.KL in r] == [0, 2]

    from transformers import AutoTokenizer, GPT2Config, GPT2ForSequenceClassification

    rm_path = tmp_path / "heldout_rm"  # a held-out RM as a Hugging Face sequence-classification directory
    torch.manual_seed(3)
    GPT2ForSequenceClassification(GPT2Config(vocab_size=len(WORDS), n_positions=64, n_embd=16, n_layer=1, n_head=2,
                                             num_labels=1, pad_token_id=0)).save_pretrained(rm_path)
    AutoTokenizer.from_pretrained(tiny).save_pretrained(rm_path)
    cb = OverOptCallback(heldout_reward=str(rm_path), eval_prompts=PROMPTS, every=1, detectors=False,
                         save_best=False)
    data = Dataset.from_dict({"prompt": PROMPTS * 4, "chosen": [" good"] * 8, "rejected": [" very"] * 8})
    args = trl.DPOConfig(output_dir=str(tmp_path / "dpo"), per_device_train_batch_size=4, max_steps=2,
                         logging_steps=1, report_to="none", use_cpu=True, disable_tqdm=True, save_strategy="no",
                         learning_rate=1e-2)
    tr = trl.DPOTrainer(model=tiny, args=args, train_dataset=data, processing_class=AutoTokenizer.from_pretrained(tiny),
                        callbacks=[cb])
    tr.train()
    assert [r.step for r in cb.monitor.records_] == [0, 1, 2]
    last = [r for r in tr.state.log_history if M.KL in r][-1]
    assert last["step"] == 2 and last[M.KL_K3] > 0  # the policy moved away from the reference
    assert len({r.gold for r in cb.monitor.records_}) > 1  # the RM scored the changing samples


def _exact_kl(pol, ref, prompt_ids, eos, vocab, max_len):
    """KL(pi || ref) over every response of <= max_len tokens (ended by EOS or cut at max_len)."""
    def logp(model, seq):
        ids = torch.tensor([prompt_ids + list(seq)])
        with torch.no_grad():
            lp = torch.log_softmax(model(ids).logits[0].double(), -1)
        return sum(float(lp[len(prompt_ids) - 1 + i, t]) for i, t in enumerate(seq))

    total = 0.0
    for length in range(1, max_len + 1):
        for seq in itertools.product(range(vocab), repeat=length):
            if eos in seq[:-1] or (length < max_len and seq[-1] != eos):
                continue  # EOS only at the end; shorter sequences must end with it
            lp, lr = logp(pol, seq), logp(ref, seq)
            total += math.exp(lp) * (lp - lr)
    return total


def test_logged_kl_is_an_unbiased_estimate_of_the_exact_sequence_kl(tmp_path):
    # A random-init model samples <pad>/<unk>, which decoding drops: scoring the decoded text would
    # score other sequences than the sampled ones (k1 = -0.018 +- 0.003 here vs exact 0.009). The
    # evaluation the callback runs must score the sampled ids.
    words = ["<pad>", "<eos>", "<unk>", "a", "b"]
    pol = HFPolicy.from_pretrained(_save_tiny(tmp_path / "p", words, 1))
    ref = HFPolicy.from_pretrained(_save_tiny(tmp_path / "r", words, 2))
    exact = _exact_kl(pol.model, ref.model, pol._encode("a b"), 1, len(words), 3)

    def kl(p, r, n):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ev = evaluate_policy(p, r, ["a b"], n=n, max_new_tokens=3, detectors=False, eos_id=1)
        return ev, [str(w.message) for w in caught]

    ev, notes = kl(pol, ref, 800)
    assert not any("re-tokenize" in m or "differ from the sampler" in m for m in notes)
    assert abs(ev.kl_nats - exact) < 4 * ev.kl_se
    assert abs(ev.kl_k3 - exact) < 4 * ev.kl_k3_se
    same, _ = kl(pol, pol, 20)
    assert same.kl_nats == pytest.approx(0.0, abs=1e-9) and same.kl_k3 == pytest.approx(0.0, abs=1e-9)
