"""Open a finished (or partly finished) lab run directory: reference policy, prompts, proxies, gold.

    from overopt.lab.run import LabRun
    run = LabRun("runs/lab")
    policy = run.policy()                          # HFPolicy of the reference LM
    rm = run.proxy("s-250")                        # LabRewardModel (RewardModel)
    ens = run.ensemble(["s-250", "s-250-seed1", "s-250-seed2"], method="wco")
    prompts = run.prompts("heldout")               # list[str]
    reward_funcs = [reward_function(rm)]           # TRL GRPO / RLOO
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from overopt.errors import InputError
from overopt.lab import world
from overopt.lab.gold import GoldReward


class LabRun:
    def __init__(self, out_dir: str | Path) -> None:
        self.out = Path(out_dir)
        path = self.out / "summary.json"
        if not path.is_file():
            raise InputError(f"{self.out} has no summary.json; run `overopt lab --out {self.out}` first")
        self.summary: dict[str, Any] = json.loads(path.read_text())
        self._proxies = {p["name"]: p for p in self.summary["proxies"]}

    @property
    def reference_path(self) -> Path:
        from overopt.io.files import safe_join

        return safe_join(self.out, self.summary["reference"]["path"])

    def policy(self) -> Any:
        from overopt.models.hf import HFPolicy

        return HFPolicy.from_pretrained(self.reference_path)

    def prompts(self, split: str = "heldout") -> list[str]:
        cfg = self.summary["config"]["reference"]
        train, held = world.split_prompts(cfg["heldout_frac"], cfg["seed"])
        if split not in ("train", "heldout"):
            raise InputError(f"split must be 'train' or 'heldout', got {split!r}")
        return [p.text for p in (train if split == "train" else held)]

    def proxy_names(self) -> list[str]:
        return list(self._proxies)

    def proxy(self, name: str) -> Any:
        from overopt.models.lab_rm import LabRewardModel

        if name not in self._proxies:
            raise InputError(f"no proxy {name!r} in {self.out}; have {', '.join(self._proxies)}")
        from overopt.io.files import safe_join

        return LabRewardModel.from_pretrained(safe_join(self.out, self._proxies[name]["path"]))

    def ensemble(self, names: list[str], *, method: str = "mean", uwo_lambda: float = 0.5) -> Any:
        """Members z-scored with the reference statistics recorded at training time."""
        from overopt.models.ensemble import EnsembleReward

        stats = [(self._proxies[n]["score_mean_ref"], self._proxies[n]["score_std_ref"]) for n in names]
        return EnsembleReward([self.proxy(n) for n in names], method=method, uwo_lambda=uwo_lambda,
                              ref_stats=stats)

    @staticmethod
    def gold() -> GoldReward:
        return GoldReward()
