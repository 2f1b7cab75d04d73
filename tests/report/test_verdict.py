"""The verdict sentence and findings, on hand-made curves whose answers are known by arithmetic."""

from __future__ import annotations

from overopt.report.findings import all_findings, habits
from overopt.report.verdict import build_verdict, describe_peak, headline_curve, peak_of


def _curve(name="s-250", gold=(0.0, 0.5, 0.8, 0.6, 0.2), fit=None, **kw):
    return {"name": name, "kind": "proxy", "n": [1, 2, 4, 8, 16], "kl": [0.0, 0.31, 0.84, 1.95, 3.14],
            "proxy": [0.0, 1.0, 2.0, 3.0, 4.0], "gold": list(gold),
            "fit": fit or {"status": "ok", "r2": 0.98, "peak_kl": 1.1, "peak_kl_ci": [0.7, 1.6], "peak_gold": 0.79,
                           "extrapolated": False}, **kw}


def test_headline_uses_the_fit_peak_and_the_changes_past_the_observed_peak():
    # observed peak at index 2: proxy 2 -> 4 is +100 % of its gain, gold 0.8 -> 0.2 is -75 %
    s, note, bad = describe_peak("Best-of-n against proxy s-250", _curve(), "to n = 16")
    assert "gold peaks at KL 1.1 nats (0.7\u20131.6) (fitted)" in s
    assert "proxy +100\u00a0% while gold \u221275\u00a0%" in s
    assert not bad and "unreliable" not in s
    assert "\u22120.600" in note  # gold fell by 0.6 in its own units


def test_an_untrustworthy_fit_falls_back_to_the_observed_peak_and_says_so():
    c = _curve(fit={"status": "ok", "r2": 0.5, "peak_kl": 9.0, "peak_kl_ci": [1.0, None], "peak_gold": 3.0})
    p = peak_of(c)
    assert p.source == "observed" and p.kl == 0.84 and not p.reliable
    s, _, bad = describe_peak("x", c, "to n = 16")
    assert bad and "unreliable: fit R\u00b2 0.50 < 0.9" in s and "(observed)" in s


def test_unbounded_interval_is_flagged():
    c = _curve(fit={"status": "ok", "r2": 0.97, "peak_kl": 1.0, "peak_kl_ci": [0.5, None], "peak_gold": 0.8})
    s, _, bad = describe_peak("x", c, "to n = 16")
    assert bad and "(0.5\u2013unbounded)" in s and "do not bound the peak" in s


def test_headline_picks_the_curve_that_gives_back_most_gold():
    mild = _curve("l-4000", gold=(0.0, 0.5, 0.8, 0.9, 0.85))
    bad = _curve("s-250")
    summary = {"bon": [mild, bad], "rl": [], "dpo": []}
    assert headline_curve(summary)[1]["name"] == "s-250"
    v = build_verdict(summary, [])
    assert v.curve == ("bon", "s-250") and v.headline.startswith("Best-of-n against proxy s-250")


def test_no_fall_anywhere_is_said_plainly():
    up = _curve(gold=(0.0, 0.2, 0.4, 0.6, 0.8), fit={"status": "no_peak", "r2": 0.99})
    v = build_verdict({"bon": [up], "rl": [], "dpo": []}, [])
    assert v.headline.startswith("No over-optimization within the measured range") and v.unreliable


def test_no_curves_at_all():
    v = build_verdict({"bon": [], "rl": [], "dpo": []}, [])
    assert "cannot be judged" in v.headline and v.unreliable and v.curve is None


def test_habit_finding_lists_the_largest_growth_first():
    c = _curve(rates={"n_words": [10, 11, 12, 12, 13], "hedge": [0.1, 0.1, 0.1, 0.1, 0.12],
                      "opener_confident": [0.1, 0.2, 0.4, 0.6, 0.7], "apology": [0.3, 0.2, 0.1, 0.0, 0.0]})
    s = habits(c)
    assert s.index("confident openers 10 % \u2192 70 %") < s.index("length (words) 10 \u2192 13")
    assert "apologies" not in s  # it fell


def test_findings_skip_what_is_absent():
    assert all_findings({"bon": [_curve()], "rl": [], "dpo": []}, None) == []
