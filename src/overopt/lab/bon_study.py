"""Best-of-n analysis of the lab: curves, KL three ways, Gao fits, habit rates and selected samples.

Two steps, so samples can be processed in shards of prompts (``overopt.lab.bon_shard``): per prompt,
``prompt_stats`` reduces a selection score to exact BoN(n) expectations (``PromptStats``); over all
prompts, ``curve_from_stats`` averages them and bootstraps over prompts. ``curve_record`` runs both on
samples held in one place (the unsharded reference; the two agree to 1e-12).

KL of best-of-n, per prompt, averaged over prompts (nats per sequence):

- ``kl_bound``: log n - (n-1)/n (Stiennon et al. 2020), an upper bound, tight when no sample repeats;
- ``kl_beirami``: Beirami et al. (2024) estimator averaged over BoN draws, E[KL_hat(n, pi_ref(y_best))],
  computed exactly over the N samples with the unbiased BoN weights;
- ``kl_exact``: the exact KL of best-of-n *for the categorical reference made of the distinct sampled
  sequences* with their exact LM probabilities renormalized (``bon_kl_exact``). The LM's support is
  far larger than N samples, so this is the exact KL of a finite stand-in, not of the LM itself; it
  shows how far the bound is from exact when some responses carry much more probability than
  others. ``exact_mass_covered`` reports the un-normalized probability mass of those sequences.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from overopt.core.bon import BonPerPrompt, bon_aggregate, bon_expectation, bon_per_prompt
from overopt.core.ensemble import ensemble_scores
from overopt.core.kl import bon_kl_beirami, bon_kl_exact
from overopt.core.laws import fit_law
from overopt.errors import InputError
from overopt.lab import world
from overopt.lab.gold import Parsed

LAB_COLUMNS = ("n_words", "opener_confident", "opener_ai", "hedge", "apology", "closer", "filler",
               "refusal_benign", "agreement_false", "rare", "repeat", "disfluent")
# the same habits as the text detectors (overopt.text.detect) see them, without the lab's exact parse
DETECTOR_COLUMNS = ("det_stock_phrase", "det_hedge", "det_apology", "det_refusal_benign", "det_sycophancy_false",
                    "det_rep_2")
RATE_COLUMNS = LAB_COLUMNS + DETECTOR_COLUMNS
SAMPLE_NS = (1, 4, 16, 64, 256, 1024, 4096)


def _detector_row(response: str, prompt: str) -> list[float]:
    from overopt.text.detect import detect

    d = detect(response, prompt)
    return [bool(d["stock_phrases"]), bool(d["hedges"]), bool(d["apologies"]), d["refusal"] == "refusal",
            d["sycophancy"] == "sycophantic", float(d["rep_2"] or 0.0)]


def rate_matrix(prompts: list[str], responses: list[str], parsed: list[Parsed]) -> np.ndarray:
    """(S, len(RATE_COLUMNS)): words, 0/1 indicators of each habit (lab parse, then text detectors), rep_2."""
    rows = []
    for prompt, response, p in zip(prompts, responses, parsed, strict=True):
        c = p.counts
        rows.append([
            p.n_words, c.get("n_opener_confident", 0) > 0, c.get("n_opener_ai", 0) > 0, c.get("n_hedge", 0) > 0,
            c.get("n_apology", 0) > 0, c.get("n_closer", 0) > 0, c.get("n_filler", 0) > 0,
            c.get("n_refusal", 0) > 0, c.get("n_agreement", 0) > 0, c.get("n_rare", 0) > 0,
            c.get("repeat", 0) > 0, c.get("disfluent", 0) > 0, *_detector_row(response, prompt),
        ])
    return np.asarray(rows, dtype=float)


def _column_prompt_mask(col: str, prompt_kinds: np.ndarray) -> np.ndarray:
    # refusal is a failure only on benign prompts; agreement only on false premises
    if col in ("refusal_benign", "det_refusal_benign"):
        return np.isin(prompt_kinds, world.BENIGN_KINDS)
    if col in ("agreement_false", "det_sycophancy_false"):
        return prompt_kinds == "false"
    return np.ones(len(prompt_kinds), dtype=bool)


def prompt_groups(prompt_index: np.ndarray) -> list[np.ndarray]:
    """Sample indices of each prompt, prompts in order of first appearance (the row order of ``PromptStats``)."""
    keys, first = np.unique(prompt_index, return_index=True)
    return [np.flatnonzero(prompt_index == k) for k in keys[np.argsort(first)]]


@dataclass(frozen=True)
class PromptStats:
    """Per-prompt best-of-n statistics of one selection score over a block of prompts (rows = prompts).

    ``curve`` holds E[selection] / E[gold] of the BoN(n) pick, (P, K); ``kl_beirami`` / ``kl_exact``
    (P, K) nats per sequence (module docstring); ``exact_mass`` (P,) the probability mass of the
    distinct sampled sequences; ``rates`` (P, K, len(RATE_COLUMNS)) the expected habits of the pick;
    ``heldout`` (P, K) E[held-out RM] of the pick, or None. Everything a curve needs is a mean (or a
    bootstrap) over these rows, so shards of prompts compute them independently (``concat``).
    """

    curve: BonPerPrompt
    kl_beirami: np.ndarray
    kl_exact: np.ndarray
    exact_mass: np.ndarray
    rates: np.ndarray
    heldout: np.ndarray | None = None

    _ARRAYS = ("kl_beirami", "kl_exact", "exact_mass", "rates", "heldout")

    @staticmethod
    def concat(parts: list[PromptStats]) -> PromptStats:
        held = [p.heldout for p in parts]
        if any(h is None for h in held) and not all(h is None for h in held):
            raise InputError("some shards have held-out scores and some do not")
        return PromptStats(BonPerPrompt.concat([p.curve for p in parts]),
                           *(np.concatenate([getattr(p, k) for p in parts]) for k in PromptStats._ARRAYS[:-1]),
                           heldout=None if held[0] is None else np.concatenate(held))  # type: ignore[arg-type]

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        c = self.curve
        out = {f"{prefix}n": c.n, f"{prefix}proxy": c.proxy, f"{prefix}gold": c.gold,
               f"{prefix}samples_per_prompt": c.samples_per_prompt, f"{prefix}prompt_ids": np.asarray(c.prompt_ids)}
        return out | {f"{prefix}{k}": getattr(self, k) for k in self._ARRAYS if getattr(self, k) is not None}

    @staticmethod
    def from_arrays(arrays: Any, prefix: str) -> PromptStats:
        a = {k: arrays[f"{prefix}{k}"] for k in ("n", "proxy", "gold", "samples_per_prompt", "prompt_ids",
                                                 *PromptStats._ARRAYS) if f"{prefix}{k}" in arrays}
        curve = BonPerPrompt(a["n"], a["proxy"], a["gold"], a["samples_per_prompt"], a["prompt_ids"].tolist())
        return PromptStats(curve, a["kl_beirami"], a["kl_exact"], a["exact_mass"], a["rates"], a.get("heldout"))


def _kls_per_prompt(select: np.ndarray, logprob: np.ndarray, seq_keys: list[str], groups: list[np.ndarray],
                    ns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Beirami and exact (finite-support) BoN KL per prompt, (P, K) each, and the mass covered (P,)."""
    beirami, exact, covered = [], [], []
    for g in groups:
        p_seq = np.exp(logprob[g])
        vals = np.stack([bon_kl_beirami(int(n), np.clip(p_seq, 1e-300, 1.0)) for n in ns], axis=1)  # (N, K)
        beirami.append(np.diag(bon_expectation(select[g], vals, ns)))
        first: dict[str, int] = {}
        for i, key in zip(g, (seq_keys[i] for i in g), strict=False):
            first.setdefault(key, i)
        uniq = np.fromiter(first.values(), dtype=np.int64)
        probs = np.exp(logprob[uniq])
        covered.append(float(probs.sum()))
        exact.append(np.asarray(bon_kl_exact(probs / probs.sum(), select[uniq], ns)))
    return np.stack(beirami), np.stack(exact), np.asarray(covered)


