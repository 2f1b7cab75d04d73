"""The lab's reward-model backend: small word-level neural RMs (pooled embeddings + MLP).

Architecture (one family, sized by ``dim``/``hidden``/``n_buckets``): the prompt's mean word
embedding, the response's summed and mean word embeddings, summed embeddings of hashed response
bigrams (order, repetition, fluency), and log length go through a one-hidden-layer MLP to a scalar.
Sizes differ in capacity only, so "bigger proxy" means what Gao et al. mean by it.

A saved RM is a directory: ``config.json`` (``"overopt_lab_rm": 1``), ``vocab.json``,
``model.safetensors``. ``LabRewardModel.from_pretrained(dir)`` loads it; ``models.resolve`` does so
for any path whose config has that key.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from overopt.errors import InputError, require

CONFIG_KEY = "overopt_lab_rm"


@dataclass(frozen=True)
class LabRMConfig:
    vocab_size: int
    dim: int = 16
    hidden: int = 32
    n_buckets: int = 0  # hashed response bigrams; 0 = bag of words only
    unk_id: int = 2


def build_net(cfg: LabRMConfig) -> Any:
    torch = require("torch", "lab")
    nn = torch.nn

    class LabRMNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.prompt = nn.EmbeddingBag(cfg.vocab_size, cfg.dim, mode="mean")
            self.words = nn.EmbeddingBag(cfg.vocab_size, cfg.dim, mode="sum")
            self.bigrams = nn.EmbeddingBag(cfg.n_buckets, cfg.dim, mode="sum") if cfg.n_buckets else None
            n_in = cfg.dim * (4 if cfg.n_buckets else 3) + 1
            self.mlp = nn.Sequential(nn.Linear(n_in, cfg.hidden), nn.GELU(), nn.Linear(cfg.hidden, 1))

        def forward(self, batch: dict[str, Any]) -> Any:
            n_words = batch["n_words"].clamp(min=1).unsqueeze(1)  # (B, 1)
            resp_sum = self.words(batch["resp"], batch["resp_off"])  # (B, dim)
            parts = [self.prompt(batch["prompt"], batch["prompt_off"]), resp_sum / 8.0, resp_sum / n_words]
            if self.bigrams is not None:
                parts.append(self.bigrams(batch["bi"], batch["bi_off"]) / 8.0)
            parts.append(torch.log1p(batch["n_words"]).unsqueeze(1))
            return self.mlp(torch.cat(parts, dim=1)).squeeze(1)  # (B,)

    return LabRMNet()


def _ids(text: str, vocab: dict[str, int], unk: int) -> list[int]:
    return [vocab.get(t, unk) for t in text.split()]


def _bigram_ids(ids: list[int], vocab_size: int, n_buckets: int) -> list[int]:
    # start/end markers make "how a response begins and ends" visible; Knuth multiplicative hash.
    seq = [vocab_size, *ids, vocab_size + 1]
    return [((a * (vocab_size + 2) + b) * 2654435761) % (2**32) % n_buckets for a, b in zip(seq, seq[1:], strict=False)]


Item = tuple[list[int], list[int], list[int]]  # (prompt ids, response ids, response bigram ids)


def tokenize(prompts: list[str], responses: list[str], vocab: dict[str, int], cfg: LabRMConfig) -> list[Item]:
    out = []
    for p, r in zip(prompts, responses, strict=False):
        ids = _ids(r, vocab, cfg.unk_id)
        bi = _bigram_ids(ids, cfg.vocab_size, cfg.n_buckets) if cfg.n_buckets else []
        out.append((_ids(p, vocab, cfg.unk_id) or [cfg.unk_id], ids, bi))
    return out


def collate(items: list[Item], cfg: LabRMConfig) -> dict[str, Any]:
    """Flat index tensors + offsets for the EmbeddingBags."""
    torch = require("torch", "lab")
    long = torch.long

    def flat(k: int) -> tuple[Any, Any]:
        lengths = [len(it[k]) for it in items]
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if items else np.zeros(0)
        values = [t for it in items for t in it[k]]
        return torch.tensor(values, dtype=long), torch.as_tensor(offsets, dtype=long)

    batch = {}
    batch["prompt"], batch["prompt_off"] = flat(0)
    batch["resp"], batch["resp_off"] = flat(1)
    batch["n_words"] = torch.tensor([float(len(it[1])) for it in items], dtype=torch.float32)
    if cfg.n_buckets:
        batch["bi"], batch["bi_off"] = flat(2)
    return batch


def encode(prompts: list[str], responses: list[str], vocab: dict[str, int], cfg: LabRMConfig) -> dict[str, Any]:
    return collate(tokenize(prompts, responses, vocab, cfg), cfg)


class LabRewardModel:
    """A trained lab RM behind the RewardModel interface."""

    def __init__(self, net: Any, vocab: list[str], cfg: LabRMConfig) -> None:
        self.net = net.eval()
        self.vocab = vocab
        self.cfg = cfg
        self._index = {t: i for i, t in enumerate(vocab)}

    @property
    def n_params(self) -> int:
        return int(sum(p.numel() for p in self.net.parameters()))

    def score(self, prompts: list[str], responses: list[str], *, batch_size: int = 4096) -> np.ndarray:
        torch = require("torch", "lab")
        out = []
        with torch.inference_mode():
            for s in range(0, len(prompts), batch_size):
                batch = encode(prompts[s:s + batch_size], responses[s:s + batch_size], self._index, self.cfg)
                out.append(self.net(batch).double().numpy())
        return np.concatenate(out) if out else np.zeros(0)

    def save_pretrained(self, path: str | Path) -> Path:
        from safetensors.torch import save_file

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "config.json").write_text(json.dumps({CONFIG_KEY: 1, **asdict(self.cfg)}, indent=1))
        (path / "vocab.json").write_text(json.dumps(self.vocab))
        save_file({k: v.contiguous() for k, v in self.net.state_dict().items()}, str(path / "model.safetensors"))
        return path

    @classmethod
    def from_pretrained(cls, path: str | Path) -> LabRewardModel:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        path = Path(path)
        if not is_lab_rm(path):
            raise InputError(f"{path} is not a saved lab RM (no config.json with {CONFIG_KEY!r})")
        try:  # a saved RM is data from anywhere: every field checked, weights from safetensors only
            raw = json.loads((path / "config.json").read_text())
            raw.pop(CONFIG_KEY)
            cfg = LabRMConfig(**raw)
            if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in asdict(cfg).values()):
                raise TypeError("config values must be non-negative integers")
            vocab = json.loads((path / "vocab.json").read_text())
            if not (isinstance(vocab, list) and len(vocab) == cfg.vocab_size and all(isinstance(t, str) for t in vocab)):
                raise TypeError(f"vocab.json must be a list of {cfg.vocab_size} strings")
            net = build_net(cfg)
            net.load_state_dict(load_file(str(path / "model.safetensors")))
        except FileNotFoundError as exc:
            missing = Path(exc.filename).name if exc.filename else "a file"
            raise InputError(f"{path} is not a complete lab RM: missing {missing}") from None
        except (TypeError, ValueError, RuntimeError, OSError, SafetensorError) as exc:
            raise InputError(f"{path} is not a valid lab RM: {' '.join(str(exc).split())[:200]}") from None
        return cls(net, vocab, cfg)


def is_lab_rm(path: str | Path) -> bool:
    cfg = Path(path) / "config.json"
    try:
        return cfg.is_file() and CONFIG_KEY in json.loads(cfg.read_text())
    except (OSError, ValueError):
        return False
