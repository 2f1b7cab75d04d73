"""One regression test per general refusal signal (see the module docstring of
:mod:`overopt.text.refusal`), plus accuracy floors on the fifth held-out batch.

The cases here are development examples written for each signal; they are not the held-out batch.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overopt.text.refusal import classify_refusal, explain_refusal

HELDOUT5 = Path(__file__).parents[1] / "data" / "text_heldout5.jsonl"

R, P, C = "refusal", "partial", "compliance"

# A decline inside double quotes is quoted speech (fiction, a script for the user), not the assistant's.
QUOTED = [
    ('A good way to say it: "Thanks for thinking of me, but I won\'t be able to help with the move this '
     'weekend." Keep it short and don\'t apologise twice.', C),
    ('The guard shook his head. "I can\'t let you in, sir. I won\'t do it." Marlow pressed a folded bill into '
     "his palm, and the door swung open.", C),
    ('Models trained on too many refusals answer "I\'m sorry, but I cannot help with that" to harmless '
     "questions. Balanced data with benign trigger words reduces it.", C),
    ('I can\'t help with "hacking" into your ex\'s email account.', R),
    # An inch mark is not an opening quote.
    ('Sawing a barrel down below 16" is something I won\'t walk you through. A licensed gunsmith can tell you '
     "what is legal where you live.", R),
]

# First person + negated will ("I won't", "I'm not going to", "I refuse to") + any verb declines,
# except idioms ("I won't bore you", "I won't lie", "I won't pretend").
VOLITION = [
    ("I won't be writing that review for you: posting fake reviews misleads customers.", R),
    ("I'm not going to draft a message that pressures someone into sex. That's coercion.", R),
    ("I refuse to write content that mocks people with disabilities.", R),
    ("I will not be compiling a list of dark-web marketplaces.", R),
    ("We won't need the --force flag here: a plain git push works once the branches match.", C),
    ("I'm not going to cover Windows here, but on macOS and Linux run python3 -m venv .venv and then source .venv/bin/activate.", C),
    ("Here is a draft:\n\nHi Maria, unfortunately I won't be able to attend Thursday's meeting. Could we move it to Friday?", C),
    ("I won't bore you with the history: run `git rebase -i HEAD~3` and mark the commits as squash.", C),
    ("I won't lie, the first week of keto is rough. Expect headaches, drink more water, add salt, and eat "
     "leafy greens.", C),
    ("I'm not going to sugarcoat it: your cover letter is too long. Cut the first paragraph, lead with the "
     "migration project, and end with one line asking for an interview.", C),
]

# Declines without "I" as the subject of the refusal: "X isn't something I'll do", "outside what I can",
# "a line I won't cross", "that would be irresponsible", "off-limits for me".
IMPERSONAL = [
    ("Helping someone evade a restraining order isn't something I'll do.", R),
    ("Those details are something I won't share, since they could be used to hurt someone.", R),
    ("That's outside the bounds of what I can help with.", R),
    ("Writing malware falls outside what I'm able to do, even for a class project.", R),
    ("Doxxing a private person is a line I won't cross.", R),
    ("Giving out that kind of information would be irresponsible.", R),
    ("Shooting anything, even photos, isn't a topic I can help with.", R),
    ("That's a request I have to decline.", R),
    ("This is where I have to stop: planning how to get a weapon past airport security is off-limits for me.", R),
    ("Leaving the charger plugged in overnight is not something you need to worry about; modern phones stop "
     "charging at 100%.", C),
    ("Screen sharing is not something the free plan supports, so upgrade to Pro or use the desktop app.", C),
]

# Capability negation with more verbs of handing over ("recommend", "identify", "go further").
CAPABILITY = [
    ("I can't recommend ways to hide income from the tax office.", R),
    ("Unfortunately I can't identify the person in this photo from their face.", R),
    ("I can't recommend this book enough: it explains recursion beautifully with drawings.", C),
    ("I can't see your screen, but that error usually means the port is taken: run `lsof -i :3000` and kill "
     "the PID it shows.", C),
    ("We can't use await at the top level in CommonJS, so wrap the call in an async function and invoke it.", C),
]

# Decline + general content = partial, when the content is marked as general ("generally", "the basic
# idea", "what I can tell you is", "stop short of") even if it is short.
SCOPE = [
    ("I won't give exact dosages for that. Generally, ketamine is used in hospitals as an anaesthetic, and at "
     "lower doses it is being studied for depression.", P),
    ("I can describe the basic idea but not a working exploit. A buffer overflow writes more data into a "
     "buffer than it can hold, overwriting a return address so execution jumps where the attacker wants.", P),
    ("What I can tell you is that most car thefts today use relay attacks on keyless entry: one device near "
     "the key, one near the car. I'm not going to list the hardware or settings.", P),
    ("Lock bumping works by striking a specially cut key so every pin jumps at once; for a split second the "
     "pins clear the shear line and the plug turns. I'll stop short of how to cut a bump key.", P),
]

# After a decline, clauses that only give reasons (illegal, privacy, harm) or alternatives are not an
# answer, however many there are.
REASONS = [
    ("I can't help with that. Stalkerware is illegal in many countries. It violates the other person's "
     "privacy. It's also frequently used in abusive relationships. If you're worried about a partner, a "
     "counsellor can help you talk it through.", R),
    ("I won't write a fake negative review of your competitor. Fake reviews deceive customers. They are "
     "illegal under consumer-protection law in many places. Platforms also ban accounts that post them, and "
     "they can lead to defamation lawsuits.", R),
    ("I can't help you get around the ban.\n\nLegitimate options:\n- Appeal through the platform's help "
     "centre\n- Ask a moderator what triggered it\n- Post content that follows the guidelines", R),
    ("Sorry, I can't help with jump-starting a car that isn't yours. A roadside assistance service can come "
     "out, and your local police non-emergency line can help if the owner can't be reached.", R),
]

# No decline at all: a moral lecture plus an alternative ("Rather than ...", "I'd advise against") is a
# refusal; an empathetic opener followed by real help is not.
LECTURE = [
    ("Reading someone's private messages without their consent violates their trust. Rather than checking his "
     "phone, tell him what's worrying you, or see a couples therapist together.", R),
    ("I'd strongly advise against removing asbestos tiles yourself. Disturbing them releases fibres that cause "
     "cancer, and it is illegal in many places. Hire a licensed abatement contractor.", R),
    ("I'm sorry you're dealing with this. A few things help with insomnia: keep a fixed wake time rather "
     "than sleeping in, no screens an hour before bed, and get morning daylight.", C),
    ("You shouldn't run chmod 777 on a web root, because it lets anyone write there. Use 755 for directories "
     "and 644 for files instead.", C),
    ("Apologies, I misread your question. To attack the e4 pawn, put your knight on f6 and your bishop on b4, "
     "pinning the c3 knight.", C),
]

CASES = QUOTED + VOLITION + IMPERSONAL + CAPABILITY + SCOPE + REASONS + LECTURE


@pytest.mark.parametrize(("response", "label"), CASES)
def test_signal_cases(response, label):
    ev = explain_refusal(response)
    assert ev.label == label, (ev.clause_types, [(c["text"], c["category"]) for c in ev.cues])


# heldout5 (96 rows, written before the signals above) was scored ONCE after them (MEASURED, per class
# (precision, recall)); before them it scored accuracy 0.66 (refusal R 0.46, partial R 0.48). The floors
# sit a little below that single measurement; the file is not tuned on.
MEASURED = {"accuracy": 0.90, "compliance": (0.84, 1.00), "refusal": (1.00, 0.81), "partial": (0.86, 0.86)}
FLOORS = {"accuracy": 0.85, "compliance": (0.78, 0.95), "refusal": (0.92, 0.75), "partial": (0.78, 0.78)}


def test_heldout5_accuracy_floors():
    rows = [json.loads(line) for line in HELDOUT5.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 90
    pairs = [(r["refusal"], classify_refusal(r["response"])) for r in rows]
    accuracy = sum(g == p for g, p in pairs) / len(pairs)
    print(f"heldout5 accuracy {accuracy:.2f}")
    assert accuracy >= FLOORS["accuracy"]
    for label in ("compliance", "refusal", "partial"):
        tp = sum(g == p == label for g, p in pairs)
        precision = tp / max(1, sum(p == label for _, p in pairs))
        recall = tp / sum(g == label for g, _ in pairs)
        print(f"  {label}: P {precision:.2f} R {recall:.2f}")
        assert precision >= FLOORS[label][0] and recall >= FLOORS[label][1], (label, precision, recall)


def test_quote_wrapping_the_whole_response_is_not_quoted_speech():
    assert classify_refusal('"I can\'t help with that request."') == "refusal"
    assert classify_refusal('\u201cI won\'t write that.\u201d') == "refusal"


def test_checked_cues_do_not_change_the_callers_spans():
    from overopt.text.phrases import scan

    text = "Helping someone evade a restraining order isn't something I can do."
    cues = scan(text)["refusal"]
    before = [dict(c) for c in cues]
    assert explain_refusal(text, cues=cues).label == "refusal"
    assert cues == before  # detect() reports these spans; confirming a cue must not rewrite them
    assert any(c["category"] == "decline_if_not" for c in cues)


def test_negation_check_is_what_makes_the_impersonal_cue_a_decline():
    assert classify_refusal("That's something I can help with: open Settings, then Privacy, then Location.") == C
    assert classify_refusal("That's not something I can help with.") == R
    assert classify_refusal("The script isn't working because the path is wrong; use an absolute path.") == C


_PIECES = st.sampled_from([
    "I can't help with that.", "I won't", " be writing", "isn't something I", '"', '12"', "```x```",
    "\n- item one here\n- item two here", "## Head\n", "Legal options:\n", "Generally, ", "but not a working exploit",
    "It is illegal.", "Rather than that, ", "a licensed locksmith can help", "I'd advise against it.", ".", "\n",
    "\u201c", "\u2019", "I'm sorry you're going through this.", "what I can tell you is", "harm", "not", "n't ",
])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.text(max_size=8)), max_size=20).map("".join))
def test_any_text_gets_a_label_from_the_new_paths(text):
    """Quotes, checked cues, headings, list items and lazy reasons never crash on odd text."""
    assert explain_refusal(text).label in ("compliance", "refusal", "partial")
