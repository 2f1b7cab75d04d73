"""Best-of-n in shards of prompts: sample, score and reduce one block of prompts to per-prompt statistics.

``bon_shard_point`` is an independent sweep point (a Ray task on ``--backend ray``): it takes the
reference LM and every proxy RM as bytes (no shared filesystem), draws N samples for each of its
prompts, scores them with gold, the habit detectors and every proxy, builds every selection score
(``bon_study.bon_selectors``) and returns per-prompt statistics (``bon_study.PromptStats``) plus the
viewer's picks and the raw samples, as files. The driver writes the files and commits the shard as
soon as it finishes; the curves are means / a bootstrap over the prompts of all shards
(``read_shard_stats`` + ``bon_study.curve_from_stats``), equal to the unsharded computation.

Each prompt's samples come from its own seed (``bon_prompt_seed``: the study seed and the prompt's
index), so they do not depend on how prompts are grouped into shards or where a shard runs.

Memory bound. A shard process holds its shard's samples -- ``shard_prompts x N`` sequences of at
most ``max_new_tokens`` token ids, their texts, ``len(RATE_COLUMNS)`` rates and one score per proxy
and per selector -- plus the models; the driver holds one shard's files at a time while writing them
and, to aggregate, the per-prompt statistics of all prompts: O(P x |ns| x selectors x
len(RATE_COLUMNS)) floats. Neither grows with the total P x N. CPU one-liner (after ``overopt lab``)::

    python -c "from overopt.lab.bon_shard import read_shard_samples; print(read_shard_samples('RUN/artifacts/bon-shard-0000'))"
"""

from __future__ import annotations

import io
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from overopt.lab import world
from overopt.lab.points import Files, load_rm, set_threads

_SEED_STREAM = 3  # the best-of-n samples' stream (pairs use 1 and 2)


def bon_prompt_seed(seed: int, prompt_index: int) -> int:
    """The sampling seed of one best-of-n prompt: a function of the study seed and the prompt's index only."""
    state = np.random.SeedSequence([_SEED_STREAM, seed % 2**64, int(prompt_index)]).generate_state(2, np.uint32)
    return int(state[0]) << 32 | int(state[1])


@dataclass(frozen=True)
class ShardSpec:
    """What every shard shares: sampling, the n grid, the selectors to build and the viewer's prompts."""

    seed: int
    n_samples: int
    max_new_tokens: int
    ns: tuple[int, ...]
    proxies: tuple[dict[str, Any], ...]  # name, role, score_mean_ref, score_std_ref
    members: tuple[str, ...]  # ensemble member names
    uwo_lambda: float
    bai_split: bool
    viewer: tuple[int, ...]  # global prompt indices whose picks are stored for the report
    threads: int = 1


def load_policy_files(files: Files) -> Any:
    """An ``HFPolicy`` from its directory's files (``{name: bytes}``), via a temporary directory."""
    from overopt.models.hf import HFPolicy

    with tempfile.TemporaryDirectory(prefix="overopt-lm-") as tmp:
        for name, blob in files.items():
            (Path(tmp) / Path(name).name).write_bytes(blob)
        return HFPolicy.from_pretrained(tmp)


def sample_shard(policy: Any, prompts: list[world.PromptSpec], index: list[int], spec: ShardSpec) -> dict[str, Any]:
    """N samples of each prompt (its own seed), with gold, habit rates and reference log-probs."""
    from overopt.lab.bon_study import rate_matrix
    from overopt.lab.gold import features, gold_of

    responses: list[str] = []
    logprob, keys = [], []
    for i, p in zip(index, prompts, strict=True):
        s = policy.sample([p.text], spec.n_samples, max_new_tokens=spec.max_new_tokens,
                          seed=bon_prompt_seed(spec.seed, i))
        responses += s.responses
        logprob.append(s.logprobs)
        keys += [" ".join(map(str, r)) for r in s.response_ids]
    prompt_index = np.repeat(np.asarray(index, dtype=np.int64), spec.n_samples)  # (S,) global, grouped
    local = np.repeat(np.arange(len(prompts)), spec.n_samples)
    texts = [prompts[k].text for k in local]
    parsed = [features(prompts[k], r) for k, r in zip(local, responses, strict=True)]
    return {"prompt_index": prompt_index, "responses": responses, "logprob": np.concatenate(logprob),
            "seq_keys": keys, "gold": np.asarray([gold_of(p) for p in parsed], dtype=np.float64),
            "rates": rate_matrix(texts, responses, parsed), "texts": texts}


