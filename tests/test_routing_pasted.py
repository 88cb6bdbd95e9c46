"""Pasted vendor errors through the router: the same rule tables the live checks use name
the cause (and which rule entry did), a value two vendors read differently stays a question
unless the text names the vendor, and unrecognised text names nothing."""

from __future__ import annotations

import json

import pytest

from assistant.flow import load_flows
from assistant.resources import flows_dir
from assistant.routing import find_signals, load_router


@pytest.fixture(scope="module")
def router():
    flows, errors = load_flows([flows_dir()])
    assert not errors
    return load_router(flows)


@pytest.mark.parametrize("text,flow,cause", [
    ("0x80040408", "quickbooks-desktop", "quickbooks_desktop.not_running_no_unattended_access"),
    ("Error -2147220460 while opening the file", "quickbooks-desktop",
     "quickbooks_desktop.modal_dialog_open"),
    ("20260101.11:02:03 UTC : QBWebConnector.SOAPWebService.do_authenticate() : QBWC1012: "
     "Authentication failed due to following error message. Could not establish trust "
     "relationship for the SSL/TLS secure channel.", "quickbooks-desktop",
     "quickbooks_desktop.agent_cannot_reach_service"),
    ("INVALID_SESSION_ID", "salesforce", "salesforce.session_expired"),
    ('[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]',
     "salesforce", "salesforce.daily_api_limit_exceeded"),
    ("sf:LOGIN_MUST_USE_SECURITY_TOKEN: Invalid username, password, security token; or user "
     "locked out.", "salesforce", "salesforce.authentication_failure"),
    ("message=AuthenticationFailed; errorCode=003200; statusCode=401", "quickbooks-online",
     "quickbooks_online.access_token_expired"),
    ("Intuit Fault code 3100", "quickbooks-online", "quickbooks_online.app_not_authorized"),
    ("Salesforce redirect: error=access_denied&error_description=end-user+denied+authorization",
     "salesforce", "salesforce.oauth_incomplete"),
    ('Salesforce token: {"error":"invalid_grant","error_description":"inactive user"}',
     "salesforce", "salesforce.inactive_user"),
])
def test_a_pasted_error_opens_its_causes_step(router, text, flow, cause):
    route = router.route(text)
    assert (route.flow, route.cause, route.question) == (flow, cause, None), route.to_json()
    assert route.step != router.flows[flow].start  # the cause's own step, not the beginning
    json.dumps(route.to_json())
    # The rule that fired is named, with its vendor source, for staff.
    [signal] = [s for s in find_signals(text) if s.cause == cause][:1]
    assert signal.evidence["rule_source"].startswith("http") and signal.evidence["rule_entry"]


def test_a_value_two_vendors_read_differently_is_a_question_unless_a_vendor_is_named(router):
    route = router.route('{"error": "invalid_grant"}')
    assert route.flow is None and route.question
    assert {a.flow for a in route.alternatives} >= {"salesforce", "quickbooks-online"}
    named = router.route("QuickBooks Online said invalid_grant")
    assert (named.flow, named.cause) == ("quickbooks-online",
                                          "quickbooks_online.reconnect_required")


@pytest.mark.parametrize("text", ["", "   ", "hello world", "Everything worked fine today",
                                  "0x80070005 Access is denied"])
def test_unrecognised_text_names_no_guide_and_no_cause(router, text):
    route = router.route(text)
    assert (route.flow, route.cause) == (None, None)
    assert find_signals(text) == []
