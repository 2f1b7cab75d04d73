"""Exact, unbiased best-of-n curves from N scored samples per prompt.

Draw n of a prompt's N samples without replacement, keep the one with the highest selection score
(the proxy), and read its evaluation score (gold). Sorting the N samples by selection score ascending,
the expected value is (Nakano et al. 2021, App.; used by Gao et al. 2022)::

    E[g of BoN(n)] = sum_{i=n..N} C(i-1, n-1) / C(N, n) * g_(i)

C(12500, n) overflows float64, so the weights come from a product recurrence that underflows gracefully
(``bon_weights``). Ties in the selection score are broken uniformly at random: every tie pattern is
equivalent to first ordering each block of tied scores by a uniform random permutation, so a block at
sorted positions a..b contributes (sum_{i=a..b} w_i) * mean(g over the block) -- each tied value is
replaced by its block mean, not left in whatever order a sort produced.

Cost per prompt: one argsort (O(N log N)) plus O(K N) for K values of n; all prompts with the same N
run as one (P, N) array. ``bon_per_prompt`` (one shard of prompts at a time) and ``bon_aggregate``
(means and bootstrap over prompts) split ``bon_curve`` so a large study never holds all samples at once.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from overopt.core.kl import bon_kl_bound
from overopt.errors import InputError, warn_unreliable

_WEIGHT_BUDGET = 2**22  # float64 weights per chunk (32 MiB)


@dataclass(frozen=True)
class BonCurve:
    """Best-of-n curve averaged over prompts (each prompt weighs the same).

    ``proxy``/``gold`` are expected selection / evaluation scores of the BoN(n) pick; ``*_ci`` are
    bootstrap-over-prompts percentile intervals at ``ci_level``; ``kl_bound`` is log n - (n-1)/n nats
    (an upper bound on the BoN KL, estimator ``kl_estimator``).
    """

    n: np.ndarray
    proxy: np.ndarray
    gold: np.ndarray
    proxy_ci: np.ndarray
    gold_ci: np.ndarray
    kl_bound: np.ndarray
    n_prompts: int
    samples_per_prompt: int
    ci_level: float
    kl_estimator: str = "bound"


def _check_ns(ns: Sequence[int] | np.ndarray) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(ns))
    if arr.ndim != 1 or arr.size == 0:
        raise InputError("ns must be a non-empty list of integers n >= 1")
    if not np.issubdtype(arr.dtype, np.number) or np.any(arr != np.round(arr)) or np.any(arr < 1):
        raise InputError(f"every n must be an integer >= 1, got {arr.tolist()}")
    return arr.astype(np.int64)


def bon_weights(n_samples: int, ns: Sequence[int] | np.ndarray) -> np.ndarray:
    """(K, N) weights w[k, i] = C(i, n_k - 1) / C(N, n_k) for ascending sorted position i (0-based).

    Built from the top down: w_N = n/N and w_{i} = w_{i+1} * (i+1-n) / i (1-based), a product that never
    forms C(N, n) and underflows to exactly 0 where the true weight is below 1e-308. Rows sum to 1.
    """
    ns_arr = _check_ns(ns)
    big_n = int(n_samples)
    if big_n < 1 or np.any(ns_arr > big_n):
        raise InputError(f"need 1 <= n <= N = {big_n}, got n = {ns_arr.tolist()}")
    n_col = ns_arr[:, None].astype(float)  # (K, 1)
    m = np.arange(1, big_n, dtype=float)  # (N-1,) 1-based positions 1..N-1
    factors = np.clip((m + 1.0 - n_col) / m, 0.0, None)  # (K, N-1); 0 below position n
    w = np.empty((ns_arr.size, big_n))
    w[:, -1] = ns_arr / big_n
    if big_n > 1:
        # reverse cumulative product: w_i = (n/N) * prod_{m=i..N-1} factor_m
        w[:, :-1] = np.cumprod(factors[:, ::-1], axis=1)[:, ::-1] * w[:, -1:]
    return w


def _tie_block_means(sorted_select: np.ndarray, sorted_values: list[np.ndarray]) -> list[np.ndarray]:
    """Replace each value by the mean over its block of equal selection scores (rows independent).

    ``sorted_select`` (P, N) ascending per row; each of ``sorted_values`` (P, N) in the same order.
    Uniform tie-breaking makes every position of a tied block equally likely to hold each of its
    members (module docstring), so the block's weight multiplies the block mean.
    """
    tied = sorted_select[:, 1:] == sorted_select[:, :-1]  # (P, N-1)
    rows = np.flatnonzero(tied.any(axis=1))
    if rows.size == 0:
        return sorted_values
    p_t, big_n = rows.size, sorted_select.shape[1]
    starts = np.ones((p_t, big_n), dtype=bool)  # a new block starts at each untied position
    starts[:, 1:] = ~tied[rows]
    labels = np.cumsum(starts.ravel()) - 1  # (p_t * N,) block ids; row starts are always new blocks
    counts = np.bincount(labels)
    out = []
    for v in sorted_values:
        means = np.bincount(labels, weights=v[rows].ravel()) / counts
        v = v.copy()
        v[rows] = means[labels].reshape(p_t, big_n)
        out.append(v)
    return out


def _bon_matrix(
    select: np.ndarray, values: list[np.ndarray], ns: np.ndarray
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Per-prompt BoN expectations of the selection score and of each value array.

    ``select`` (P, N), each of ``values`` (P, N), ``ns`` (K,) -> ((P, K), [(P, K), ...]).
    """
    order = np.argsort(select, axis=1)  # (P, N) ascending selection score
    p, big_n = select.shape
    flat = (order + (np.arange(p) * big_n)[:, None]).ravel()  # one flat take is cheaper than take_along
    sorted_select = select.ravel()[flat].reshape(p, big_n)
    sorted_values = [v.ravel()[flat].reshape(p, big_n) for v in values]
    sorted_values = _tie_block_means(sorted_select, sorted_values)
    proxy = np.empty((p, ns.size))
    curves = [np.empty((p, ns.size)) for _ in values]
    step = max(1, _WEIGHT_BUDGET // big_n)  # bound the (K, N) weight matrix, e.g. for every n <= 12,500
    for lo in range(0, ns.size, step):
        wt = bon_weights(big_n, ns[lo:lo + step]).T  # (N, k)
        proxy[:, lo:lo + step] = sorted_select @ wt
        for v, out in zip(sorted_values, curves, strict=True):
            out[:, lo:lo + step] = v @ wt
    return proxy, curves


def bon_expectation(
    select: np.ndarray, values: np.ndarray, ns: Sequence[int] | np.ndarray
) -> np.ndarray:
    """Exact E[values of the BoN(n) pick] for one prompt's N samples, for each n in ``ns``.

    ``select`` (N,) selection scores; ``values`` (N,) or (N, m). Returns (K,) or (K, m). Ties in
    ``select`` are broken uniformly at random, in expectation.
    """
    s = np.asarray(select, dtype=float)
    v = np.asarray(values, dtype=float)
    if s.ndim != 1 or s.size == 0 or v.shape[:1] != s.shape or v.ndim > 2:
        raise InputError(f"select must be (N,) and values (N,) or (N, m); got {s.shape} and {v.shape}")
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(v))):
        raise InputError("scores contain NaN/inf; drop or fill those samples")
    ns_arr = _check_ns(ns)
    if np.any(ns_arr > s.size):
        raise InputError(f"n = {int(ns_arr.max())} exceeds the N = {s.size} samples; use n <= {s.size}")
    cols = [c[None, :] for c in v.reshape(s.size, -1).T]  # m arrays of shape (1, N)
    _, curves = _bon_matrix(s[None, :], cols, ns_arr)
    out = np.stack([c[0] for c in curves], axis=-1)  # (K, m)
    return out[:, 0] if v.ndim == 1 else out


