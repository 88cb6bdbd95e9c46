"""The Salesforce probe reads the instance status from the My Trust Center API when configured
and falls back to the Trust status API (api.status.salesforce.com/v1) while that answers.

The real simulator over loopback and the real probe. The simulator's My Trust Center answer is
an assumption (UNVERIFIED, see ``checks.trust_status``): these tests pin the fallback logic,
not the new API's wire format."""

from __future__ import annotations

import dataclasses
import json
import socket
from types import MappingProxyType

import pytest
from simserver import Simulator

from assistant.probes.checks import run_check
from assistant.probes.connections import DEMO_PATH, ConnectionsError, load_connections
from assistant.probes.diagnosis import diagnose
from assistant.probes.tokens import TokenStore

SF = "acme-salesforce"
INCIDENT = "salesforce.service_incident"  # the simulator's scenario: a major incident at Trust


@pytest.fixture(scope="module")
def sim():
    with Simulator(delay=0.3, hang_seconds=5) as s:
        yield s


@pytest.fixture
def conns(sim, tmp_path):
    sim.reset()
    return sim.connections(tmp_path, read=1.0)


@pytest.fixture
def tokens(tmp_path):
    return TokenStore(tmp_path / "tokens")


@pytest.fixture(scope="module")
def closed_url():
    """An address on loopback where nothing listens (a refused connection)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def with_endpoints(conn, **endpoints):
    """``conn`` with these endpoints changed (None: removed)."""
    merged = {**conn.endpoints, **endpoints}
    return dataclasses.replace(conn, endpoints=MappingProxyType(
        {k: v for k, v in merged.items() if v is not None}))


def trust_calls(observations) -> list[dict]:
    return [o for o in observations if o.get("endpoint") == "status_page"]


def center(sim) -> str:
    return f"{sim.url}/salesforce/{SF}/trust-center/instances/{{instance}}/status"


def test_the_my_trust_center_api_is_read_first(sim, conns, tokens, closed_url):
    # The old API is unreachable here: calling it would add a refused-connection observation.
    conn = with_endpoints(conns[SF], trust_center=center(sim), trust=closed_url)
    observations = run_check("salesforce.api", conn, tokens=tokens)
    [status] = trust_calls(observations)
    assert status["status"] == 200 and json.loads(status["body"])["key"] == "NA123"
    assert diagnose("salesforce", observations).cause == "connected"
    sim.set(SF, "salesforce", INCIDENT)
    observations = run_check("salesforce.api", conn, tokens=tokens)
    assert len(trust_calls(observations)) == 1
    diagnosis = diagnose("salesforce", observations)
    assert diagnosis.cause == INCIDENT and diagnosis.evidence["trust_status"] == \
        "MAJOR_INCIDENT_CORE"


@pytest.mark.parametrize("unusable", ["missing", "refused", "other format"])
def test_the_trust_status_api_answers_when_the_new_one_does_not(sim, conns, tokens, closed_url,
                                                                unusable):
    center_url = {
        "missing": f"{sim.url}/salesforce/{SF}/no-such-api/{{instance}}",  # 404
        "refused": f"{closed_url}/instances/{{instance}}/status",
        # a 200 that is not an instance status (a Statuspage summary)
        "other format": f"{sim.url}/intuit/acme-qbo/status/api/v2/status.json?i={{instance}}",
    }[unusable]
    conn = with_endpoints(conns[SF], trust_center=center_url)
    sim.set(SF, "salesforce", INCIDENT)
    observations = run_check("salesforce.api", conn, tokens=tokens)
    first, second = trust_calls(observations)
    assert first.get("status") != 200 or "indicator" in first["body"]
    assert second["status"] == 200 and json.loads(second["body"])["status"] == \
        "MAJOR_INCIDENT_CORE"
    assert diagnose("salesforce", observations).cause == INCIDENT  # the one that answered


def test_without_the_old_api_an_unreadable_new_one_is_evidence_only(sim, conns, tokens):
    conn = with_endpoints(conns[SF], trust=None,
                          trust_center=f"{sim.url}/salesforce/{SF}/no-such-api/{{instance}}")
    observations = run_check("salesforce.api", conn, tokens=tokens)
    [status] = trust_calls(observations)
    assert status["status"] == 404
    assert diagnose("salesforce", observations).cause == "connected"


def test_a_my_domain_instance_key_reaches_the_new_api_too(sim, conns, tokens):
    # No configured key, and the instance URL (loopback, like acme.my.salesforce.com) names
    # none: the query's Organization.InstanceName gives it.
    conn = dataclasses.replace(with_endpoints(conns[SF], trust=None, trust_center=center(sim)),
                               instance_key=None)
    [status] = trust_calls(run_check("salesforce.api", conn, tokens=tokens))
    assert json.loads(status["body"])["key"] == "NA123"


def test_the_demo_salesforce_connection_uses_the_new_api(sim, tmp_path, tokens):
    sim.reset()
    demo = load_connections(DEMO_PATH, environ={"SIMULATOR_URL": sim.url})
    assert "{instance}" in demo["demo-salesforce"].endpoints["trust_center"]
    observations = run_check("salesforce.api", demo["demo-salesforce"], tokens=tokens)
    assert len(trust_calls(observations)) == 1
    assert diagnose("salesforce", observations).cause == "connected"


def test_a_trust_center_address_without_the_instance_is_refused(tmp_path):
    path = tmp_path / "connections.yaml"
    path.write_text("""connections:
  - id: sf
    label: SF
    system: salesforce
    endpoints: {login: https://login.salesforce.com,
                trust_center: https://trust.example.com/status}
    secrets: {client_id: A, client_secret: B, refresh_token: C}
""")
    with pytest.raises(ConnectionsError) as e:
        load_connections(path, environ={})
    assert "connections.yaml:6: connections[0].endpoints.trust_center" in str(e.value)
    assert "with {instance} where the instance key goes" in str(e.value)
