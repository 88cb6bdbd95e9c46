"""Diagnosis of probe observations: the shared fixtures, other real vendor signals of every
catalogue cause, unrecognised signals, combination rules, observation validation and the
``assistant diagnose`` command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from assistant.cli import main
from assistant.probes.diagnosis import (
    OUTCOMES_EXTRA,
    SYSTEMS,
    Diagnosis,
    cause_title,
    causes_for,
    diagnose,
)
from assistant.probes.observations import ObservationError, parse_case, parse_observation
from assistant.probes.ruleset import load_rules

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "observations.yaml"
SHARED = REPO.parent / "shared" / "fixtures"
CASES = yaml.safe_load(FIXTURES.read_text(encoding="utf-8"))


def http(endpoint, status, body="", **headers):
    return {"kind": "http", "endpoint": endpoint, "status": status,
            "headers": headers or {"Content-Type": "application/json"}, "body": body}


def sdk(hresult, message=""):
    return {"kind": "sdk_error", "hresult": hresult, "message": message}


def log(text):
    return {"kind": "log_line", "text": text}


def qbo_fault(code, message, detail="", ftype="SERVICE", status=400, lowercase=True):
    if lowercase:
        body = {"fault": {"error": [{"message": message, "detail": detail or None,
                                     "code": str(code), "element": None}], "type": ftype},
                "time": 1700000000000}
    else:
        body = {"Fault": {"Error": [{"Message": message, "Detail": detail, "code": str(code)}],
                          "type": ftype}, "time": "2026-11-29T01:02:03.456-08:00"}
    return http("company_info", status, json.dumps(body))


def qbo_xml_fault(code, message, detail, ftype, status):
    return http("company_info", status,
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><IntuitResponse '
                'xmlns="http://schema.intuit.com/finance/v3" time="2026-11-29T01:02:03Z">'
                f'<Fault type="{ftype}"><Error code="{code}"><Message>{message}</Message>'
                f'<Detail>{detail}</Detail></Error></Fault></IntuitResponse>',
                **{"Content-Type": "application/xml"})


def oauth(status, error, description=None):
    body = {"error": error}
    if description is not None:
        body["error_description"] = description
    return http("token", status, json.dumps(body))


def soap_fault(code, message, endpoint="rest_api", status=500):
    """A SOAP 1.1 fault as Salesforce's SOAP API sends it (partner WSDL, ``sf:`` codes)."""
    return http(endpoint, status,
                '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://'
                'schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com"'
                ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
                f'<soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{code}: {message}'
                '</faultstring><detail><sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>'
                f'{code}</sf:exceptionCode><sf:exceptionMessage>{message}</sf:exceptionMessage>'
                '</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>',
                **{"Content-Type": "text/xml;charset=UTF-8"})


def sf_rest(status, code, message, endpoint="rest_api", **headers):
    return http(endpoint, status, json.dumps([{"message": message, "errorCode": code}]),
                **headers)


# --- the shared fixtures ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ["observations.yaml", "README.md"])
def test_fixture_copy_is_identical_to_shared_file(name):
    shared = SHARED / name
    if not shared.exists():
        pytest.skip("shared fixtures not present beside the repository")
    assert shared.read_bytes() == (FIXTURES.parent / name).read_bytes(), (
        f"tests/fixtures/{name} is out of sync: copy ../shared/fixtures/ again")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_fixture_case(case):
    expected = case["cause"] if isinstance(case["cause"], list) else [case["cause"]]
    system, observations = parse_case(case)
    result = diagnose(system, observations)
    assert result.cause in expected, result.explanation
    assert result.explanation and result.system == case["system"]
    json.dumps(result.to_json())  # JSON-safe


def _readme_causes() -> list[str]:
    readme = FIXTURES.parent / "README.md"  # the cause catalogue (a copy, checked above)
    return re.findall(r"^\|\s*((?:quickbooks_desktop|quickbooks_online|salesforce)\.\w+)\s*\|",
                      readme.read_text(encoding="utf-8"), re.MULTILINE)


def test_every_readme_cause_is_in_the_catalogue_and_has_a_rule():
    causes = _readme_causes()
    assert len(causes) >= 29
    ruled = {rule.cause for sections in load_rules().rules.values()
             for rules in sections.values() for rule in rules}
    for cause in causes:
        system = cause.split(".")[0]
        assert cause in causes_for(system), cause
        assert cause in ruled, f"{cause} has no rule"
        assert cause_title(cause)
    assert set(causes) == {c for s in SYSTEMS for c in causes_for(s)}


def test_every_rule_cites_a_source_url():
    for sections in load_rules().rules.values():
        for rules in sections.values():
            for rule in rules:
                assert re.match(r"https?://", rule.source), rule


def test_titles_for_extra_outcomes():
    assert OUTCOMES_EXTRA == ("connected", "unknown", "timeout", "unavailable")
    for outcome in OUTCOMES_EXTRA:
        assert cause_title(outcome)
    assert cause_title("salesforce.daily_api_limit_exceeded") == "Daily API request limit used up"


# --- other real signals, per cause -----------------------------------------------------------