def prompt_stats(select: np.ndarray, data: dict[str, Any], ns: np.ndarray,
                 heldout: np.ndarray | None = None) -> PromptStats:
    """``PromptStats`` of selection score ``select`` (S,) over the prompts of ``data``.

    ``data`` holds per-sample ``prompt_index`` (S,) grouped by prompt in ascending order, ``gold`` (S,),
    ``logprob`` (S,) nats under the reference, ``seq_keys`` (S,) token-id strings, ``rates`` (S, R).
    """
    prompt_index = np.asarray(data["prompt_index"])
    groups = prompt_groups(prompt_index)
    curve = bon_per_prompt(select, data["gold"], prompt_index, ns)
    beirami, exact, covered = _kls_per_prompt(select, data["logprob"], data["seq_keys"], groups, ns)
    rates = np.stack([bon_expectation(select[g], data["rates"][g], ns) for g in groups])  # (P, K, R)
    held = None if heldout is None else bon_per_prompt(select, heldout, prompt_index, ns).gold
    return PromptStats(curve, beirami, exact, covered, rates, held)


def bon_rates(rates: np.ndarray, prompt_kinds: np.ndarray) -> dict[str, list[float]]:
    """Expected habit rate of the BoN(n) pick along n (``rates`` (P, K, R) per prompt), averaged over the
    prompts where the habit counts."""
    out = {}
    for j, col in enumerate(RATE_COLUMNS):
        mask = _column_prompt_mask(col, prompt_kinds)
        out[col] = rates[mask, :, j].mean(axis=0).tolist() if mask.any() else []
    return out


