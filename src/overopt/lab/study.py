"""The lab study: reference LM -> preference pairs -> proxy RMs -> best-of-n -> summary.json + report.html.

Every stage is one (or a few) points in the run store (``overopt.study.store.RunStore``), so a
study killed at any moment and rerun with the same ``out_dir`` continues after the last finished
point. CPU one-liner::

    python -c "from overopt.lab.study import run_study; from overopt.lab.presets import preset_config; \\
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
from overopt.lab import world
from overopt.lab.presets import LabConfig
from overopt.study.store import RunStore, atomic_write, safe_join

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

    def __init__(self, cfg: LabConfig, out_dir: str | Path, *, progress: Progress | None = None) -> None:
        self.cfg = cfg
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
        from overopt.lab.proxies import gao_relabel, heldout_accuracy, rare_token_gain, train_proxy

        sizes = {s.name: s for s in self.cfg.sizes}
        vocab = world.vocabulary()
        out = []
        for spec in self.proxy_specs():
            def build(spec: dict[str, Any] = spec) -> dict[str, Any]:
                size = sizes[spec["size"]]
                data = pool.take(np.arange(*spec["slice"]))
                if spec["role"] == "gao_control":  # same pairs, labels from gold alone (Gao et al. 2022)
                    data = gao_relabel(data, seed=spec["seed"])
                rm = train_proxy(data, vocab, size, self.cfg.train, seed=spec["seed"])
                acc = heldout_accuracy(rm, heldout)
                rare = rare_token_gain(rm, heldout, world.RARE)
                # BT scores are defined up to a shift (and differ in scale between seeds): keep the
                # reference distribution's mean / std so ensembles can compare members on one scale
                ref_scores = rm.score(heldout.prompts * 2, heldout.a + heldout.b)
                path = rm.save_pretrained(self.store.artifact_dir(f"proxy-{spec['name']}"))
                return {"name": spec["name"], "role": spec["role"], "size": size.name, "dim": size.dim,
                        "hidden": size.hidden, "n_buckets": size.n_buckets, "seed": spec["seed"],
                        "n_params": rm.n_params, "n_pairs": len(data), "heldout_acc_labelers": acc.vs_labelers,
                        "heldout_acc_gold": acc.vs_gold, "path": self._rel(path),
                        "score_mean_ref": float(np.mean(ref_scores)), "score_std_ref": float(np.std(ref_scores)),
                        "rare_token_gain_std": rare, "rare_tokens_overweighted": sorted(t for t, g in rare.items() if g > 0)}

            out.append(self._stage(f"proxy/{spec['name']}", build, f"train proxy {spec['name']}"))
        return out

    def bon_samples(self) -> dict[str, Any]:
        from overopt.lab.bon_study import rate_matrix
        from overopt.lab.gold import features, gold_of

        prompts = bon_prompts(self.cfg)

        def build() -> dict[str, Any]:
            s = self.policy().sample([p.text for p in prompts], self.cfg.bon.n_samples,
                                     max_new_tokens=self.cfg.bon.max_new_tokens, seed=self.cfg.seed * 1000 + 3)
            parsed = [features(prompts[i], r) for i, r in zip(s.prompt_index, s.responses, strict=False)]
            payload = {"prompts": [p.text for p in prompts], "prompt_kinds": [p.kind for p in prompts],
                       "prompt_index": s.prompt_index.tolist(), "responses": s.responses,
                       "logprob": s.logprobs.tolist(), "seq_keys": [" ".join(map(str, r)) for r in s.response_ids],
                       "gold": [gold_of(p) for p in parsed], "rates": rate_matrix(s.prompt_texts(), s.responses, parsed).tolist()}
            path = self.store.artifact_dir("bon-samples") / "samples.json"
            atomic_write(path, json.dumps(payload))
            return {"path": self._rel(path), "n_samples": len(s)}

        rec = self._stage("bon/samples", build, f"sample {self.cfg.bon.n_samples} per prompt")
        data = json.loads(safe_join(self.out, rec["path"]).read_text())
        for key in ("prompt_index", "logprob", "gold", "rates"):
            data[key] = np.asarray(data[key])
        return data

    def bon_curves(self, proxies: list[dict[str, Any]], data: dict[str, Any]) -> list[dict[str, Any]]:
        from overopt.core.ensemble import ensemble_scores
        from overopt.lab.bon_study import curve_record
        from overopt.models.lab_rm import LabRewardModel

        def build() -> dict[str, Any]:
            texts = [data["prompts"][i] for i in data["prompt_index"]]
            scores = {p["name"]: LabRewardModel.from_pretrained(safe_join(self.out, p["path"])).score(texts, data["responses"])
                      for p in proxies}
            n_max = self.cfg.bon.n_samples
            ns = np.unique(np.r_[2 ** np.arange(int(np.log2(n_max)) + 1), n_max])
            kw = {"ns": ns, "seed": self.cfg.seed, "n_boot": self.cfg.bon.n_boot,
                  "n_sample_prompts": self.cfg.bon.n_sample_prompts}
            curves = [curve_record(p["name"], "proxy", scores[p["name"]], data, **kw)
                      for p in proxies if p["role"] in ("grid", "ensemble_member", "gao_control")]
            members = [p["name"] for p in proxies if p["role"] == "ensemble_member"
                       or (p["name"] == f"{self.cfg.ensemble.size}-{self.cfg.ensemble.n_pairs or self.cfg.n_pairs[0]}")]
            by_name = {p["name"]: p for p in proxies}
            # z-score each member on reference samples (held-out pairs) before mean / WCO / UWO: raw BT
            # offsets differ by several std between seeds, and min / variance of raw scores would mostly
            # follow the member with the lowest offset
            member_mat = np.stack([(scores[m] - by_name[m]["score_mean_ref"]) / by_name[m]["score_std_ref"]
                                   for m in members], axis=1)  # (S, k)
            for method in ("mean", "wco", "uwo"):
                sel = ensemble_scores(member_mat, method, uwo_lambda=self.cfg.ensemble.uwo_lambda)
                rec = curve_record(f"ensemble-{method}", "ensemble", sel, data, **kw)
                rec["members"] = members
                rec["member_normalization"] = "z-score on reference samples (score_mean_ref, score_std_ref)"
                curves.append(rec)
            if self.cfg.bai_split:
                rec = curve_record("bai-train", "bai", scores["bai-train"], data, heldout=scores["bai-test"], **kw)
                rec["heldout_rm"] = "bai-test"
                curves.append(rec)
            curves.append(curve_record("gold-oracle", "oracle", data["gold"], data, **kw))
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
        data = self.bon_samples()
        curves = self.bon_curves(proxies, data)
        extra = {key: fn(self, proxies) for key, fn in (extra_stages or {}).items()}
        summary = self.summary(ref, proxies, curves, data, extra)
        summary["timings"]["total_this_run"] = time.perf_counter() - start
        atomic_write(self.out / "summary.json", json.dumps(summary, indent=1, allow_nan=False, default=float))
        self.store.close()
        return summary

    def summary(self, ref: dict[str, Any], proxies: list[dict[str, Any]], curves: list[dict[str, Any]],
                data: dict[str, Any], extra: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
        from overopt.cli._output import to_jsonable

        return to_jsonable({
            "schema_version": SCHEMA_VERSION, "preset": self.cfg.preset, "seed": self.cfg.seed,
            "config": self.cfg.model_dump(mode="json"), "reference": ref, "proxies": proxies,
            "bon": curves, "bon_info": {"n_prompts": len(data["prompts"]), "samples_per_prompt": self.cfg.bon.n_samples,
                                        "kl_units": "nats per sequence", "gold_relative_to": "reference (n = 1)"},
            "rl": [], "dpo": [], **(extra or {}), "timings": dict(self.timings),
        })


def run_study(cfg: LabConfig, out_dir: str | Path, *, progress: Progress | None = None,
              extra_stages: dict[str, ExtraStage] | None = None) -> dict[str, Any]:
    return LabStudy(cfg, out_dir, progress=progress).run(extra_stages)