VARIANTS = [
    # QuickBooks Desktop. HRESULTs: Intuit qbXML SDK error table (QBD-errorcodes.html),
    # "Supporting your user" and docs.conductor.is/api-ref/errors.
    ("quickbooks_desktop", [sdk("0x80040408", "Could not start QuickBooks.")],
     "quickbooks_desktop.not_running_no_unattended_access"),
    ("quickbooks_desktop", [sdk("0x8004041d", "This application is not allowed to log into "
                                "this QuickBooks company data file automatically.")],
     "quickbooks_desktop.not_running_no_unattended_access"),
    # same HRESULT given as a signed 32-bit integer, as .NET COMException.HResult reports it
    ("quickbooks_desktop", [sdk(-2147220458, "")],
     "quickbooks_desktop.not_running_no_unattended_access"),
    ("quickbooks_desktop", [sdk("0x80040420", "The QuickBooks user has denied access.")],
     "quickbooks_desktop.access_denied"),
    ("quickbooks_desktop", [sdk("0x8004040A", "A QuickBooks company data file is already open "
                                "and it is different from the one requested.")],
     "quickbooks_desktop.company_file_mismatch"),
    ("quickbooks_desktop", [sdk("0x80040417", "If the QuickBooks company data file is not "
                                "open, a call to BeginSession must include its name.")],
     "quickbooks_desktop.company_file_mismatch"),
    ("quickbooks_desktop", [sdk("0x80040410", "The QuickBooks company data file is currently "
                                "open in a mode other than the one specified.")],
     "quickbooks_desktop.file_mode_conflict"),
    ("quickbooks_desktop", [sdk("0x80040400", "QuickBooks found an error when parsing the "
                                "provided XML text stream.")],
     "quickbooks_desktop.not_a_connection_problem"),
    # QBWC Programmer's Guide, appendix A: QBWC1013 carries QuickBooks' own message
    ("quickbooks_desktop", [log("QBWC1013: Error connecting to QuickBooks. Returning error "
                                "message to application. A modal dialog box is showing in the "
                                "QuickBooks user interface.")],
     "quickbooks_desktop.modal_dialog_open"),
    ("quickbooks_desktop", [log("QBWC1012: Authentication failed due to following error message."
                                " Could not establish trust relationship for the SSL/TLS secure "
                                "channel.")],
     "quickbooks_desktop.agent_cannot_reach_service"),
    ("quickbooks_desktop", [log("Error 80040418: This application has not accessed this "
                                "QuickBooks company data file before.")],
     "quickbooks_desktop.authorization_pending"),
    # clearify.com wiki, error 80040408 cause 2: the login user is in use elsewhere
    ("quickbooks_desktop", [log("QuickBooks: the user Admin is already logged in on another "
                                "computer.")],
     "quickbooks_desktop.login_user_in_use"),
    # Intuit "Supporting your user": incompatible versions of QuickBooks and company file
    ("quickbooks_desktop", [log("The company file was created with a newer version of "
                                "QuickBooks and cannot be opened.")],
     "quickbooks_desktop.version_mismatch"),
    ("quickbooks_desktop", [log('<CustomerAddRs statusCode="3100" statusSeverity="Error" '
                                'statusMessage="The name of the list element is already in use."'
                                '/>')],
     "quickbooks_desktop.not_a_connection_problem"),
    ("quickbooks_desktop", [http("agent_status", 200, json.dumps(
        {"connected": False, "last_seen": "2026-11-20T08:14:00Z",
         "last_error": {"hresult": "0x80040424", "message": "QuickBooks did not finish its "
                                                            "initialization."}}))],
     "quickbooks_desktop.quickbooks_starting"),
    # agent status with no HRESULT: the message is read like a log line
    ("quickbooks_desktop", [http("agent_status", 200, json.dumps(
        {"connected": True, "last_seen": "2026-11-29T09:00:00Z",
         "last_error": {"hresult": None, "message": "This application requires Single User "
                                                    "file access mode."}}))],
     "quickbooks_desktop.file_mode_conflict"),

    # QuickBooks Online. Fault codes: Intuit error-codes page and public bug reports.
    ("quickbooks_online", [qbo_fault(3200, "message=ApplicationAuthenticationFailed; "
                                     "errorCode=003200; statusCode=401", status=401,
                                     lowercase=False)],
     "quickbooks_online.access_token_expired"),
    # bare 401 with a WWW-Authenticate header and no body (Intuit OAuth FAQ: token expired)
    ("quickbooks_online", [http("company_info", 401, "",
                                **{"WWW-Authenticate": 'Bearer realm="Intuit"'})],
     "quickbooks_online.access_token_expired"),
    ("quickbooks_online", [qbo_xml_fault(3100, "message=ApplicationAuthorizationFailed; "
                                         "errorCode=003100; statusCode=403", "", "SERVICE", 403)],
     "quickbooks_online.app_not_authorized"),
    # minimul/qbo_api#138: 3100 reported as error_code with the "Application..." message
    ("quickbooks_online", [qbo_fault("003100", "message=ApplicationAuthorizationFailed; "
                                     "errorCode=003100; statusCode=403", status=403)],
     "quickbooks_online.app_not_authorized"),
    ("quickbooks_online", [{"kind": "oauth_callback",
                            "query": "error=access_denied&state=xyz"}],
     "quickbooks_online.app_not_authorized"),
    # ruckus/quickbooks-ruby#321: sandbox company called on the production URL
    ("quickbooks_online", [qbo_fault(7001, "message=Subscription for company has lapsed or "
                                     "Invalid destination URL is used. Sandbox company works "
                                     "with Sandbox URL and Production company works with "
                                     "Production URL.; errorCode=007001; statusCode=400")],
     "quickbooks_online.wrong_environment"),
    # routablehq/python-quickbooks#369: XML fault 130 "Accessing Wrong Cluster"
    ("quickbooks_online", [qbo_xml_fault(130, "Accessing Wrong Cluster", "WrongClusterError: "
                                         "-11017-You have accessed the wrong server.",
                                         "AuthenticationFault", 401)],
     "quickbooks_online.wrong_environment"),
    ("quickbooks_online", [qbo_xml_fault(120, "Authorization Failure", "AuthorizationFailure: "
                                         "-11014-You do not have access to use QuickBooks "
                                         "Online., statusCode: 401", "AuthorizationFault", 401)],
     "quickbooks_online.user_lacks_access"),
    # 429 with an HTML body and Retry-After: throttled whatever the body says
    ("quickbooks_online", [http("company_info", 429, "<html>Too Many Requests</html>",
                                **{"Retry-After": "60", "Content-Type": "text/html"})],
     "quickbooks_online.throttled"),
    ("quickbooks_online", [http("company_info", 502, "<html><h1>502 Bad Gateway</h1></html>",
                                **{"Content-Type": "text/html"})],
     "quickbooks_online.service_unavailable"),
    # Statuspage status.json of status.developer.intuit.com
    ("quickbooks_online", [http("status_page", 200, json.dumps(
        {"page": {"id": "x", "name": "Intuit Developer"},
         "status": {"indicator": "major", "description": "Partial System Outage"}}))],
     "quickbooks_online.service_unavailable"),
    ("quickbooks_online", [oauth(400, "invalid_grant", "Incorrect or invalid refresh token")],
     "quickbooks_online.reconnect_required"),
    ("quickbooks_online", [oauth(401, "invalid_client", "Client authentication failed")],
     "quickbooks_online.invalid_client_credentials"),

    # Salesforce. OAuth errors: help.salesforce.com "OAuth 2.0 flow errors".
    ("salesforce", [oauth(400, "invalid_grant", "inactive user")], "salesforce.inactive_user"),
    ("salesforce", [oauth(400, "invalid_grant", "IP restricted or invalid login hours")],
     "salesforce.login_restricted"),
    ("salesforce", [oauth(400, "invalid_client_id", "client identifier invalid")],
     "salesforce.invalid_client_id"),
    ("salesforce", [oauth(400, "invalid_client", "invalid client credentials")],
     "salesforce.invalid_client_id"),
    ("salesforce", [oauth(400, "invalid_grant", "token validity expired")],
     "salesforce.reconnect_required"),
    ("salesforce", [oauth(400, "invalid_grant", "Authentication Failure")],
     "salesforce.authentication_failure"),
    ("salesforce", [{"kind": "oauth_callback",
                     "query": "error=access_denied&error_description=end-user%20denied%20"
                              "authorization"}],
     "salesforce.oauth_incomplete"),
    ("salesforce", [{"kind": "oauth_callback", "query": "?error=consent_required&state=1"}],
     "salesforce.oauth_incomplete"),
    # REST API errorCodes: developer.salesforce.com api_rest errorcodes
    ("salesforce", [sf_rest(403, "API_DISABLED_FOR_ORG", "The REST API is not enabled for this "
                                                          "Organization.")],
     "salesforce.authentication_failure"),
    ("salesforce", [sf_rest(401, "INVALID_SESSION_ID", "This session is not valid for use "
                                                        "with the REST API", endpoint="limits")],
     "salesforce.session_expired"),
    # SOAP fault of the same error code
    ("salesforce", [http("rest_api", 500,
                         '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.'
                         'xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.'
                         'com"><soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_SESSION_ID'
                         '</faultcode><faultstring>INVALID_SESSION_ID: Invalid Session ID found'
                         ' in SessionHeader</faultstring></soapenv:Fault></soapenv:Body>'
                         '</soapenv:Envelope>', **{"Content-Type": "text/xml"})],
     "salesforce.session_expired"),
    # LOGIN_DURING_RESTRICTED_TIME is a SOAP login() ExceptionCode: a fault sent with HTTP 500
    # as SOAP sends every fault (the same code as JSON under a 500 is a disagreement, below)
    ("salesforce", [soap_fault("LOGIN_DURING_RESTRICTED_TIME", "Login during restricted time",
                               endpoint="token")],
     "salesforce.login_restricted"),
    # Sforce-Limit-Info header on an otherwise successful answer
    ("salesforce", [http("rest_api", 200, '{"totalSize":0,"done":true,"records":[]}',
                         **{"Sforce-Limit-Info": "api-usage=15000/15000"})],
     "salesforce.daily_api_limit_exceeded"),
    # Trust API instance status
    ("salesforce", [http("status_page", 200, json.dumps(
        {"key": "NA224", "location": "NA", "environment": "production",
         "status": "MAJOR_INCIDENT_CORE", "isActive": True,
         "Incidents": [{"id": 12345}], "Maintenances": []}))],
     "salesforce.service_incident"),
    ("salesforce", [http("rest_api", 503, "<html><body>Service Unavailable</body></html>",
                         **{"Content-Type": "text/html"})],
     "salesforce.service_incident"),
]


