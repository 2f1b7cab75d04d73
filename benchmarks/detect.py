"""Throughput of the full built-in detector suite (MB/s of response text, one core), next to a naive
reference measured in the same run: a Python loop testing every lexicon phrase (one compiled regex
per phrase) on every response, plus the same length/repetition/compression metrics.

    python benchmarks/detect.py            # ~2 MB corpus from the labelled dev set
    python benchmarks/detect.py --mb 5
    python benchmarks/detect.py --workers 0   # also: wall-clock MB/s on every core vs one (detect_stream)

Times are CPU seconds of this process (``time.process_time``), so a busy machine does not skew them.

Pure Python, so it runs on one core. Goal: >= 20 MB/s for the suite.

The "floor" line times only the C-level work that every response needs whatever the detectors do:
``str.split`` (word count), a set of bigrams (rep-2) and one raw-DEFLATE pass at level 6 (the gzip
compression ratio). No implementation of the suite in Python can be faster than that floor, so it is
the reference the suite's speed is compared with (both measured in the same run, same corpus).
"""

from __future__ import annotations

import argparse
import json
import re
import time
import zlib
from pathlib import Path

from overopt.text.detect import BATCH, detect, detect_batch
from overopt.text.normalize import fold
from overopt.text.parallel import detect_stream, resolve_workers
from overopt.text.phrases import LEXICONS, builtin_scanner, load_lexicon, scan
from overopt.text.rare import rare_token_runs
from overopt.text.refusal import classify_refusal
from overopt.text.repetition import compression_ratio, rep_n, words
from overopt.text.sycophancy import classify_sycophancy
from overopt.text.trie import phrase_regex

DEVSET = Path(__file__).parents[1] / "tests" / "data" / "text_devset.jsonl"


def corpus(mb: float, join: int = 1) -> list[tuple[str, str]]:
    """Dev-set (prompt, response) pairs repeated to ``mb`` MB; ``join`` > 1 glues that many responses
    into one (long, verbose responses: the per-response overhead is then amortised)."""
    rows = [json.loads(line) for line in DEVSET.read_text(encoding="utf-8").splitlines()]
    pairs = [(r["prompt"], r["response"]) for r in rows]
    if join > 1:
        pairs = [(pairs[i][0], "\n\n".join(r for _, r in pairs[i:i + join])) for i in range(0, len(pairs), join)]
    out, size, i = [], 0, 0
    while size < mb * 1e6:
        p, r = pairs[i % len(pairs)]
        out.append((p, r))
        size += len(r.encode())
        i += 1
    return out


def naive_patterns() -> list[tuple[str, re.Pattern[str]]]:
    """One compiled regex per lexicon entry (every phrase of every lexicon), tried one by one."""
    pats = []
    for name in LEXICONS:
        for category, phrases in load_lexicon(name).items():
            for phrase in phrases:
                body = phrase_regex(fold(phrase.lstrip("^")))
                pats.append((f"{name}.{category}", re.compile(rf"(?<![\w']){body}(?!\w)")))
    return pats


def naive_suite(prompt: str, response: str, pats) -> dict:
    hits = {}
    low = fold(response)
    for tag, pat in pats:  # every pattern on every response
        found = [(m.start(), m.end()) for m in pat.finditer(low)]
        if found:
            hits[tag] = found
    toks = words(response)
    return {"hits": hits, "n_words": len(toks), "rep_2": rep_n(toks, 2),
            "compression_ratio": compression_ratio(response)}


_FLOOR_Z = {w: zlib.compressobj(6, zlib.DEFLATED, -w, 4) for w in range(9, 16)}


def floor_suite(prompt: str, response: str) -> tuple[int, int, int]:
    """The least work any implementation does per response: words, bigram set, one DEFLATE pass."""
    toks = response.lower().split()
    data = response.encode()
    comp = _FLOOR_Z[min(15, max(9, (len(data) - 1).bit_length()))].copy()
    return len(toks), len(set(zip(toks, toks[1:]))), len(comp.compress(data)) + len(comp.flush())  # noqa: B905


def timed(fn, items) -> float:
    t0 = time.process_time()  # CPU seconds of this (single-threaded) process: robust to a busy machine
    for item in items:
        fn(*item)
    return time.process_time() - t0


