"""The simulator's control API, HTML page, wire details and the `assistant simulate` command."""

from __future__ import annotations

import httpx
import pytest
from click.testing import CliRunner
from simserver import Simulator

from assistant.cli import main
from assistant.simulator import create_simulator
from assistant.simulator.scenarios import CAUSE_RESPONSES, EXTRA_RESPONSES, GENERIC, available

CATALOGUE = {
    "quickbooks_desktop": 12, "quickbooks_online": 8, "salesforce": 9,
}


@pytest.fixture
def client():
    return create_simulator(delay=0.01, hang_seconds=1).test_client()


def test_every_catalogued_cause_is_a_scenario():
    for system, count in CATALOGUE.items():
        names = available(system)
        assert len(CAUSE_RESPONSES[system]) == count
        assert names[0] == "healthy" and names[-len(GENERIC):] == list(GENERIC)
        assert names[1:1 + count] == list(CAUSE_RESPONSES[system])
        assert all(n.startswith(f"{system}.") for n in names[1:1 + count])
        assert names[1 + count:-len(GENERIC)] == list(EXTRA_RESPONSES.get(system, {}))


def test_scenarios_api(client):
    listed = client.get("/_sim/scenarios").get_json()
    assert listed["demo-salesforce"]["scenario"] == "healthy"
    assert listed["demo-quickbooks-online"]["system"] == "quickbooks_online"
    assert "quickbooks_desktop.modal_dialog_open" in \
        listed["demo-quickbooks-desktop"]["available"]

    r = client.put("/_sim/scenarios/demo-salesforce",
                   json={"scenario": "salesforce.daily_api_limit_exceeded"})
    assert r.status_code == 200
    assert client.get("/_sim/scenarios").get_json()["demo-salesforce"]["scenario"] == \
        "salesforce.daily_api_limit_exceeded"
    assert client.put("/_sim/scenarios/demo-salesforce",
                      json={"scenario": "nope"}).status_code == 400
    unseen = client.put("/_sim/scenarios/other", json={"scenario": "healthy"})
    assert unseen.status_code == 400 and "error" in unseen.get_json()
    assert client.put("/_sim/scenarios/other",
                      json={"system": "sage", "scenario": "healthy"}).status_code == 400
    assert client.put("/_sim/scenarios/other", json={"system": "quickbooks_desktop",
                                                     "scenario": "hung"}).status_code == 200
    assert client.put("/_sim/scenarios/other", data="x").status_code == 400
    client.post("/_sim/reset")
    assert "other" not in client.get("/_sim/scenarios").get_json()


