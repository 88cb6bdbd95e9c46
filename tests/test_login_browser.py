"""Logging into the console in a real browser (Chromium via Playwright, the app on a loopback
server): the way in from a bookmarked page, a refused password, what each role sees, logging
out, and axe-core on the login, guided-call and staff pages."""

from __future__ import annotations

import pytest
from browsing import axe, serving

from conftest import STAFF_PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def site(app, staff_accounts):
    staff_accounts.add("agent@example.com", STAFF_PASSWORD, "agent")
    staff_accounts.add("lead@example.com", STAFF_PASSWORD, "admin")
    with serving(app) as url:
        yield url


def _page(browser, **options):
    context = browser.new_context(**options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


def test_an_agent_logs_in_from_a_bookmark_sees_only_agent_pages_and_logs_out(browser, site):
    from playwright.sync_api import expect
    context, page = _page(browser)
    page.goto(site + "/console/handoffs?status=closed")  # a bookmark, before logging in
    assert "/console/login" in page.url
    expect(page.locator("h1")).to_have_text("Log in to the support console")
    page.get_by_label("Email address").fill("agent@example.com")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "That email and password do not match an active staff account.")
    expect(page.get_by_label("Email address")).to_have_value("agent@example.com")
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(site + "/console/handoffs?status=closed")  # back to the bookmark
    nav = page.get_by_role("navigation", name="Console")
    expect(nav.get_by_role("link", name="Sessions")).to_be_visible()
    expect(nav.get_by_role("link", name="Handoffs")).to_be_visible()
    expect(nav.get_by_role("link", name="Analytics")).to_have_count(0)
    expect(nav.get_by_role("link", name="Staff")).to_have_count(0)
    expect(nav).to_contain_text("agent@example.com (agent)")
    response = page.goto(site + "/console/analytics")
    assert response.status == 403
    expect(page.locator("h1")).to_have_text("Not for your role")
    page.goto(site + "/console/sessions")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(site + "/console/login")
    page.goto(site + "/console/sessions")
    assert "/console/login" in page.url  # the login is gone, not just the page
    context.close()


def test_an_admin_sees_analytics_and_staff_and_adds_an_agent(browser, site):
    from playwright.sync_api import expect
    context, page = _page(browser)
    page.goto(site + "/console/login")
    page.get_by_label("Email address").fill("LEAD@example.com")
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(site + "/console/sessions")
    nav = page.get_by_role("navigation", name="Console")
    nav.get_by_role("link", name="Staff").click()
    page.get_by_label("Email address").fill("new.agent@example.com")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Add account").click()
    expect(page.get_by_role("cell", name="new.agent@example.com", exact=True)).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="was created")).to_contain_text(
        "The account for new.agent@example.com was created")
    expect(nav.get_by_role("link", name="Analytics")).to_be_visible()
    context.close()
    other, page = _page(browser)
    page.goto(site + "/console/login")
    page.get_by_label("Email address").fill("new.agent@example.com")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(site + "/console/sessions")
    other.close()


def test_no_serious_accessibility_violations_on_login_guided_and_staff_pages(browser, site):
    context, page = _page(browser, bypass_csp=True)  # to inject axe
    found = {}
    page.goto(site + "/console/login")
    found["login"] = axe(page)
    page.get_by_label("Email address").fill("lead@example.com")
    page.get_by_label("Password").fill("wrong password!")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("alert").wait_for()
    found["login refused"] = axe(page)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(site + "/console/sessions")
    page.goto(site + "/console/guided")
    found["guide a call"] = axe(page)
    page.goto(site + "/console/staff")
    found["staff"] = axe(page)
    page.get_by_label("Email address").fill("agent@example.com")  # exists already
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Add account").click()
    from playwright.sync_api import expect
    expect(page.get_by_role("alert")).to_contain_text("exists already")
    found["staff refused"] = axe(page)
    context.close()
    bad = {name: violations for name, violations in found.items() if violations}
    assert not bad, bad