@pytest.mark.parametrize("system,observations,expected", VARIANTS,
                         ids=[f"{v[0]}-{i}-{v[2].split('.')[-1]}"
                              for i, v in enumerate(VARIANTS)])
def test_other_real_signals(system, observations, expected):
    result = diagnose(system, observations)
    assert result.cause == expected, result.explanation
    assert result.evidence.get("rule_source", "").startswith("http")


def test_every_catalogue_cause_is_reached_by_some_test_signal():
    reached = {v[2] for v in VARIANTS} | {
        c["cause"] for c in CASES if isinstance(c["cause"], str)}
    missing = {c for s in SYSTEMS for c in causes_for(s)} - reached
    assert not missing


# --- unrecognised signals: never a confident cause ---------------------------------------------

UNKNOWN = [
    ("quickbooks_desktop", [sdk("0x8004DEAD", "Something odd happened.")]),
    ("quickbooks_desktop", [log("QBWC1085: QuickBooks was unable to write to the log file.")]),
    ("quickbooks_desktop", [http("agent_status", 200, "<html>not json</html>")]),
    ("quickbooks_desktop", [http("agent_status", 200, "")]),
    ("quickbooks_desktop", [http("agent_status", 200, '{"connected": "yes"}')]),
    ("quickbooks_online", [qbo_fault(6000, "A business validation error has occurred")]),
    ("quickbooks_online", [http("company_info", 200, "<<garbage>>")]),
    ("quickbooks_online", [http("company_info", 200, "")]),
    ("quickbooks_online", [http("company_info", 500, "<html>Internal error</html>")]),
    ("quickbooks_online", [http("company_info", 403, '{"fault": 42}')]),
    ("quickbooks_online", [oauth(400, "invalid_request")]),
    ("quickbooks_online", [http("company_info", 200, "<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>")]),
    ("salesforce", [sf_rest(400, "SOME_NEW_ERROR", "Never seen before")]),
    ("salesforce", [sf_rest(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit "
                                                           "exceeded.")]),
    ("salesforce", [oauth(400, "invalid_grant", "some brand new reason")]),
    ("salesforce", [http("limits", 200, '{"DailyApiRequests": {"Max": "lots"}}')]),
    ("salesforce", [http("rest_api", 200, "not json at all")]),
    ("salesforce", [http("status_page", 200, '{"status": "SOMETHING_NEW"}')]),
    ("salesforce", []),
    ("salesforce", [{"kind": "token", "issued_seconds_ago": 10, "expires_in": 7200}]),
]


