"""Proxy reward models: Bradley–Terry training on labeler preferences over reference samples.

Loss (Bradley & Terry 1952; Christiano et al. 2017; Gao et al. 2022 Sec. 2):
    L = -mean log sigmoid(r(x, y_w) - r(x, y_l))
over the labelers' (winner, loser) pairs. ``overopt.core.preference`` (owned by another helper)
provides the loss (``bradley_terry_loss``).

Nothing in training looks at gold: the proxy only ever sees labeler choices, so its errors are
the chapter's approximation (small ``dim``), estimation (few pairs) and labeler-bias errors.
A word the proxy saw rarely keeps most of its random initial embedding — the mechanism by which a
small-data proxy over-weights rare tokens (emergent, not planted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from overopt.models.lab_rm import LabRewardModel, LabRMConfig, build_net, collate, tokenize


class ProxySize(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    dim: int = Field(ge=1)
    hidden: int = Field(ge=1)
    n_buckets: int = Field(0, ge=0)


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: int = Field(2, ge=1)
    min_steps: int = Field(150, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(1e-2, gt=0)
    weight_decay: float = Field(1e-4, ge=0)


@dataclass(frozen=True)
class PairData:
    """Preference pairs: prompt text, the two responses, label 1 = ``a`` preferred; gold of each."""

    prompts: list[str]
    a: list[str]
    b: list[str]
    label: np.ndarray  # (P,) int8
    gold_a: np.ndarray
    gold_b: np.ndarray

    def __len__(self) -> int:
        return len(self.prompts)

    def take(self, idx: np.ndarray) -> PairData:
        return PairData([self.prompts[i] for i in idx], [self.a[i] for i in idx], [self.b[i] for i in idx],
                        self.label[idx], self.gold_a[idx], self.gold_b[idx])


def gao_relabel(data: PairData, *, seed: int) -> PairData:
    """The same pairs labelled as Gao et al. (2022) label them: deterministically by gold, no bias."""
    from overopt.lab.labelers import LabelerConfig, label_pairs

    zeros = np.zeros(len(data))
    label = label_pairs(data.gold_a, data.gold_b, zeros, zeros, LabelerConfig(gao_mode=True), seed=seed)
    return PairData(data.prompts, data.a, data.b, label, data.gold_a, data.gold_b)


def train_proxy(
    data: PairData, vocab: list[str], size: ProxySize, train: TrainConfig, *, seed: int
) -> LabRewardModel:
    """Fit one proxy RM by Bradley–Terry on ``data`` (winner/loser from ``label``)."""
    import torch

    from overopt.core.preference import bradley_terry_loss

    torch.manual_seed(seed)
    cfg = LabRMConfig(vocab_size=len(vocab), dim=size.dim, hidden=size.hidden, n_buckets=size.n_buckets,
                      unk_id=vocab.index("<unk>"))
    net = build_net(cfg)
    index = {t: i for i, t in enumerate(vocab)}
    win = tokenize(data.prompts, [a if lab else b for a, b, lab in zip(data.a, data.b, data.label, strict=False)], index, cfg)
    lose = tokenize(data.prompts, [b if lab else a for a, b, lab in zip(data.a, data.b, data.label, strict=False)], index, cfg)
    n = len(data)
    steps = max(train.min_steps, train.epochs * int(np.ceil(n / train.batch_size)))
    opt = torch.optim.AdamW(net.parameters(), lr=train.lr, weight_decay=train.weight_decay)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    pos = 0
    net.train()
    for _ in range(steps):
        if pos + train.batch_size > n:
            order, pos = rng.permutation(n), 0
        idx = order[pos:pos + train.batch_size]
        pos += train.batch_size
        batch = collate([win[i] for i in idx] + [lose[i] for i in idx], cfg)
        r = net(batch)  # (2B,)
        loss = bradley_terry_loss(r[: len(idx)], r[len(idx):])
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    return LabRewardModel(net, vocab, cfg)


@dataclass(frozen=True)
class HeldoutAccuracy:
    vs_labelers: float  # agreement with the labelers' (noisy, biased) choices
    vs_gold: float  # agreement with the gold ordering (pairs with a gold tie left out)


def heldout_accuracy(rm: Any, data: PairData) -> HeldoutAccuracy:
    ra = rm.score(data.prompts, data.a)
    rb = rm.score(data.prompts, data.b)
    pref_a = ra > rb
    vs_lab = float(np.mean(pref_a == (data.label == 1)))
    decided = data.gold_a != data.gold_b
    vs_gold = float(np.mean(pref_a[decided] == (data.gold_a > data.gold_b)[decided]))
    return HeldoutAccuracy(vs_lab, vs_gold)


def rare_token_gain(rm: Any, data: PairData, rare: tuple[str, ...], *, n: int = 200) -> dict[str, float]:
    """Proxy change from appending each rare token to held-out responses, in units of the proxy's std.

    Gold always falls (-0.7 per rare token); a positive gain means the proxy over-weights the token —
    what a small-data proxy does for words it saw rarely (their embeddings stay near random init).
    """
    prompts, responses = data.prompts[:n], data.a[:n]
    base = rm.score(prompts, responses)
    scale = float(np.std(base)) or 1.0
    out = {}
    for tok in rare:
        bumped = rm.score(prompts, [f"{r} {tok}".strip() for r in responses])
        out[tok] = float(np.mean(bumped - base) / scale)
    return out
