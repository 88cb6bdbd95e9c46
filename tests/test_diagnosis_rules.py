"""Every entry of the rule tables has its own positive and negative test, built from
``tests/fixtures/rule_examples.yaml`` (written apart from the rules), and deleting any single
entry fails them; plus the classes of signal where a diagnosis must never be confidently wrong
(status and code disagreeing, healthy XML, maintenance pages served with 200, SOAP faults on
any endpoint, QuickBooks Desktop errors read by code and by text)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from assistant.probes import ruleset
from assistant.probes.diagnosis import diagnose
from assistant.probes.ruleset import load_rules

EXAMPLES = yaml.safe_load((Path(__file__).resolve().parent / "fixtures" / "rule_examples.yaml")
                          .read_text(encoding="utf-8"))
ROWS = [(system, section, sample, cause)
        for system, sections in EXAMPLES.items()
        for section, items in sections.items() for sample, cause in items]


def http(endpoint, status, body="", content_type="application/json"):
    return {"kind": "http", "endpoint": endpoint, "status": status,
            "headers": {"Content-Type": content_type}, "body": body}


def observations(system: str, section: str, sample) -> list[dict]:
    """The observation a section's rules read, carrying ``sample``."""
    if section == "hresults":
        return [{"kind": "sdk_error", "hresult": sample, "message": ""}]
    if section == "messages":
        return [{"kind": "log_line", "text": sample}]
    if section == "agent_status":
        return [http("agent_status", 200, json.dumps(
            {"connected": sample, "last_seen": "2026-11-20T08:14:00Z", "last_error": None}))]
    if section in ("fault_codes", "fault_texts"):
        code, message = (sample, "x") if section == "fault_codes" else ("", sample)
        return [http("company_info", 400, json.dumps(
            {"Fault": {"Error": [{"Message": message, "code": code}], "type": "SERVICE"}}))]
    if section == "maintenance_pages":
        return [http("rest_api" if system == "salesforce" else "company_info", 200,
                     f"<!DOCTYPE html><html><body><h1>{sample}</h1></body></html>",
                     "text/html; charset=utf-8")]
    if section == "oauth_errors":
        error, _, description = (part.strip() for part in str(sample).partition("|"))
        body = {"error": error, **({"error_description": description} if description else {})}
        return [http("token", 400, json.dumps(body))]
    if section == "statuses":
        endpoint = "rest_api" if system == "salesforce" else "company_info"
        return [http(endpoint, int(sample), "")]
    if section == "status_indicators":
        return [http("status_page", 200, json.dumps(
            {"page": {"id": "x"}, "status": {"indicator": sample, "description": "x"}}))]
    if section == "trust_statuses":
        return [http("status_page", 200, json.dumps({"key": "NA1", "status": sample}))]
    if section == "error_codes":
        return [http("rest_api", 400, json.dumps([{"errorCode": sample, "message": "x"}]))]
    if section == "texts":
        return [http("rest_api", 400, json.dumps([{"errorCode": "", "message": sample}]))]
    if section == "limits":
        remaining = 0 if sample == "exhausted" else 10
        return [http("limits", 200, json.dumps(
            {"DailyApiRequests": {"Max": 15000, "Remaining": remaining}}))]
    if section == "token_expired":
        return [{"kind": "token", "issued_seconds_ago": 7200 if sample == "expired" else 60,
                 "expires_in": 3600}]
    raise AssertionError(f"no observation builder for section {section}")


def negative(section: str, sample, entry):
    """``sample`` with what the entry matches taken away."""
    if section == "hresults":
        return "0x8004FFFF"
    if section in ("fault_codes",):
        return "9" + str(sample)
    if section == "error_codes":
        return f"NOT_{sample}"
    if section == "agent_status":
        return not sample
    if section == "statuses":
        return 418
    if section in ("status_indicators", "trust_statuses"):
        return f"unheard_of_{sample}"
    if section in ("limits", "token_expired"):
        return "within"
    if section == "oauth_errors":
        error, _, description = str(sample).partition("|")
        return f"unheard_of_{error.strip()}" + (f" |{description}" if description else "")
    key = "pattern"
    return entry.match[key].sub(" ", str(sample))


def fired(system, section, sample):
    result = diagnose(system, observations(system, section, sample))
    return result, result.evidence.get("rule_entry")


def problems() -> list[str]:
    """What is wrong with the examples against the loaded rules (empty when all is right),
    without counting entries: each example must give its cause from an entry of its own
    section, and the examples of a section must fire different entries."""
    out, seen = [], {}
    for system, section, sample, cause in ROWS:
        expected = cause if cause == "connected" else f"{system}.{cause}"
        result, entry = fired(system, section, sample)
        if result.cause != expected:
            out.append(f"{system} {section} {sample!r}: {result.cause}, not {expected}")
        elif entry is None or not entry.startswith(f"{system}.yaml {section}["):
            out.append(f"{system} {section} {sample!r}: fired {entry}")
        elif entry in seen:
            out.append(f"{system} {section} {sample!r}: fired {entry}, as {seen[entry]!r} did")
        else:
            seen[entry] = sample
    return out


