"""The chat presentation in a real browser (Debian's Chromium, Playwright) against the app and
the vendor simulator on loopback: a pasted error routed to its cause, a quick reply, Back,
free text chosen as an answer (changing the earlier one), "Checking…" while the live check
runs, its finding as a message, and the ending's feedback; axe-core on the way. And the same
chat without JavaScript: plain forms, 303s."""

from __future__ import annotations

import os
import re
import threading

import pytest
from browsing import axe
from werkzeug.serving import make_server

from assistant.store import upgrade
from assistant.web import create_app
from conftest import FLOWS, LAUNCH_SECRET, launch_token

pytestmark = pytest.mark.browser

LIMIT = "REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded."


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The app with connections pointing at the simulator (both on real loopback servers)."""
    from simserver import SECRETS, Simulator
    folder = tmp_path_factory.mktemp("chat")
    url = f"sqlite:///{folder / 'chat.db'}"
    upgrade(url)
    with Simulator(delay=0.6) as sim:
        saved = {k: os.environ.get(k) for k in ("SIMULATOR_URL", *SECRETS)}
        os.environ.update({"SIMULATOR_URL": sim.url, **SECRETS})
        try:
            config = sim.connections(folder, read=2.0).path
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


def test_the_chat_walked_to_an_end_from_a_pasted_error(live, browser):
    from playwright.sync_api import expect
    live.sim.reset()
    live.sim.set("acme-salesforce", "salesforce", "healthy")  # the limit has rolled over
    context = browser.new_context(bypass_csp=True)  # axe-core is injected inline
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems = {}
    # The customer's app sends them with a launch link; they paste the error they saw.
    page.goto(live.url + "/?view=chat&launch=" + launch_token(live.app, "acme-salesforce"))
    page.get_by_label("Describe what's wrong, or paste the error message you see").fill(LIMIT)
    page.get_by_role("button", name="Find a guide").click()
    page.wait_for_url(re.compile(r"/s/[^/]+/0\?view=chat$"))
    log = page.locator(".chat-log")
    expect(log.locator(".msg-user").first).to_have_text(f"You wrote: {LIMIT}")
    expect(log).to_contain_text("We recognised REQUEST_LIMIT_EXCEEDED")
    expect(page.locator("#step-heading")).to_have_text(
        "Your org has used up its daily Salesforce API requests")
    expect(page.locator(".tell-support")).to_be_visible()
    sid = re.search(r"/s/([^/]+)/", page.url).group(1)
    assert live.store.get_session(sid).connection_id == "acme-salesforce"
    problems["routed"] = axe(page)

    # A quick reply, then Back: the earlier step again, its answer marked.
    page.get_by_role("button", name="Reset the connection anyway").click()
    expect(page.locator("#step-heading")).to_have_text(re.compile("Disconnect"))
    expect(page.locator("#step-heading")).to_be_focused()
    expect(log.locator(".msg-user").last).to_contain_text("Reset the connection anyway")
    page.get_by_role("link", name="Back").click()
    expect(page.locator("#step-heading")).to_have_text(
        "Your org has used up its daily Salesforce API requests")
    expect(page.locator(".button-chosen")).to_have_text("Reset the connection anyway")
    assert page.url.endswith(f"/s/{sid}/0?view=chat")

    # Typed words choose another answer there: the later path is replaced, and the live
    # check runs, shown as the bot typing until its finding arrives as a message.
    page.get_by_label("Or type your answer").fill("can you check again")
    page.keyboard.press("Enter")
    expect(page.locator(".msg-typing")).to_contain_text("Checking Acme Inc. Salesforce…")
    problems["checking"] = axe(page)
    expect(page.locator(".msg-finding")).to_contain_text("Connection is working")
    expect(page.locator("#step-heading")).to_be_focused()
    expect(page.locator("#announcer")).to_contain_text("Connection is working")
    expect(log.locator(".msg-user", has_text="can you check again")).to_contain_text(
        "(Check again)")

    # The check found it working: the guide ends, asking "Did this answer your question?".
    expect(page.locator(".panel-tag")).to_have_text("Resolved")
    expect(page.get_by_role("group", name="Did this answer your question?")).to_be_visible()
    expect(page.locator(".tell-support")).to_be_visible()
    problems["end"] = axe(page)
    page.get_by_text("Yes, it did").click()
    page.get_by_role("button", name="Send feedback").click()
    expect(page.locator("#feedback-title")).to_have_text("Thank you for your feedback")

    row = live.store.get_session(sid)
    assert (row.step, row.outcome) == ("connected-resolved", "resolved")
    assert [(line.answer, line.said) for line in live.store.transcript(sid)] == [
        ("check-again", "can you check again"), ("connected", None)]
    assert live.store.feedback_for(row).reaction == "yes"
    context.close()
    assert all(not found for found in problems.values()), problems


def test_the_chat_without_javascript_falls_back_to_plain_forms(live, browser):
    from playwright.sync_api import expect
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(live.url + "/?view=chat")
    page.get_by_label("Describe what's wrong, or paste the error message you see").fill(
        "quickbooks")
    page.get_by_role("button", name="Find a guide").click()
    page.get_by_role("button", name="Reset your QuickBooks Online connection").click()
    expect(page.locator(".chat-log .msg-user").first).to_contain_text("quickbooks")
    # No launch link: the check takes the manual path; Continue applies it without htmx.
    page.get_by_role("button", name=re.compile("Continue|Check now")).click()
    expect(page.locator(".msg-finding")).to_be_visible()
    assert "view=chat" in page.url
    context.close()
