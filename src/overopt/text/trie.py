"""Compile many phrases into one fast regex (a trie over characters and groups).

Python's ``re`` tries every branch of an alternation at every position; with hundreds of phrases
that is ~1 MB/s. Here a phrase's leading groups are expanded until it starts with a literal, then all
phrases are merged into a trie whose edges are literal characters or whole ``(a|b)`` groups (kept
as regex alternations, so "i (can't|cannot) (help|assist)" does not explode into all combinations).
The pattern starts by consuming the non-word character before a phrase, so ``re`` only stops at word
starts (its first-character fast scan); see ``benchmarks/detect.py`` for the resulting speed.
"""

from __future__ import annotations

import re

from overopt.errors import InputError

# Between words any run of spaces/punctuation; an apostrophe is optional ("im" == "i'm");
# a hyphen may be a hyphen, a space or nothing ("one size fits all").
_CHAR_RE = {" ": r"\W+", "'": "'?", "-": r"[-\s]?"}

Item = tuple  # ("c", char) or ("g", [alternative item lists], optional)


def parse(phrase: str) -> list[Item]:
    """Parse the lexicon mini-syntax: characters, ``(a|b)`` groups, ``?`` after a group, ``\\x`` escapes."""
    items, i = _parse_seq(phrase, 0, top=True)
    return items


def _parse_seq(s: str, i: int, top: bool) -> tuple[list[Item], int]:
    items: list[Item] = []
    while i < len(s):
        c = s[i]
        if c == "(":
            alts, i = _parse_group(s, i + 1)
            optional = i < len(s) and s[i] == "?"
            items.append(("g", alts, optional))
            i += optional
        elif c in "|)":
            if top:
                raise InputError(f"unbalanced {c!r} in lexicon phrase {s!r}")
            return items, i
        elif c == "\\" and i + 1 < len(s):  # an escaped literal: "\?" is a question mark
            items.append(("c", s[i + 1]))
            i += 2
        elif c in "?*+[]{}\\.^$":
            raise InputError(f"lexicon phrase {s!r} uses {c!r}; only (a|b), ? after a group, \\x, ' and - are allowed")
        else:
            items.append(("c", c))
            i += 1
    if not top:
        raise InputError(f"unclosed '(' in lexicon phrase {s!r}")
    return items, i


def _parse_group(s: str, i: int) -> tuple[list[list[Item]], int]:
    alts: list[list[Item]] = []
    while True:
        items, i = _parse_seq(s, i, top=False)
        alts.append(items)
        if i >= len(s):
            raise InputError(f"unclosed '(' in lexicon phrase {s!r}")
        if s[i] == ")":
            return alts, i + 1
        i += 1  # skip "|"


def _lead_literal(items: list[Item]) -> list[list[Item]]:
    """Expand leading groups until every variant starts with a literal character."""
    if not items or items[0][0] == "c":
        return [items] if items else []
    _, alts, optional = items[0]
    out = []
    for alt in [*alts, *([[]] if optional else [])]:
        out.extend(_lead_literal([*alt, *items[1:]]))
    return out


def _item_regex(item: Item) -> str:
    if item[0] == "c":
        return _CHAR_RE.get(item[1], re.escape(item[1]))
    _, alts, optional = item
    body = "|".join("".join(_item_regex(x) for x in alt) for alt in alts)
    return f"(?:{body})" + ("?" if optional else "")


def _max_len(item: Item) -> int:
    if item[0] == "c":
        return 1
    return max((sum(_max_len(x) for x in alt) for alt in item[1]), default=0)


def trie_regex(entries: list[tuple[str, object]]) -> tuple[str, list[tuple]]:
    """A regex matching any ``(phrase, tag)`` entry as a whole word, preferring the longest.

    The pattern consumes only the one non-word character before a phrase; the phrase itself is in a
    lookahead, so phrases that overlap (one ending with the words another starts with) are all found.
    Each phrase ends in an empty capturing group ``k = match.lastindex``: the phrase ends at
    ``match.start(k)`` and ``tags[k - 1]`` lists its tags (several when lexicons share a phrase).
    Scan ``" " + text``: the phrase is then ``text[m.start():m.start(k) - 1]``.

    ``re`` takes the first alternative that matches, not the longest: branches are ordered by the
    longest text they can match, so "i don't feel comfortable" is tried before "i don't feel".
    """
    root: dict = {}
    lens: dict[str, int] = {}
    for phrase, tag in entries:
        for variant in _lead_literal(parse(phrase)):
            node = root
            for item in variant:
                key = _item_regex(item)
                lens[key] = _max_len(item)
                node = node.setdefault(key, {})
            leaf = node.setdefault("", [])
            if tag not in leaf:
                leaf.append(tag)
    tags: list[tuple] = []
    body = _node_regex(root, tags, lens)
    return f"[^\\w'](?={body})", tags


def _reach(node: dict, lens: dict[str, int]) -> int:
    """Longest text (in characters) a match through ``node`` can cover."""
    return max((lens[k] + _reach(child, lens) for k, child in node.items() if k), default=0)


def _node_regex(node: dict, tags: list[tuple], lens: dict[str, int]) -> str:
    keys = sorted((k for k in node if k), key=lambda k: (-(lens[k] + _reach(node[k], lens)), k))
    alts = [key + _node_regex(node[key], tags, lens) for key in keys]
    if "" in node:
        tags.append(tuple(node[""]))
        alts.append(r"(?!\w)()")  # longest first: ending here is the last alternative
    if len(alts) == 1:
        return alts[0]
    return "(?:" + "|".join(alts) + ")"