def timed_batches(data: list[tuple[str, str]]) -> float:
    """CPU seconds of the suite as ``detect_many`` / ``overopt detect`` run it: batches of BATCH."""
    t0 = time.process_time()
    for i in range(0, len(data), BATCH):
        detect_batch([(r, p) for p, r in data[i:i + BATCH]])
    return time.process_time() - t0


def wall_scaling(data: list[tuple[str, str]], mb: float, workers: int) -> None:
    """Wall-clock MB/s of ``detect_stream`` on 1 and on ``workers`` processes (same data, same run)."""
    walls = {}
    for n in (1, resolve_workers(workers)):
        t0 = time.perf_counter()
        for _ in detect_stream(((r, p) for p, r in data), workers=n):
            pass
        walls[n] = time.perf_counter() - t0
    n = max(walls)
    one, many = walls[1], walls[n]
    print(f"detect_stream wall clock: 1 process {mb / one:.1f} MB/s, {n} processes {mb / many:.1f} MB/s "
          f"-> {one / many:.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=2.0, help="corpus size in MB of response text")
    ap.add_argument("--naive-mb", type=float, default=0.2, help="corpus size for the (slow) naive loop")
    ap.add_argument("--workers", type=int, default=1,
                    help="also time detect_stream on this many processes (0 = all cores), wall clock vs 1")
    args = ap.parse_args()
    data = corpus(args.mb)
    mb = sum(len(r.encode()) for _, r in data) / 1e6
    builtin_scanner(), builtin_scanner(("claims",))  # compile once, outside the timings
    suite_s = timed_batches(data)
    print(f"corpus: {len(data)} responses, {mb:.2f} MB, mean {mb * 1e6 / len(data):.0f} bytes (dev set repeated)")
    floor_s = timed(floor_suite, data)
    print(f"full detector suite : {mb / suite_s:7.1f} MB/s (CPU time, one core; detect_batch, {BATCH} per batch)")
    print(f"  one by one (detect): {mb / timed(lambda p, r: detect(r, p), data):7.1f} MB/s (no batch pre-scan)")
    print(f"floor (split + bigram set + DEFLATE only): {mb / floor_s:7.1f} MB/s -> suite costs "
          f"{suite_s / floor_s:.1f}x the floor")
    long = corpus(args.mb, join=8)
    long_mb = sum(len(r.encode()) for _, r in long) / 1e6
    long_s, long_floor_s = timed_batches(long), timed(floor_suite, long)
    print(f"full suite, long responses (mean {long_mb * 1e6 / len(long):.0f} bytes): "
          f"{long_mb / long_s:7.1f} MB/s; floor {long_mb / long_floor_s:.1f} MB/s -> {long_s / long_floor_s:.1f}x")
    if args.workers != 1:
        wall_scaling(long, long_mb, args.workers)
    folded = [(p, r, fold(r)) for p, r in data]
    parts = {
        "fold": lambda p, r, f: fold(r),
        "one-pass lexicon scan": lambda p, r, f: scan(r, folded=f),
        "refusal (incl. its scan)": lambda p, r, f: classify_refusal(r, folded=f),
        "sycophancy (incl. scan)": lambda p, r, f: classify_sycophancy(p, r, folded=f),
        "words + rep_2": lambda p, r, f: rep_n(words(f, folded=True), 2),
        "compression ratio": lambda p, r, f: compression_ratio(r),
        "repeat runs": lambda p, r, f: rare_token_runs(r, folded=f),
    }
    for name, fn in parts.items():
        print(f"  {name:24s}: {mb / timed(fn, folded):7.1f} MB/s")
    pats = naive_patterns()
    small = corpus(args.naive_mb)
    small_mb = sum(len(r.encode()) for _, r in small) / 1e6
    naive_s = timed(lambda p, r: naive_suite(p, r, pats), small)
    suite_small_s = timed_batches(small)
    naive, fast = small_mb / naive_s, small_mb / suite_small_s
    print(f"naive reference ({len(pats)} patterns, {small_mb:.2f} MB): {naive:7.2f} MB/s; "
          f"suite on the same data {fast:.1f} MB/s -> {fast / naive:.0f}x")


if __name__ == "__main__":
    main()
