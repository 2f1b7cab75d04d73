"""The report in real headless Chromium (Debian's chromium, driven by Playwright): loads offline with no
console errors, every chart has data, clicking a point shows its samples, hostile completions run nothing.

Skips with a reason only where /usr/bin/chromium is missing, and fails instead on CI (CI=true).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_world import CHROMIUM, HOSTILE, need_chromium

pytestmark = pytest.mark.browser
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
FLAGS = ("__pwned_script", "__pwned_close", "__pwned_img", "__pwned_svg", "__pwned_name")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    need_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(str(tmp_path_factory.mktemp("chromium-profile")),
                                                   executable_path=CHROMIUM, headless=True, args=ARGS)
        yield ctx
        ctx.close()


@pytest.fixture(scope="module")
def lab_report(lab_run, tmp_path_factory) -> Path:
    from overopt.report import write_report

    return write_report(lab_run, tmp_path_factory.mktemp("report") / "report.html")


@pytest.fixture(scope="module")
def hostile_report(hostile_run) -> Path:
    from overopt.report import write_report

    return write_report(hostile_run)


class Opened:
    def __init__(self, ctx, path: Path) -> None:
        self.page = ctx.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(path.as_uri())
        self.page.wait_for_selector("body[data-ready]", state="attached", timeout=60_000)

    def data(self) -> dict:
        return json.loads(self.page.text_content("#overopt-data"))


def assert_every_chart_drawn(o: Opened, ids: list[str]) -> None:
    """Every figure of the data has a chart with finite points in its visible traces, drawn as SVG."""
    counts = o.page.evaluate("""() => Array.from(document.querySelectorAll('.plot')).map(d => [
        d.dataset.figure,
        (d.data || []).filter(t => t.visible !== false)
                      .reduce((n, t) => n + (t.y || []).filter(v => v !== null).length, 0),
        d.querySelectorAll('.scatterlayer .trace path, .scatterlayer .point').length])""")
    assert sorted(c[0] for c in counts) == sorted(ids)
    for fid, n_points, n_drawn in counts:
        assert n_points > 0 and n_drawn > 0, (fid, n_points, n_drawn)


def test_page_loads_offline_without_console_errors(browser, lab_report):
    o = Opened(browser, lab_report)
    assert o.page.get_attribute("body", "data-ready") == "1"
    assert o.errors == []
    assert o.requests == [lab_report.as_uri()]  # nothing fetched: plotly.js is inline
    html = lab_report.read_text()
    assert html.count("Plotly.newPlot") <= 2 and "cdn" not in html.split("<script>")[0].lower()
    assert o.page.locator("#verdict .headline").inner_text().strip() != ""
    o.page.close()


def test_every_chart_has_data(browser, lab_report):
    o = Opened(browser, lab_report)
    ids = [f["id"] for f in o.data()["figures"]]
    assert {"overview", "bon-gold-proxies", "bon-proxy-proxies", "bon-kl", "bon-ensembles", "bon-scaling",
            "bon-habits", "bon-bai"} <= set(ids)
    assert_every_chart_drawn(o, ids)
    o.page.close()


def test_clicking_a_point_shows_its_samples(browser, lab_report):
    o = Opened(browser, lab_report)
    data = o.data()
    assert o.page.is_hidden("#viewer")
    # pixel position of the first clickable point of the overview's first visible trace
    where = o.page.evaluate("""() => {
        const gd = document.getElementById('fig-overview');
        gd.scrollIntoView({block: 'center'});
        const i = gd.data.findIndex(t => t.visible !== false && t.customdata && t.customdata.some(Boolean));
        const t = gd.data[i], j = t.customdata.findIndex(Boolean);
        const L = gd._fullLayout, xa = L.xaxis, ya = L[t.yaxis === 'y2' ? 'yaxis2' : 'yaxis'];
        const r = gd.getBoundingClientRect();
        return {x: r.left + xa._offset + xa.l2p(t.x[j]), y: r.top + ya._offset + ya.l2p(t.y[j]),
                key: t.customdata[j]};
    }""")
    o.page.mouse.move(where["x"], where["y"])
    o.page.mouse.click(where["x"], where["y"])
    o.page.wait_for_selector("#viewer:not([hidden])", timeout=10_000)
    group = data["samples"][where["key"]]
    assert o.page.inner_text("#viewer-title") == group["title"]
    texts = o.page.locator("#viewer .completion").all_text_contents()
    assert texts == [it["response"] or "(empty completion)" for it in group["items"]]
    assert o.errors == []
    o.page.close()


def test_hostile_completions_render_as_text_and_run_nothing(browser, hostile_report):
    o = Opened(browser, hostile_report)
    data = o.data()
    keys = [k for k, g in data["samples"].items() if any(it["response"] in HOSTILE for it in g["items"])]
    assert keys
    o.page.click("#open-viewer")
    for key in keys:  # through the page's own UI: the browse list
        o.page.select_option("#viewer-select", key)
        shown = o.page.locator("#viewer .completion").all_text_contents()
        for text, it in zip(shown, data["samples"][key]["items"], strict=True):
            if len(it["response"]) <= 10_000:
                assert text == it["response"]
            else:  # the 1 MB line: cut for display, and said so
                assert text.startswith(it["response"][:10_000]) and "showing 10,000 of 1,000,007 characters" in text
    flags = o.page.evaluate(f"() => {json.dumps(FLAGS)}.filter(f => window[f] !== undefined)")
    assert flags == []
    # no element was made from the payloads: only our own scripts, no <img>/<svg onload> anywhere
    assert o.page.evaluate("() => document.scripts.length") == 3
    assert o.page.evaluate("() => document.querySelectorAll('img, [onerror], [onload]').length") == 0
    assert o.page.evaluate("() => document.querySelectorAll('#viewer svg').length") == 0
    # the hostile curve name is shown literally in the proxies table and the chart legend
    assert 'onerror="window.__pwned_name = 1"' in o.page.inner_text("#proxies table")
    legend = " ".join(o.page.locator("#fig-bon-gold-proxies .legendtext").all_text_contents())
    assert "<img src=x onerror=" in legend
    assert o.errors == [] and len(o.requests) == 1
    o.page.close()


def test_the_payloads_are_live_outside_the_report(browser, tmp_path):
    """Control: the same payloads DO run when a page puts them in raw, so the test above can fail."""
    page = browser.new_page()
    raw = tmp_path / "raw.html"
    raw.write_text("<html><body>" + "".join(HOSTILE[:4]) + "</body></html>")
    page.goto(raw.as_uri())
    page.wait_for_timeout(300)
    ran = page.evaluate(f"() => {json.dumps(FLAGS[:4])}.filter(f => window[f] !== undefined)")
    assert set(ran) >= {"__pwned_script", "__pwned_img", "__pwned_svg"}
    page.close()


@pytest.fixture(scope="module")
def rl_report(rl_run) -> Path:
    from overopt.report import write_report

    return write_report(rl_run)


def test_rl_dpo_and_audit_sections(browser, rl_report):
    o = Opened(browser, rl_report)
    assert o.errors == []
    ids = [f["id"] for f in o.data()["figures"]]
    assert {"rl-gold", "rl-proxy", "rl-steps", "rl-kl-check", "rl-habits", "dpo-gold", "dpo-proxy",
            "dpo-steps"} <= set(ids)
    assert_every_chart_drawn(o, ids)
    assert o.page.locator("#rl .absent").count() == 0 and o.page.locator("#audit table").count() == 1
    # click the third point of the first RL run: its checkpoint's samples open
    where = o.page.evaluate("""() => {
        const gd = document.getElementById('fig-rl-gold');
        gd.scrollIntoView({block: 'center'});
        const t = gd.data.find(t => t.visible === true && t.customdata), j = 2;
        const L = gd._fullLayout, r = gd.getBoundingClientRect();
        return {x: r.left + L.xaxis._offset + L.xaxis.l2p(t.x[j]), y: r.top + L.yaxis._offset + L.yaxis.l2p(t.y[j]),
                key: t.customdata[j]};
    }""")
    o.page.mouse.move(where["x"], where["y"])
    o.page.mouse.click(where["x"], where["y"])
    o.page.wait_for_selector("#viewer:not([hidden])", timeout=10_000)
    assert where["key"].startswith("rl|") and where["key"].endswith("|12")
    assert o.page.inner_text("#viewer-title") == o.data()["samples"][where["key"]]["title"]
    assert o.page.locator("#viewer .sample").count() == 3
    # the x = KL button swaps every curve to the KL view
    o.page.locator("#fig-rl-gold .updatemenu-button").nth(1).click()
    xs = o.page.evaluate("() => document.getElementById('fig-rl-gold').layout.xaxis.title.text")
    assert xs.startswith("KL")
    o.page.close()
