"""The reference policy: a tiny GPT-2 pretrained on the lab corpus, cached on disk by config hash.

The model is saved with ``save_pretrained`` (tokenizer included) and always used through
``from_pretrained`` — the same path a real Hugging Face model takes. Cache directory:
``$OVEROPT_CACHE_DIR`` (default ``~/.cache/overopt``) / ``reference`` / <hash>. CPU one-liner::

    python -c "from overopt.lab.reference import *; print(reference_path(ReferenceConfig()))"
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from overopt.io.files import config_hash
from overopt.lab import grammar, world


class ReferenceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    n_layer: int = Field(2, ge=1)
    n_embd: int = Field(64, ge=8)
    n_head: int = Field(2, ge=1)
    n_corpus: int = Field(16000, ge=100)  # corpus responses
    steps: int = Field(500, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(3e-3, gt=0)
    heldout_frac: float = Field(0.25, gt=0, lt=1)
    seed: int = 0


# Bump when the architecture or the training code changes: the cache key must change with them.
MODEL_VERSION = 3


def cache_dir() -> Path:
    return Path(os.environ.get("OVEROPT_CACHE_DIR", Path.home() / ".cache" / "overopt"))


def build_tokenizer(vocab: list[str]) -> Any:
    """Word-level tokenizer built in code (whitespace split, punctuation stays on the word)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({t: i for i, t in enumerate(vocab)}, unk_token=world.UNK))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token=world.PAD, eos_token=world.EOS,
                                   unk_token=world.UNK, clean_up_tokenization_spaces=False)


def _corpus_tensors(pairs: list[tuple[str, str]], vocab: dict[str, int]) -> tuple[Any, Any]:
    torch = __import__("torch")
    rows, masks = [], []
    for prompt, response in pairs:
        p = [vocab.get(t, vocab[world.UNK]) for t in prompt.split()]
        r = [vocab.get(t, vocab[world.UNK]) for t in response.split()] + [vocab[world.EOS]]
        rows.append(p + r)
        masks.append([0] * len(p) + [1] * len(r))  # loss on response tokens (and EOS) only
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), vocab[world.PAD], dtype=torch.long)  # (N, T)
    mask = torch.zeros((len(rows), width), dtype=torch.bool)
    for i, (r, m) in enumerate(zip(rows, masks, strict=False)):
        ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(m)] = torch.tensor(m, dtype=torch.bool)
    return ids, mask


def pretrain(cfg: ReferenceConfig, out_dir: Path) -> dict[str, Any]:
    """Train the reference LM and save model + tokenizer to ``out_dir``; returns training facts."""
    import torch

    start = time.perf_counter()
    # One thread, whatever the caller set: float reductions are ordered differently with more threads,
    # and the cached model (keyed by config, not by thread count) must be the same from any process.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _pretrain(cfg, out_dir, start)
    finally:
        torch.set_num_threads(threads)


def _pretrain(cfg: ReferenceConfig, out_dir: Path, start: float) -> dict[str, Any]:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(cfg.seed)
    train_prompts, _ = world.split_prompts(cfg.heldout_frac, cfg.seed)
    vocab_list = world.vocabulary()
    vocab = {t: i for i, t in enumerate(vocab_list)}
    ids, mask = _corpus_tensors(grammar.corpus(train_prompts, cfg.n_corpus, cfg.seed), vocab)
    model = GPT2LMHeadModel(GPT2Config(
        vocab_size=len(vocab_list), n_positions=max(64, ids.shape[1] * 2), n_embd=cfg.n_embd,
        n_layer=cfg.n_layer, n_head=cfg.n_head, bos_token_id=vocab[world.EOS], eos_token_id=vocab[world.EOS],
        pad_token_id=vocab[world.PAD], activation_function="gelu", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
    ))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 50) * max(0.05, 1 - s / cfg.steps))
    gen = torch.Generator().manual_seed(cfg.seed)
    model.train()
    losses = []
    for _ in range(cfg.steps):
        idx = torch.randint(ids.shape[0], (cfg.batch_size,), generator=gen)
        width = int((ids[idx] != vocab[world.PAD]).sum(1).max())  # trim the batch to its longest row
        x, m = ids[idx, :width], mask[idx, :width]  # (B, T)
        logits = model(input_ids=x).logits  # (B, T, V); right padding, causal: pads never reach real tokens
        logp = torch.log_softmax(logits[:, :-1], dim=-1).gather(2, x[:, 1:, None])[..., 0]  # (B, T-1)
        loss = -(logp * m[:, 1:]).sum() / m[:, 1:].sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    model.eval()
    model.save_pretrained(out_dir)
    build_tokenizer(vocab_list).save_pretrained(out_dir)
    facts = {"n_params": int(sum(p.numel() for p in model.parameters())), "vocab_size": len(vocab_list),
             "final_loss_per_token": float(np.mean(losses[-20:])), "train_seconds": time.perf_counter() - start}
    (out_dir / "overopt_reference.json").write_text(json.dumps({"config": cfg.model_dump(), **facts}, indent=1))
    return facts


def reference_key(cfg: ReferenceConfig) -> str:
    import torch
    import transformers

    # the world definition is part of the key: a changed phrase inventory must retrain
    world_sig = config_hash({"vocab": world.vocabulary(), "rates": grammar.HabitRates().__dict__})
    return config_hash({"cfg": cfg.model_dump(), "world": world_sig, "version": MODEL_VERSION, "torch": torch.__version__,
                        "transformers": transformers.__version__})


def reference_path(cfg: ReferenceConfig) -> Path:
    """Directory of the pretrained reference LM for ``cfg``, training it on first use."""
    path = cache_dir() / "reference" / reference_key(cfg)
    if (path / "overopt_reference.json").is_file():
        return path
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    pretrain(cfg, tmp)
    try:
        os.replace(tmp, path)
    except OSError:  # another process finished first; its copy is as good as ours
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def reference_facts(path: Path) -> dict[str, Any]:
    return json.loads((Path(path) / "overopt_reference.json").read_text())
