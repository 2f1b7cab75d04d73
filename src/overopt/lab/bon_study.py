"""Best-of-n analysis of the lab: curves, KL three ways, Gao fits, habit rates and selected samples.

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
from typing import Any

import numpy as np

from overopt.core.bon import bon_curve, bon_expectation
from overopt.core.kl import bon_kl_beirami, bon_kl_exact
from overopt.core.laws import fit_law
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


def _per_prompt(prompt_index: np.ndarray) -> list[np.ndarray]:
    return [np.flatnonzero(prompt_index == k) for k in np.unique(prompt_index)]


def bon_rates(select: np.ndarray, rates: np.ndarray, groups: list[np.ndarray], prompt_kinds: np.ndarray,
              ns: np.ndarray) -> dict[str, list[float]]:
    """Expected habit rate of the BoN(n) pick along n, averaged over the prompts where the habit counts."""
    per = np.stack([bon_expectation(select[g], rates[g], ns) for g in groups])  # (P, K, m)
    out = {}
    for j, col in enumerate(RATE_COLUMNS):
        mask = _column_prompt_mask(col, prompt_kinds)
        out[col] = per[mask, :, j].mean(axis=0).tolist() if mask.any() else []
    return out


def bon_kls(select: np.ndarray, logprob: np.ndarray, seq_keys: list[str], groups: list[np.ndarray],
            ns: np.ndarray) -> dict[str, Any]:
    """Beirami and exact (finite-support) BoN KL along n, averaged over prompts; see module docstring."""
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
    return {"kl_beirami": np.mean(beirami, axis=0).tolist(), "kl_exact": np.mean(exact, axis=0).tolist(),
            "exact_mass_covered": float(np.mean(covered))}


def _fit(kl: np.ndarray, gold_rel: np.ndarray, seed: int) -> dict[str, Any]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_law(kl, gold_rel, form="bon", seed=seed).to_dict()
    fit["warnings"] = list(fit.get("warnings", [])) + [str(w.message) for w in caught]
    return fit


def selected_samples(select: np.ndarray, gold: np.ndarray, responses: list[str], groups: list[np.ndarray],
                     prompts: list[str], kinds: list[str], n_prompts: int, n_max: int) -> list[dict[str, Any]]:
    """One realized BoN pick per (prompt, n): the best of the first n samples (an i.i.d. draw of size n)."""
    out = []
    seen_kinds: set[str] = set()
    chosen = []
    for k in range(len(groups)):  # one prompt per kind first, so the viewer shows every kind
        if kinds[k] not in seen_kinds and len(chosen) < n_prompts:
            seen_kinds.add(kinds[k])
            chosen.append(k)
    for k in chosen:
        g = groups[k]
        for n in (n for n in SAMPLE_NS if n <= n_max):
            best = g[:n][int(np.argmax(select[g[:n]]))]
            out.append({"n": n, "prompt": prompts[k], "kind": kinds[k], "response": responses[best],
                        "proxy": float(select[best]), "gold": float(gold[best])})
    return out


def curve_record(name: str, kind: str, select: np.ndarray, data: dict[str, Any], *, ns: np.ndarray, seed: int,
                 n_boot: int, heldout: np.ndarray | None = None, n_sample_prompts: int = 0) -> dict[str, Any]:
    """Everything the summary keeps about one best-of-n curve (gold and proxy relative to n = 1)."""
    gold, prompt_index = data["gold"], data["prompt_index"]
    curve = bon_curve(select, gold, prompt_index, ns, n_boot=n_boot, seed=seed)
    groups = _per_prompt(prompt_index)
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
    }
    rec |= bon_kls(select, data["logprob"], data["seq_keys"], groups, ns)
    rec["fit"] = _fit(kl, rec["gold"], seed)
    rec["rates"] = bon_rates(select, data["rates"], groups, np.asarray(data["prompt_kinds"]), ns)
    if heldout is not None:
        held = bon_curve(select, heldout, prompt_index, ns, n_boot=n_boot, seed=seed)
        rec["heldout"] = (held.gold - held.gold[0]).tolist()
    rec["samples"] = selected_samples(select, gold, data["responses"], groups, data["prompts"],
                                      data["prompt_kinds"], n_sample_prompts, int(ns[-1]))
    return rec
