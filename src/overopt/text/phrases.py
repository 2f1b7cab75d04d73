"""Categorised phrase lexicons (stock phrases, hedges, apologies, and the cue lists behind the refusal
and sycophancy detectors), scanned in ONE regex pass.

Each lexicon file in ``overopt/text/lexicons/`` lists phrases under ``[category]`` headers (syntax in
``stock_phrases.txt``). Every phrase is expanded to literals and all lexicons are factored into one
trie-shaped regex (:mod:`overopt.text.trie`), so a response is scanned once, not once per phrase or
per lexicon. Matching runs on the folded text (:func:`overopt.text.normalize.fold`): case, curly
quotes and punctuation between words do not matter, and a phrase never matches inside a longer word.
Spans are ``{"start", "end", "text", "category"}`` with offsets into the original string.
:func:`scan_many` gives the same spans for a batch, trying the regex only where an Aho-Corasick
pre-scan of the batch found a phrase's leading words (:mod:`overopt.text.prefilter`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from overopt.errors import InputError
from overopt.text.normalize import fold
from overopt.text.prefilter import build as build_prefilter
from overopt.text.trie import phrase_regex, trie_regex

# Reported lexicons (their spans appear in ``detect`` output) and internal cue lexicons.
REPORTED = ("stock_phrases", "hedges", "apologies")
CUES = ("refusal", "sycophancy")
LEXICONS = (*REPORTED, *CUES, "claims")

# A "^" phrase must follow the text start, a newline or . ! ? (past spaces and markdown marks).
_SKIP = frozenset(' \t#>*_"(-')
_CLASS_REF = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Scanner:
    """All phrases of several lexicons compiled into one trie regex, plus one full-match regex per
    ``(lexicon, category, anchored)`` tag.

    The trie finds where phrases are (fast: no per-phrase groups); the tags of a matched text come
    from the per-tag regexes, cached by text (matched phrases repeat, so misses are rare). Every tag
    whose phrases match the text is reported, so lexicons sharing a phrase all see it. Anchored
    ("^") phrases are checked for a sentence start afterwards.
    """

    lexicons: tuple[str, ...]
    pattern: re.Pattern[str]
    matchers: tuple[tuple[tuple[str, str, bool], re.Pattern[str]], ...]
    cache: dict[str, tuple[tuple[str, str, bool], ...]] = field(default_factory=dict, compare=False)
    prefilter: Any = field(default=None, compare=False)  # overopt.text.prefilter.Prefilter, for scan_many

    def tags_of(self, phrase: str) -> tuple[tuple[str, str, bool], ...]:
        tags = self.cache.get(phrase)
        if tags is None:
            if len(self.cache) > 100_000:
                self.cache.clear()
            tags = tuple(tag for tag, rx in self.matchers if rx.fullmatch(phrase))
            self.cache[phrase] = tags
        return tags


def _at_sentence_start(low: str, start: int) -> bool:
    j = start
    while j > 0 and low[j - 1] in _SKIP:
        j -= 1
    return j == 0 or low[j - 1] in ".!?\n"


def parse_lexicon(text: str, name: str = "lexicon") -> dict[str, tuple[str, ...]]:
    """Parse ``[category]`` sections of phrases; ``#`` starts a comment line.

    A line ``@word_class = a|b|c`` defines a word class that later phrases use as ``{word_class}``
    (expanded to ``(a|b|c)``): one broad list of, e.g., praise adjectives serves many patterns.
    """
    return _parse(text, name)[0]


@cache
def lexicon_classes(name: str) -> dict[str, str]:
    """The word classes of a built-in lexicon, ``{name: "(a|b|c)"}`` with inner classes expanded."""
    return _parse(_lexicon_text(name), name)[1]


def _lexicon_text(name: str) -> str:
    if name not in LEXICONS:
        raise InputError(f"unknown lexicon {name!r}; use one of {', '.join(LEXICONS)}")
    return resources.files("overopt.text").joinpath("lexicons").joinpath(f"{name}.txt").read_text("utf-8")


def _parse(text: str, name: str) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    sections: dict[str, list[str]] = {}
    classes: dict[str, str] = {}
    current: str | None = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            key, eq, body = line[1:].partition("=")
            key, body = key.strip(), _expand_classes(body.strip(), classes, name, lineno)
            if not eq or not key.isidentifier() or not body:
                raise InputError(f"{name}:{lineno}: a word class reads '@name = a|b|c'")
            classes[key] = f"({body})"
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            if not current.isidentifier():
                raise InputError(f"{name}:{lineno}: category {current!r} must be an identifier (letters, _)")
            sections.setdefault(current, [])
            continue
        if current is None:
            raise InputError(f"{name}:{lineno}: phrase before any [category] header; add one above it")
        sections[current].append(_expand_classes(line, classes, name, lineno))
    return {k: tuple(v) for k, v in sections.items() if v}, classes


def _expand_classes(line: str, classes: dict[str, str], name: str, lineno: int) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(1) not in classes:
            raise InputError(f"{name}:{lineno}: word class {{{m.group(1)}}} is not defined above it (@{m.group(1)} = ...)")
        return classes[m.group(1)]

    return _CLASS_REF.sub(sub, line)


@cache
def load_lexicon(name: str) -> dict[str, tuple[str, ...]]:
    """The phrases of a built-in lexicon by category (``stock_phrases``, ``hedges``, ``apologies``, ...)."""
    return parse_lexicon(_lexicon_text(name), name)


def compile_scanner(lexicons: dict[str, dict[str, tuple[str, ...]]]) -> Scanner:
    """Factor every phrase of every lexicon into one trie regex (:func:`overopt.text.trie.trie_regex`)."""
    by_tag: dict[tuple[str, str, bool], list[str]] = {}
    for lex_name, phrases in lexicons.items():
        for category, items in phrases.items():
            for phrase in items:
                by_tag.setdefault((lex_name, category, phrase.startswith("^")), []).append(fold(phrase.lstrip("^")))
    entries = [(p, tag) for tag, items in by_tag.items() for p in items]
    source, _ = trie_regex(entries, groups=False)
    matchers = tuple((tag, re.compile("|".join(phrase_regex(p) for p in items))) for tag, items in by_tag.items())
    return Scanner(tuple(lexicons), re.compile(source), matchers, prefilter=build_prefilter(p for p, _ in entries))


@cache
def builtin_scanner(names: tuple[str, ...] = (*REPORTED, *CUES)) -> Scanner:
    """The compiled scanner over built-in lexicons (cached: compiling takes ~0.5 s)."""
    return compile_scanner({n: load_lexicon(n) for n in names})


def scan(text: str, scanner: Scanner | None = None, *, folded: str | None = None,
         candidates: list[int] | None = None) -> dict[str, list[dict]]:
    """All lexicon hits of ``text`` in one pass: ``{lexicon: [span, ...]}`` (every lexicon key present).

    At one word start the longest phrase wins (across lexicons too); phrases starting at different
    words may overlap. Within a reported lexicon a span inside another span is dropped.
    ``candidates`` (from :func:`scan_many`'s pre-scan) limits the regex to those start positions.
    """
    sc = builtin_scanner() if scanner is None else scanner
    low = fold(text) if folded is None else folded
    out: dict[str, list[dict]] = {name: [] for name in sc.lexicons}
    tags_of = sc.tags_of
    # The pattern consumes the character before a phrase; a leading space lets position 0 match.
    padded = " " + low
    if candidates is None:
        matches: Iterable[re.Match[str] | None] = sc.pattern.finditer(padded)
    else:
        match = sc.pattern.match
        matches = (match(padded, p) for p in candidates)
    for m in matches:
        if m is None:
            continue
        a, b = m.start(), m.end(1) - 1
        for lex_name, category, anchored in tags_of(m.group(1)):
            if anchored and not _at_sentence_start(low, a):
                continue
            out[lex_name].append({"start": a, "end": b, "text": text[a:b], "category": category})
    for name in REPORTED:
        if out.get(name):
            out[name] = _drop_contained(out[name])
    return out


def scan_many(texts: list[str], scanner: Scanner | None = None, *,
              folded: list[str] | None = None) -> list[dict[str, list[dict]]]:
    """:func:`scan` of every text, with one Aho-Corasick pre-scan of the whole batch
    (:mod:`overopt.text.prefilter`): the same spans, several times faster than scanning one by one."""
    sc = builtin_scanner() if scanner is None else scanner
    lows = [fold(t) for t in texts] if folded is None else folded
    if sc.prefilter is None:
        return [scan(t, sc, folded=low) for t, low in zip(texts, lows, strict=True)]
    cands = sc.prefilter.candidates(lows)
    return [scan(t, sc, folded=low, candidates=c) for t, low, c in zip(texts, lows, cands, strict=True)]


def _drop_contained(spans: list[dict]) -> list[dict]:
    """Keep the outer span when one phrase lies inside another ("hope this helps" in "i hope this helps")."""
    kept, reach = [], -1
    for s in sorted(spans, key=lambda s: (s["start"], -s["end"])):
        if s["end"] > reach:
            kept.append(s)
            reach = s["end"]
    return kept


def find_spans(text: str, lexicon: str, *, folded: str | None = None) -> list[dict]:
    """Spans of one built-in lexicon in ``text`` (sorted by start)."""
    return scan(text, builtin_scanner((lexicon,)), folded=folded)[lexicon]
