"""Rare-token runs and exact repeats: the numerical quirks an over-optimized policy exploits.

The chapter: RL can learn "repeating rare tokens that happen to increase scores due to artifacts in RM
training". Two signals, both returned as spans ``{start, end, text, kind, n_tokens}``:

- ``kind="rare"``: ``min_run`` or more consecutive words whose relative frequency in a reference
  table (the reference policy's samples, or any corpus) is below ``max_freq`` (unseen words count 0).
- ``kind="repeat"``: one word or n-gram (n <= ``max_ngram``) repeated back to back ``min_repeats`` or
  more times ("the the the", "I hope this helps. I hope this helps. I hope this helps.").
"""

from __future__ import annotations

import json
import operator
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from overopt.errors import InputError
from overopt.text.normalize import fold
from overopt.text.repetition import WORD_RE, words


@dataclass
class RareTable:
    """Word counts of a reference corpus. ``rare(word)`` iff ``count / total < max_freq``."""

    counts: Mapping[str, int]
    max_freq: float = 1e-5
    total: int = field(init=False)

    def __post_init__(self) -> None:
        self.total = int(sum(self.counts.values()))
        if self.total <= 0:
            raise InputError("the reference frequency table is empty; give it a non-empty corpus")
        if not 0 < self.max_freq < 1:
            raise InputError(f"max_freq must be in (0, 1), got {self.max_freq}")

    @classmethod
    def from_texts(cls, texts: Iterable[str], max_freq: float = 1e-5) -> RareTable:
        """Count the words of a corpus (e.g. the reference policy's samples)."""
        counts: Counter[str] = Counter()
        for t in texts:
            counts.update(words(t))
        return cls(counts, max_freq)

    @classmethod
    def load(cls, path: str | Path, max_freq: float = 1e-5) -> RareTable:
        """A JSON object ``{word: count}``, or a text file with ``word<TAB or ,>count`` lines."""
        p = Path(path)
        if not p.is_file():
            raise InputError(f"frequency table {p} does not exist; pass a JSON {{word: count}} or word,count file")
        text = p.read_text(encoding="utf-8")
        try:
            if p.suffix.lower() == ".json":
                counts = {fold(str(k)): int(v) for k, v in json.loads(text).items()}
            else:
                counts = {}
                for line in text.splitlines():
                    if line.strip():
                        word, _, count = line.replace("\t", ",").rpartition(",")
                        counts[fold(word.strip())] = int(count)
        except (ValueError, AttributeError) as exc:
            raise InputError(f"could not read frequency table {p}: {exc}; use {{word: count}} JSON") from exc
        return cls(counts, max_freq)

    def min_count(self) -> float:
        """Counts strictly below this are rare."""
        return self.max_freq * self.total


def _spans(text: str, low: str, token_runs: list[tuple[int, int, str]]) -> list[dict]:
    """Map token-index runs ``[i, j)`` to character spans (only called when a run exists)."""
    bounds = [(m.start(), m.end()) for m in WORD_RE.finditer(low)]
    out = []
    for i, j, kind in token_runs:
        a, b = bounds[i][0], bounds[j - 1][1]
        out.append({"start": a, "end": b, "text": text[a:b], "kind": kind, "n_tokens": j - i})
    return out


def _repeat_runs(toks: list[str], min_repeats: int, max_ngram: int) -> list[tuple[int, int, str]]:
    runs: list[tuple[int, int, str]] = []
    for n in range(1, max_ngram + 1):
        need = n * (min_repeats - 1)  # k copies of an n-gram = (k-1)*n equal pairs at lag n
        if len(toks) < n * min_repeats:
            break
        eq = bytes(map(operator.eq, toks, toks[n:]))  # C speed; 1 where toks[i] == toks[i+n]
        pos = eq.find(b"\x01" * need)
        while pos != -1:
            end = pos
            while end < len(eq) and eq[end]:
                end += 1
            run_end = end + n  # tokens [pos, end + n) are the repeated block
            inside = any(a <= pos and run_end <= b for a, b, _ in runs)  # "a a a a" is not also a 2-gram run
            if not inside:
                runs.append((pos, run_end, "repeat"))
            pos = eq.find(b"\x01" * need, end)
    return sorted(runs)


def rare_token_runs(
    text: str,
    table: RareTable | None = None,
    *,
    min_run: int = 2,
    min_repeats: int = 3,
    max_ngram: int = 4,
    tokens: list[str] | None = None,
    folded: str | None = None,
    rep_2: float | None = None,
) -> list[dict]:
    """Rare-word runs (needs ``table``) and back-to-back repeats, sorted by start.

    ``tokens``/``folded``/``rep_2`` let a caller that already computed them skip that work; they must
    be ``words(text)``, ``fold(text)`` and ``rep_n(tokens, 2)``.
    """
    low = fold(text) if folded is None else folded
    toks = words(low, folded=True) if tokens is None else tokens
    # Back-to-back copies of any n-gram repeat a bigram, so no repeated bigram means no repeat run
    # (a cheap C-level check that skips the per-lag scans for most responses).
    if rep_2 is None:
        repeats = len(toks) > 1 and len(set(zip(toks, toks[1:]))) < len(toks) - 1  # noqa: B905
    else:
        repeats = rep_2 > 0
    runs = _repeat_runs(toks, min_repeats, max_ngram) if repeats else []
    if table is not None and toks:
        counts, limit = table.counts, table.min_count()
        rare = bytes(counts.get(t, 0) < limit for t in toks)
        pos = rare.find(b"\x01" * min_run)
        while pos != -1:
            end = rare.find(b"\x00", pos)
            end = len(rare) if end == -1 else end
            runs.append((pos, end, "rare"))
            pos = rare.find(b"\x01" * min_run, end)
        runs.sort()
    return _spans(text, low, runs) if runs else []