@pytest.mark.parametrize("system,observations", UNKNOWN,
                         ids=[f"{u[0]}-{i}" for i, u in enumerate(UNKNOWN)])
def test_unrecognised_signal_is_unknown(system, observations):
    result = diagnose(system, observations)
    assert result.cause == "unknown", result.explanation
    assert result.outcome == "unknown"
    json.dumps(result.to_json())


def test_unknown_hresult_is_named_in_explanation_and_evidence():
    result = diagnose("quickbooks_desktop", [sdk("0x8004dead", "Something odd happened.")])
    assert result.evidence["hresult"] == "0x8004DEAD"
    assert "0x8004DEAD, which we do not recognise" in result.explanation
    assert "Something odd happened." in result.explanation


def test_unknown_error_code_keeps_raw_code_and_status():
    result = diagnose("salesforce", [sf_rest(400, "SOME_NEW_ERROR", "Never seen before")])
    assert result.evidence["error_code"] == "SOME_NEW_ERROR"
    assert result.evidence["status"] == 400
    result = diagnose("quickbooks_online", [qbo_fault(6000, "A business validation error")])
    assert result.evidence["error_code"] == "6000"


# --- numbers, normalisation, combination -----------------------------------------------------

def test_quota_numbers_in_explanation_and_evidence_strings_or_numbers():
    for limit, remaining in ((15000, 0), ("15000", "0"), ("15,000", "-3")):
        body = json.dumps({"DailyApiRequests": {"Max": limit, "Remaining": remaining}})
        result = diagnose("salesforce", [http("limits", 200, body)])
        assert result.cause == "salesforce.daily_api_limit_exceeded"
        assert "15,000 of 15,000" in result.explanation or "15,003 of 15,000" in \
            result.explanation
        assert result.evidence["max"] == 15000


def test_limits_with_quota_left_are_connected_with_numbers():
    body = json.dumps({"DailyApiRequests": {"Max": "5000", "Remaining": "4980"}})
    result = diagnose("salesforce", [http("limits", 200, body)])
    assert result.cause == "connected"
    assert result.evidence == {"endpoint": "limits", "status": 200, "max": 5000,
                               "remaining": 4980, "used": 20, "quota_source": "limits"}


def test_limit_header_numbers_on_a_limit_error():
    obs = sf_rest(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.",
                  **{"Sforce-Limit-Info": "api-usage=15000/15000"})
    result = diagnose("salesforce", [obs])
    assert result.cause == "salesforce.daily_api_limit_exceeded"
    assert "15,000 of 15,000 daily API requests used" in result.explanation
    assert (result.evidence["used"], result.evidence["max"]) == (15000, 15000)


def test_codes_compare_numerically_and_case_insensitively():
    for hresult in ("0x8004041a", "0x8004041A", "8004041A", 2147746842):
        assert diagnose("quickbooks_desktop", [sdk(hresult)]).cause == \
            "quickbooks_desktop.access_denied"
    for code in ("003200", "3200", 3200):
        assert diagnose("quickbooks_online", [qbo_fault(code, "x", status=401)]).cause == \
            "quickbooks_online.access_token_expired"


def test_header_names_are_case_insensitive_and_request_id_is_kept():
    obs = oauth(400, "invalid_grant")
    obs["headers"] = {"INTUIT_TID": "1-abc", "content-type": "application/json"}
    result = diagnose("quickbooks_online", [obs])
    assert result.evidence["request_id"] == "1-abc"
    obs = http("company_info", 429, "", **{"retry-after": "30"})
    result = diagnose("quickbooks_online", [obs])
    assert result.evidence["retry_after"] == 30
    assert "30 seconds" in result.explanation


def test_latest_observation_per_endpoint_counts():
    expired = qbo_fault(3200, "AuthenticationFailed", status=401)
    ok = http("company_info", 200, '{"CompanyInfo": {"CompanyName": "Example"}}')
    assert diagnose("quickbooks_online", [expired, ok]).cause == "connected"
    assert diagnose("quickbooks_online", [ok, expired]).cause == \
        "quickbooks_online.access_token_expired"