def _group_prompts(prompt_ids: np.ndarray) -> tuple[np.ndarray | None, np.ndarray, list[Hashable]]:
    """Sample order that makes each prompt contiguous (None: already is), run lengths, prompt names."""
    ids = np.asarray(prompt_ids)
    if ids.dtype.kind == "f" and np.any(np.isnan(ids)):
        raise InputError("prompt ids contain missing values; give every sample a prompt id")
    change = np.ones(ids.size, dtype=bool)
    change[1:] = ids[1:] != ids[:-1]
    heads = np.flatnonzero(change)
    names = ids[heads].tolist()
    if len(set(names)) == len(names):  # already grouped (the usual layout): no sort needed
        return None, np.diff(np.append(heads, ids.size)), names
    codes: dict[Hashable, int] = {}
    inverse = np.fromiter((codes.setdefault(x, len(codes)) for x in ids.tolist()), np.int64, ids.size)
    order = np.argsort(inverse, kind="stable")
    return order, np.bincount(inverse), list(codes)


def _check_boot(ci: float, n_boot: int) -> None:
    if not 0 < ci < 1:
        raise InputError(f"ci must be in (0, 1), got {ci}")
    if n_boot < 1:
        raise InputError(f"n_boot must be >= 1, got {n_boot}")


def _bootstrap_ci(per_prompt: np.ndarray, ci: float, n_boot: int, seed: int) -> np.ndarray:
    """Percentile bootstrap over prompts of the mean curve: per_prompt (P, K) -> (K, 2)."""
    p = per_prompt.shape[0]
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, p, size=(n_boot, p))  # prompts resampled with replacement
    counts = np.bincount((draws + p * np.arange(n_boot)[:, None]).ravel(), minlength=n_boot * p)
    boot = counts.reshape(n_boot, p) @ per_prompt / p  # (B, K) resampled means
    alpha = (1.0 - ci) / 2.0
    return np.quantile(boot, [alpha, 1.0 - alpha], axis=0).T