def _fit(kl: np.ndarray, gold_rel: np.ndarray, seed: int) -> dict[str, Any]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_law(kl, gold_rel, form="bon", seed=seed).to_dict()
    fit["warnings"] = list(fit.get("warnings", [])) + [str(w.message) for w in caught]
    return fit


def viewer_prompts(kinds: list[str], n_prompts: int) -> list[int]:
    """Indices of the prompts whose picks the report's viewer shows: the first prompt of each kind, in order."""
    chosen: list[int] = []
    seen: set[str] = set()
    for k, kind in enumerate(kinds):
        if kind not in seen and len(chosen) < n_prompts:
            seen.add(kind)
            chosen.append(k)
    return chosen


def selected_samples(select: np.ndarray, gold: np.ndarray, responses: list[str], groups: list[np.ndarray],
                     prompts: list[str], kinds: list[str], chosen: list[int], n_max: int) -> list[dict[str, Any]]:
    """One realized BoN pick per (prompt, n) for the prompts ``chosen`` (indices into ``groups``): the best
    of the first n samples (an i.i.d. draw of size n)."""
    out = []
    for k in chosen:
        g = groups[k]
        for n in (n for n in SAMPLE_NS if n <= n_max):
            best = g[:n][int(np.argmax(select[g[:n]]))]
            out.append({"n": n, "prompt": prompts[k], "kind": kinds[k], "response": responses[best],
                        "proxy": float(select[best]), "gold": float(gold[best])})
    return out


class Selector(NamedTuple):
    """One best-of-n curve to draw: its name and kind, the selection score (S,), an optional held-out RM's
    scores (S,) carried along its ranking, and extra fields for its summary record."""

    name: str
    kind: str
    select: np.ndarray
    heldout: np.ndarray | None = None
    extra: dict[str, Any] = {}