def test_recognised_failure_beats_connected_and_unknown():
    ok = http("company_info", 200, '{"CompanyInfo": {"CompanyName": "Example"}}')
    bad_token = oauth(400, "invalid_grant")
    weird = {"kind": "log_line", "text": "something nobody has seen"}
    result = diagnose("quickbooks_online", [ok, bad_token, weird])
    assert result.cause == "quickbooks_online.reconnect_required"
    assert any(s["cause"] == "unknown" for s in result.evidence["also_seen"])


def test_root_cause_beats_refresh_fix():
    session = sf_rest(401, "INVALID_SESSION_ID", "Session expired or invalid")
    revoked = oauth(400, "invalid_grant", "expired access/refresh token")
    assert diagnose("salesforce", [revoked, session]).cause == "salesforce.reconnect_required"
    incident = http("status_page", 200, json.dumps({"status": "MAJOR_INCIDENT_CORE"}))
    assert diagnose("salesforce", [session, incident]).cause == "salesforce.service_incident"
    # maintenance only supports an outage when the API failed: here it answered (401)
    maintenance = http("status_page", 200, json.dumps({"status": "MAINTENANCE_CORE"}))
    result = diagnose("salesforce", [session, maintenance])
    assert result.cause == "salesforce.session_expired"
    assert result.evidence["trust_status"] == "MAINTENANCE_CORE"
    assert "MAINTENANCE_CORE" in result.explanation


def test_token_age_alone_and_with_a_401():
    token = {"kind": "token", "issued_seconds_ago": 5400, "expires_in": 3600}
    alone = diagnose("quickbooks_online", [token])
    assert alone.cause == "quickbooks_online.access_token_expired"
    assert alone.evidence["token_age_seconds"] == 5400
    assert "5,400 seconds" in alone.explanation and "3,600 seconds" in alone.explanation
    with_401 = diagnose("salesforce", [token, sf_rest(401, "INVALID_SESSION_ID", "expired")])
    assert with_401.cause == "salesforce.session_expired"
    assert with_401.evidence["token_lifetime_seconds"] == 3600
    fresh = {"kind": "token", "issued_seconds_ago": 60, "expires_in": 3600}
    result = diagnose("quickbooks_online", [fresh, qbo_fault(120, "Authorization Failure")])
    assert result.cause == "quickbooks_online.user_lacks_access"
    assert result.evidence["token_expired"] is False


def test_transport_errors_only_give_timeout_or_unavailable():
    timeout = {"kind": "transport", "error": "timeout", "endpoint": "company_info"}
    refused = {"kind": "transport", "error": "connection_refused", "endpoint": "token"}
    result = diagnose("quickbooks_online", [timeout, refused])
    assert (result.cause, result.outcome) == ("unknown", "timeout")
    assert result.to_json()["title"] == cause_title("timeout")
    result = diagnose("salesforce", [{"kind": "transport", "error": "dns"}])
    assert (result.cause, result.outcome) == ("unknown", "unavailable")
    # a transport error then a successful retry on the same endpoint is healthy
    ok = http("company_info", 200, '{"CompanyInfo": {}}')
    ok_body = http("company_info", 200, '{"CompanyInfo": {"Id": "1"}}')
    assert diagnose("quickbooks_online", [timeout, ok_body]).cause == "connected"
    assert diagnose("quickbooks_online", [timeout, ok]).outcome == "connected"
    # a recognised failure beats transport errors
    result = diagnose("quickbooks_online", [refused, qbo_fault(3100, "x", status=403)])
    assert result.outcome == "quickbooks_online.app_not_authorized"


def test_to_json_shape():
    result = diagnose("salesforce", [oauth(400, "invalid_grant", "inactive user")])
    data = result.to_json()
    assert set(data) == {"system", "cause", "outcome", "title", "explanation", "evidence"}
    assert data["title"] == cause_title("salesforce.inactive_user")
    assert data["evidence"]["oauth_error"] == "invalid_grant"
    assert data["evidence"]["error_description"] == "inactive user"
    assert isinstance(result, Diagnosis)


def test_causes_for_each_system():
    assert "salesforce.daily_api_limit_exceeded" in causes_for("salesforce")
    assert all(c.startswith("quickbooks_online.") for c in causes_for("quickbooks_online"))
    with pytest.raises(ObservationError):
        causes_for("netsuite")


# --- validation ------------------------------------------------------------------------------

@pytest.mark.parametrize("data,message", [
    ({"kind": "http", "endpoint": "token", "status": "401"},
     "observations[1].status: must be an integer 100-599"),
    ({"kind": "http", "endpoint": "token", "status": 99},
     "observations[1].status: must be an integer 100-599"),
    ({"kind": "http", "endpoint": "nowhere", "status": 200}, "observations[1].endpoint:"),
    ({"kind": "http", "endpoint": "token"}, "observations[1].status: required"),
    ({"kind": "http", "endpoint": "token", "status": 200, "headers": []},
     "observations[1].headers: must be a mapping"),
    ({"kind": "http", "endpoint": "token", "status": 200, "body": 5},
     "observations[1].body: must be a string"),
    ({"kind": "sdk_error", "hresult": "banana"}, "observations[1].hresult:"),
    ({"kind": "token", "issued_seconds_ago": "soon", "expires_in": 3600},
     "observations[1].issued_seconds_ago:"),
    ({"kind": "transport", "error": "gremlins"}, "observations[1].error: must be one of"),
    ({"kind": "teleport"}, "observations[1].kind: must be one of"),
    ({"kind": "log_line", "text": "x", "colour": "red"}, "observations[1].colour: unknown key"),
    ("just text", "observations[1]: must be a mapping"),
])
def test_bad_observation_names_index_and_key(data, message):
    good = {"kind": "log_line", "text": "fine"}
    with pytest.raises(ObservationError) as info:
        diagnose("quickbooks_desktop", [good, data])
    assert str(info.value).startswith(message)


