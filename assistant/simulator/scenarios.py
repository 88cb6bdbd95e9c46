"""What each scenario answers: the real wire signal of every cause in the catalogue
(``fixtures/README.md``), on the endpoint where the vendor sends it.

``CAUSE_RESPONSES[system][scenario][endpoint] = (status, content_type, body)``; endpoints a
scenario does not name answer as ``healthy``. Bodies are the vendors' own formats, taken from
``fixtures/observations.yaml`` and the documentation cited there. Entries marked UNVERIFIED use
a message written from the cause's meaning, not a captured vendor string.
"""

from __future__ import annotations

import json

SF_JSON = "application/json;charset=UTF-8"
JSON = "application/json"
XML = "application/xml"
HTML = "text/html"

GENERIC = ("slow", "hung", "html_error", "garbage")

_QBO_3200 = ('{"fault":{"error":[{"message":"message=AuthenticationFailed; errorCode=003200; '
             'statusCode=401","detail":null,"code":"3200","element":null}],'
             '"type":"AUTHENTICATION"},"time":1700000000000}')
_QBO_11014 = ('{"Fault":{"Error":[{"Message":"Authorization Failure",'
              '"Detail":"AuthorizationFailure: -11014-You do not have access to use '
              'QuickBooks Online., statusCode: 401",'
              '"code":"120","element":""}],"type":"AuthorizationFault"},'
              '"time":"2026-11-29T01:02:03.456-08:00"}')
_QBO_3100 = ('{"fault":{"error":[{"message":"message=ApplicationAuthorizationFailed; '
             'errorCode=003100; statusCode=403","detail":null,"code":"3100","element":null}],'
             '"type":"SERVICE"},"time":1700000000000}')
# https://github.com/ruckus/quickbooks-ruby/issues/321
_QBO_7001 = ('{"fault":{"error":[{"message":"message=Subscription for company has lapsed or '
             'Invalid destination URL is used. Sandbox company works with Sandbox URL and '
             'Production company works with Production URL.; errorCode=007001; statusCode=400",'
             '"detail":null,"code":"7001","element":null}],"type":"SERVICE"},'
             '"time":1700000000000}')
_QBO_THROTTLE = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><IntuitResponse '
                 'xmlns="http://schema.intuit.com/finance/v3" time="2026-11-29T01:02:03.456-08:00">'
                 '<Fault type="SERVICE"><Error code="3001"><Message>message=ThrottleExceeded; '
                 'errorCode=003001; statusCode=429</Message><Detail>The request limit was reached.'
                 '  Try again later</Detail></Error></Fault></IntuitResponse>')
HTML_503 = ('<html><head><title>503 Service Temporarily Unavailable</title></head><body><center>'
            '<h1>503 Service Temporarily Unavailable</h1></center></body></html>')
HTML_502 = ('<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway'
            '</h1></center><hr><center>nginx</center></body></html>')

STATUSPAGE_MAJOR = ("major", "Partial System Outage")
TRUST_MAJOR = "MAJOR_INCIDENT_CORE"


def _sf_token_error(error: str, description: str) -> dict:
    body = json.dumps({"error": error, "error_description": description}, separators=(",", ":"))
    return {"token": (400, SF_JSON, body)}


def _agent(connected: bool, hresult: str | None, message: str | None,
           last_seen_ago: int = 30) -> dict:
    return {"agent_status": ("agent", connected, hresult, message, last_seen_ago)}