def bon_shard_point(models: dict[str, Any], prompts: list[world.PromptSpec], index: list[int],
                    spec: ShardSpec) -> tuple[dict[str, Any], Files]:
    """One shard of best-of-n prompts -> (record, files ``stats.npz``, ``viewer.json``, ``samples.npz``).

    ``models`` = ``{"policy": files, "proxies": {name: files}}`` (bytes); ``index`` the prompts' global
    indices (their seeds and ids). The record's ``path`` is filled in by the driver.
    """
    from overopt.lab.bon_study import bon_selectors, prompt_groups, prompt_stats, selected_samples

    set_threads(spec.threads)
    data = sample_shard(load_policy_files(models["policy"]), prompts, index, spec)
    names = [p["name"] for p in spec.proxies]
    scores = {n: np.asarray(load_rm(models["proxies"][n]).score(data["texts"], data["responses"]), dtype=np.float64)
              for n in names}
    ns = np.asarray(spec.ns, dtype=np.int64)
    selectors = bon_selectors(scores, data["gold"], list(spec.proxies), list(spec.members),
                              uwo_lambda=spec.uwo_lambda, bai_split=spec.bai_split)
    groups = prompt_groups(data["prompt_index"])
    chosen = [k for k, i in enumerate(index) if i in spec.viewer]
    arrays: dict[str, np.ndarray] = {}
    viewer: dict[str, list[dict[str, Any]]] = {}
    for j, sel in enumerate(selectors):
        arrays |= prompt_stats(sel.select, data, ns, sel.heldout).to_arrays(f"{j}/")
        viewer[sel.name] = selected_samples(sel.select, data["gold"], data["responses"], groups,
                                            [p.text for p in prompts], [p.kind for p in prompts], chosen, int(ns[-1]))
    arrays["selectors"] = np.asarray([s.name for s in selectors])
    files = {"stats.npz": _npz(arrays), "viewer.json": json.dumps(viewer).encode(),
             "samples.npz": _npz(_raw_arrays(data, scores))}
    record = {"prompts": list(index), "n_samples": int(data["gold"].size), "path": None,
              "selectors": [{"name": s.name, "kind": s.kind, "extra": s.extra} for s in selectors]}
    return record, files


def _raw_arrays(data: dict[str, Any], scores: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The shard's samples as plain arrays (no pickles): what ``read_shard_samples`` gives back."""
    names = list(scores)
    return {"prompt_index": data["prompt_index"], "responses": np.asarray(data["responses"], dtype=str),
            "seq_keys": np.asarray(data["seq_keys"], dtype=str), "logprob": data["logprob"], "gold": data["gold"],
            "rates": data["rates"], "proxy_names": np.asarray(names, dtype=str),
            "proxy_scores": np.stack([scores[n] for n in names], axis=1)}  # (S, n_proxies)


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, allow_pickle=False, **arrays)
    return buf.getvalue()


def read_shard_stats(path: str | Path) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """``({selector name: PromptStats}, {selector name: viewer rows})`` of one shard's directory."""
    from overopt.lab.bon_study import PromptStats

    path = Path(path)
    with np.load(path / "stats.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    stats = {str(name): PromptStats.from_arrays(arrays, f"{j}/") for j, name in enumerate(arrays["selectors"])}
    return stats, json.loads((path / "viewer.json").read_text())


def read_shard_samples(path: str | Path) -> dict[str, Any]:
    """One shard's raw samples: ``prompt_index, responses, seq_keys, logprob, gold, rates`` and ``scores``
    ``{proxy name: (S,)}`` -- a scores table for re-analysis (``overopt bon``) without resampling."""
    with np.load(Path(path) / "samples.npz", allow_pickle=False) as z:
        raw = {k: z[k] for k in z.files}
    names = raw.pop("proxy_names").tolist()
    mat = raw.pop("proxy_scores")
    raw["responses"], raw["seq_keys"] = raw["responses"].tolist(), raw["seq_keys"].tolist()
    return raw | {"scores": {n: mat[:, j] for j, n in enumerate(names)}}
