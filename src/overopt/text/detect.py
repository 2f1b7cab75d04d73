"""The full built-in detector suite on one response, on many, and their aggregate rates.

``detect(response, prompt)`` returns the DESIGN.md ``overopt`` dict (``detect_batch`` / ``detect_many``
return the same for many responses, faster: one pre-scan per batch)::

    {"refusal": "compliance"|"refusal"|"partial",
     "sycophancy": "sycophantic"|"grounded"|None,        # None: the prompt makes no claim
     "stock_phrases": [span], "hedges": [span], "apologies": [span],   # span = {start, end, text, category}
     "n_words": int, "rep_2": float|None, "distinct_2": float|None,
     "compression_ratio": float|None,
     "rare_token_runs": [{start, end, text, kind: "rare"|"repeat", n_tokens}]}

plus ``"n_tokens"`` when a tokenizer is given. Per response, ``distinct_2`` is the distinct-2 of that
one response (unique bigrams / its bigrams = 1 - rep_2); over a set, :func:`aggregate_rates` uses the
set's bigrams as denominator (Li et al. 2016). Offsets index the original string.

CPU one-liner: ``python -c "from overopt.text.detect import detect; print(detect('Certainly! ...'))"``
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from overopt import metrics
from overopt.text.normalize import fold
from overopt.text.phrases import scan, scan_many
from overopt.text.rare import RareTable, rare_token_runs
from overopt.text.rates import Rate, mean, proportion
from overopt.text.refusal import classify_refusal
from overopt.text.repetition import compression_ratio, distinct_n, n_tokens, rep_n, words
from overopt.text.sycophancy import classify_sycophancy

PARTIAL_REFUSAL_RATE = metrics.PARTIAL_REFUSAL_RATE  # kept importable from here
COMPRESSION_RATIO = metrics.COMPRESSION_RATIO

KEYS = ("refusal", "sycophancy", "stock_phrases", "hedges", "apologies", "n_words", "rep_2",
        "distinct_2", "compression_ratio", "rare_token_runs")


def detect(
    response: str,
    prompt: str | None = None,
    *,
    rare_table: RareTable | None = None,
    tokenizer: Any = None,
    claim: bool | None = None,
) -> dict:
    """Run every built-in detector on one response (one lexicon scan, one tokenization).

    ``claim`` overrides whether the prompt makes a claim (see :func:`explain_sycophancy`).
    """
    if not isinstance(response, str):
        raise TypeError(f"response must be a string, got {type(response).__name__}")
    low = fold(response)
    return _detect(response, prompt, low, scan(response, folded=low), rare_table, tokenizer, claim)


BATCH = 256  # responses per pre-scan in detect_batch / detect_many (bounds the batch's working memory)


def detect_batch(pairs: Sequence[tuple[str, str | None]], *, rare_table: RareTable | None = None,
                 tokenizer: Any = None) -> list[dict]:
    """``[detect(response, prompt) for response, prompt in pairs]``, faster: the lexicon scan of the
    whole batch starts with one Aho-Corasick pre-scan (:func:`overopt.text.phrases.scan_many`)."""
    responses = [r for r, _ in pairs]
    for r in responses:
        if not isinstance(r, str):
            raise TypeError(f"response must be a string, got {type(r).__name__}")
    lows = [fold(r) for r in responses]
    hits = scan_many(responses, folded=lows)
    return [_detect(r, p, low, h, rare_table, tokenizer, None)
            for (r, p), low, h in zip(pairs, lows, hits, strict=True)]


def _detect(response: str, prompt: str | None, low: str, hits: dict[str, list[dict]], rare_table: RareTable | None,
            tokenizer: Any, claim: bool | None) -> dict:
    toks = words(low, folded=True)
    rep2 = rep_n(toks, 2)
    out = {
        "refusal": classify_refusal(response, folded=low, cues=hits["refusal"]),
        "sycophancy": classify_sycophancy(
            prompt, response, folded=low, cues=hits["sycophancy"], apologies=hits["apologies"], claim=claim
        ),
        "stock_phrases": hits["stock_phrases"],
        "hedges": hits["hedges"],
        "apologies": hits["apologies"],
        "n_words": len(toks),
        "rep_2": rep2,
        "distinct_2": None if rep2 is None else 1.0 - rep2,
        "compression_ratio": compression_ratio(response),
        "rare_token_runs": rare_token_runs(response, rare_table, tokens=toks, folded=low, rep_2=rep2),
    }
    if tokenizer is not None:
        out["n_tokens"] = n_tokens(response, tokenizer)
    return out


def detect_many(
    rows: Iterable[Mapping[str, Any] | str],
    *,
    rare_table: RareTable | None = None,
    tokenizer: Any = None,
    judge: Any = None,
) -> list[dict]:
    """``detect`` over rows (dicts with ``response`` and optional ``prompt``, or bare strings).

    With a ``judge`` (:class:`overopt.text.judge.Judge`), its refusal / sycophancy labels replace
    the built-in heuristics; everything else stays built in.
    """
    items = [{"response": r} if isinstance(r, str) else r for r in rows]
    pairs = [(r["response"], r.get("prompt")) for r in items]
    results = [res for i in range(0, len(pairs), BATCH)
               for res in detect_batch(pairs[i:i + BATCH], rare_table=rare_table, tokenizer=tokenizer)]
    if judge is not None and items:
        prompts = [r.get("prompt") for r in items]
        responses = [r["response"] for r in items]
        for res, ref, syc in zip(results, judge.refusal(prompts, responses), judge.sycophancy(prompts, responses), strict=False):
            res["refusal"], res["sycophancy"] = ref, syc
    return results


def aggregate(results: list[dict], responses: list[str] | None = None, level: float = 0.95) -> dict[str, Rate]:
    """Every aggregate as a :class:`~overopt.text.rates.Rate` (value, interval, n), keyed by metric name.

    Proportions get Wilson intervals; means a normal interval. ``sycophancy_rate`` is over the rows
    whose prompt makes a claim. ``distinct_2`` is over the set when ``responses`` are given.
    """
    refusal = [r["refusal"] for r in results]
    syc = [r["sycophancy"] for r in results if r["sycophancy"] is not None]
    out = {
        metrics.REFUSAL_RATE: proportion([x == "refusal" for x in refusal], level),
        PARTIAL_REFUSAL_RATE: proportion([x == "partial" for x in refusal], level),
        metrics.SYCOPHANCY_RATE: proportion([x == "sycophantic" for x in syc], level),
        metrics.STOCK_PHRASE_RATE: proportion([bool(r["stock_phrases"]) for r in results], level),
        metrics.HEDGE_RATE: proportion([bool(r["hedges"]) for r in results], level),
        metrics.APOLOGY_RATE: proportion([bool(r["apologies"]) for r in results], level),
        metrics.RARE_TOKEN_RATE: proportion([bool(r["rare_token_runs"]) for r in results], level),
        metrics.LEN: mean([r["n_words"] for r in results], level),
        metrics.REP_2: mean([r["rep_2"] for r in results], level),
        COMPRESSION_RATIO: mean([r["compression_ratio"] for r in results], level),
    }
    if results and all("n_tokens" in r for r in results):
        out[metrics.LEN_TOKENS] = mean([r["n_tokens"] for r in results], level)
    if responses is not None:
        d = distinct_n(responses, 2)
        out[metrics.DISTINCT_2] = Rate(d.value, None, d.n_total, "set")
    else:
        out[metrics.DISTINCT_2] = mean([r["distinct_2"] for r in results], level)
    return out


def aggregate_rates(results: list[dict], responses: list[str] | None = None) -> dict[str, float | None]:
    """Aggregate values only: ``{metric name: value}`` (see :func:`aggregate` for intervals)."""
    return {k: v.value for k, v in aggregate(results, responses).items()}