CAUSE_RESPONSES: dict[str, dict[str, dict]] = {
    "salesforce": {
        "salesforce.oauth_incomplete": _sf_token_error(
            "invalid_grant", "user hasn't approved this consumer"),
        "salesforce.daily_api_limit_exceeded": {
            "limits": ("limits_exhausted",),
            "rest_api": (403, SF_JSON, '[{"message":"TotalRequests Limit exceeded.",'
                                       '"errorCode":"REQUEST_LIMIT_EXCEEDED"}]'),
        },
        "salesforce.session_expired": {
            "limits": (401, SF_JSON, '[{"message":"Session expired or invalid",'
                                     '"errorCode":"INVALID_SESSION_ID"}]'),
            "rest_api": (401, SF_JSON, '[{"message":"Session expired or invalid",'
                                       '"errorCode":"INVALID_SESSION_ID"}]'),
        },
        "salesforce.reconnect_required": _sf_token_error(
            "invalid_grant", "expired access/refresh token"),
        "salesforce.authentication_failure": _sf_token_error(
            "invalid_grant", "authentication failure"),
        "salesforce.inactive_user": _sf_token_error("inactive_user", "user is inactive"),
        "salesforce.invalid_client_id": _sf_token_error(
            "invalid_client_id", "client identifier invalid"),
        "salesforce.login_restricted": _sf_token_error(
            "invalid_grant", "ip restricted or invalid login hours"),
        "salesforce.service_incident": {"status_page": ("trust", TRUST_MAJOR)},
    },
    "quickbooks_online": {
        "quickbooks_online.service_unavailable": {
            "company_info": (503, HTML, HTML_503),
            "status_page": ("statuspage", *STATUSPAGE_MAJOR),
        },
        "quickbooks_online.access_token_expired": {"company_info": (401, JSON, _QBO_3200)},
        "quickbooks_online.reconnect_required": {
            "token": (400, JSON, '{"error":"invalid_grant"}')},
        "quickbooks_online.user_lacks_access": {"company_info": (401, JSON, _QBO_11014)},
        "quickbooks_online.wrong_environment": {"company_info": (400, JSON, _QBO_7001)},
        "quickbooks_online.app_not_authorized": {"company_info": (403, JSON, _QBO_3100)},
        "quickbooks_online.throttled": {"company_info": (429, XML, _QBO_THROTTLE)},
        "quickbooks_online.invalid_client_credentials": {
            "token": (401, JSON, '{"error":"invalid_client"}')},
    },
    "quickbooks_desktop": {
        "quickbooks_desktop.agent_offline": _agent(False, None, None, last_seen_ago=7200),
        "quickbooks_desktop.not_running_no_unattended_access": _agent(
            True, "0x80040416", "If QuickBooks is not running, the company data file name must "
                                "be supplied to BeginSession."),
        "quickbooks_desktop.authorization_pending": _agent(
            True, "0x80040418", "This application has not accessed this QuickBooks company data "
                                "file before. The QuickBooks administrator must grant an "
                                "application permission to access a QuickBooks company data "
                                "file for the first time."),
        "quickbooks_desktop.modal_dialog_open": _agent(
            True, "0x80040414", "A modal dialog box is showing in the QuickBooks user interface. "
                                "Your application cannot access QuickBooks until the user "
                                "dismisses the dialog box."),
        # UNVERIFIED: no public HRESULT found for "login user already in use"; message only.
        "quickbooks_desktop.login_user_in_use": _agent(
            True, None, "The QuickBooks user this application logs in as is already logged in "
                        "to the company file on another computer."),
        "quickbooks_desktop.access_denied": _agent(
            True, "0x8004041A", "This application does not have permission to access this "
                                "QuickBooks company data file. The QuickBooks administrator can "
                                "grant access permission through the Integrated Application "
                                "preferences."),
        "quickbooks_desktop.company_file_mismatch": _agent(
            True, "0x8004040A", "A QuickBooks company data file is already open and it is "
                                "different from the one requested."),
        "quickbooks_desktop.file_mode_conflict": _agent(
            True, "0x80040422", "This application requires Single User file access mode and "
                                "there is already another application sharing data with this "
                                "QuickBooks company data file."),
        "quickbooks_desktop.quickbooks_starting": _agent(
            True, "0x80040424", "QuickBooks did not finish its initialization. Please try again "
                                "later."),
        # UNVERIFIED: message only, no confirmed HRESULT.
        "quickbooks_desktop.version_mismatch": _agent(
            True, None, "The version of QuickBooks currently running does not match the "
                        "version of the company data file."),
        "quickbooks_desktop.agent_cannot_reach_service": _agent(
            False, None, "QBWC1012: Authentication failed due to following error message. The "
                         "underlying connection was closed: The connection was closed "
                         "unexpectedly.", last_seen_ago=900),
        "quickbooks_desktop.not_a_connection_problem": _agent(
            True, "0x80040400", "QuickBooks found an error when parsing the provided XML text "
                                "stream."),
    },
}

# Healthy connections the probe must still read right: an integration user without "View Setup
# and Configuration" gets 403 from /limits (the probe then reads the quota from the query's
# Sforce-Limit-Info header). UNVERIFIED: the message is written from the permission's meaning.
EXTRA_RESPONSES: dict[str, dict[str, dict]] = {
    "salesforce": {
        "limits_forbidden": {
            "limits": (403, SF_JSON, '[{"message":"Insufficient privileges: View Setup and '
                                     'Configuration is required to view org limits.",'
                                     '"errorCode":"INSUFFICIENT_ACCESS"}]')},
    },
}


def responses(system: str, scenario: str) -> dict:
    """``{endpoint: spec}`` a scenario answers on (empty for healthy and generic ones)."""
    return (CAUSE_RESPONSES.get(system, {}).get(scenario)
            or EXTRA_RESPONSES.get(system, {}).get(scenario) or {})


def available(system: str) -> list[str]:
    """Scenario names for ``system``: healthy, every cause, the system's other healthy-but-
    different scenarios, then the generic failures."""
    return ["healthy", *CAUSE_RESPONSES[system], *EXTRA_RESPONSES.get(system, {}), *GENERIC]
