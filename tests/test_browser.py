"""The wizard in a real browser: Debian's Chromium driven by Playwright, against a real HTTP
server on loopback and a real SQLite database. axe-core checks accessibility."""

from __future__ import annotations

import os
import re
import threading
import time

import pytest
from browsing import AXE_JS, axe, manual_app, start_guide
from werkzeug.serving import make_server

from assistant.store import upgrade
from assistant.web import create_app
from conftest import FLOWS, LAUNCH_SECRET, launch_token

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app served by a threaded werkzeug server on 127.0.0.1 (a free port)."""
    app = manual_app(tmp_path_factory.mktemp("browser"))
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield type("Server", (), {"url": f"http://127.0.0.1:{http.server_port}", "app": app,
                              "store": app.extensions["assistant"].store})
    http.shutdown()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def sid_of(page) -> str:
    return re.search(r"/s/([^/]+)/", page.url).group(1)


def click(page, label: str):
    page.get_by_role("button", name=label, exact=True).click()


def expect_heading(page, text: str):
    from playwright.sync_api import expect
    expect(page.locator("#step-heading")).to_have_text(text)


def wait_for_htmx(page):
    """Until htmx has taken over the step's forms: it binds swapped-in content in its settle
    step, ~20 ms after the heading shows, and a key pressed before that submits the form
    natively (a whole page, no announcement)."""
    page.wait_for_function("""() => !document.querySelector('.htmx-swapping, .htmx-settling')
        && [...document.querySelectorAll('#step form[hx-post]')]
               .every(f => f['htmx-internal-data'] !== undefined)""")


def test_quickbooks_desktop_through_the_repeat_loop_with_back_and_reload(server, page):
    page.goto(server.url + "/")
    page.get_by_role("link", name="Reset your QuickBooks Desktop connection").click()
    expect_heading(page, "Reset your QuickBooks Desktop connection")  # its start page
    click(page, "Start")
    expect_heading(page, "What does the Autofy Agent Status show?")
    sid = sid_of(page)
    click(page, "It says Disconnected")
    expect_heading(page, "Step 1: Is the Autofy Agent open with two green check marks?")
    assert page.url.endswith(f"/s/{sid}/2")  # htmx pushed the step's own URL
    click(page, "Yes, I see two green check marks")
    expect_heading(page, "Step 2: Click Connect in the Accounting tab")
    assert "security authorization window" in page.locator("#step").inner_text()

    # The back link returns to the previous step as last seen; Forward and reload keep state.
    page.get_by_role("link", name="Back", exact=True).click()
    expect_heading(page, "Step 1: Is the Autofy Agent open with two green check marks?")
    assert page.url.endswith(f"/s/{sid}/2")
    assert "You answered Yes, I see two green check marks" in page.locator(".inset").inner_text()
    page.go_back()
    expect_heading(page, "Step 2: Click Connect in the Accounting tab")
    page.go_forward()
    expect_heading(page, "Step 1: Is the Autofy Agent open with two green check marks?")
    page.go_back()
    expect_heading(page, "Step 2: Click Connect in the Accounting tab")
    page.reload()
    expect_heading(page, "Step 2: Click Connect in the Accounting tab")

    click(page, "I clicked Connect")
    click(page, "No, it still says Disconnected")
    expect_heading(page, "Step 3 (continued): Close the agent and sign out")
    click(page, "I closed the agent and signed out")
    click(page, "Done — repeat steps 1 to 3")
    expect_heading(page, "Step 1: Is the Autofy Agent open with two green check marks?")
    page.reload()  # mid-loop: the loop counter survives a reload
    click(page, "Yes, I see two green check marks")
    click(page, "I clicked Connect")
    click(page, "No, it still says Disconnected")
    expect_heading(page, "Step 5: Remove the User Token")
    click(page, "I removed the User Token and clicked Save")
    click(page, "I see the red X's")
    click(page, "I re-entered the Agent Key and clicked Save")
    click(page, "I clicked Connect")
    click(page, "Yes, it says Connected")
    expect_heading(page, "Your QuickBooks Desktop connection is back")
    assert page.title().startswith("Your QuickBooks Desktop connection is back")
    assert "5 earlier answers not shown" in page.locator(".transcript").inner_text()
    page.get_by_role("link", name="Show all answers").click()
    transcript = page.locator(".transcript").inner_text()
    assert transcript.count("I clicked Connect") == 3

    page.get_by_text("Yes, it did").click()
    page.get_by_label("Anything to add? (optional)").fill("The loop explained it well")
    click(page, "Send feedback")
    from playwright.sync_api import expect
    expect(page.locator("#feedback-title")).to_have_text("Thank you for your feedback")
    row = server.store.get_session(sid)
    assert (row.outcome, row.position) == ("resolved", 15)
    assert server.store.feedback_for(row).comment == "The loop explained it well"


def test_keyboard_only(server, page):
    page.goto(server.url + "/")
    for _ in range(30):  # Tab to the Salesforce link
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.textContent")
        if focused == "Reset your Salesforce connection":
            break
    page.keyboard.press("Enter")
    expect_heading(page, "Reset your Salesforce connection")  # the guide's start page
    for _ in range(10):  # Tab to its Start button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.tagName") == "BUTTON":
            break
    page.keyboard.press("Enter")
    expect_heading(page, "Disconnect Salesforce")  # swapped in after the first step's check
    page.wait_for_load_state("load")  # htmx is set up (a faster key press posts without it)
    wait_for_htmx(page)
    for heading in ("Connect to Salesforce again", "Is Salesforce connected now?",
                    "Your Salesforce connection is back"):
        # Focus sits on the step heading (after a swap); Tab past the links (and, on a whole
        # page, the header's language button) to the first answer.
        for _ in range(10):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.name") == "answer":
                break
        page.keyboard.press("Enter")
        expect_heading(page, heading)
        from playwright.sync_api import expect
        expect(page.locator("#announcer")).to_contain_text(heading)
        assert page.evaluate("document.activeElement.id") == "step-heading"
        wait_for_htmx(page)
    # Feedback by keyboard: Tab to the first reaction, arrow to "No", Tab on, type, submit.
    for _ in range(15):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "reaction":
            break
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Tab")
    page.keyboard.type("Not my org")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    from playwright.sync_api import expect
    expect(page.locator("#feedback-title")).to_have_text("Thank you for your feedback")
    assert server.store.feedback_for(server.store.get_session(sid_of(page))).reaction == "no"
    expect(page.get_by_role("link", name="Contact support")).to_be_visible()


def test_javascript_disabled_completes_a_flow_and_hands_off(server, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    start_guide(page, server.url + "/flows/quickbooks-online")
    sid = sid_of(page)
    click(page, "Continue")  # past the live check (no connection: done at once)
    click(page, "I clicked Disconnect")
    assert page.url.endswith(f"/s/{sid}/2")
    click(page, "I clicked Connect to QuickBooks")
    click(page, "Continue")  # past the check again
    click(page, "No, it still doesn't connect")
    expect_heading(page, "QuickBooks Online still doesn't connect")
    page.get_by_text("No, it didn't").click()
    click(page, "Send feedback")
    page.get_by_role("link", name="Contact support").first.click()
    page.get_by_label("Your email address (optional)").fill("pat@example.com")
    click(page, "Send to support")
    expect_heading(page, "Support has your session")
    [handoff] = server.store.handoffs_for(sid)
    assert len(handoff.transcript) == 5 and handoff.contact == "pat@example.com"
    context.close()


def test_double_click_sends_one_answer(server, page):
    """htmx disables the answers while one is sent (the server's own guard against a second
    submit is tested over HTTP in test_web.py)."""
    start_guide(page, server.url + "/flows/salesforce")
    page.wait_for_load_state("load")
    sid = sid_of(page)
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.get_by_role("button", name="I clicked Disconnect").dblclick()
    expect_heading(page, "Connect to Salesforce again")
    assert len(posts) == 1 and len(server.store.transcript(sid)) == 2  # the check, the answer


def test_a_second_tab_is_told_the_page_was_out_of_date(server, browser):
    context = browser.new_context()
    first = context.new_page()
    start_guide(first, server.url + "/flows/salesforce")
    # Both tabs at the same step: past the check (its poll applies it), then the second opens.
    expect_heading(first, "Disconnect Salesforce")
    second = context.new_page()
    second.goto(first.url)
    expect_heading(second, "Disconnect Salesforce")
    click(first, "I clicked Disconnect")
    expect_heading(first, "Connect to Salesforce again")
    click(second, "I clicked Disconnect")
    expect_heading(second, "Connect to Salesforce again")
    assert "Nothing was applied twice" in second.locator(".notice").inner_text()
    assert len(server.store.transcript(sid_of(first))) == 2  # the check, the answer
    context.close()


def test_no_serious_accessibility_violations(server, browser):
    assert AXE_JS.exists(), f"axe-core not found at {AXE_JS}: run `make test`"
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    pages = {}
    page.goto(server.url + "/")
    pages["start"] = axe(page)
    page.goto(server.url + "/flows/quickbooks-desktop")
    pages["guide start"] = axe(page)
    click(page, "Start")
    click(page, "It says Disconnected")
    expect_heading(page, "Step 1: Is the Autofy Agent open with two green check marks?")
    pages["step"] = axe(page)
    click(page, "No, the agent is missing or not set up")
    expect_heading(page, "Set up the Autofy Agent first")
    pages["end"] = axe(page)
    page.get_by_role("link", name="Contact support").click()
    pages["support"] = axe(page)
    click(page, "Send to support")
    expect_heading(page, "Support has your session")
    pages["handoff"] = axe(page)
    context.close()
    bad = {name: found for name, found in pages.items() if found}
    assert not bad, bad


def test_too_much_text_keeps_the_form_and_says_why(server, page):
    start_guide(page, server.url + "/flows/quickbooks-online")
    page.wait_for_load_state("load")
    for label in ("I clicked Disconnect", "I clicked Connect to QuickBooks",
                  "No, it still doesn't connect"):
        click(page, label)
    expect_heading(page, "QuickBooks Online still doesn't connect")
    comment = page.get_by_label("Anything to add? (optional)")
    comment.fill("x" * 300_000)
    page.get_by_text("No, it didn't").click()
    click(page, "Send feedback")
    from playwright.sync_api import expect
    expect(page.locator("#request-error")).to_contain_text("far more text than this form takes")
    assert len(comment.input_value()) == 300_000  # nothing typed is lost
    comment.fill("Too long before, fine now " + "y" * 1_000)
    click(page, "Send feedback")
    expect(page.locator(".error-summary")).to_be_focused()  # the list of problems
    assert page.title().startswith("Error: ")


# --- live checks against the simulator -------------------------------------------------------

@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The app with connections pointing at the simulator (both on real loopback servers)."""
    from simserver import SECRETS, Simulator
    folder = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{folder / 'live.db'}"
    upgrade(url)
    with Simulator(delay=0.3, hang_seconds=8) as sim:
        saved = {k: os.environ.get(k) for k in ("SIMULATOR_URL", *SECRETS)}
        os.environ.update({"SIMULATOR_URL": sim.url, **SECRETS})
        try:
            config = sim.connections(folder, read=1.0).path
            app = create_app({"DATABASE_URL": url, "SECRET_KEY": "browser-tests",
                              "FLOWS_PATH": [str(FLOWS)], "CONNECTIONS_PATH": str(config),
                              "TOKENS_DIR": str(folder / "tokens"), "PROBE_TTL_SECONDS": 1,
                              "LAUNCH_SECRET": LAUNCH_SECRET})
            http = make_server("127.0.0.1", 0, app, threaded=True)
            threading.Thread(target=http.serve_forever, daemon=True).start()
            yield type("Live", (), {"url": f"http://127.0.0.1:{http.server_port}", "sim": sim,
                                    "store": app.extensions["assistant"].store, "app": app})
            http.shutdown()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def test_salesforce_probe_finds_the_daily_limit_and_jumps_to_its_explanation(live, browser):
    from playwright.sync_api import expect
    live.sim.reset()
    live.sim.set("acme-salesforce", "salesforce", "salesforce.daily_api_limit_exceeded")
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    # The customer's own app sends them with a launch link for their connection.
    page.goto(live.url + "/?launch=" + launch_token(live.app, "acme-salesforce"))
    page.get_by_role("link", name="Reset your Salesforce connection").click()
    expect(page.locator(".start-form")).to_contain_text("Acme Inc. Salesforce")
    start_page = axe(page)
    click(page, "Check my connection")
    expect_heading(page, "Checking your Salesforce connection")
    checking = axe(page)
    # htmx polls until the check is done, then swaps in the step the cause leads to.
    expect_heading(page, "Your org has used up its daily Salesforce API requests")
    sid = sid_of(page)
    assert page.url.endswith(f"/s/{sid}/1")
    finding = page.locator(".finding")
    expect(finding).to_contain_text("Daily API request limit used up")
    expect(finding).to_contain_text("15,000 of 15,000 daily API requests used")
    expect(page.locator("#step-heading")).to_be_focused()
    found = axe(page)
    # The limit rolled over: "Check again" waits out the TTL, checks, and confirms.
    live.sim.set("acme-salesforce", "salesforce", "healthy")
    click(page, "Check again")
    expect_heading(page, "Your Salesforce connection is back")
    expect(page.locator(".finding")).to_contain_text("Connection is working")
    row = live.store.get_session(sid)
    assert row.outcome == "resolved"
    assert [line.answer for line in live.store.transcript(sid)] == [
        "salesforce.daily_api_limit_exceeded", "check-again", "connected"]
    context.close()
    assert not start_page and not checking and not found, (start_page, checking, found)


