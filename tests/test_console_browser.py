"""The console's session pages in a real browser: an agent follows a customer's session live
(two browser contexts), and axe-core checks the session list and the session view."""

from __future__ import annotations

import re

import pytest
from browsing import axe, log_in, serving, start_guide

from conftest import STAFF_PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def site(app, staff_accounts):
    staff_accounts.add("agent@example.com", STAFF_PASSWORD, "agent")
    with serving(app) as url:
        yield url


def _customer_starts(browser, url: str):
    from playwright.sync_api import expect
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    start_guide(page, url + "/flows/quickbooks-desktop")
    expect(page.locator("#step-heading")).to_have_text("What does the Autofy Agent Status show?")
    sid = re.search(r"/s/([^/]+)/", page.url).group(1)
    return context, page, sid


def _agent(browser, url: str, **options):
    context = browser.new_context(**options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    log_in(page, url, "agent@example.com", STAFF_PASSWORD)
    return context, page


def test_the_agent_sees_the_customer_answer_without_reloading(browser, site):
    from playwright.sync_api import expect
    customer_context, customer, sid = _customer_starts(browser, site)
    agent_context, agent = _agent(browser, site)
    assert agent.url.endswith("/console/sessions")  # where a login lands
    agent.get_by_role("link", name=re.compile(r"open this session")).first.click()
    expect(agent.locator("h1")).to_contain_text("Session")
    assert agent.url.endswith(f"/console/sessions/{sid}")
    expect(agent.locator("#current-step")).to_have_text("What does the Autofy Agent Status show?")
    agent.evaluate("window.notReloaded = true")
    # The agent starts typing a note: updates must leave it (and the focus) alone.
    note = agent.get_by_role("textbox", name="Note", exact=True)
    note.fill("Customer is on the phone")
    note.focus()
    with agent.expect_response(lambda r: f"/console/sessions/{sid}?v=" in r.url
                               and r.status == 204):
        pass  # the page asks every 2 s; nothing changed yet

    customer.get_by_role("button", name="It says Disconnected", exact=True).click()
    step1 = "Step 1: Is the Autofy Agent open with two green check marks?"
    expect(customer.locator("#step-heading")).to_have_text(step1)

    expect(agent.locator("#current-step")).to_have_text(step1, timeout=6_000)
    transcript = agent.locator("section[aria-labelledby=transcript-title]")
    expect(transcript).to_contain_text("It says Disconnected")
    expect(agent.locator("tr.current-row")).to_contain_text(step1)
    expect(agent.locator('svg g.current[data-step="step-1-check-marks"]')).to_have_count(1)
    # The diagram is wider than its box: the box scrolls to show where the session is.
    assert agent.evaluate("""() => {
        const box = document.querySelector('.diagram-wrap').getBoundingClientRect();
        const node = document.querySelector('svg g.current').getBoundingClientRect();
        return node.left >= box.left && node.right <= box.right
            && node.top >= box.top && node.bottom <= box.bottom;
    }""")
    expect(agent.locator("#announcer")).to_have_text(
        f"Answered: It says Disconnected. Now at: {step1}.")
    assert agent.evaluate("window.notReloaded") is True
    expect(note).to_have_value("Customer is on the phone")
    expect(note).to_be_focused()

    # The customer reaches an end; the agent's note is saved without a reload and shows.
    customer.get_by_role("button", name="No, the agent is missing or not set up").click()
    expect(agent.locator("#session-state")).to_have_text("Not resolved", timeout=6_000)
    agent.get_by_role("button", name="Save note").click()
    expect(agent.locator("#notes")).to_contain_text("Customer is on the phone")
    expect(note).to_have_value("")
    assert agent.evaluate("window.notReloaded") is True
    customer_context.close()
    agent_context.close()


def test_a_followed_session_whose_login_ended_comes_back_after_logging_in(browser, site):
    # The live poll answers 401 once the login has ended (here: logged out in another tab);
    # the page goes to the login form, and logging in again returns to the session followed,
    # not to the session list.
    from playwright.sync_api import expect
    customer_context, customer, sid = _customer_starts(browser, site)
    agent_context, agent = _agent(browser, site)
    agent.goto(f"{site}/console/sessions/{sid}")
    other_tab = agent_context.new_page()
    other_tab.goto(f"{site}/console/sessions")
    other_tab.get_by_role("button", name="Log out").click()
    expect(agent.get_by_role("heading", name="Log in to the support console")).to_be_visible(
        timeout=6_000)
    agent.get_by_label("Email address").fill("agent@example.com")
    agent.get_by_label("Password").fill(STAFF_PASSWORD)
    agent.get_by_role("button", name="Log in").click()
    expect(agent.locator("#current-step")).to_have_text(
        "What does the Autofy Agent Status show?")
    assert agent.url == f"{site}/console/sessions/{sid}"
    customer_context.close()
    agent_context.close()


def test_a_poll_that_failed_once_leaves_no_alarm_once_updates_come_again(browser, site):
    # The server restarts: the live poll gets no answer and the page says so. Once polls are
    # answered again, the alarm must go (it stayed, over a page that was updating fine).
    from playwright.sync_api import expect
    customer_context, customer, sid = _customer_starts(browser, site)
    agent_context, agent = _agent(browser, site)
    failed = []

    def fail_two_polls(route):
        if len(failed) < 2:
            failed.append(route.request.url)
            route.abort()
        else:
            route.continue_()
    agent.route(f"**/console/sessions/{sid}?v=*", fail_two_polls)
    agent.goto(f"{site}/console/sessions/{sid}")
    problem = agent.locator("#request-error")
    expect(problem).to_contain_text("couldn't reach the server", timeout=6_000)
    expect(problem).to_be_hidden(timeout=8_000)  # the next poll is answered (204, unchanged)
    customer.get_by_role("button", name="It says Disconnected", exact=True).click()
    expect(agent.locator("#current-step")).to_have_text(
        "Step 1: Is the Autofy Agent open with two green check marks?", timeout=6_000)
    expect(problem).to_be_hidden()
    customer_context.close()
    agent_context.close()


def test_without_javascript_the_session_view_is_a_page_with_a_refresh_link(browser, site):
    from playwright.sync_api import expect
    customer_context, customer, sid = _customer_starts(browser, site)
    agent_context, agent = _agent(browser, site, java_script_enabled=False)
    agent.goto(f"{site}/console/sessions/{sid}")
    customer.get_by_role("button", name="It says Disconnected", exact=True).click()
    agent.get_by_role("link", name="Refresh").click()
    expect(agent.locator("#current-step")).to_have_text(
        "Step 1: Is the Autofy Agent open with two green check marks?")
    agent.get_by_role("textbox", name="Note", exact=True).fill("No JS here")
    agent.get_by_role("button", name="Save note").click()
    expect(agent.locator("#notes")).to_contain_text("No JS here")
    customer_context.close()
    agent_context.close()


def test_no_serious_accessibility_violations_on_the_session_pages(browser, site):
    customer_context, customer, sid = _customer_starts(browser, site)
    customer.get_by_role("button", name="It says Disconnected", exact=True).click()
    agent_context, agent = _agent(browser, site, bypass_csp=True)  # to inject axe
    found = {}
    agent.goto(f"{site}/console/sessions")
    found["list"] = axe(agent)
    agent.goto(f"{site}/console/sessions?outcome=bogus")
    found["list with a bad filter"] = axe(agent)
    agent.goto(f"{site}/console/sessions/{sid}")
    found["session"] = axe(agent)
    agent.get_by_role("button", name="Save note").click()  # an empty note: refused
    agent.get_by_text("The note is empty").first.wait_for()
    found["session with a refused note"] = axe(agent)
    customer_context.close()
    agent_context.close()
    bad = {name: violations for name, violations in found.items() if violations}
    assert not bad, bad