def test_parse_case_checks_system_and_keys_and_ignores_extra():
    system, observations = parse_case({"id": "X", "cause": "c", "source": "s",
                                       "system": "salesforce", "observations": []})
    assert (system, observations) == ("salesforce", [])
    for data, message in (([], "case: must be a mapping"),
                          ({"system": "salesforce"}, "observations: required"),
                          ({"system": "sap", "observations": []}, "system: must be one of"),
                          ({"system": "salesforce", "observations": "x"},
                           "observations: must be a list")):
        with pytest.raises(ObservationError, match=message):
            parse_case(data)


def test_transport_endpoint_and_case_insensitive_headers():
    obs = parse_observation({"kind": "transport", "error": "tls", "endpoint": "token"})
    assert obs.endpoint == "token"
    obs = parse_observation({"kind": "http", "endpoint": "rest_api", "status": 200,
                             "headers": {"Sforce-Limit-Info": "api-usage=1/2"}})
    assert obs.headers.get("sforce-limit-info") == "api-usage=1/2"


# --- the command line ------------------------------------------------------------------------

def test_cli_reads_json_from_stdin():
    case = {"system": "salesforce", "observations": [
        http("limits", 200, '{"DailyApiRequests":{"Max":15000,"Remaining":0}}')]}
    result = CliRunner().invoke(main, ["diagnose"], input=json.dumps(case))
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["cause"] == "salesforce.daily_api_limit_exceeded"
    assert "15,000 of 15,000" in data["explanation"]


