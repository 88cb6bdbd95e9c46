"""Analytics in a real browser: an admin picks a flow and dates in the form, the charts (SVG
images served with their own CSP) and the shaded flow diagram render, the numbers are the
hand-checked ones of ``analytics_scenario`` (see ``test_analytics.py``), the CSV downloads, and
axe-core finds no serious or critical problem.

The clock is moved to the scenario's ``NOW`` (and runs on from there) while the browser works,
so the page sees the sessions as the scenario describes them."""

from __future__ import annotations

import csv
import io
import re

import pytest
import time_machine
from analytics_scenario import NOW, seed
from browsing import axe, log_in, serving

from conftest import STAFF_PASSWORD

pytestmark = pytest.mark.browser

ADMIN = "lead@example.com"
MARCH = "/console/analytics?flow=salesforce&version=&from=2026-03-01&to=2026-03-31"


@pytest.fixture
def site(app, store, staff_accounts):
    flows = app.extensions["assistant"].flows
    seed(store, {fid: f.version for fid, f in flows.items()})
    staff_accounts.add(ADMIN, STAFF_PASSWORD, "admin")
    with time_machine.travel(NOW, tick=True), serving(app) as url:
        yield url


def _admin(browser, url: str, **options):
    context = browser.new_context(accept_downloads=True, **options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    log_in(page, url, ADMIN, STAFF_PASSWORD)
    return context, page


def test_an_admin_reads_the_analytics_of_a_flow(browser, site):
    from playwright.sync_api import expect
    context, page = _admin(browser, site)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    charts: dict[str, tuple[int, str]] = {}
    page.on("response", lambda r: charts.__setitem__(r.url.split("?")[0].rsplit("/", 1)[1],
                                                     (r.status, r.headers["content-type"]))
            if "/console/analytics/" in r.url and ".svg?" in r.url else None)

    page.get_by_role("link", name="Analytics").click()
    expect(page.locator("h1")).to_contain_text("Analytics")
    page.get_by_label("Flow", exact=True).select_option("salesforce")
    page.get_by_label("From (UTC date)").fill("2026-03-01")
    page.get_by_label("To (UTC date)").fill("2026-03-31")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("h1")).to_have_text("Analytics: Reset your Salesforce connection")
    assert "from=2026-03-01" in page.url and "to=2026-03-31" in page.url
    expect(page.locator("p.lead")).to_contain_text("8 sessions started from 2026-03-01 to "
                                                   "2026-03-31")

    # the figures of the scenario (worked out by hand in test_analytics.py)
    def cell(name: str, step: str | None = None):
        scope = page.locator(f'tr[data-step="{step}"]') if step else page.locator("#outcomes")
        return scope.locator(f'[data-figure="{name}"]')
    for name, value in {"started": "8", "finished": "4", "resolved": "1", "unresolved": "2",
                        "escalated": "1", "abandoned": "3", "active": "1",
                        "handoff-share": "37.5%"}.items():
        expect(cell(name)).to_have_text(value)
    expect(cell("reached", "disconnect")).to_have_text("5")
    expect(cell("dropped-share", "disconnect")).to_have_text("40.0%")
    expect(cell("median", "disconnect")).to_have_text("45 s")
    expect(cell("reached", "daily-limit")).to_have_text("2")
    expect(page.locator('#reactions [data-figure="no"]')).to_have_text("1")
    expect(page.locator("#comments li").first).to_contain_text("=1+2")

    # the charts: SVG images that loaded, each with its table as the text alternative
    images = page.locator("figure.chart img")
    expect(images).to_have_count(2)
    for i in range(2):
        image = images.nth(i)
        expect(image).to_have_attribute("alt", re.compile(r"steps table"))
        page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                               arg=image.element_handle())
    assert charts == {"funnel.svg": (200, "image/svg+xml; charset=utf-8"),
                      "dropoff.svg": (200, "image/svg+xml; charset=utf-8")}

    # the flow diagram, shaded: every session reached the start, 40% of 5 stopped at disconnect
    diagram = page.locator("svg.flow-diagram")
    expect(diagram).to_be_visible()
    expect(diagram.locator('g[data-step="disconnect"]')).to_contain_text(
        "5 reached · 40% stopped")
    assert diagram.locator('g[data-step="detect"] rect').first.get_attribute("fill") == \
        "#1d4e89"
    assert not problems, problems  # no CSP violation, no script error

    # the sessions CSV downloads with the same filters
    with page.expect_download() as download:
        page.get_by_role("link", name="sessions", exact=True).click()
    assert download.value.suggested_filename == \
        "salesforce-2026-03-01-2026-03-31-sessions.csv"
    rows = list(csv.reader(io.StringIO(
        open(download.value.path(), encoding="utf-8-sig").read())))
    assert rows[0][:3] == ["code", "started_utc", "last_answer_utc"]
    assert len(rows) == 9  # the header and the 8 March sessions
    assert "'=SUM(A1:A2) still broken" in [r[12] for r in rows]
    context.close()


def test_the_analytics_page_passes_axe(browser, site):
    context, page = _admin(browser, site, bypass_csp=True)  # to inject axe
    page.goto(site + MARCH)
    page.wait_for_load_state("networkidle")
    assert axe(page) == []
    page.goto(site + "/console/analytics?from=nonsense")  # the 400 page with its form
    assert axe(page) == []
    context.close()