def test_a_live_check_without_javascript_refreshes_until_done_then_continues(live, browser):
    live.sim.reset()
    live.sim.set("acme-qbd", "quickbooks_desktop", "quickbooks_desktop.authorization_pending")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    start_guide(page, live.url + "/flows/quickbooks-desktop?launch="
                + launch_token(live.app, "acme-qbd"))
    # The meta refresh reloads the page (GETs, which change nothing) until the check is done;
    # then Continue applies its outcome.
    page.get_by_role("button", name="Continue").click()
    expect_heading(page, "Complete QuickBooks' authorization prompt")
    # The HRESULT is for support: behind "Details for support", shown when opened.
    assert "0x80040418" not in page.locator(".finding").inner_text()
    page.locator(".finding summary").click()
    assert "0x80040418" in page.locator(".finding").inner_text()
    context.close()


def test_a_failed_poll_is_retried(live, browser):
    live.sim.reset()
    live.sim.set("acme-qbd", "quickbooks_desktop", "slow")  # answers after 0.3 s
    time.sleep(1.1)  # past the TTL of an earlier test's check of this connection
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    failed = []

    def fail_first_polls(route):
        if len(failed) < 2:  # the server "restarts": two polls get no answer
            failed.append(route.request.url)
            route.abort()
        else:
            route.continue_()
    page.route("**/s/*/0/check*", fail_first_polls)
    start_guide(page, live.url + "/flows/quickbooks-desktop?launch="
                + launch_token(live.app, "acme-qbd"))
    from playwright.sync_api import expect
    expect(page.locator("#step-heading")).to_have_text("Your Autofy Agent is connected right now",
                                                       timeout=15_000)  # 2 retries, 3 s apart
    assert len(failed) == 2
    context.close()
