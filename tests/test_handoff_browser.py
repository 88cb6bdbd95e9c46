"""A handoff end to end in Chromium: a customer reaches an unresolved end and contacts
support; an agent, logged in in a second browser context, finds it in the queue, opens it and
takes it; the webhook delivery to a loopback receiver (which failed once) shows on the
handoff's page with its attempts. axe-core checks the queue and the handoff page."""

from __future__ import annotations

import pytest
from browsing import axe, chromium, log_in, serving, start_guide
from playwright.sync_api import expect
from receiver import SECRET, Receiver, wait_for

from assistant.store.webhooks import WebhookDeliveries

pytestmark = pytest.mark.browser


def test_a_customer_hands_off_and_an_agent_takes_it(make_app, agent):
    with Receiver([500]) as receiver:
        app = make_app(WEBHOOK_URL=receiver.url, WEBHOOK_SECRET=SECRET,
                       WEBHOOK_BACKOFF_SECONDS=0.05, WEBHOOK_TIMEOUT_SECONDS=2)
        deliveries = WebhookDeliveries(app.extensions["assistant"].store.engine)
        try:
            with serving(app) as base, chromium() as browser:
                customer = browser.new_context().new_page()
                customer.set_default_timeout(10_000)
                start_guide(customer, base + "/flows/quickbooks-online")
                for answer in ("I clicked Disconnect", "I clicked Connect to QuickBooks",
                               "No, it still doesn't connect"):
                    customer.get_by_role("button", name=answer, exact=True).click()
                expect(customer.locator("#step-heading")).to_have_text(
                    "QuickBooks Online still doesn't connect")
                customer.get_by_role("link", name="Contact support").click()
                customer.get_by_label("Your email address (optional)").fill("pat@example.com")
                customer.get_by_label("What else should we know? (optional)").fill(
                    "It worked yesterday")
                customer.get_by_role("button", name="Send to support").click()
                expect(customer.locator("#step-heading")).to_have_text(
                    "Support has your session")
                expect(customer.locator(".reference")).to_have_text("H-00001")

                staff = browser.new_context(bypass_csp=True).new_page()  # axe is injected
                staff.set_default_timeout(10_000)
                log_in(staff, base, *agent)
                staff.get_by_role("link", name="Handoffs").click()
                row = staff.get_by_role("row", name="H-00001")
                expect(row).to_contain_text("Unresolved end")
                expect(row).to_contain_text("pat@example.com")
                queue_violations = axe(staff)
                row.get_by_role("link", name="H-00001").click()
                expect(staff.locator("h1")).to_contain_text("Handoff H-00001")
                expect(staff.locator("main")).to_contain_text("It worked yesterday")
                staff.get_by_role("button", name="Take", exact=True).click()
                expect(staff.locator("main")).to_contain_text("You took H-00001.")
                expect(staff.locator("main")).to_contain_text(
                    "Taken by agent@example.com (you)")
                # Both deliveries (made, then the address and message added) got through,
                # the first after the receiver's 500.
                wait_for(lambda: [d.state for d in deliveries.for_handoff(1)] == [
                    "delivered", "delivered"])
                staff.reload()
                first = staff.get_by_role("table", name="Attempts of delivery 1")
                expect(first.get_by_role("row")).to_have_count(3)  # heading + 2 attempts
                expect(first).to_contain_text("HTTP 500")
                expect(first).to_contain_text("Delivered")
                expect(staff.locator("#deliveries")).to_contain_text("handoff.updated")
                handoff_violations = axe(staff)
        finally:
            app.extensions["webhooks"].stop()
    assert [r["event"] for r in receiver.received] == [
        "handoff.created", "handoff.created", "handoff.updated"]
    assert all(r["signature_ok"] for r in receiver.received)
    assert queue_violations == [] and handoff_violations == []
