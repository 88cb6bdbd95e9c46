"""Guided mode and share codes in a real browser (Chromium via Playwright, the app on a loopback
server, a real SQLite database): an agent guides a call to an end reading the scripts; a
customer reads out a share code and the agent finds the session with it. axe-core checks the
guided pages."""

from __future__ import annotations

import re

import pytest
from browsing import axe, log_in, manual_app, serving

from conftest import STAFF_PASSWORD

pytestmark = pytest.mark.browser

AGENT = "guide@example.com"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    app = manual_app(tmp_path_factory.mktemp("guided"))
    services = app.extensions["assistant"]
    agent = services.staff.add(AGENT, STAFF_PASSWORD, "agent")
    with serving(app) as base_url:
        yield type("Server", (), {"url": base_url, "app": app, "store": services.store,
                                  "agent_id": agent.id})


def new_page(browser):
    context = browser.new_context(bypass_csp=True)  # lets axe-core be injected
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


def expect_heading(page, text: str):
    from playwright.sync_api import expect
    expect(page.locator("#step-heading")).to_have_text(text)


def expect_said(page, text: str):
    """The "Say to the customer" box shows ``text``."""
    from playwright.sync_api import expect
    say = page.locator("section.say")
    expect(say.get_by_role("heading", name="Say to the customer")).to_be_visible()
    expect(say).to_contain_text(text)


def test_an_agent_guides_a_call_to_the_end_reading_the_scripts(server, browser):
    from playwright.sync_api import expect
    context, page = new_page(browser)
    log_in(page, server.url, AGENT, STAFF_PASSWORD)
    page.get_by_role("link", name="Guide a call").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Guide a customer on the phone")
    start_page = axe(page)
    page.get_by_role("button", name="Start guiding “Reset your Salesforce connection”").click()
    # No connection to check: the live check falls back to the article's steps.
    expect_heading(page, "Disconnect Salesforce")
    sid = re.search(r"/s/([^/]+)/", page.url).group(1)
    row = server.store.get_session(sid)
    assert row.guided_by == server.agent_id
    expect_said(page, "Please log into Autofy and go to the Channels page. Click the button "
                      "that says Disconnect")
    expect(page.locator(".staff-bar")).to_contain_text(f"Share code: {row.code}")
    guided_step = axe(page)

    page.get_by_role("button", name="I clicked Disconnect").click()
    expect_heading(page, "Connect to Salesforce again")
    expect_said(page, "Now click the Connect to Salesforce button.")
    page.get_by_role("button", name="I clicked Connect to Salesforce").click()
    expect_heading(page, "Is Salesforce connected now?")  # the re-check fell back too
    expect_said(page, "Please look at the Salesforce channel on the Channels page.")
    page.get_by_role("button", name="Yes, it's connected").click()
    expect_heading(page, "Your Salesforce connection is back")
    expect_said(page, "Autofy is connected to your Salesforce org again.")
    expect(page.locator(".staff-bar")).to_contain_text(row.code)
    context.close()
    row = server.store.get_session(sid)
    assert (row.status, row.outcome, row.guided_by) == ("ended", "resolved", server.agent_id)
    assert not start_page and not guided_step, (start_page, guided_step)


def test_a_customer_reads_out_the_code_and_the_agent_finds_the_session(server, browser):
    from playwright.sync_api import expect
    customer_context, customer = new_page(browser)
    customer.goto(server.url + "/")
    customer.get_by_role("link", name="Reset your QuickBooks Online connection").click()
    customer.get_by_role("button", name="Start", exact=True).click()
    expect_heading(customer, "Disconnect QuickBooks Online")
    sid = re.search(r"/s/([^/]+)/", customer.url).group(1)
    code = server.store.get_session(sid).code
    expect(customer.locator(".tell-support")).to_have_text(
        f"Tell support: {code}" + "Tell support: " + " ".join(
            "dash" if c == "-" else c for c in code))  # visible, then spelled for readers
    expect(customer.get_by_text(f"Tell support: {code}", exact=True)).to_be_visible()
    customer.get_by_role("button", name="I clicked Disconnect").click()  # an htmx swap
    expect_heading(customer, "Connect to QuickBooks again")
    read_out = customer.locator(".tell-support .share-code").inner_text()
    assert read_out == code
    assert customer.locator("section.say").count() == 0
    assert "Say to the customer" not in customer.content()
    customer_context.close()

    context, page = new_page(browser)
    log_in(page, server.url, AGENT, STAFF_PASSWORD)
    page.get_by_label("Session code").fill(read_out.lower().replace("-", " "))
    page.get_by_role("button", name="Show sessions").click()
    page.wait_for_url(re.compile(rf"/console/sessions/{sid}$"))
    expect(page.locator("h1")).to_contain_text(read_out)
    context.close()