def bon_selectors(scores: dict[str, np.ndarray], gold: np.ndarray, proxies: list[dict[str, Any]],
                  members: list[str], *, uwo_lambda: float, bai_split: bool) -> list[Selector]:
    """Every selection score of the lab's best-of-n: each proxy, the ensembles, train-RM/test-RM, gold.

    ``proxies`` are records with ``name, role, score_mean_ref, score_std_ref``; ``members`` the ensemble's
    proxy names. The ensembles (Coste et al. 2023) combine members z-scored on reference samples: raw
    BT offsets differ by several std between seeds, and min / variance of raw scores would mostly
    follow the member with the lowest offset.
    """
    out = [Selector(p["name"], "proxy", scores[p["name"]]) for p in proxies
           if p["role"] in ("grid", "ensemble_member", "gao_control")]
    by_name = {p["name"]: p for p in proxies}
    member_mat = np.stack([(scores[m] - by_name[m]["score_mean_ref"]) / by_name[m]["score_std_ref"]
                           for m in members], axis=1)  # (S, k)
    extra = {"members": list(members),
             "member_normalization": "z-score on reference samples (score_mean_ref, score_std_ref)"}
    for method in ("mean", "wco", "uwo"):
        out.append(Selector(f"ensemble-{method}", "ensemble",
                            ensemble_scores(member_mat, method, uwo_lambda=uwo_lambda), extra=extra))
    if bai_split:
        out.append(Selector("bai-train", "bai", scores["bai-train"], scores["bai-test"], {"heldout_rm": "bai-test"}))
    out.append(Selector("gold-oracle", "oracle", np.asarray(gold, dtype=float)))
    return out


def curve_from_stats(name: str, kind: str, stats: PromptStats, prompt_kinds: np.ndarray, *, seed: int,
                     n_boot: int, samples: list[dict[str, Any]], extra: dict[str, Any] | None = None
                     ) -> dict[str, Any]:
    """Everything the summary keeps about one best-of-n curve (gold and proxy relative to n = 1), from the
    per-prompt statistics of all prompts: means over prompts, CIs a bootstrap over prompts, a Gao fit."""
    curve = bon_aggregate(stats.curve, n_boot=n_boot, seed=seed)
    gold_ref, proxy_ref = float(curve.gold[0]), float(curve.proxy[0])
    kl = np.asarray(curve.kl_bound, dtype=float)
    rec: dict[str, Any] = {
        "name": name, "kind": kind, "n": curve.n.tolist(), "kl": kl.tolist(), "kl_bound": kl.tolist(),
        "proxy": (curve.proxy - proxy_ref).tolist(), "gold": (curve.gold - gold_ref).tolist(),
        "proxy_ref": proxy_ref, "gold_ref": gold_ref,
        "gold_ci": (np.asarray(curve.gold_ci) - gold_ref).tolist(),
        "proxy_ci": (np.asarray(curve.proxy_ci) - proxy_ref).tolist(),
        "kl_estimator_for_fit": "bound", "n_prompts": curve.n_prompts,
        "samples_per_prompt": curve.samples_per_prompt,
        "kl_beirami": stats.kl_beirami.mean(axis=0).tolist(), "kl_exact": stats.kl_exact.mean(axis=0).tolist(),
        "exact_mass_covered": float(np.mean(stats.exact_mass)),
    }
    rec["fit"] = _fit(kl, rec["gold"], seed)
    rec["rates"] = bon_rates(stats.rates, np.asarray(prompt_kinds))
    if stats.heldout is not None:
        held = stats.heldout.mean(axis=0)
        rec["heldout"] = (held - held[0]).tolist()
    rec["samples"] = samples
    return rec | (extra or {})


def curve_record(name: str, kind: str, select: np.ndarray, data: dict[str, Any], *, ns: np.ndarray, seed: int,
                 n_boot: int, heldout: np.ndarray | None = None, n_sample_prompts: int = 0) -> dict[str, Any]:
    """One curve from all samples in one call (``data`` as in ``prompt_stats`` plus per-prompt ``prompts``,
    ``prompt_kinds`` and per-sample ``responses``, prompts numbered 0..P-1): the unsharded reference."""
    groups = prompt_groups(np.asarray(data["prompt_index"]))
    stats = prompt_stats(select, data, ns, heldout)
    chosen = viewer_prompts(list(data["prompt_kinds"]), n_sample_prompts)
    samples = selected_samples(select, data["gold"], data["responses"], groups, data["prompts"],
                               data["prompt_kinds"], chosen, int(ns[-1]))
    return curve_from_stats(name, kind, stats, np.asarray(data["prompt_kinds"]), seed=seed, n_boot=n_boot,
                            samples=samples)
