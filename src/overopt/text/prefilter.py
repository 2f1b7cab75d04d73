"""Where a lexicon phrase can start, for a whole batch of responses at once (Aho-Corasick pre-scan).

The trie regex of :mod:`overopt.text.phrases` is exact, but ``re`` stops at every word start and
tries the trie there (~20 MB/s at best on this kind of text). Every phrase match begins with one of
a few thousand literal word pairs ("i cannot", "as an", "great question", ...). So:

1. the batch is joined and mapped to a canonical form with numpy: word characters (``\\w``) kept,
   every run of other characters one space, rows fenced by ``|``;
2. one Aho-Corasick pass (pyahocorasick, C) finds every occurrence of the pairs, as ``" w1 w2 "``;
3. the exact regex is tried only at those positions (:func:`overopt.text.phrases.scan`).

The pairs are built from the same phrase syntax as the regex: an optional apostrophe or hyphen gives
the word both split and joined; a space or any other non-word literal is a separator. So candidates
are a superset of the positions where the regex matches, and the spans equal a plain scan's (tests
compare both on every labelled file and on random text). For a lexicon with a phrase that starts with
a non-word character the pre-scan cannot serve, callers fall back to the plain scan.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from overopt.text.trie import Item, parse

MAX_KEYS_PER_PHRASE = 4096  # beyond this, a phrase's keys are one word shorter
_ASCII_WORD = np.array([chr(i).isalnum() or i == 95 for i in range(128)])
# For an all-ASCII batch: the class (0 word, 1 separator) and canonical byte of every byte value.
_ASCII_CLS = np.array([0 if chr(i).isalnum() or i == 95 else 1 for i in range(256)], dtype=np.int8)
_ASCII_OUT = np.array([i if chr(i).isalnum() or i == 95 else 32 for i in range(256)], dtype=np.uint8)


class NoPrefilter(Exception):
    """A phrase the pre-scan cannot serve (it starts with a non-word character)."""


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def phrase_keys(phrase: str, n_words: int = 3) -> set[tuple[str, int]]:
    """``(" w1 w2 ", back)`` for the literal first ``n_words`` words of every text the phrase can
    match; ``back`` = 1 when the match starts one character before ``w1`` (a leading ``'`` or ``-``:
    "'s not something i" after "that")."""
    out: set[tuple[str, int]] = set()
    _walk(parse(phrase), (), "", out, n_words, 0)
    if len(out) > MAX_KEYS_PER_PHRASE and n_words > 1:  # too many variants: fewer words
        return phrase_keys(phrase, n_words - 1)
    return out


def _walk(items: list[Item], words: tuple[str, ...], cur: str, out: set[tuple[str, int]], k: int,
          back: int) -> None:
    if len(out) > MAX_KEYS_PER_PHRASE:  # give up early; phrase_keys retries with fewer words
        return
    if not items:
        done = (*words, cur) if cur else words
        if not done:
            raise NoPrefilter("empty phrase")
        out.add((" " + " ".join(done) + " ", back))
        return
    item, rest = items[0], items[1:]
    if item[0] == "g":
        _, alts, optional = item
        for alt in [*alts, *([[]] if optional else [])]:
            _walk([*alt, *rest], words, cur, out, k, back)
        return
    char = item[1]
    if _is_word_char(char):
        _walk(rest, words, cur + char, out, k, back)
        return
    if char in "'-":  # optional in the text: absent joins the word, present separates it
        _walk(rest, words, cur, out, k, back)
        if not cur and not words:  # present at the very start: one character before the first word
            if back:
                raise NoPrefilter(f"phrase starts with two optional characters before a word: {char!r}")
            _walk(rest, words, cur, out, k, 1)
            return
    if not cur and not words:
        raise NoPrefilter(f"phrase starts with the non-word character {char!r}")
    if cur:
        words = (*words, cur)
        if len(words) == k:
            out.add((" " + " ".join(words) + " ", back))
            return
    _walk(rest, words, "", out, k, back)


class Prefilter:
    """An Aho-Corasick automaton over every phrase's leading word pairs."""

    def __init__(self, phrases: Iterable[str]) -> None:
        import ahocorasick

        back: dict[str, int] = {}
        for phrase in phrases:
            for key, b in phrase_keys(phrase):
                back[key] = max(b, back.get(key, 0))
        self.n_keys = len(back)
        self._ac = ahocorasick.Automaton(ahocorasick.STORE_ANY)
        for key, b in back.items():
            self._ac.add_word(key, (len(key) - 2, b))  # the first letter is end - len + 2 (after the space)
        self._ac.make_automaton()

    def candidates(self, texts: list[str]) -> list[list[int]]:
        """Per text, sorted positions where a phrase may start (``text[pos]`` is its first letter)."""
        if not texts:
            return []
        canon, orig, starts = canonical(texts)
        hits = [(end - n, b) for end, (n, b) in self._ac.iter(canon)]  # canon index of the first letter
        out: list[list[int]] = [[] for _ in texts]
        if not hits:
            return out
        at = np.asarray(hits, dtype=np.int64).reshape(-1, 2)
        pos = orig[at[:, 0]]  # index in the joined batch
        if at[:, 1].any():  # keys of phrases that start with "'" or "-": also one character earlier
            pos = np.concatenate((pos, pos[at[:, 1] == 1] - 1))
        row = np.searchsorted(starts, pos, side="right") - 1
        pos = pos - starts[row]
        order = np.lexsort((pos, row))
        for r, p in zip(row[order].tolist(), pos[order].tolist(), strict=True):
            if not out[r] or out[r][-1] != p:
                out[r].append(p)
        return out