def test_html_page_and_form(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<title>Connection simulator</title>" in html
    assert 'name="scenario"' in html and "demo-quickbooks-online" in html
    assert '<label for="scenario-1">' in html
    r = client.post("/_sim/form", data={"connection": "demo-quickbooks-desktop",
                                        "system": "quickbooks_desktop",
                                        "scenario": "quickbooks_desktop.agent_offline"})
    assert r.status_code == 303 and r.headers["Location"].endswith(
        "/?changed=demo-quickbooks-desktop")
    assert "Scenario of <strong>demo-quickbooks-desktop</strong> changed" in \
        client.get(r.headers["Location"]).get_data(as_text=True)
    assert client.post("/_sim/form", data={"connection": "demo-quickbooks-desktop",
                                           "scenario": "bogus"}).status_code == 400


def _sf_token(client, conn="demo-salesforce"):
    r = client.post(f"/salesforce/{conn}/services/oauth2/token",
                    data={"grant_type": "refresh_token", "client_id": "id",
                          "client_secret": "s", "refresh_token": "r"})
    assert r.status_code == 200
    return r.get_json()


def test_salesforce_wire(client):
    token = _sf_token(client)
    assert token["instance_url"] == "http://localhost/salesforce/demo-salesforce"
    assert {"access_token", "signature", "issued_at", "id", "token_type"} <= set(token)
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    limits = client.get("/salesforce/demo-salesforce/services/data/v62.0/limits", headers=auth)
    assert limits.headers["Sforce-Limit-Info"].startswith("api-usage=")
    assert limits.get_json()["DailyApiRequests"]["Max"] == 15000
    query = client.get("/salesforce/demo-salesforce/services/data/v62.0/query",
                       query_string={"q": "SELECT Id FROM Organization LIMIT 1"}, headers=auth)
    assert query.status_code == 200 and query.get_json()["totalSize"] == 1
    assert "Sforce-Limit-Info" in query.headers
    bad = client.get("/salesforce/demo-salesforce/services/data/v62.0/limits",
                     headers={"Authorization": "Bearer forged"})
    assert bad.status_code == 401 and bad.get_json()[0]["errorCode"] == "INVALID_SESSION_ID"

    client.put("/_sim/scenarios/demo-salesforce",
               json={"scenario": "salesforce.daily_api_limit_exceeded"})
    limits = client.get("/salesforce/demo-salesforce/services/data/v62.0/limits", headers=auth)
    assert limits.get_json()["DailyApiRequests"]["Remaining"] == 0
    assert limits.headers["Sforce-Limit-Info"] == "api-usage=15000/15000"
    query = client.get("/salesforce/demo-salesforce/services/data/v62.0/query?q=x",
                       headers=auth)
    assert query.status_code == 403
    assert query.get_data(as_text=True) == ('[{"message":"TotalRequests Limit exceeded.",'
                                            '"errorCode":"REQUEST_LIMIT_EXCEEDED"}]')  # SF-03
    trust = client.get("/salesforce/demo-salesforce/trust/v1/instances/na123/status")
    assert trust.get_json()["key"] == "NA123" and trust.get_json()["status"] == "OK"
    calls = client.get("/_sim/calls").get_json()["demo-salesforce"]
    assert calls == {"token": 1, "limits": 3, "rest_api": 2, "status_page": 1}


def test_intuit_wire_and_rotation(client):
    url = "/intuit/demo-quickbooks-online/oauth2/v1/tokens/bearer"
    form = {"grant_type": "refresh_token", "refresh_token": "seed"}
    basic = {"Authorization": "Basic aWQ6c2VjcmV0"}
    assert client.post(url, data=form).status_code == 401  # no client credentials
    first = client.post(url, data=form, headers=basic)
    assert first.status_code == 200 and first.headers["intuit_tid"]
    body = first.get_json()
    assert body["expires_in"] == 3600 and body["token_type"] == "bearer"
    assert "x_refresh_token_expires_in" in body and body["refresh_token"] != "seed"
    superseded = client.post(url, data=form, headers=basic)
    assert superseded.status_code == 400 and superseded.get_json() == {"error": "invalid_grant"}
    second = client.post(url, data={**form, "refresh_token": body["refresh_token"]},
                         headers=basic)
    assert second.status_code == 200
    info = client.get("/intuit/demo-quickbooks-online/v3/company/1/companyinfo/1",
                      headers={"Authorization": f"Bearer {second.get_json()['access_token']}",
                               "Accept": "application/json"})
    assert info.get_json()["CompanyInfo"]["Id"] == "1" and "intuit_tid" in info.headers
    status = client.get("/intuit/demo-quickbooks-online/status/api/v2/status.json").get_json()
    assert status["status"] == {"indicator": "none", "description": "All Systems Operational"}
    assert set(status["page"]) >= {"id", "name", "url", "updated_at"}


def test_agent_contract(client):
    url = "/agent/demo-quickbooks-desktop/v1/agents/agent-0001/status"
    assert client.get(url).status_code == 401
    ok = client.get(url, headers={"Authorization": "Bearer k"}).get_json()
    assert ok["connected"] is True and ok["last_error"] is None and ok["last_seen"]
    for scenario, expected in (("garbage", 200), ("html_error", 502)):
        client.put("/_sim/scenarios/demo-quickbooks-desktop", json={"scenario": scenario})
        assert client.get(url, headers={"Authorization": "Bearer k"}).status_code == expected


def test_hung_answers_stop_when_told():
    with Simulator(hang_seconds=30) as sim:
        sim.set("x", "quickbooks_desktop", "hung")
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"{sim.url}/agent/x/v1/agents/a/status", timeout=0.2)
    # leaving the context set STOP: the hung handler returned and the server shut down
    assert not sim.thread.is_alive()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "example.com", "::"])
def test_simulate_refuses_non_loopback_hosts(host):
    result = CliRunner().invoke(main, ["simulate", "--host", host])
    assert result.exit_code == 2
    assert "not a loopback address" in result.output


def test_control_api_refuses_cross_origin_writes(tmp_path):
    from assistant.simulator import create_simulator
    client = create_simulator().test_client()
    form = {"connection": "demo-salesforce", "system": "salesforce",
            "scenario": "salesforce.daily_api_limit_exceeded"}
    evil = client.post("/_sim/form", data=form, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403
    fetch = client.put("/_sim/scenarios/x", json={"system": "salesforce", "scenario": "hung"},
                       headers={"Sec-Fetch-Site": "cross-site"})
    assert fetch.status_code == 403
    assert client.get("/_sim/scenarios").get_json().get("x") is None
    same = client.post("/_sim/form", data=form, headers={"Origin": "http://localhost"})
    assert same.status_code == 303


def test_companyinfo_answers_xml_unless_json_is_accepted_and_it_reads_as_connected(client):
    from assistant.probes.diagnosis import diagnose
    token = client.post("/intuit/q/oauth2/v1/tokens/bearer", headers={
        "Authorization": "Basic aWQ6c2VjcmV0"}, data={"grant_type": "refresh_token",
                                                       "refresh_token": "seed"})
    auth = {"Authorization": f"Bearer {token.get_json()['access_token']}"}
    url = "/intuit/q/v3/company/42/companyinfo/42"
    for accept, kind in (("application/xml", "xml"), ("*/*", "xml"), (None, "xml"),
                         ("application/json", "json")):
        headers = {**auth, **({"Accept": accept} if accept else {})}
        r = client.get(url, headers=headers)
        assert r.status_code == 200 and kind in r.content_type, (accept, r.content_type)
        seen = {"kind": "http", "endpoint": "company_info", "status": 200,
                "headers": {"Content-Type": r.content_type}, "body": r.get_data(as_text=True)}
        assert diagnose("quickbooks_online", [seen]).cause == "connected"
    assert client.get("/intuit/q/v3/company/43/companyinfo/43", headers=auth).status_code == 403