def test_cli_reads_a_yaml_file_and_unknown_exits_0(tmp_path):
    path = tmp_path / "case.yaml"
    path.write_text("system: quickbooks_desktop\nobservations:\n"
                    "  - {kind: sdk_error, hresult: '0x8004DEAD', message: odd}\n")
    result = CliRunner().invoke(main, ["diagnose", str(path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["outcome"] == "unknown"


@pytest.mark.parametrize("text,message", [
    ("system: [\n", "not valid YAML/JSON at line 2"),
    ("- 1\n- 2\n", "case: must be a mapping"),
    ("system: sap\nobservations: []\n", "system: must be one of"),
    ("system: salesforce\nobservations: [{kind: http, endpoint: token, status: abc}]\n",
     "observations[0].status: must be an integer 100-599"),
])
def test_cli_refuses_malformed_input_with_exit_2(text, message):
    result = CliRunner().invoke(main, ["diagnose", "-"], input=text)
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_cli_unreadable_file_exits_2(tmp_path):
    result = CliRunner().invoke(main, ["diagnose", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2
    assert "cannot read" in result.output


def test_broken_rules_file_names_file_and_key(monkeypatch):
    from assistant.probes import ruleset

    def fake_read(name):
        if name == "salesforce.yaml":
            return {"error_codes": [{"code": "X", "cause": "salesforce.session_expired",
                                     "source": "not a url"}]}
        return real_read(name)

    real_read = ruleset._read
    monkeypatch.setattr(ruleset, "_read", fake_read)
    ruleset.load_rules.cache_clear()
    try:
        with pytest.raises(ruleset.RulesError,
                           match=r"salesforce\.yaml: error_codes\[0\]\.source: must be an http"):
            ruleset.load_rules()
    finally:
        monkeypatch.undo()
        ruleset.load_rules.cache_clear()
    assert ruleset.load_rules().causes


# --- QA pass: contradicting observations, quotas, wording, control characters, CLI guards ---

SF_LIMITS_OK = http("limits", 200, json.dumps(
    {"DailyApiRequests": {"Max": 15000, "Remaining": 14880}}))
SF_REST_OK = http("rest_api", 200, '{"totalSize":0,"done":true,"records":[]}')
QBO_OK = http("company_info", 200, '{"CompanyInfo": {"CompanyName": "Example", "Id": "1"}}')
HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"


def trust(status):
    return http("status_page", 200, json.dumps(
        {"key": "NA135", "environment": "production", "status": status, "isActive": True,
         "Incidents": [], "Maintenances": []}))


def statuspage(indicator, description="x"):
    return http("status_page", 200, json.dumps(
        {"page": {"id": "x"}, "status": {"indicator": indicator, "description": description}}))


@pytest.mark.parametrize("system,observations,key,value", [
    ("salesforce", [SF_LIMITS_OK, SF_REST_OK, trust("MINOR_INCIDENT_CORE")],
     "trust_status", "MINOR_INCIDENT_CORE"),
    ("salesforce", [trust("MAINTENANCE_CORE"), SF_LIMITS_OK], "trust_status", "MAINTENANCE_CORE"),
    ("salesforce", [SF_REST_OK, statuspage("minor")], "status_indicator", "minor"),
    ("salesforce", [SF_REST_OK, statuspage("maintenance")], "status_indicator", "maintenance"),
    ("quickbooks_online", [QBO_OK, statuspage("minor")], "status_indicator", "minor"),
    ("quickbooks_online", [statuspage("maintenance"), QBO_OK], "status_indicator",
     "maintenance"),
])
def test_minor_incident_or_maintenance_does_not_outrank_a_healthy_api(system, observations,
                                                                      key, value):
    result = diagnose(system, observations)
    assert result.cause == "connected", result.explanation
    assert result.evidence[key] == value                 # the status stays in evidence
    assert value in result.explanation and "answered normally" in result.explanation


@pytest.mark.parametrize("system,observations,cause", [
    # no API observation: the status page is all we have
    ("salesforce", [trust("MINOR_INCIDENT_CORE")], "salesforce.service_incident"),
    ("quickbooks_online", [statuspage("maintenance")], "quickbooks_online.service_unavailable"),
    # the API itself failed: 5xx or no answer
    ("quickbooks_online", [http("company_info", 503, HTML_502, **{"Content-Type": "text/html"}),
                           statuspage("minor")], "quickbooks_online.service_unavailable"),
    ("salesforce", [{"kind": "transport", "error": "timeout", "endpoint": "limits"},
                    trust("MAINTENANCE_CORE")], "salesforce.service_incident"),
    ("salesforce", [SF_LIMITS_OK, {"kind": "transport", "error": "connection_refused",
                                   "endpoint": "rest_api"}, statuspage("minor")],
     "salesforce.service_incident"),
    # a major incident still wins over a healthy answer (the simulator's incident scenario)
    ("salesforce", [SF_LIMITS_OK, SF_REST_OK, trust("MAJOR_INCIDENT_CORE")],
     "salesforce.service_incident"),
])
def test_status_page_incident_supports_an_outage_when_the_api_failed_or_is_unseen(
        system, observations, cause):
    result = diagnose(system, observations)
    assert result.cause == cause, result.explanation


@pytest.mark.parametrize("system,observations,words", [
    ("quickbooks_online", [http("company_info", 502, HTML_502, **{"Content-Type": "text/html"}),
                           statuspage("none", "All Systems Operational")],
     ["QuickBooks Online's API (company_info) answered HTTP 502 with an error page, although "
      'its status page reports no incident (indicator "none")']),
    ("salesforce", [http("limits", 502, HTML_502, **{"Content-Type": "text/html"}),
                    trust("OK")],
     ["Salesforce's API (limits) answered HTTP 502 with an error page, although its Trust "
      'site reports "OK" for this instance']),
    ("salesforce", [sf_rest(503, "SERVER_UNAVAILABLE", "Server unavailable"), trust("OK")],
     ["SERVER_UNAVAILABLE", 'reports "OK"']),
])
def test_5xx_with_a_healthy_status_page_is_unknown_not_a_declared_outage(system, observations,
                                                                         words):
    result = diagnose(system, observations)
    assert result.cause == "unknown", result.explanation
    for text in words:
        assert text in result.explanation
    for contradiction in ("is down", "reports a problem", "reports an incident"):
        assert contradiction not in result.explanation
    assert "rule_source" not in result.evidence
    assert result.evidence["status"] >= 500
    assert result.evidence.get("status_indicator", result.evidence.get("trust_status")) in (
        "none", "OK")


def test_5xx_without_a_contradicting_status_page_is_still_the_outage():
    page = http("company_info", 502, HTML_502, **{"Content-Type": "text/html"})
    assert diagnose("quickbooks_online", [page]).cause == "quickbooks_online.service_unavailable"
    unreadable = http("status_page", 500, "oops")
    result = diagnose("quickbooks_online", [page, unreadable])
    assert result.cause == "quickbooks_online.service_unavailable"
    result = diagnose("quickbooks_online", [page, statuspage("major", "Partial System Outage")])
    assert result.cause == "quickbooks_online.service_unavailable"
    assert 'indicator "major"' in result.explanation
    # an outage cause next to a healthy page never borrows the page for "reports a problem"
    result = diagnose("salesforce", [trust("OK"), http("limits", 200, "[]")])
    assert "reports a problem" not in result.explanation


@pytest.mark.parametrize("numbers", [{"Max": 0, "Remaining": 0}, {"Max": "0", "Remaining": "0"}])
def test_a_daily_limit_of_zero_is_not_a_used_up_limit(numbers):
    result = diagnose("salesforce", [http("limits", 200, json.dumps(
        {"DailyApiRequests": numbers}))])
    assert result.cause == "unknown", result.explanation
    assert (result.evidence["max"], result.evidence["remaining"]) == (0, 0)
    assert "0 of 0" not in result.explanation and "rolls over" not in result.explanation
    assert "limit of 0" in result.explanation and "API Enabled" in result.explanation
    header = http("rest_api", 200, '{"records": []}', **{"Sforce-Limit-Info": "api-usage=0/0"})
    assert diagnose("salesforce", [header]).cause != "salesforce.daily_api_limit_exceeded"


def test_request_limit_exceeded_with_quota_left_is_not_the_daily_limit():
    limited = sf_rest(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
    for observations in ([SF_LIMITS_OK, limited], [limited, SF_LIMITS_OK]):
        result = diagnose("salesforce", observations)
        assert result.cause == "unknown", result.explanation
        assert result.evidence["error_code"] == "REQUEST_LIMIT_EXCEEDED"
        assert (result.evidence["remaining"], result.evidence["max"]) == (14880, 15000)
        assert "14,880 of 15,000 daily API requests remaining" in result.explanation
        assert "120 of 15,000" not in result.explanation
        assert "concurrent" in result.explanation
    # the same answer's own header showing quota left contradicts it too
    header = sf_rest(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.",
                     **{"Sforce-Limit-Info": "api-usage=120/15000"})
    assert diagnose("salesforce", [header]).cause == "unknown"
    # next to limits at 0 remaining it is the daily limit
    spent = http("limits", 200, '{"DailyApiRequests": {"Max": 15000, "Remaining": 0}}')
    assert diagnose("salesforce", [spent, limited]).cause == "salesforce.daily_api_limit_exceeded"
    assert diagnose("salesforce", [limited]).cause == "salesforce.daily_api_limit_exceeded"


@pytest.mark.parametrize("cause", ["salesforce.session_expired",
                                   "quickbooks_online.access_token_expired"])
def test_token_expiry_causes_do_not_tell_the_customer_nothing_is_needed(cause):
    info = load_rules().causes[cause]
    for text in (info.explanation, *(text for _, text in info.variants)):
        assert "no action" not in text.lower() and "nothing" not in text.lower()
        assert "authorization fixes it" in text
    system = cause.split(".")[0]
    token = {"kind": "token", "issued_seconds_ago": 5400, "expires_in": 3600}
    for observations in ([token], [sf_rest(401, "INVALID_SESSION_ID", "Session expired")]
                         if system == "salesforce" else [qbo_fault(3200, "x", status=401)]):
        result = diagnose(system, observations)
        assert result.cause == cause and "no action" not in result.explanation.lower()


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


@pytest.mark.parametrize("system,observations", [
    ("salesforce", [http("limits", 200, "\x00\ufffdnot json\x8a\x8b{{<\x1b[31m\x07")]),
    ("quickbooks_online", [http("company_info", 500, "\x00\x01err\r\nor\x7f")]),
    ("salesforce", [sf_rest(400, "WEIRD\x00CODE", "bad\x00 thing\x1b\ud800")]),
    ("quickbooks_desktop", [sdk("0x8004DEAD", "odd\x00\x02 message\n\tsecond line")]),
    ("quickbooks_desktop", [log("line with \x00 NUL 0x80040414 \x0c")]),
    ("quickbooks_online", [{"kind": "oauth_callback",
                            "query": "error=x%00y&error_description=a%01b"}]),
    ("salesforce", [trust("OK\x00"), http("rest_api", 500, "\x00\x00")]),
])
def test_no_control_characters_in_explanation_or_evidence(system, observations):
    result = diagnose(system, observations)
    text = json.dumps(result.to_json(), ensure_ascii=False)
    assert not CONTROL.search(result.explanation)
    assert not CONTROL.search(json.dumps(result.evidence, ensure_ascii=False)), text
    text.encode("utf-8")     # no lone surrogates: it can go to HTML and the database


def test_also_seen_entries_carry_a_title():
    weird = {"kind": "log_line", "text": "something nobody has seen"}
    timeout = {"kind": "transport", "error": "timeout"}
    result = diagnose("quickbooks_online", [oauth(400, "invalid_grant"), weird,
                                            qbo_fault(3200, "x", status=401), timeout])
    assert result.cause == "quickbooks_online.reconnect_required"
    entries = result.evidence["also_seen"]
    assert [(e["cause"], e["title"]) for e in entries] == [
        ("unknown", cause_title("unknown")),
        ("quickbooks_online.access_token_expired",
         cause_title("quickbooks_online.access_token_expired")),
        ("unknown", cause_title("timeout")),
    ]
    assert all(e["seen"] for e in entries)
    assert entries[1]["endpoint"] == "company_info"


def test_agent_not_connected_with_a_last_error_is_diagnosed_by_the_last_error():
    # the README's agent_status contract example, verbatim in shape: the last error is the
    # reason the agent is not connected, so it is what is diagnosed (not agent_offline)
    body = json.dumps({"connected": False, "last_seen": "2026-11-20T08:14:00Z",
                       "last_error": {"hresult": "0x80040414",
                                      "message": "A modal dialog box is showing in the "
                                                 "QuickBooks user interface."}})
    result = diagnose("quickbooks_desktop", [http("agent_status", 200, body)])
    assert result.cause == "quickbooks_desktop.modal_dialog_open"
    assert result.evidence["agent_connected"] is False
    assert (result.evidence["hresult"], result.evidence["last_seen"]) == (
        "0x80040414", "2026-11-20T08:14:00Z")


def _cli(text):
    return CliRunner().invoke(main, ["diagnose", "-"], input=text)


@pytest.mark.parametrize("text", [
    "[" * 50000 + "]" * 50000,
    '{"system": "salesforce", "observations": ' + '{"a": ' * 5000 + "1" + "}" * 5001,
    "system: salesforce\nobservations:\n" + "".join("  " * i + "- \n" for i in range(1, 200)),
    "a: " + "[" * 40 + "]" * 40,
])
def test_cli_refuses_deep_nesting_with_exit_2(text):
    result = _cli(text)
    assert result.exit_code == 2, result.output
    assert "levels deep" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_cli_refuses_input_over_5_mb_without_reading_it_all():
    case = json.dumps({"system": "salesforce", "observations": [
        {"kind": "log_line", "text": "x" * (5 * 1024 * 1024)}]})
    result = _cli(case)
    assert result.exit_code == 2
    assert "limit of 5 MB" in result.output
    assert len(result.output.strip().splitlines()) == 1
    # multi-byte characters count as bytes
    result = _cli('{"system": "salesforce", "observations": [{"kind": "log_line", "text": "'
                  + "\u00e9" * (3 * 1024 * 1024) + '"}]}')
    assert result.exit_code == 2 and "limit of 5 MB" in result.output


def test_cli_refuses_yaml_aliases_and_alias_bombs():
    plain = ("x: &h {Content-Type: application/json}\nsystem: salesforce\nobservations:\n"
             "  - {kind: http, endpoint: limits, status: 200, headers: *h, body: '{}'}\n")
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n"
        for i in range(9))
    for text in (plain, bomb, "system: &s salesforce\nobservations: []\nx: *s\n"):
        result = _cli(text)
        assert result.exit_code == 2, result.output
        assert "YAML aliases" in result.output
        assert len(result.output.strip().splitlines()) == 1
