"""``overopt study CONFIG.yaml``: the RL / DPO study on any Hugging Face policy and reward models.

Example (every field but ``policy``, ``proxy`` and ``prompts`` has a default)::

    policy: ./my-sft-model            # local save_pretrained directory or a Hugging Face id (cached)
    proxy: ./my-rm                    # RM SPEC, or a list of SPECs for an ensemble
    ensemble: wco                     # mean | wco | uwo (with uwo_lambda), when proxy is a list
    gold: ./held-out-rm               # optional gold / held-out RM SPEC (path, HF id, lab:gold, module:function)
    prompts: prompts.jsonl            # .txt (one per line) or a table with a `prompt` column,
                                      # or {dataset: NAME, split: train, column: prompt}
    heldout_frac: 0.2
    rl: {kl_coefs: [0.0, 0.05], adaptive: [{target_kl_nats: 4.0, horizon: 10000}], run: {steps: 100, algo: grpo}}
    dpo: {betas: [0.1, 0.01], loss: sigmoid, pairs_per_prompt: 2, run: {steps: 100}}
    # run: {device: cuda} trains on a GPU (each Ray point then requests one); the default is cpu

A RM SPEC is what ``overopt.models.resolve.load_reward`` takes; an HF id is looked up in the local
Hugging Face cache only — nothing is downloaded, and an id that is not cached fails with the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from overopt.errors import ConfigError, InputError
from overopt.study.dpo import DPORunConfig
from overopt.study.rl import AdaptiveKL, RLRunConfig


class DatasetPrompts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str
    split: str = "train"
    column: str = "prompt"
    config: str | None = None


class RLSweep(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kl_coefs: tuple[float, ...] = (0.0, 0.05)
    adaptive: tuple[AdaptiveKL, ...] = ()
    run: RLRunConfig = RLRunConfig()


class DPOSweep(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    betas: tuple[float, ...] = ()
    loss: Literal["sigmoid", "ipo"] = "sigmoid"
    pairs_per_prompt: int = Field(2, ge=1)
    run: DPORunConfig = DPORunConfig()


class StudyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: str
    proxy: str | tuple[str, ...]
    ensemble: Literal["mean", "wco", "uwo"] = "mean"
    uwo_lambda: float = Field(0.5, ge=0)
    gold: str | None = None
    prompts: str | DatasetPrompts
    heldout_frac: float = Field(0.2, gt=0, lt=1)
    seed: int = 0
    threads: int = Field(2, ge=1)
    rl: RLSweep = RLSweep()
    dpo: DPOSweep = DPOSweep()

    @property
    def proxies(self) -> list[str]:
        return [self.proxy] if isinstance(self.proxy, str) else list(self.proxy)


def load_config(path: str | Path) -> StudyConfig:
    """Parse and validate a study YAML; relative paths in it are relative to the YAML's folder."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise InputError(f"no study config at {path}; pass a YAML file (see `overopt study --help`)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text; save the study YAML as UTF-8") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {' '.join(str(exc).split())}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must hold a mapping with at least policy, proxy and prompts")
    try:
        cfg = StudyConfig(**raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "config"
        raise ConfigError(f"bad study config value {where} in {path}: {err['msg']}") from exc
    return _relative_to(cfg, path.parent)


def _relative_to(cfg: StudyConfig, base: Path) -> StudyConfig:
    def fix(spec: str) -> str:
        candidate = base / spec
        return str(candidate) if not Path(spec).is_absolute() and candidate.exists() else spec

    upd: dict[str, Any] = {"policy": fix(cfg.policy),
                           "proxy": fix(cfg.proxy) if isinstance(cfg.proxy, str) else tuple(fix(p) for p in cfg.proxy)}
    if cfg.gold is not None:
        upd["gold"] = fix(cfg.gold)
    if isinstance(cfg.prompts, str):
        upd["prompts"] = fix(cfg.prompts)
    return cfg.model_copy(update=upd)


def resolve_model_dir(spec: str) -> Path:
    """A local directory for a model SPEC: the path itself, or the cached snapshot of a hub id (offline)."""
    path = Path(spec)
    if path.exists():
        if not path.is_dir():
            raise InputError(f"{spec} is a file; pass a model directory written by save_pretrained")
        return path
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(spec, local_files_only=True))
    except Exception as exc:  # noqa: BLE001 - any hub failure means "not available offline"
        raise InputError(
            f"{spec!r} is not a local directory and not in the local Hugging Face cache "
            f"({type(exc).__name__}); overopt never downloads models: run `huggingface-cli download {spec}` "
            "where the hub is reachable, or pass a local path"
        ) from None


def load_reward_spec(spec: str) -> Any:
    """A RewardModel for SPEC: local path, ``lab:gold`` / ``module:function``, or a cached hub id."""
    from overopt.models.resolve import load_reward

    if Path(spec).exists() or ":" in spec:
        return load_reward(spec)
    return load_reward(str(resolve_model_dir(spec)))


def load_prompts(src: str | DatasetPrompts) -> list[str]:
    """Prompts from a .txt file (one per line), a table with a ``prompt`` column, or a cached HF dataset."""
    if isinstance(src, DatasetPrompts):
        try:
            import datasets

            ds = datasets.load_dataset(src.dataset, src.config, split=src.split)
        except Exception as exc:  # noqa: BLE001
            raise InputError(f"cannot load dataset {src.dataset!r} offline ({type(exc).__name__}); download it "
                             "where the hub is reachable or pass a local prompts file") from None
        if src.column not in ds.column_names:
            raise InputError(f"dataset {src.dataset!r} has no column {src.column!r}; columns: {ds.column_names}")
        prompts = [str(x) for x in ds[src.column]]
    else:
        path = Path(src)
        if not path.is_file():
            raise InputError(f"no prompts file at {src}; pass a .txt, .jsonl, .csv or .parquet file")
        if path.suffix == ".txt":
            prompts = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        else:
            from overopt.io.tables import read_table, require_columns

            table = read_table(path)
            require_columns(table, ["prompt"], str(path))
            prompts = [str(x) for x in table["prompt"]]
    if len(prompts) < 2:
        raise InputError("the study needs at least 2 prompts (some are held out for evaluation)")
    return prompts


def split_prompts(prompts: list[str], heldout_frac: float, seed: int) -> tuple[list[str], list[str]]:
    """(train, held-out), a seeded split; both non-empty."""
    order = np.random.default_rng(seed).permutation(len(prompts))
    n_held = min(len(prompts) - 1, max(1, int(round(heldout_frac * len(prompts)))))
    return [prompts[i] for i in order[n_held:]], [prompts[i] for i in order[:n_held]]
