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


def _count(items: list[Item]) -> int:
    n = 1
    for it in items:
        if it[0] == "g":
            n *= sum(_count(alt) for alt in it[1]) + it[2]
    return n


def _expand_all(items: list[Item]) -> list[list[Item]]:
    """Every literal variant of a phrase (only used when there are few)."""
    outs: list[list[Item]] = [[]]
    for it in items:
        if it[0] == "c":
            outs = [[*o, it] for o in outs]
        else:
            alts = [v for alt in it[1] for v in _expand_all(alt)] + ([[]] if it[2] else [])
            outs = [[*o, *v] for o in outs for v in alts]
    return outs


def _variants(items: list[Item], max_literals: int) -> list[list[Item]]:
    """Literal variants when there are at most ``max_literals`` (so phrases that share text share one
    trie path and all their tags); otherwise only the leading groups are expanded."""
    if _count(items) <= max_literals:
        return [_squeeze(v) for v in _expand_all(items)]
    return _lead_literal(items)


def _squeeze(items: list[Item]) -> list[Item]:
    """Drop the double/edge spaces an empty optional word leaves ("(very )?sorry" -> "sorry")."""
    out: list[Item] = []
    for it in items:
        if it == ("c", " ") and (not out or out[-1] == ("c", " ")):
            continue
        out.append(it)
    while out and out[-1] == ("c", " "):
        out.pop()
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


def trie_regex(
    entries: list[tuple[str, object]], max_literals: int = 64, groups: bool = True
) -> tuple[str, list[tuple]]:
    """A regex matching any ``(phrase, tag)`` entry as a whole word, preferring the longest.

    The pattern consumes only the one non-word character before a phrase (an apostrophe too, so a
    phrase that starts with a clitic alternative, "('s|is) lucky", matches "team's lucky" from its
    "s", and a phrase in single quotes matches); the phrase itself is in a
    lookahead, so phrases that overlap (one ending with the words another starts with) are all found.
    Each phrase ends in an empty capturing group ``k = match.lastindex``: the phrase ends at
    ``match.start(k)`` and ``tags[k - 1]`` lists its tags (several when lexicons share a phrase).
    Scan ``" " + text``: the phrase is then ``text[m.start():m.start(k) - 1]``.
    ``groups=False`` drops the per-phrase groups (they halve ``re``'s speed): the phrase is then the one
    group ``m.group(1)`` and the caller finds its tags itself.

    ``re`` takes the first alternative that matches, not the longest: branches are ordered by the
    longest text they can match, so "i don't feel comfortable" is tried before "i don't feel".
    """
    root: dict = {}
    lens: dict[str, int] = {}
    for phrase, tag in entries:
        for variant in _variants(parse(phrase), max_literals):
            node = root
            for item in variant:
                key = _item_regex(item)
                lens[key] = _max_len(item)
                node = node.setdefault(key, {})
            leaf = node.setdefault("", [])
            if tag not in leaf:
                leaf.append(tag)
    tags: list[tuple] = []
    reach: dict[int, int] = {}
    _fill_reach(root, lens, reach)
    body = _node_regex(root, tags, lens, reach, groups)
    return (f"\\W(?={body})" if groups else f"\\W(?=({body}))"), tags


def phrase_regex(phrase: str) -> str:
    """One phrase of the mini-syntax as a plain regex (same character rules as the trie)."""
    return "".join(_item_regex(item) for item in parse(phrase))


def _fill_reach(node: dict, lens: dict[str, int], reach: dict[int, int]) -> int:
    """Longest text (in characters) a match through ``node`` can cover, memoised by node id."""
    best = 0
    for k, child in node.items():
        if k:
            best = max(best, lens[k] + _fill_reach(child, lens, reach))
    reach[id(node)] = best
    return best


def _node_regex(node: dict, tags: list[tuple], lens: dict[str, int], reach: dict[int, int], groups: bool) -> str:
    keys = sorted((k for k in node if k), key=lambda k: (-(lens[k] + reach[id(node[k])]), k))
    alts = [key + _node_regex(node[key], tags, lens, reach, groups) for key in keys]
    if "" in node:
        tags.append(tuple(node[""]))
        alts.append(r"(?!\w)()" if groups else r"(?!\w)")  # longest first: ending here is the last alternative
    if len(alts) == 1:
        return alts[0]
    return "(?:" + "|".join(alts) + ")"
