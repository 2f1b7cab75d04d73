"""Detector spans of one completion, ready for highlighting in the browser.

Spans come from the text layer's one-pass scanner (``overopt.text.phrases.scan``) and rare-token
detector (the same matches ``overopt.text.detect.detect`` reports). Overlaps are resolved
(earliest start, then longest, wins) so the viewer can cut the text into plain and marked pieces.
Offsets are converted to UTF-16 code units, because that is how JavaScript indexes strings: a
completion with an emoji would otherwise be highlighted one character off after it.
"""

from __future__ import annotations

from typing import Any

# report category -> (scanner list, categories of that list that count; None = all)
CATEGORIES: dict[str, tuple[str, frozenset[str] | None]] = {
    "stock": ("stock_phrases", None),
    "hedge": ("hedges", None),
    "apology": ("apologies", None),
    "refusal": ("refusal", frozenset({"decline", "disclaimer_decline", "redirect"})),
    "agreement": ("sycophancy", frozenset({"validate", "cave"})),
}
LABELS = {"stock": "stock phrase", "hedge": "hedge", "apology": "apology", "refusal": "refusal",
          "agreement": "agreement", "rare": "rare-token run"}
MAX_SCAN_CHARS = 200_000  # detectors run on the first 200k characters; the text is still shown whole


def _utf16_offsets(text: str) -> list[int] | None:
    """Prefix table code point -> UTF-16 offset, or None when the two agree (no astral characters)."""
    if all(ord(c) <= 0xFFFF for c in text):
        return None
    out, pos = [0], 0
    for c in text:
        pos += 2 if ord(c) > 0xFFFF else 1
        out.append(pos)
    return out


def _resolve(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    end = -1
    for s in sorted(spans, key=lambda s: (s["start"], -(s["end"] - s["start"]))):
        if s["start"] >= end and s["end"] > s["start"]:
            out.append(s)
            end = s["end"]
    return out


def completion_spans(response: str) -> list[dict[str, Any]]:
    """Non-overlapping ``{start, end, cat}`` (UTF-16 offsets) of every detector match in ``response``."""
    from overopt.text.normalize import fold
    from overopt.text.phrases import scan
    from overopt.text.rare import rare_token_runs
    from overopt.text.refusal import explain_refusal

    text = response[:MAX_SCAN_CHARS]
    low = fold(text)
    if len(low) != len(text):  # folding changed lengths: offsets would not index the original text
        return []
    hits = scan(text, folded=low)
    # the refusal detector's own reading of its cues: look-alikes ("I can't help but notice") and quoted
    # speech dropped, context-checked cues ("isn't something I ...") confirmed as declines
    hits["refusal"] = explain_refusal(text, folded=low, cues=hits["refusal"]).cues
    raw = [{"start": h["start"], "end": h["end"], "cat": cat}
           for cat, (key, keep) in CATEGORIES.items() for h in hits.get(key, [])
           if keep is None or h.get("category") in keep]
    raw += [{"start": r["start"], "end": r["end"], "cat": "rare"} for r in rare_token_runs(text, folded=low)]
    spans = _resolve(raw)
    table = _utf16_offsets(text)
    if table is not None:
        spans = [{**s, "start": table[s["start"]], "end": table[s["end"]]} for s in spans]
    return spans