def canonical(texts: list[str]) -> tuple[str, np.ndarray, np.ndarray]:
    """``(canon, orig, starts)``: the canonical batch text, the joined-batch index of each of its
    characters, and where each text starts in the joined batch (see the module docstring)."""
    joined = " " + " \x00 ".join(texts) + " "
    lengths = np.fromiter((len(t) + 3 for t in texts), dtype=np.int64, count=len(texts))
    starts = np.concatenate(([1], 1 + np.cumsum(lengths)[:-1]))
    ascii_only = joined.isascii()
    enc = "ascii" if ascii_only else "utf-32-le"
    codes = np.frombuffer(joined.encode(enc, "surrogatepass"), dtype=np.uint8 if ascii_only else np.uint32)
    if ascii_only:  # two table lookups
        cls, out = _ASCII_CLS[codes], _ASCII_OUT[codes]
    else:
        word = _word_mask(codes)
        cls = np.where(word, 0, 1).astype(np.int8)
        out = np.where(word, codes, 32).astype(codes.dtype)
    fences = starts[1:] - 2
    cls[fences] = 2  # the row fences (by position: a NUL inside a text stays an ordinary separator)
    out[fences] = 124
    sep = cls == 1
    keep = ~sep
    keep[1:] |= ~sep[:-1]  # word characters, fences, and the first character of each separator run
    keep[0] = True
    out = out[keep]
    canon = out.tobytes().decode(enc, "surrogatepass")
    return canon, np.flatnonzero(keep), starts


def _word_mask(codes: np.ndarray) -> np.ndarray:
    """``re``'s ``\\w`` per code point: ASCII letters, digits, ``_``, and Unicode alphanumerics."""
    low = codes < 128
    mask = np.zeros(len(codes), dtype=bool)
    mask[low] = _ASCII_WORD[codes[low]]
    if not low.all():
        high = codes[~low]
        uniq = np.unique(high)
        is_word = np.fromiter((chr(c).isalnum() if c < 0x110000 else False for c in uniq.tolist()), dtype=bool,
                              count=len(uniq))
        mask[~low] = is_word[np.searchsorted(uniq, high)]
    return mask


def build(phrases: Iterable[str]) -> Any:
    """A :class:`Prefilter`, or ``None`` when a phrase cannot be served (then the plain scan runs)."""
    try:
        return Prefilter(phrases)
    except NoPrefilter:
        return None
