"""The lab study: reference LM -> preference pairs -> proxy RMs -> best-of-n -> summary.json + report.html.

Every stage is one (or a few) points in the run store (``overopt.study.store.RunStore``), so a
study killed at any moment and rerun with the same ``out_dir`` continues after the last finished
point. CPU one-liner::

    python -c "from overopt.study.lab import run_study; from overopt.lab.presets import preset_config; \\
               run_study(preset_config('quick'), '/tmp/lab')"
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from overopt._version import SCHEMA_VERSION
from overopt.io.files import atomic_write, safe_join
from overopt.lab import world
from overopt.lab.presets import LabConfig
from overopt.study.backend import LocalBackend, Point, run_points
from overopt.study.store import RunStore

Progress = Callable[[str, str], None]  # (stage, event) with event in {"start", "done", "resumed"}
ExtraStage = Callable[["LabStudy", list[dict[str, Any]]], list[dict[str, Any]]]


def _quiet(stage: str, event: str) -> None:
    return None


def bon_prompts(cfg: LabConfig) -> list[world.PromptSpec]:
    """A fixed, kind-stratified subset of the held-out prompts."""
    _, held = world.split_prompts(cfg.reference.heldout_frac, cfg.reference.seed)
    out = []
    for kind in world.KINDS:
        out += [p for p in held if p.kind == kind][: cfg.bon.prompts_per_kind]
    return out


class LabStudy:
    """One lab study in ``out_dir``; call ``run()``. Stages are methods, each resumable."""

    def __init__(self, cfg: LabConfig, out_dir: str | Path, *, progress: Progress | None = None,
                 backend: Any = None) -> None:
        self.cfg = cfg
        self.backend = backend or LocalBackend()  # results do not depend on it (not part of the config)
        self.store = RunStore(out_dir, config=cfg.model_dump(mode="json"))
        self.out = self.store.out_dir
        self.progress = progress or _quiet
        self.timings: dict[str, float] = {}
        self._policy: Any = None

    # ---- helpers ------------------------------------------------------------------------------
    def _stage(self, key: str, fn: Callable[[], dict[str, Any]], label: str | None = None) -> dict[str, Any]:
        label = label or key
        self.progress(label, "start")
        rec, ran = self.store.compute(key, fn, seed=self.cfg.seed)
        self.timings[key] = float(self.store.seconds(key) or 0.0)
        self.progress(label, "done" if ran else "resumed")
        return rec

    def _rel(self, path: Path) -> str:
        return str(Path(path).relative_to(self.out))

    def policy(self) -> Any:
        if self._policy is None:
            from overopt.models.hf import HFPolicy

            self._policy = HFPolicy.from_pretrained(safe_join(self.out, self.store.get("reference")["path"]))
        return self._policy

    # ---- stages -------------------------------------------------------------------------------
    def reference(self) -> dict[str, Any]:
        from overopt.lab.reference import reference_facts, reference_path

        def build() -> dict[str, Any]:
            src = reference_path(self.cfg.reference)
            dst = self.store.artifact_dir("reference")
            shutil.copytree(src, dst, dirs_exist_ok=True)  # the run directory is self-contained
            facts = reference_facts(dst)
            return {"path": self._rel(dst), **{k: v for k, v in facts.items() if k != "train_seconds"}}

        return self._stage("reference", build, "pretrain reference LM")

    def pairs(self, split: str) -> Any:
        from overopt.lab.pairs import sample_pairs
        from overopt.lab.proxies import PairData

        train, held = world.split_prompts(self.cfg.reference.heldout_frac, self.cfg.reference.seed)
        prompts, n, seed = (train, self.cfg.n_pairs[-1], 1) if split == "train" else (held, self.cfg.heldout_pairs, 2)

        def build() -> dict[str, Any]:
            d = sample_pairs(self.policy(), prompts, n, self.cfg.labelers,
                             max_new_tokens=self.cfg.pair_max_new_tokens, seed=self.cfg.seed * 1000 + seed)
            path = self.store.artifact_dir(f"pairs-{split}") / "pairs.json"
            atomic_write(path, json.dumps({"prompts": d.prompts, "a": d.a, "b": d.b, "label": d.label.tolist(),
                                           "gold_a": d.gold_a.tolist(), "gold_b": d.gold_b.tolist()}))
            return {"path": self._rel(path), "n_pairs": len(d), "label_a_rate": float(d.label.mean())}

        rec = self._stage(f"pairs/{split}", build, f"label {split} pairs")
        raw = json.loads(safe_join(self.out, rec["path"]).read_text())
        return PairData(raw["prompts"], raw["a"], raw["b"], np.asarray(raw["label"], dtype=np.int8),
                        np.asarray(raw["gold_a"]), np.asarray(raw["gold_b"]))

    def proxy_specs(self) -> list[dict[str, Any]]:
        """(name, size, n_pairs, seed, role, data slice) of every RM the study trains."""
        cfg = self.cfg
        specs = [{"name": f"{s.name}-{n}", "size": s.name, "n_pairs": n, "seed": cfg.seed, "role": "grid",
                  "slice": [0, n]} for s in cfg.sizes for n in cfg.n_pairs]
        e = cfg.ensemble
        e_pairs = e.n_pairs or cfg.n_pairs[0]
        for k in range(e.n_members):
            name = f"{e.size}-{e_pairs}" if k == 0 else f"{e.size}-{e_pairs}-seed{k}"
            if k > 0 or not any(s["name"] == name for s in specs):
                specs.append({"name": name, "size": e.size, "n_pairs": e_pairs, "seed": cfg.seed + k,
                              "role": "ensemble_member", "slice": [0, e_pairs]})
        if cfg.gao_control and not cfg.labelers.gao_mode:
            size, n = cfg.sizes[min(1, len(cfg.sizes) - 1)].name, cfg.n_pairs[-1]
            specs.append({"name": f"gao-{size}-{n}", "size": size, "n_pairs": n, "seed": cfg.seed,
                          "role": "gao_control", "slice": [0, n]})
        if cfg.bai_split:
            half = cfg.n_pairs[-1] // 2
            big = cfg.sizes[-1].name
            specs.append({"name": "bai-train", "size": big, "n_pairs": half, "seed": cfg.seed, "role": "bai_train",
                          "slice": [0, half]})
            specs.append({"name": "bai-test", "size": big, "n_pairs": half, "seed": cfg.seed, "role": "bai_test",
                          "slice": [half, 2 * half]})
        return specs

    def proxies(self, pool: Any, heldout: Any) -> list[dict[str, Any]]:
        """One point per proxy RM (independent: a Ray task each on the ray backend)."""
        from overopt.lab.points import train_proxy_point

        sizes = {s.name: s for s in self.cfg.sizes}
        specs = self.proxy_specs()
        todo = [s for s in specs if not self.store.done(f"proxy/{s['name']}")]
        pool_ref, held_ref = (self.backend.put(pool), self.backend.put(heldout)) if todo else (None, None)
        points = [Point(f"proxy/{s['name']}", train_proxy_point,
                        (s, sizes[s["size"]], self.cfg.train, pool_ref, held_ref, self.cfg.threads),
                        num_cpus=self.cfg.threads, label=f"train proxy {s['name']}") for s in specs]

        def finish(point: Point, out: Any) -> dict[str, Any]:
            record, files = out
            path = self._write_files(point.key, files)
            return {**record, "path": self._rel(path)}

        return [self._points(points, finish)[p.key] for p in points]

    def _write_files(self, key: str, files: dict[str, bytes]) -> Path:
        """A point's files into its artifact directory, each renamed into place before the row is committed."""
        path = self.store.artifact_dir(key.replace("/", "-"))
        for name, blob in files.items():
            atomic_write(safe_join(path, name), blob)
        return path

    def _points(self, points: list[Point], finish: Any = None) -> dict[str, dict[str, Any]]:
        records = run_points(self.store, self.backend, points, finish=finish, progress=self.progress)
        for p in points:
            self.timings[p.key] = float(self.store.seconds(p.key) or 0.0)
        return records

    def bon_ns(self) -> np.ndarray:
        """The n grid of the best-of-n curves: powers of two up to N, and N."""
        n_max = self.cfg.bon.n_samples
        return np.unique(np.r_[2 ** np.arange(int(np.log2(n_max)) + 1), n_max])

    def bon_members(self, proxies: list[dict[str, Any]]) -> list[str]:
        e = self.cfg.ensemble
        return [p["name"] for p in proxies if p["role"] == "ensemble_member"
                or p["name"] == f"{e.size}-{e.n_pairs or self.cfg.n_pairs[0]}"]

    def bon_shards(self, proxies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Best-of-n in shards of ``cfg.bon.shard_prompts`` prompts: one point (a Ray task) per shard.

        Each shard samples, scores with gold and every proxy, and reduces to per-prompt statistics
        (``overopt.lab.bon_shard``); its files are written and its row committed as soon as it finishes,
        so a crash loses only shards in flight and no process holds more than one shard's samples.
        """
        from overopt.lab.bon_shard import ShardSpec, bon_shard_point
        from overopt.lab.bon_study import viewer_prompts
        from overopt.lab.points import rm_files

        cfg, prompts = self.cfg, bon_prompts(self.cfg)
        size = cfg.bon.shard_prompts
        blocks = [list(range(lo, min(lo + size, len(prompts)))) for lo in range(0, len(prompts), size)]
        keys = [f"bon/shard/{k:04d}" for k in range(len(blocks))]
        models = None
        if not all(self.store.done(k) for k in keys):  # the models travel once (Ray object store), as bytes
            models = self.backend.put({
                "policy": rm_files(safe_join(self.out, self.store.get("reference")["path"])),
                "proxies": {p["name"]: rm_files(safe_join(self.out, p["path"])) for p in proxies}})
        spec = ShardSpec(
            seed=cfg.seed, n_samples=cfg.bon.n_samples, max_new_tokens=cfg.bon.max_new_tokens,
            ns=tuple(int(n) for n in self.bon_ns()),
            proxies=tuple({k: p[k] for k in ("name", "role", "score_mean_ref", "score_std_ref")} for p in proxies),
            members=tuple(self.bon_members(proxies)), uwo_lambda=cfg.ensemble.uwo_lambda, bai_split=cfg.bai_split,
            viewer=tuple(viewer_prompts([p.kind for p in prompts], cfg.bon.n_sample_prompts)), threads=cfg.threads)
        points = [Point(key, bon_shard_point, (models, [prompts[i] for i in block], block, spec),
                        num_cpus=cfg.threads,
                        label=f"best-of-n shard {k + 1}/{len(blocks)} ({len(block)} prompts x {cfg.bon.n_samples})")
                  for k, (key, block) in enumerate(zip(keys, blocks, strict=True))]

        def finish(point: Point, out: Any) -> dict[str, Any]:
            record, files = out
            return {**record, "path": self._rel(self._write_files(point.key, files))}

        records = self._points(points, finish)
        return [records[k] for k in keys]

    def bon_curves(self, shards: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Every curve from the shards' per-prompt statistics: means and bootstrap CIs over all prompts."""
        from overopt.lab.bon_shard import read_shard_stats
        from overopt.lab.bon_study import PromptStats, curve_from_stats

        def build() -> dict[str, Any]:
            parts = [read_shard_stats(safe_join(self.out, r["path"])) for r in shards]
            kinds = np.asarray([p.kind for p in bon_prompts(self.cfg)])
            curves = []
            for sel in shards[0]["selectors"]:
                stats = PromptStats.concat([stats[sel["name"]] for stats, _ in parts])
                samples = [row for _, viewer in parts for row in viewer[sel["name"]]]
                curves.append(curve_from_stats(sel["name"], sel["kind"], stats, kinds[stats.curve.prompt_ids],
                                               seed=self.cfg.seed, n_boot=self.cfg.bon.n_boot, samples=samples,
                                               extra=sel["extra"]))
            return {"curves": curves}

        return self._stage("bon/curves", build, "best-of-n curves")["curves"]

    # ---- the whole study ----------------------------------------------------------------------
    def run(self, extra_stages: dict[str, ExtraStage] | None = None) -> dict[str, Any]:
        """All stages, then summary.json (the CLI renders report.html from it: the report layer sits below).

        ``extra_stages`` maps a summary key ("rl", "dpo") to ``fn(study, proxies) -> list[dict]``: the hook
        through which the study layer (RL / DPO with TRL) adds its resumable stages without the lab
        importing it. Missing keys stay empty lists.
        """
        import torch

        torch.set_num_threads(self.cfg.threads)
        start = time.perf_counter()
        ref = self.reference()
        pool = self.pairs("train")
        heldout = self.pairs("heldout")
        proxies = self.proxies(pool, heldout)
        curves = self.bon_curves(self.bon_shards(proxies))
        extra = {key: fn(self, proxies) for key, fn in (extra_stages or {}).items()}
        summary = self.summary(ref, proxies, curves, extra)
        summary["timings"]["total_this_run"] = time.perf_counter() - start
        atomic_write(self.out / "summary.json", json.dumps(summary, indent=1, allow_nan=False, default=float))
        self.store.close()
        return summary

    def summary(self, ref: dict[str, Any], proxies: list[dict[str, Any]], curves: list[dict[str, Any]],
                extra: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
        from overopt._version import package_versions
        from overopt.io.jsonable import to_jsonable

        return to_jsonable({
            "schema_version": SCHEMA_VERSION, "preset": self.cfg.preset, "seed": self.cfg.seed,
            "config": self.cfg.model_dump(mode="json"), "reference": ref, "proxies": proxies,
            "bon": curves, "bon_info": {"n_prompts": len(bon_prompts(self.cfg)), "samples_per_prompt": self.cfg.bon.n_samples,
                                        "kl_units": "nats per sequence", "gold_relative_to": "reference (n = 1)"},
            "rl": [], "dpo": [], **(extra or {}), "timings": dict(self.timings), "versions": package_versions(),
        })


def lab_stages() -> dict[str, ExtraStage]:
    """The RL and DPO stages of ``overopt lab``: TRL GRPO/RLOO and DPO runs against the lab's proxies."""
    from overopt.study.lab_rl import run_dpo_stage, run_rl_stage

    return {"rl": run_rl_stage, "dpo": run_dpo_stage}


def run_study(cfg: LabConfig, out_dir: str | Path, *, progress: Progress | None = None,
              extra_stages: dict[str, ExtraStage] | None = None) -> dict[str, Any]:
    """The whole lab study as ``overopt lab`` runs it: best-of-n, then (by default) RL and DPO."""
    return LabStudy(cfg, out_dir, progress=progress).run(lab_stages() if extra_stages is None else extra_stages)
