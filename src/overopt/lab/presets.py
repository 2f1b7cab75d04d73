"""Lab study configuration (pydantic) and the quick / default / full presets."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from overopt.errors import ConfigError
from overopt.lab.labelers import LabelerConfig
from overopt.lab.proxies import ProxySize, TrainConfig
from overopt.lab.reference import ReferenceConfig

PRESETS = ("tiny", "quick", "default", "full")


class EnsembleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    size: str = "s"  # member size name (one of LabConfig.sizes)
    n_pairs: int | None = None  # member data budget; None = the smallest budget
    n_members: int = Field(3, ge=2)
    uwo_lambda: float = Field(0.5, ge=0)


class BonConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    n_samples: int = Field(1024, description="N samples per held-out prompt")
    prompts_per_kind: int = Field(6, ge=1)
    max_new_tokens: int = Field(40, ge=1)
    n_boot: int = Field(200, ge=10)
    n_sample_prompts: int = Field(5, ge=0)  # prompts whose selected responses are stored for the viewer
    # prompts per best-of-n shard (one point / Ray task each): a process holds at most this many prompts' N
    # samples (overopt.lab.bon_shard, docs/scale.md); results do not depend on it
    shard_prompts: int = Field(4, ge=1)

    @field_validator("n_samples")
    @classmethod
    def _n_at_least_2(cls, v: int) -> int:
        if v < 2:
            raise ValueError(f"best-of-n needs N >= 2 samples per prompt, got {v}")
        return v


class LabConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    preset: str = "default"
    seed: int = 0
    threads: int = Field(1, ge=1)  # tiny models: a 2nd thread mostly spin-waits on a shared CPU
    reference: ReferenceConfig = ReferenceConfig()
    labelers: LabelerConfig = LabelerConfig()
    sizes: tuple[ProxySize, ...] = (
        ProxySize(name="s", dim=4, hidden=8),
        ProxySize(name="m", dim=16, hidden=32, n_buckets=1024),
        ProxySize(name="l", dim=48, hidden=96, n_buckets=4096),
    )
    n_pairs: tuple[int, ...] = (250, 1000, 4000)
    heldout_pairs: int = Field(1000, ge=10)
    train: TrainConfig = TrainConfig()
    ensemble: EnsembleConfig = EnsembleConfig()
    gao_control: bool = True  # one proxy on the same pairs with Gao-mode labels (no bias, labels from gold)
    bai_split: bool = True  # train-RM / test-RM from disjoint halves of the largest budget (Bai et al. 2022)
    bon: BonConfig = BonConfig()
    pair_max_new_tokens: int = Field(40, ge=1)

    @field_validator("n_pairs")
    @classmethod
    def _budgets(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or any(n < 10 for n in v) or list(v) != sorted(set(v)):
            raise ValueError("n_pairs must be increasing budgets of at least 10 pairs")
        return v


def preset_config(name: Literal["tiny", "quick", "default", "full"] | str, *, seed: int = 0, **overrides: object) -> LabConfig:
    """The named preset with ``seed`` (and optional top-level overrides); unknown names raise ConfigError."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    base: dict[str, object] = {"preset": name, "seed": seed}
    if name == "tiny":  # seconds, not minutes: tests (resume, fault injection, backends) and smoke checks
        base |= {
            "reference": ReferenceConfig(n_layer=1, n_embd=16, n_head=1, n_corpus=400, steps=40, batch_size=32,
                                         seed=seed),
            "sizes": (ProxySize(name="s", dim=4, hidden=8), ProxySize(name="m", dim=8, hidden=16)),
            "n_pairs": (40, 120), "heldout_pairs": 40, "train": TrainConfig(epochs=1, min_steps=20),
            "ensemble": EnsembleConfig(size="s", n_members=2), "gao_control": False,
            "bon": BonConfig(n_samples=16, prompts_per_kind=1, max_new_tokens=16, n_boot=20, n_sample_prompts=2,
                             shard_prompts=2),
            "pair_max_new_tokens": 16,
        }
    elif name == "quick":
        base |= {
            "reference": ReferenceConfig(steps=300, n_corpus=8000, seed=seed),
            "n_pairs": (250, 1000, 4000), "heldout_pairs": 600,
            "bon": BonConfig(n_samples=256, prompts_per_kind=3, n_boot=100, n_sample_prompts=3),
        }
    elif name == "default":
        base |= {"reference": ReferenceConfig(seed=seed)}
    else:
        base |= {
            "reference": ReferenceConfig(steps=1500, n_corpus=40000, n_embd=96, seed=seed),
            "n_pairs": (250, 1000, 4000, 16000), "heldout_pairs": 2000,
            "sizes": (ProxySize(name="xs", dim=2, hidden=4), ProxySize(name="s", dim=4, hidden=8),
                      ProxySize(name="m", dim=16, hidden=32, n_buckets=1024),
                      ProxySize(name="l", dim=48, hidden=96, n_buckets=4096),
                      ProxySize(name="xl", dim=96, hidden=192, n_buckets=8192)),
            "ensemble": EnsembleConfig(n_members=5),
            "bon": BonConfig(n_samples=4096, prompts_per_kind=10),
        }
    base |= overrides
    try:
        return LabConfig(**base)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"bad lab config value {where}: {err['msg']}") from exc
