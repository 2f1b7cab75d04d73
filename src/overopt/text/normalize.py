"""Text folding that keeps character offsets, so every span we report points into the original string.

Detectors match on a *folded* copy of the response: lower case, curly quotes and dashes made ASCII,
exotic spaces made plain. Every replacement is one character for one character, so an offset in the
folded text is the same offset in the original (a report can highlight ``text[start:end]`` directly).

Speed: ASCII text (most model output) only needs ``str.lower``; otherwise only the few characters
that fold are replaced (``str.translate`` looks up every character: ~15x slower). :func:`fold_reference`
is the plain definition; tests check that both agree.
"""

from __future__ import annotations

import re

# One character in, one character out: offsets survive folding.
_FOLD_MAP = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u00a0": " ", "\u2007": " ", "\u202f": " ", "\u2009": " ", "\u200a": " ", "\u3000": " ",
    "\u2026": ".",  # an ellipsis character ends a sentence like "."
}
_FOLD = str.maketrans(_FOLD_MAP)
_FOLD_RE = re.compile("[" + "".join(_FOLD_MAP) + "]")


def _fold_char(m: re.Match[str]) -> str:
    return _FOLD_MAP[m.group()]


def fold(text: str) -> str:
    """Lower-case ``text`` and fold quotes/dashes/spaces to ASCII, keeping ``len`` (offsets) unchanged."""
    if text.isascii():  # O(1) in CPython; nothing to fold and lower() is one-to-one
        return text.lower()
    return _lower_one_to_one(_FOLD_RE.sub(_fold_char, text))


def fold_reference(text: str) -> str:
    """:func:`fold` by its definition (one ``translate`` over every character); for tests."""
    return _lower_one_to_one(text.translate(_FOLD))


def _lower_one_to_one(folded: str) -> str:
    low = folded.lower()
    if len(low) == len(folded):  # the common case: str.lower kept every character one-to-one
        return low
    # A few characters lower-case to two (e.g. "\u0130" -> "i\u0307"); keep those as they are.
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in folded)