@dataclass(frozen=True)
class BonPerPrompt:
    """Per-prompt best-of-n expectations: the part of a curve that can be computed one shard at a time.

    ``proxy`` / ``gold`` are (P, K): row p is E[selection] / E[evaluation] of the BoN(n_k) pick for
    prompt ``prompt_ids[p]`` (exact, ``bon_expectation``); ``samples_per_prompt`` (P,) is each prompt's N.
    Shards of prompts concatenate (``concat``) into exactly the rows one call over all prompts gives,
    so ``bon_aggregate`` of the concatenation equals ``bon_curve`` on all samples.
    """

    n: np.ndarray
    proxy: np.ndarray
    gold: np.ndarray
    samples_per_prompt: np.ndarray
    prompt_ids: list[Hashable]

    @staticmethod
    def concat(parts: Sequence[BonPerPrompt]) -> BonPerPrompt:
        """Rows of ``parts`` in order (shards of disjoint prompts); every part must share ``n``."""
        if not parts:
            raise InputError("no per-prompt best-of-n results to combine")
        if any(not np.array_equal(p.n, parts[0].n) for p in parts):
            raise InputError("per-prompt best-of-n results were computed for different n")
        ids = [i for p in parts for i in p.prompt_ids]
        if len(set(ids)) != len(ids):
            raise InputError("the same prompt id appears in two shards; shards must hold disjoint prompts")
        return BonPerPrompt(parts[0].n, np.concatenate([p.proxy for p in parts]),
                            np.concatenate([p.gold for p in parts]),
                            np.concatenate([p.samples_per_prompt for p in parts]), ids)


def _as_ids(prompt_ids: Sequence[Hashable] | np.ndarray) -> np.ndarray:
    ids = np.asarray(prompt_ids)
    if ids.ndim != 1 and not isinstance(prompt_ids, np.ndarray):  # e.g. tuples as ids: keep them whole
        ids = np.empty(len(prompt_ids), dtype=object)
        ids[:] = list(prompt_ids)
    return ids