@pytest.mark.parametrize("system,section,sample,cause", ROWS,
                         ids=[f"{r[0]}-{r[1]}-{r[2]}"[:90] for r in ROWS])
def test_each_example_is_diagnosed_by_its_entry(system, section, sample, cause):
    result, entry = fired(system, section, sample)
    assert result.cause == (cause if cause == "connected" else f"{system}.{cause}"), \
        result.explanation
    assert entry and entry.startswith(f"{system}.yaml {section}["), entry
    assert result.evidence["rule_source"].startswith("http")


@pytest.mark.parametrize("system,section,sample,cause", ROWS,
                         ids=[f"{r[0]}-{r[1]}-{r[2]}"[:90] for r in ROWS])
def test_each_entry_does_not_fire_without_what_it_matches(system, section, sample, cause):
    _, entry = fired(system, section, sample)
    rule = _rule(entry)
    other = negative(section, sample, rule)
    result, again = fired(system, section, other)
    assert again != entry, (other, result.explanation)


def _rule(entry: str):
    system, rest = entry.split(".yaml ")
    section, index = rest.rstrip("]").split("[")
    return load_rules().section(system, section)[int(index)]


def test_examples_and_entries_correspond_one_to_one():
    assert problems() == []
    entries = {r.entry for sections in load_rules().rules.values()
               for rules in sections.values() for r in rules}
    fired_entries = {fired(system, section, sample)[1] for system, section, sample, _ in ROWS}
    assert fired_entries == entries, sorted(entries ^ fired_entries)


def test_deleting_any_single_entry_fails_an_example(monkeypatch):
    """The claim, checked: every entry of every rules file removed in turn (rules loaded from
    the edited data, the caches cleared) makes :func:`problems` report something."""
    real_read = ruleset._read
    files = {f"{system}.yaml": real_read(f"{system}.yaml") for system in EXAMPLES}
    survivors = []
    try:
        for name, data in files.items():
            for section, entries in data.items():
                for index in range(len(entries)):
                    edited = {**data, section: entries[:index] + entries[index + 1:]}
                    monkeypatch.setattr(ruleset, "_read", lambda n, name=name, edited=edited:
                                        edited if n == name else real_read(n))
                    ruleset.load_rules.cache_clear()
                    if not problems():
                        survivors.append(f"{name} {section}[{index}]")
    finally:
        monkeypatch.undo()
        ruleset.load_rules.cache_clear()
    assert survivors == []


# --- the classes of signal where a diagnosis must not be confidently wrong ----------------------

def qbo_fault(status, code, message, detail="", ftype="SERVICE"):
    return http("company_info", status, json.dumps(
        {"Fault": {"Error": [{"Message": message, "Detail": detail, "code": code}],
                   "type": ftype}, "time": "2026-11-29T01:02:03.456-08:00"}))


SOAP = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.'
        'xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body>'
        '<soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{code}: {message}'
        '</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>')


@pytest.mark.parametrize("system,obs,code", [
    # the two: an authorization code under a 500
    ("quickbooks_online", qbo_fault(500, "3100", "message=ApplicationAuthorizationFailed; "
                                    "errorCode=003100; statusCode=500"), "3100"),
    ("quickbooks_online", qbo_fault(500, "120", "Authorization Failure", "Unknown Error during "
                                    "Authentication, statusCode: 500", "AuthorizatonFault"),
     "120"),
    # the status stated inside the Fault counts as much as the status line
    ("quickbooks_online", qbo_fault(400, "120", "Authorization Failure", "Unknown Error during "
                                    "Authentication, statusCode: 500", "AuthorizatonFault"),
     "120"),
    ("salesforce", http("rest_api", 500, json.dumps(
        [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}])),
     "INVALID_SESSION_ID"),
    ("salesforce", http("rest_api", 500, json.dumps(
        [{"errorCode": "LOGIN_DURING_RESTRICTED_TIME", "message": "Login during restricted "
          "time"}])), "LOGIN_DURING_RESTRICTED_TIME"),
    ("salesforce", http("token", 500, json.dumps({"error": "invalid_grant",
                                                  "error_description": "inactive user"})),
     "invalid_grant"),
    ("quickbooks_online", http("token", 500, json.dumps({"error": "invalid_client"})),
     "invalid_client"),
])
def test_a_500_with_a_client_side_code_is_unknown_with_both_shown(system, obs, code):
    result = diagnose(system, [obs])
    assert result.cause == "unknown", result.explanation
    assert code in result.explanation and "500" in result.explanation
    assert "disagree" in result.explanation
    assert result.evidence["code_cause"].startswith(system + ".")
    assert "rule_source" not in result.evidence


