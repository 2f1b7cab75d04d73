"""Length and repetition: word counts, rep-n, distinct-n, compression ratio.

- rep-n (Welleck et al. 2019, "Neural text degeneration with unlikelihood training"), per response:
  ``1 - |unique n-grams| / |n-grams|``; 0 = no repeated n-gram, -> 1 = one n-gram over and over.
- distinct-n (Li et al. 2016, "A diversity-promoting objective"), over a SET of responses:
  ``|unique n-grams in the set| / |n-grams in the set|`` -- the denominator is the total number of
  n-grams summed over all responses (not the number of responses, not the vocabulary).
- compression ratio: UTF-8 bytes / DEFLATE (zlib level 6, raw stream, no header) bytes. Higher means
  more redundant text. The window is sized to the text and memLevel is 4: for texts up to 32 KiB this
  finds the same matches as gzip's 32 KiB window at a fraction of the set-up cost (why: ``zlib``
  initialises its whole window per call, which dominated the cost on short responses).
"""

from __future__ import annotations

import re
import string
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice

from overopt.text.normalize import fold

# Words = runs of characters that are neither whitespace nor punctuation (apostrophes stay inside
# words: "don't"). ``str.translate`` + ``str.split`` is ~10x faster than a regex findall.
_PUNCT = "".join(c for c in string.punctuation if c != "'")
_TO_SPACE = str.maketrans({c: " " for c in _PUNCT})
# The same mapping on ASCII bytes (a 256-byte table: ~2.5x faster than str.translate's dict lookups).
_BYTES_TO_SPACE = bytes.maketrans(_PUNCT.encode(), b" " * len(_PUNCT))
WORD_RE = re.compile(rf"[^\s{re.escape(_PUNCT)}]+")  # the same tokens, with offsets, for spans


def words(text: str, *, folded: bool = False) -> list[str]:
    """Lower-cased word tokens (punctuation removed) used by every length/repetition metric."""
    low = text if folded else fold(text)
    if low.isascii():  # decode back before split: str.split also splits on \x1c-\x1f, as below
        return low.encode("ascii").translate(_BYTES_TO_SPACE).decode("ascii").split()
    return low.translate(_TO_SPACE).split()


def words_reference(text: str, *, folded: bool = False) -> list[str]:
    """:func:`words` by its definition (``str.translate`` then ``split``); for tests."""
    return (text if folded else fold(text)).translate(_TO_SPACE).split()


def n_tokens(text: str, tokenizer) -> int:
    """Number of tokens of ``text`` under a Hugging Face tokenizer (no special tokens)."""
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if n == 1:
        return [(t,) for t in tokens]
    return list(zip(*(tokens[i:] for i in range(n)), strict=False))


def rep_n(tokens: list[str], n: int = 2) -> float | None:
    """``1 - unique/total`` n-grams of one response; ``None`` when it has fewer than ``n`` words."""
    total = len(tokens) - n + 1
    if total <= 0:
        return None
    if n == 2:  # the default, spelled out: ~1.7x faster than the general zip below
        unique = len(set(zip(tokens, islice(tokens, 1, None))))  # noqa: B905
    else:
        unique = len(set(zip(*(tokens[i:] for i in range(n)), strict=False))) if n > 1 else len(set(tokens))
    return 1.0 - unique / total


@dataclass(frozen=True)
class DistinctN:
    """distinct-n over a set of responses: ``value = n_unique / n_total`` (n_total = all n-grams)."""

    n: int
    value: float | None
    n_unique: int
    n_total: int
    n_responses: int


def distinct_n(responses: Iterable[str | list[str]], n: int = 2) -> DistinctN:
    """distinct-n of a set; each item is a response string or its :func:`words` list."""
    seen: set[tuple[str, ...]] = set()
    total = count = 0
    for item in responses:
        toks = words(item) if isinstance(item, str) else item
        grams = ngrams(toks, n)
        seen.update(grams)
        total += len(grams)
        count += 1
    return DistinctN(n, (len(seen) / total) if total else None, len(seen), total, count)


# One fresh compressor per window size, copied per call: ``copy()`` of an unused stream is the same
# state as a new one (identical output) and skips deflateInit's allocations (~3x cheaper set-up).
_COMPRESSORS = {wbits: zlib.compressobj(6, zlib.DEFLATED, -wbits, 4) for wbits in range(9, 16)}


def compression_ratio(text: str) -> float | None:
    """UTF-8 bytes / raw-DEFLATE bytes (level 6); ``None`` for an empty text."""
    data = text.encode("utf-8", "surrogatepass")
    if not data:
        return None
    comp = _COMPRESSORS[min(15, max(9, (len(data) - 1).bit_length()))].copy()
    return len(data) / (len(comp.compress(data)) + len(comp.flush()))


def compression_ratio_reference(text: str) -> float | None:
    """:func:`compression_ratio` with a new compressor per call (its definition); for tests."""
    data = text.encode("utf-8", "surrogatepass")
    if not data:
        return None
    wbits = min(15, max(9, (len(data) - 1).bit_length()))
    comp = zlib.compressobj(6, zlib.DEFLATED, -wbits, 4)
    return len(data) / (len(comp.compress(data)) + len(comp.flush()))
