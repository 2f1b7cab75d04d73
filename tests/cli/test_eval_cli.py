"""``overopt eval``: a tiny local causal LM (word-level tokenizer built in code) runs a built-in suite;
rates come with intervals and --reference gives policy - reference per metric."""

from __future__ import annotations

import json

import pytest

VOCAB = ["[PAD]", "[UNK]", "[EOS]", "i", "cannot", "help", "with", "that", ".", "certainly", "!", "run",
         "kill", "sure", "hope", "this", "helps", "you're", "absolutely", "right", "user", ":", "assistant"]


def _tiny_lm(path, seed: int):
    torch = pytest.importorskip("torch")
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    torch.manual_seed(seed)
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(VOCAB)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", eos_token="[EOS]")
    cfg = GPT2Config(vocab_size=len(VOCAB), n_embd=16, n_layer=1, n_head=2, n_positions=256,
                     bos_token_id=2, eos_token_id=2)
    GPT2LMHeadModel(cfg).save_pretrained(path)
    fast.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def lms(tmp_path_factory):
    root = tmp_path_factory.mktemp("lms")
    return _tiny_lm(root / "policy", 0), _tiny_lm(root / "reference", 1)


def test_eval_with_reference_reports_rates_and_differences(cli, lms, tmp_path):
    policy, reference = lms
    out = tmp_path / "samples.jsonl"
    r = cli("eval", "over_refusal", "--model", policy, "--reference", reference, "--n-samples", "2",
            "--limit", "6", "--max-new-tokens", "6", "-o", out, "--json")
    assert r.code == 0, r.err
    body = r.json()
    assert (body["n_prompts"], body["n_samples"]) == (6, 2)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 2 * 6 * 2 and {row["model"] for row in rows} == {"policy", "reference"}
    for name, rates in (("policy", body["rates"]), ("reference", body["reference_rates"])):
        mine = [row for row in rows if row["model"] == name]
        refusals = sum(row["overopt"]["refusal"] == "refusal" for row in mine) / len(mine)
        assert rates["overopt/refusal_rate"] == pytest.approx(refusals)
    diff = body["difference"]["overopt/len"]
    assert diff == pytest.approx(body["rates"]["overopt/len"] - body["reference_rates"]["overopt/len"])
    lo, hi = body["difference_ci95"]["overopt/refusal_rate"]
    assert -1 <= lo <= body["difference"]["overopt/refusal_rate"] <= hi <= 1
    lo, hi = body["ci95"]["overopt/stock_phrase_rate"]
    assert 0 <= lo <= body["rates"]["overopt/stock_phrase_rate"] <= hi <= 1


def test_eval_verbosity_and_bad_input(cli, lms):
    policy, _ = lms
    r = cli("eval", "verbosity", "--model", policy, "--limit", "3", "--max-new-tokens", "4", "--json")
    assert r.code == 0, r.err
    assert r.json()["rates"]["overopt/len_over_ideal"] is not None
    r = cli("eval", "no_such_suite", "--model", policy, "--json")
    assert r.code == 2 and "no suite" in r.err
    r = cli("eval", "harmful", "--model", policy, "--n-samples", "0")
    assert r.code == 2
