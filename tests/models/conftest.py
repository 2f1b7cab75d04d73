"""Shared model fixtures: a tiny random GPT-2 on the lab vocabulary, saved with save_pretrained."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from overopt.lab import world
    from overopt.lab.reference import build_tokenizer

    torch.manual_seed(0)
    vocab = world.vocabulary()
    tok = build_tokenizer(vocab)
    cfg = transformers.GPT2Config(vocab_size=len(vocab), n_positions=128, n_embd=16, n_layer=1, n_head=2,
                                  eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    path = tmp_path_factory.mktemp("lm")
    transformers.GPT2LMHeadModel(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return path