@pytest.mark.parametrize("system,obs,cause", [
    ("quickbooks_online", qbo_fault(503, "3200", "message=AuthenticationFailed; "
                                    "errorCode=003200; statusCode=503"),
     "quickbooks_online.service_unavailable"),
    ("salesforce", http("limits", 502, json.dumps(
        [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}])),
     "salesforce.service_incident"),
])
def test_a_gateway_status_with_a_client_side_code_is_the_server_side_cause(system, obs, cause):
    result = diagnose(system, [obs])
    assert result.cause == cause, result.explanation
    assert result.evidence["code_cause"] != cause


def test_soap_faults_are_read_on_any_endpoint_and_their_500_is_not_a_disagreement():
    for endpoint in ("token", "rest_api", "limits"):
        for code, cause in (("LOGIN_MUST_USE_SECURITY_TOKEN", "authentication_failure"),
                            ("INVALID_LOGIN", "authentication_failure"),
                            ("INVALID_SESSION_ID", "session_expired")):
            body = SOAP.format(code=code, message="Invalid username, password, security "
                                                  "token; or user locked out.")
            result = diagnose("salesforce", [http(endpoint, 500, body, "text/xml")])
            assert result.cause == f"salesforce.{cause}", (endpoint, result.explanation)
            assert result.evidence["error_code"] == code
    unknown = SOAP.format(code="SOME_NEW_FAULT", message="x")
    assert diagnose("salesforce", [http("token", 500, unknown, "text/xml")]).cause == "unknown"


def test_healthy_xml_company_info_is_connected_and_an_empty_one_is_not():
    xml = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><IntuitResponse '
           'xmlns="http://schema.intuit.com/finance/v3" time="2026-11-29T01:02:03.456-08:00">'
           '<CompanyInfo domain="QBO" sparse="false"><Id>1</Id><SyncToken>4</SyncToken>'
           '<CompanyName>Sandbox Company_US_1</CompanyName></CompanyInfo></IntuitResponse>')
    result = diagnose("quickbooks_online", [http("company_info", 200, xml, "application/xml")])
    assert result.cause == "connected", result.explanation
    for body in ('<IntuitResponse xmlns="http://schema.intuit.com/finance/v3"/>',
                 "<Other><CompanyInfo/></Other>"):
        assert diagnose("quickbooks_online", [http("company_info", 200, body,
                                                   "application/xml")]).cause == "unknown"


@pytest.mark.parametrize("system,endpoint,page,cause", [
    ("salesforce", "rest_api", "<html><head><title>Salesforce - Maintenance</title></head><body>"
     "<p>Salesforce is down for scheduled maintenance.</p></body></html>",
     "salesforce.service_incident"),
    ("salesforce", "token", "<!DOCTYPE html><html><body>This site is temporarily unavailable "
     "while we perform maintenance.</body></html>", "salesforce.service_incident"),
    ("quickbooks_online", "company_info", "<!DOCTYPE html><html><body><h1>We're undergoing "
     "scheduled maintenance</h1></body></html>", "quickbooks_online.service_unavailable"),
    ("quickbooks_online", "token", "<html><body>Intuit services are temporarily unavailable."
     "</body></html>", "quickbooks_online.service_unavailable"),
])
def test_maintenance_pages_served_with_200_are_the_outage(system, endpoint, page, cause):
    result = diagnose(system, [http(endpoint, 200, page, "text/html")])
    assert result.cause == cause, result.explanation
    # an ordinary HTML page with 200 stays unknown
    plain = "<html><body>Welcome</body></html>"
    assert diagnose(system, [http(endpoint, 200, plain, "text/html")]).cause == "unknown"


@pytest.mark.parametrize("hresult", ["0x80040408", "0x8004041A", "0x80040403", "0x8004DEAD"])
def test_desktop_version_and_reauthorize_messages_win_whatever_the_code(hresult):
    version = "The version of QuickBooks currently running does not support this company data file."
    assert diagnose("quickbooks_desktop", [{"kind": "sdk_error", "hresult": hresult,
                                            "message": version}]).cause == \
        "quickbooks_desktop.version_mismatch"
    again = ("Recent changes to your configuration require you (the QuickBooks Administrator) "
             "to launch QuickBooks and re-authorize your integrated application to login "
             "automatically.")
    assert diagnose("quickbooks_desktop", [{"kind": "log_line",
                                            "text": f"Error {hresult}: {again}"}]).cause == \
        "quickbooks_desktop.not_running_no_unattended_access"
