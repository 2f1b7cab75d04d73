"""The lab's independent sweep points as plain functions: what a backend (local or Ray) runs.

Each takes everything it needs by value and returns plain data (files as bytes), so it runs the
same in this process or on a Ray worker without a shared filesystem; each sets its own torch thread
count, so numbers do not depend on where it ran. Best-of-n shards are in ``overopt.lab.bon_shard``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from overopt.lab import world

Files = dict[str, bytes]


def set_threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)


def rm_files(path: str | Path) -> Files:
    """A saved lab RM directory as ``{file name: bytes}``."""
    return {p.name: p.read_bytes() for p in sorted(Path(path).iterdir()) if p.is_file()}


def load_rm(files: Files) -> Any:
    from overopt.models.lab_rm import LabRewardModel

    with tempfile.TemporaryDirectory(prefix="overopt-rm-") as tmp:
        for name, blob in files.items():
            (Path(tmp) / Path(name).name).write_bytes(blob)
        return LabRewardModel.from_pretrained(tmp)


def train_proxy_point(spec: dict[str, Any], size: Any, train: Any, pool: Any, heldout: Any,
                      threads: int) -> tuple[dict[str, Any], Files]:
    """Train, evaluate and serialize one proxy RM; the record's ``path`` is filled in by the driver."""
    from overopt.lab.proxies import gao_relabel, heldout_accuracy, rare_token_gain, train_proxy

    set_threads(threads)
    data = pool.take(np.arange(*spec["slice"]))
    if spec["role"] == "gao_control":  # same pairs, labels from gold alone (Gao et al. 2022)
        data = gao_relabel(data, seed=spec["seed"])
    rm = train_proxy(data, world.vocabulary(), size, train, seed=spec["seed"])
    acc = heldout_accuracy(rm, heldout)
    rare = rare_token_gain(rm, heldout, world.RARE)
    # BT scores are defined up to a shift (and differ in scale between seeds): keep the
    # reference distribution's mean / std so ensembles can compare members on one scale
    ref_scores = rm.score(heldout.prompts * 2, heldout.a + heldout.b)
    with tempfile.TemporaryDirectory(prefix="overopt-rm-") as tmp:
        files = rm_files(rm.save_pretrained(tmp))
    record = {"name": spec["name"], "role": spec["role"], "size": size.name, "dim": size.dim,
              "hidden": size.hidden, "n_buckets": size.n_buckets, "seed": spec["seed"],
              "n_params": rm.n_params, "n_pairs": len(data), "heldout_acc_labelers": acc.vs_labelers,
              "heldout_acc_gold": acc.vs_gold, "path": None,
              "score_mean_ref": float(np.mean(ref_scores)), "score_std_ref": float(np.std(ref_scores)),
              "rare_token_gain_std": rare, "rare_tokens_overweighted": sorted(t for t, g in rare.items() if g > 0)}
    return record, files

