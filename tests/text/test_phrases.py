"""Lexicon scanning: spans point into the original text; case, punctuation and curly quotes do not
matter; a phrase never matches inside a longer word; the one-pass scanner equals a naive per-phrase scan."""

from __future__ import annotations

import re

import pytest

from overopt.errors import InputError
from overopt.text.normalize import fold
from overopt.text.phrases import REPORTED, compile_scanner, find_spans, load_lexicon, parse_lexicon, scan
from overopt.text.trie import parse


def _texts(spans):
    return [(s["text"], s["category"]) for s in spans]


def test_spans_index_the_original_text_with_curly_quotes_and_case():
    text = "CERTAINLY!! As an A.I. language model… I’m not entirely sure — I hope this helps."
    hits = scan(text)
    for spans in hits.values():
        for s in spans:
            assert text[s["start"]:s["end"]] == s["text"]
    assert ("CERTAINLY", "opener") in _texts(hits["stock_phrases"])
    assert ("I hope this helps", "closer") in _texts(hits["stock_phrases"])
    assert ("I’m not entirely sure", "epistemic") in _texts(hits["hedges"])


def test_word_boundaries_and_sentence_start_anchor():
    assert find_spans("Uncertainly, perhapsy, recertainly", "stock_phrases") == []
    assert find_spans("perhapsy", "hedges") == []
    # "Certainly" is a stock opener only at the start of a sentence, not inside one.
    assert find_spans("It will certainly work.", "stock_phrases") == []
    assert _texts(find_spans("Done. Certainly, more below.", "stock_phrases")) == [("Certainly", "opener")]
    assert _texts(find_spans("**Great question!** Here.", "stock_phrases")) == [("Great question", "opener")]


def test_punctuation_between_words_does_not_matter():
    a = find_spans("i hope this helps", "stock_phrases")
    b = find_spans("I hope... this helps!", "stock_phrases")
    assert [s["category"] for s in a] == [s["category"] for s in b] == ["closer"]


def test_sympathy_is_not_an_apology():
    assert find_spans("I'm sorry to hear about your hamster.", "apologies") == []
    assert _texts(find_spans("I apologize for the confusion.", "apologies"))[0][1] == "apology"


def _naive_regex(phrase: str) -> str:
    """The phrase mini-syntax as a plain regex, independently of the trie compiler."""
    out = []
    for ch in fold(phrase.lstrip("^")):
        out.append({" ": r"\W+", "'": "'?", "-": r"[-\s]?", "(": "(?:"}.get(ch, ch))
    return r"(?<![\w'])" + "".join(out) + r"(?!\w)"


@pytest.mark.parametrize("lexicon", REPORTED)
def test_one_pass_scan_finds_what_a_naive_per_phrase_scan_finds(lexicon):
    # Every free phrase, embedded in a sentence, is found by the one-pass scanner with its category.
    phrases = load_lexicon(lexicon)
    scanner = compile_scanner({lexicon: phrases})
    sample = "Well, one-size-fits-all; the dog is here. I'm not a doctor, but as far as I know it depends."
    naive = set()
    for category, items in phrases.items():
        for p in items:
            if not p.startswith("^") and "\\" not in p:
                for m in re.finditer(_naive_regex(p), fold(sample)):
                    naive.add((m.start(), category))
    fast = {(s["start"], s["category"]) for s in scan(sample, scanner)[lexicon]}
    assert naive <= fast | {(a, c) for a, c in naive if any(a2 < a < e for a2, e in _ends(scan(sample, scanner)[lexicon]))}


def _ends(spans):
    return [(s["start"], s["end"]) for s in spans]


def test_bad_lexicon_syntax_is_an_input_error():
    with pytest.raises(InputError):
        parse("i (can't")
    with pytest.raises(InputError):
        parse("wild.card")
    with pytest.raises(InputError):
        parse_lexicon("phrase before header")


def test_clitic_phrases_and_single_quotes_match_and_the_batch_scan_agrees():
    """A phrase may start with a clitic alternative ("'re", "'s"): it matches after the word it attaches
    to; a phrase inside single quotes matches like any other; scan_many finds the same spans."""
    from overopt.text.phrases import compile_scanner, parse_lexicon, scan, scan_many

    sc = compile_scanner({"t": parse_lexicon("[v]\n(are|'re|is|'s) lucky to have you\ncertainly\n", "t")})
    texts = ["They're lucky to have you!", "Your team's lucky to have you.", "He said 'Certainly' twice.",
             "They are lucky to have you", "unlucky to have you"]
    got = [[(s["text"], s["category"]) for s in scan(t, sc)["t"]] for t in texts]
    assert got == [[("re lucky to have you", "v")], [("s lucky to have you", "v")], [("Certainly", "v")],
                   [("are lucky to have you", "v")], []]
    assert scan_many(texts, sc) == [scan(t, sc) for t in texts]
    assert sc.prefilter is not None
