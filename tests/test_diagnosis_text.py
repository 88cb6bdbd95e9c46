"""``diagnose_text``: pasted error text read by the same rule tables as ``diagnose``."""

from __future__ import annotations

import json

import pytest

from assistant.probes.diagnosis import diagnose_text
from assistant.probes.observations import ObservationError


@pytest.mark.parametrize("text,system,cause", [
    ("0x80040408", "quickbooks_desktop", "quickbooks_desktop.not_running_no_unattended_access"),
    ("Error -2147220460 while opening the file", "quickbooks_desktop",
     "quickbooks_desktop.modal_dialog_open"),
    ("20260101.11:02:03 UTC : QBWebConnector.SOAPWebService.do_authenticate() : QBWC1012: "
     "Authentication failed due to following error message. Could not establish trust "
     "relationship for the SSL/TLS secure channel.", "quickbooks_desktop",
     "quickbooks_desktop.agent_cannot_reach_service"),
    ("INVALID_SESSION_ID", "salesforce", "salesforce.session_expired"),
    ('[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]',
     "salesforce", "salesforce.daily_api_limit_exceeded"),
    ("sf:LOGIN_MUST_USE_SECURITY_TOKEN: Invalid username, password, security token; or user "
     "locked out.", "salesforce", "salesforce.authentication_failure"),
    ("message=AuthenticationFailed; errorCode=003200; statusCode=401", "quickbooks_online",
     "quickbooks_online.access_token_expired"),
    ("Intuit Fault code 3100", "quickbooks_online", "quickbooks_online.app_not_authorized"),
    ("Salesforce redirect: error=access_denied&error_description=end-user+denied+authorization",
     "salesforce", "salesforce.oauth_incomplete"),
    ('Salesforce token: {"error":"invalid_grant","error_description":"inactive user"}',
     "salesforce",
     "salesforce.inactive_user"),
])
def test_pasted_text_is_recognised(text, system, cause):
    result = diagnose_text(text)
    assert (result.system, result.cause) == (system, cause), result.to_json()
    assert result.evidence["rule_source"].startswith("http") and result.evidence["rule_entry"]
    json.dumps(result.to_json())


def test_text_several_vendors_read_differently_is_unknown_unless_a_vendor_is_named():
    result = diagnose_text('{"error": "invalid_grant"}')
    assert (result.system, result.cause) == ("", "unknown")
    assert {c["system"] for c in result.evidence["candidates"]} == {"salesforce",
                                                                    "quickbooks_online"}
    named = diagnose_text("QuickBooks Online said invalid_grant")
    assert named.cause == "quickbooks_online.reconnect_required"
    assert diagnose_text('{"error": "invalid_grant"}', system="salesforce").cause == \
        "salesforce.reconnect_required"


@pytest.mark.parametrize("text", ["", "   ", "hello world", "Everything worked fine today",
                                  "0x80070005 Access is denied"])
def test_unrecognised_text_is_unknown(text):
    result = diagnose_text(text)
    assert (result.system, result.cause) == ("", "unknown")
    assert "rule_source" not in result.evidence


def test_bad_arguments_raise():
    with pytest.raises(TypeError):
        diagnose_text(None)
    with pytest.raises(ObservationError):
        diagnose_text("x", system="sap")
