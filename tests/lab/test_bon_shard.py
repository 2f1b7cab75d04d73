"""Best-of-n in shards: per-prompt statistics of shards aggregate to the unsharded curves (no models needed).

Synthetic samples (ties, repeated sequences, habit rates, a held-out RM) for 9 prompts of all kinds;
every selector the lab draws (proxies, ensembles, train-RM/test-RM, gold) is computed once over all
samples (``curve_record``, the single-call path) and once from shards of prompts through the files a
shard writes (``PromptStats.to_arrays`` -> npz -> ``from_arrays``, ``concat``, ``curve_from_stats``).
"""

from __future__ import annotations

import io
import itertools
import warnings

import numpy as np
import pytest

from overopt.lab import world
from overopt.lab.bon_shard import bon_prompt_seed
from overopt.lab.bon_study import (
    RATE_COLUMNS,
    PromptStats,
    bon_selectors,
    curve_from_stats,
    curve_record,
    prompt_groups,
    prompt_stats,
    selected_samples,
    viewer_prompts,
)

N, NS = 12, np.array([1, 2, 4, 8, 12])
PROXIES = [{"name": "a", "role": "grid", "score_mean_ref": 0.0, "score_std_ref": 1.0},
           {"name": "b", "role": "ensemble_member", "score_mean_ref": 0.3, "score_std_ref": 2.0},
           {"name": "bai-train", "role": "bai_train", "score_mean_ref": 0.0, "score_std_ref": 1.0},
           {"name": "bai-test", "role": "bai_test", "score_mean_ref": 0.0, "score_std_ref": 1.0}]


def _world(seed: int = 0):
    rng = np.random.default_rng(seed)
    kinds = [world.KINDS[k % len(world.KINDS)] for k in range(9)]
    p = len(kinds)
    s = p * N
    keys = [f"{k} {int(t)}" for k, t in zip(np.repeat(np.arange(p), N), rng.integers(0, 5, s), strict=True)]
    data = {"prompts": [f"prompt {k}" for k in range(p)], "prompt_kinds": kinds,
            "prompt_index": np.repeat(np.arange(p), N), "responses": [f"r{i}" for i in range(s)],
            "gold": rng.integers(-3, 3, s).astype(float),  # ties in gold-as-selector
            "logprob": -rng.uniform(0.5, 4.0, s), "seq_keys": keys,  # repeated sequences (exact KL support)
            "rates": rng.uniform(0, 1, (s, len(RATE_COLUMNS)))}
    scores = {n: rng.integers(0, 6, s).astype(float) for n in ("a", "b", "bai-train", "bai-test")}  # ties
    return data, scores


def _roundtrip(stats: PromptStats) -> PromptStats:
    buf = io.BytesIO()
    np.savez_compressed(buf, allow_pickle=False, **stats.to_arrays("3/"))
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as z:
        return PromptStats.from_arrays({k: z[k] for k in z.files}, "3/")


@pytest.mark.parametrize("cuts", [[0, 9], [0, 4, 8, 9], [0, 1, 2, 6, 9]])
def test_shards_give_the_unsharded_curves(cuts, assert_json_close):
    data, scores = _world()
    kinds = np.asarray(data["prompt_kinds"])
    chosen_global = viewer_prompts(data["prompt_kinds"], 3)
    sels = bon_selectors(scores, data["gold"], PROXIES, ["a", "b"], uwo_lambda=0.5, bai_split=True)
    assert [s.name for s in sels] == ["a", "b", "ensemble-mean", "ensemble-wco", "ensemble-uwo", "bai-train",
                                      "gold-oracle"]
    for sel in sels:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # 9 prompts: the few-prompts warning, both ways
            whole = curve_record(sel.name, sel.kind, sel.select, data, ns=NS, seed=5, n_boot=50,
                                 heldout=sel.heldout, n_sample_prompts=3) | sel.extra
            parts, samples = [], []
            for lo, hi in itertools.pairwise(cuts):
                rows = (data["prompt_index"] >= lo) & (data["prompt_index"] < hi)
                shard = {k: (np.asarray(v)[rows] if k not in ("prompts", "prompt_kinds") else v)
                         for k, v in data.items()}
                shard["seq_keys"] = shard["seq_keys"].tolist()
                held = None if sel.heldout is None else sel.heldout[rows]
                parts.append(_roundtrip(prompt_stats(sel.select[rows], shard, NS, held)))
                local = [k - lo for k in chosen_global if lo <= k < hi]
                samples += selected_samples(sel.select[rows], shard["gold"], list(shard["responses"]),
                                            prompt_groups(shard["prompt_index"]), data["prompts"][lo:hi],
                                            data["prompt_kinds"][lo:hi], local, int(NS[-1]))
            stats = PromptStats.concat(parts)
            got = curve_from_stats(sel.name, sel.kind, stats, kinds[stats.curve.prompt_ids], seed=5, n_boot=50,
                                   samples=samples, extra=sel.extra)
        assert_json_close(got, whole)
        assert ("heldout" in got) == (sel.name == "bai-train")
        assert {s["kind"] for s in got["samples"]} == {"trigger", "harmful", "factual"}


def test_ensembles_use_z_scored_members():
    data, scores = _world(1)
    sels = {s.name: s for s in bon_selectors(scores, data["gold"], PROXIES, ["a", "b"], uwo_lambda=0.5,
                                             bai_split=False)}
    z = np.stack([scores["a"], (scores["b"] - 0.3) / 2.0], axis=1)
    np.testing.assert_array_equal(sels["ensemble-wco"].select, z.min(axis=1))
    np.testing.assert_allclose(sels["ensemble-uwo"].select, z.mean(axis=1) - 0.5 * z.var(axis=1), atol=1e-12)
    assert "bai-train" not in sels
    np.testing.assert_array_equal(sels["gold-oracle"].select, data["gold"])


def test_prompt_seeds_depend_on_study_seed_and_prompt_only():
    seeds = [bon_prompt_seed(0, i) for i in range(200)]
    assert len(set(seeds)) == 200 and all(0 <= s < 2**64 for s in seeds)
    assert bon_prompt_seed(0, 7) == seeds[7] and bon_prompt_seed(1, 7) != seeds[7]
    assert bon_prompt_seed(-1, 7) != seeds[7]
