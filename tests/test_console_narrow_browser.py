"""The console on a phone (390 CSS px wide, as an iPhone 12-15 in portrait) in a real browser:
no page scrolls sideways. Wide things (the flow diagram, tables) scroll inside their own box.

The sessions are ``analytics_scenario``'s (sessions, feedback, handoffs) plus one QuickBooks
Desktop session a customer starts in the browser, so the session view draws the 28-step
diagram."""

from __future__ import annotations

import re

import pytest
import time_machine
from analytics_scenario import NOW, seed
from browsing import log_in, serving, start_guide

from conftest import STAFF_PASSWORD

pytestmark = pytest.mark.browser

ADMIN = "lead@example.com"
PHONE = {"width": 390, "height": 844}

# What sticks out past the viewport's right edge: the outermost such elements, so that a
# failure names the culprit rather than all its ancestors.
OVERFLOW = """() => {
    const page = document.scrollingElement;
    const limit = page.clientWidth;
    const wide = [...document.body.querySelectorAll('*')].filter(e => {
        const r = e.getBoundingClientRect();
        return r.width > 0 && r.right > limit + 0.5 && !e.closest('.diagram-wrap, .table-wrap');
    });
    const outer = wide.filter(e => !wide.includes(e.parentElement)).slice(0, 5).map(e =>
        e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
        + (e.className && typeof e.className === 'string' ? '.' + e.className.trim()
           .split(/\\s+/).join('.') : '')
        + ' right=' + Math.round(e.getBoundingClientRect().right));
    return {scrollWidth: page.scrollWidth, clientWidth: limit, wide: outer};
}"""


@pytest.fixture
def site(app, store, staff_accounts):
    flows = app.extensions["assistant"].flows
    seed(store, {fid: f.version for fid, f in flows.items()})
    staff_accounts.add(ADMIN, STAFF_PASSWORD, "admin")
    with time_machine.travel(NOW, tick=True), serving(app) as url:
        yield url


def sideways_scroll(page) -> dict | None:
    """None when the page fits the viewport's width; else its widths and what sticks out."""
    seen = page.evaluate(OVERFLOW)
    assert seen["clientWidth"] == PHONE["width"], seen
    return seen if seen["scrollWidth"] > seen["clientWidth"] else None


def test_the_console_fits_a_390px_wide_phone(browser, site):
    from playwright.sync_api import expect
    customer = browser.new_context().new_page()
    customer.set_default_timeout(10_000)
    start_guide(customer, site + "/flows/quickbooks-desktop")
    customer.get_by_role("button", name="It says Disconnected", exact=True).click()
    expect(customer.locator("#step-heading")).to_contain_text("Step 1")
    sid = re.search(r"/s/([^/]+)/", customer.url).group(1)

    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(10_000)
    log_in(page, site, ADMIN, STAFF_PASSWORD)
    pages = {
        "the session list": "/console/sessions",
        "a QuickBooks Desktop session": f"/console/sessions/{sid}",
        "a Salesforce session": None,
        "the handoffs": "/console/handoffs",
        "a handoff": None,
        "analytics (Salesforce, March)":
            "/console/analytics?flow=salesforce&version=&from=2026-03-01&to=2026-03-31",
        "analytics (QuickBooks Desktop)": "/console/analytics?flow=quickbooks-desktop",
        "guided calls": "/console/guided",
        "staff": "/console/staff",
    }
    page.goto(site + "/console/handoffs")
    pages["a handoff"] = page.locator("a[href^='/console/handoffs/']").first.get_attribute("href")
    page.goto(site + "/console/sessions")
    pages["a Salesforce session"] = next(
        href for href in page.locator("a[href^='/console/sessions/']").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))") if sid not in href)
    overflowing = {}
    for what, path in pages.items():
        response = page.goto(site + path)
        assert response.status == 200, (what, path, response.status)
        if seen := sideways_scroll(page):
            overflowing[what] = seen
    assert not overflowing, "\n".join(f"{k}: {v}" for k, v in overflowing.items())

    # The QuickBooks Desktop diagram is wider than the phone: it scrolls in its own box.
    page.goto(site + f"/console/sessions/{sid}")
    box = page.evaluate("""() => { const w = document.querySelector('.diagram-wrap');
        return {client: w.clientWidth, scroll: w.scrollWidth,
                overflowX: getComputedStyle(w).overflowX}; }""")
    assert box["scroll"] > box["client"] and box["overflowX"] in ("auto", "scroll"), box
    context.close()
