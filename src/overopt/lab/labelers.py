"""Labelers: the controlled-setting annotators whose preferences train the proxy RMs.

P(a preferred to b) = sigmoid((gold(a) - gold(b) + bias(a) - bias(b)) / temperature), then each
label is flipped with probability ``noise``. The biases are what the chapter blames for the gap
between labelers and downstream users (length, confident openers, agreeing with the user,
refusing). ``gao_mode`` reproduces Gao et al. (2022): no bias, deterministic labels from gold.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from overopt.lab.gold import Parsed


class LabelerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    gao_mode: bool = False
    temperature: float = Field(0.5, gt=0)
    noise: float = Field(0.05, ge=0, lt=0.5)
    bias_length_per_10_words: float = 0.6
    bias_confident_opener: float = 0.8
    bias_agreement: float = 0.8
    bias_refusal: float = 0.6


def bias(parsed: Parsed, cfg: LabelerConfig) -> float:
    """The labelers' extra liking of a response beyond its gold utility."""
    if cfg.gao_mode:
        return 0.0
    c = parsed.counts
    return float(
        cfg.bias_length_per_10_words * parsed.n_words / 10.0
        + cfg.bias_confident_opener * min(c.get("n_opener_confident", 0), 1)
        + cfg.bias_agreement * min(c.get("n_agreement", 0), 1)
        + cfg.bias_refusal * min(c.get("n_refusal", 0), 1)
    )


def label_pairs(
    gold_a: np.ndarray, gold_b: np.ndarray, bias_a: np.ndarray, bias_b: np.ndarray, cfg: LabelerConfig, seed: int
) -> np.ndarray:
    """1 where the labeler prefers a, 0 where b (ties in Gao mode broken by a fair coin)."""
    rng = np.random.default_rng(seed)
    diff = np.asarray(gold_a, float) - np.asarray(gold_b, float)
    if cfg.gao_mode:
        coin = rng.random(diff.shape) < 0.5
        return np.where(diff == 0, coin, diff > 0).astype(np.int8)
    z = (diff + np.asarray(bias_a, float) - np.asarray(bias_b, float)) / cfg.temperature
    p_a = 1.0 / (1.0 + np.exp(-z))
    label = rng.random(diff.shape) < p_a
    flip = rng.random(diff.shape) < cfg.noise
    return np.where(flip, ~label, label).astype(np.int8)