def bon_per_prompt(
    select: np.ndarray,
    gold: np.ndarray,
    prompt_ids: Sequence[Hashable] | np.ndarray,
    ns: Sequence[int] | np.ndarray,
) -> BonPerPrompt:
    """Exact E[proxy] and E[gold] of the BoN(n) pick for every prompt (rows in order of first appearance).

    Same inputs and checks as ``bon_curve``; no averaging over prompts and no bootstrap, so it can run
    on one shard of prompts at a time (memory: that shard's samples plus (P, K) results).
    """
    s = np.asarray(select, dtype=float)
    g = np.asarray(gold, dtype=float)
    ids = _as_ids(prompt_ids)
    if s.ndim != 1 or s.shape != g.shape or ids.shape != s.shape or s.size == 0:
        raise InputError(f"select, gold and prompt_ids must be 1-D of one length; got {s.shape}, "
                         f"{g.shape}, {ids.shape}")
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(g))):
        raise InputError("scores contain NaN/inf; drop or fill those samples")
    ns_arr = _check_ns(ns)
    order, sizes, names = _group_prompts(ids)
    too_small = np.flatnonzero(sizes < ns_arr.max())
    if too_small.size:
        j = int(too_small[0])
        raise InputError(
            f"n = {int(ns_arr.max())} exceeds the {int(sizes[j])} samples of prompt {names[j]!r} "
            f"({too_small.size} prompt(s) too small); use n <= {int(sizes.min())} or add samples"
        )
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    proxy_pp = np.empty((sizes.size, ns_arr.size))  # (P, K) per-prompt curves
    gold_pp = np.empty((sizes.size, ns_arr.size))
    for big_n in np.unique(sizes):
        members = np.flatnonzero(sizes == big_n)  # prompts with this N, run as one (P_g, N) block
        if order is None and members.size == sizes.size:  # one N, grouped rows: a reshape, no copy
            sel, gld = s.reshape(-1, big_n), g.reshape(-1, big_n)
        else:
            idx = starts[members][:, None] + np.arange(big_n)  # (P_g, N) positions in grouped order
            idx = idx if order is None else order[idx]  # -> sample indices
            sel, gld = s[idx], g[idx]
        proxy_pp[members], (gold_pp[members],) = _bon_matrix(sel, [gld], ns_arr)
    return BonPerPrompt(ns_arr, proxy_pp, gold_pp, sizes.astype(np.int64), list(names))


def bon_aggregate(per_prompt: BonPerPrompt, *, ci: float = 0.95, n_boot: int = 1000, seed: int = 0) -> BonCurve:
    """The curve over prompts from per-prompt expectations: means, and percentile-bootstrap CIs over prompts.

    Each prompt weighs the same; the proxy and gold CIs use the same ``n_boot`` resamples (``seed``).
    """
    _check_boot(ci, n_boot)
    n_prompts, k = per_prompt.proxy.shape
    if n_prompts == 0:
        raise InputError("no prompts to average over")
    if n_prompts < 10:
        warn_unreliable(f"bootstrap CIs over only {n_prompts} prompt(s) understate the uncertainty")
    cis = _bootstrap_ci(np.hstack([per_prompt.proxy, per_prompt.gold]), ci, n_boot, seed)  # (2K, 2)
    return BonCurve(
        n=per_prompt.n,
        proxy=per_prompt.proxy.mean(axis=0),
        gold=per_prompt.gold.mean(axis=0),
        proxy_ci=cis[:k],
        gold_ci=cis[k:],
        kl_bound=np.asarray(bon_kl_bound(per_prompt.n), dtype=float),
        n_prompts=int(n_prompts),
        samples_per_prompt=int(per_prompt.samples_per_prompt.min()),
        ci_level=float(ci),
    )


def bon_curve(
    select: np.ndarray,
    gold: np.ndarray,
    prompt_ids: Sequence[Hashable] | np.ndarray,
    ns: Sequence[int] | np.ndarray,
    *,
    ci: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> BonCurve:
    """Best-of-n curve over many prompts: E[proxy] and E[gold] of the BoN(n) pick, averaged over prompts.

    ``select`` (S,) is the selection score (a proxy RM, or an ensemble score from
    ``overopt.core.ensemble``), ``gold`` (S,) the evaluation score carried along *the selection's*
    ranking, ``prompt_ids`` (S,) any hashable. Prompts may have different N; every n must be <= the N of
    every prompt. CIs: percentile bootstrap over prompts (``n_boot`` resamples, ``seed``).
    ``bon_aggregate(bon_per_prompt(...))``: samples too many for one process go through those two in
    shards of prompts (``BonPerPrompt.concat``) with the same result.
    """
    _check_boot(ci, n_boot)
    return bon_aggregate(bon_per_prompt(select, gold, prompt_ids, ns), ci=ci, n_boot=n_boot, seed=seed)
