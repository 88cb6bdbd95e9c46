"""Live checks against the simulator on a real loopback HTTP server: every scenario's
observations, redaction, refresh-token rotation, timeouts, refused connections; the connections
config and the token store."""

from __future__ import annotations

import json
import socket
import ssl
import stat
import time
from pathlib import Path

import httpx
import pytest
import yaml
from simserver import IDS, PROBE_OF, SECRETS, Simulator

from assistant.probes.checks import PROBES, run_check
from assistant.probes.connections import ConnectionsError, MissingSecret, load_connections
from assistant.probes.recording import ProbeUnavailable, transport_error
from assistant.probes.tokens import TokenStore
from assistant.simulator.scenarios import available

# The fixtures, kept in sync with ../shared/fixtures (tests/test_diagnosis.py checks that).
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "observations.yaml"


@pytest.fixture(scope="module")
def sim():
    with Simulator(delay=0.3, hang_seconds=5) as s:
        yield s


@pytest.fixture
def conns(sim, tmp_path):
    sim.reset()
    return sim.connections(tmp_path)


@pytest.fixture
def tokens(tmp_path):
    return TokenStore(tmp_path / "tokens")


def shape(observations):
    return [(o["endpoint"], o.get("status", o.get("error"))) for o in observations]


def assert_no_secret(observations, *extra):
    text = json.dumps(observations)
    for value in (*SECRETS.values(), *extra):
        assert value not in text


# (endpoint, status) sequences per scenario; anything not listed is the healthy sequence.
SF_TOKEN_FAIL = [("token", 400), ("status_page", 200)]
EXPECTED = {
    "salesforce": {
        "healthy": [("token", 200), ("limits", 200), ("rest_api", 200), ("status_page", 200)],
        "salesforce.daily_api_limit_exceeded": [("token", 200), ("limits", 200),
                                                ("status_page", 200)],
        "salesforce.session_expired": [("token", 200), ("limits", 401), ("status_page", 200)],
        # /limits refused: the query's Sforce-Limit-Info header tells the quota
        "limits_forbidden": [("token", 200), ("limits", 403), ("rest_api", 200),
                             ("status_page", 200)],
        "html_error": [("token", 200), ("limits", 502), ("status_page", 200)],
        "garbage": [("token", 200), ("limits", 200), ("status_page", 200)],
        **{c: SF_TOKEN_FAIL for c in (
            "salesforce.oauth_incomplete", "salesforce.reconnect_required",
            "salesforce.authentication_failure", "salesforce.inactive_user",
            "salesforce.invalid_client_id", "salesforce.login_restricted")},
    },
    "quickbooks_online": {
        "healthy": [("token", 200), ("company_info", 200), ("status_page", 200)],
        "quickbooks_online.reconnect_required": [("token", 400), ("status_page", 200)],
        "quickbooks_online.invalid_client_credentials": [("token", 401), ("status_page", 200)],
        **{c: [("token", 200), ("company_info", s), ("status_page", 200)] for c, s in (
            ("quickbooks_online.service_unavailable", 503),
            ("quickbooks_online.access_token_expired", 401),
            ("quickbooks_online.user_lacks_access", 401),
            ("quickbooks_online.wrong_environment", 400),
            ("quickbooks_online.app_not_authorized", 403),
            ("quickbooks_online.throttled", 429), ("html_error", 502))},
    },
    "quickbooks_desktop": {"healthy": [("agent_status", 200)],
                           "html_error": [("agent_status", 502)]},
}
CASES = [(system, scenario) for system in IDS for scenario in available(system)
         if scenario not in ("slow", "hung")]


@pytest.mark.parametrize(("system", "scenario"), CASES)
def test_every_scenario_gives_its_observations(sim, conns, tokens, system, scenario):
    conn = conns[IDS[system]]
    sim.set(conn.id, system, scenario)
    observations = run_check(PROBE_OF[system], conn, tokens=tokens)
    expected = EXPECTED[system].get(scenario, EXPECTED[system]["healthy"])
    assert shape(observations) == expected
    assert_no_secret(observations, tokens.load(conn.id).access_token or "-" * 40,
                     tokens.load(conn.id).refresh_token or "-" * 40)
    for o in observations:
        assert set(o) == {"kind", "endpoint", "status", "headers", "body"}
        assert o["kind"] == "http" and isinstance(o["body"], str)
        assert not any(k.lower() == "set-cookie" for k in o["headers"])


def test_salesforce_signals(sim, conns, tokens):
    conn = conns["acme-salesforce"]
    ok = run_check("salesforce.api", conn, tokens=tokens)
    token = json.loads(ok[0]["body"])
    assert set(token) <= {"token_type", "expires_in", "instance_url", "issued_at", "scope"}
    assert token["instance_url"] == f"{sim.url}/salesforce/acme-salesforce"
    assert ok[1]["headers"]["Sforce-Limit-Info"].startswith("api-usage=")
    assert json.loads(ok[1]["body"])["DailyApiRequests"]["Remaining"] > 0
    assert json.loads(ok[3]["body"])["status"] == "OK"

    sim.set(conn.id, "salesforce", "salesforce.service_incident")
    incident = run_check("salesforce.api", conn, tokens=tokens)
    assert json.loads(incident[-1]["body"])["status"] == "MAJOR_INCIDENT_CORE"

    sim.set(conn.id, "salesforce", "salesforce.oauth_incomplete")
    failed = run_check("salesforce.api", conn, tokens=tokens)
    assert failed[0]["body"] == ('{"error":"invalid_grant","error_description":'
                                 '"user hasn\'t approved this consumer"}')  # verbatim (SF-10)


def test_salesforce_probe_never_spends_an_exhausted_quota(sim, conns, tokens):
    conn = conns["acme-salesforce"]
    sim.set(conn.id, "salesforce", "salesforce.daily_api_limit_exceeded")
    observations = run_check("salesforce.api", conn, tokens=tokens)
    limits = json.loads(observations[1]["body"])
    assert limits["DailyApiRequests"]["Remaining"] == 0
    assert sim.calls()[conn.id].get("rest_api", 0) == 0


def test_qbo_and_qbd_signals(sim, conns, tokens):
    qbo = run_check("quickbooks_online.api", conns["acme-qbo"], tokens=tokens)
    assert "intuit_tid" in qbo[0]["headers"]
    token = json.loads(qbo[0]["body"])
    assert token == {"token_type": "bearer", "expires_in": 3600,
                     "x_refresh_token_expires_in": 8726400}
    assert json.loads(qbo[1]["body"])["CompanyInfo"]["Id"] == "1"
    assert json.loads(qbo[2]["body"])["status"]["indicator"] == "none"
    sim.set("acme-qbo", "quickbooks_online", "quickbooks_online.service_unavailable")
    down = run_check("quickbooks_online.api", conns["acme-qbo"], tokens=tokens)
    assert json.loads(down[2]["body"])["status"]["indicator"] == "major"
    assert down[1]["headers"]["Content-Type"].startswith("text/html")

    sim.set("acme-qbd", "quickbooks_desktop", "quickbooks_desktop.modal_dialog_open")
    [agent] = run_check("quickbooks_desktop.agent", conns["acme-qbd"], tokens=tokens)
    status = json.loads(agent["body"])
    assert status["connected"] is True and status["last_error"]["hresult"] == "0x80040414"
    sim.set("acme-qbd", "quickbooks_desktop", "quickbooks_desktop.agent_offline")
    [agent] = run_check("quickbooks_desktop.agent", conns["acme-qbd"], tokens=tokens)
    assert json.loads(agent["body"])["connected"] is False


def _fixture_cases():
    if not FIXTURES.exists():
        return []
    cases = yaml.safe_load(FIXTURES.read_text(encoding="utf-8"))
    out = []
    for case in cases:
        cause = case["cause"] if isinstance(case["cause"], str) else case["cause"][0]
        scenario = "healthy" if cause == "connected" else cause
        for o in case["observations"]:
            if o["kind"] == "http":
                out.append(pytest.param(case["system"], scenario, o["endpoint"], o["status"],
                                        id=case["id"]))
    return out


# The probe reads limits before the REST API and stops there when the session is dead or the
# quota is used up, so those two fixtures' rest_api signals appear on limits instead.
ON_LIMITS_INSTEAD = {("salesforce.session_expired", "rest_api"): ("limits", 401),
                     ("salesforce.daily_api_limit_exceeded", "rest_api"): ("limits", 200)}


@pytest.mark.skipif(not FIXTURES.exists(), reason="shared fixtures not found")
@pytest.mark.parametrize(("system", "scenario", "endpoint", "status"), _fixture_cases())
def test_scenarios_send_the_fixtures_signals(sim, conns, tokens, system, scenario, endpoint,
                                             status):
    """Each fixture's cause, as a simulator scenario, answers the fixture's status on its
    endpoint."""
    conn = conns[IDS[system]]
    sim.set(conn.id, system, scenario)
    seen = dict(shape(run_check(PROBE_OF[system], conn, tokens=tokens)))
    endpoint, status = ON_LIMITS_INSTEAD.get((scenario, endpoint), (endpoint, status))
    assert seen.get(endpoint) == status


def test_refresh_token_rotation(sim, conns, tokens, tmp_path):
    conn = conns["acme-qbo"]
    first = run_check("quickbooks_online.api", conn, tokens=tokens)
    rotated = tokens.load(conn.id).refresh_token
    assert first[0]["status"] == 200 and rotated and rotated != SECRETS["QBO_REFRESH_TOKEN"]
    # the seed is now superseded: Intuit (and the simulator) reject it
    r = httpx.post(f"{sim.url}/intuit/acme-qbo/oauth2/v1/tokens/bearer",
                   auth=("a", "b"), data={"grant_type": "refresh_token",
                                          "refresh_token": SECRETS["QBO_REFRESH_TOKEN"]})
    assert r.status_code == 400 and r.json() == {"error": "invalid_grant"}
    assert "intuit_tid" in r.headers
    # a second store (another process) reads the rotated token and its refresh works
    other = TokenStore(tmp_path / "tokens")
    assert other.load(conn.id).refresh_token == rotated
    with other.locked(conn) as state:  # an hour later: the access token has expired
        state.issued_at -= 3600
    again = run_check("quickbooks_online.api", conn, tokens=other)
    assert shape(again)[0] == ("token", 200)
    assert tokens.load(conn.id).refresh_token not in (rotated, None)
    assert_no_secret(first + again, rotated)
    path = tmp_path / "tokens" / "acme-qbo.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not [p for p in path.parent.iterdir() if p.suffix == ".tmp"]


def test_a_new_seed_in_the_environment_wins(conns, tokens):
    conn = conns["acme-qbo"]
    with tokens.locked(conn) as state:
        state.refresh_token = "RT1-rotated-earlier-0000"
    with tokens.locked(conn) as state:
        assert state.refresh_token == "RT1-rotated-earlier-0000"  # same seed: keep the rotated
    conn._environ["QBO_REFRESH_TOKEN"] = "RT1-reissued-by-operator-1111"
    with tokens.locked(conn) as state:
        assert state.refresh_token == "RT1-reissued-by-operator-1111"
        assert state.access_token is None


def test_hung_endpoint_gives_timeouts_within_the_read_timeout(sim, tmp_path, tokens):
    sim.reset()
    conns = sim.connections(tmp_path, read=0.3)
    sim.set("acme-qbd", "quickbooks_desktop", "hung")
    started = time.monotonic()
    observations = run_check("quickbooks_desktop.agent", conns["acme-qbd"], tokens=tokens)
    assert observations == [{"kind": "transport", "endpoint": "agent_status",
                             "error": "timeout"}]
    assert time.monotonic() - started < 1.5
    sim.set("acme-salesforce", "salesforce", "hung")
    observations = run_check("salesforce.api", conns["acme-salesforce"], tokens=tokens)
    assert shape(observations) == [("token", "timeout"), ("status_page", "timeout")]


def test_slow_endpoint_within_the_timeout_is_healthy(sim, conns, tokens):
    sim.set("acme-qbd", "quickbooks_desktop", "slow")
    started = time.monotonic()
    assert shape(run_check("quickbooks_desktop.agent", conns["acme-qbd"], tokens=tokens)) == [
        ("agent_status", 200)]
    assert time.monotonic() - started >= 0.3


def test_closed_port_is_connection_refused(tmp_path, tokens):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = tmp_path / "c.yaml"
    path.write_text(f"""connections:
  - id: closed
    label: Closed
    system: quickbooks_desktop
    endpoints: {{agent_status: "http://127.0.0.1:{port}/v1/agents/{{agent_id}}/status"}}
    agent_id: a1
    secrets: {{api_key: KEY}}
""", encoding="utf-8")
    conn = load_connections(path, environ={"KEY": "k-123456"})["closed"]
    assert run_check("quickbooks_desktop.agent", conn, tokens=tokens) == [
        {"kind": "transport", "endpoint": "agent_status", "error": "connection_refused"}]


def test_transport_error_kinds():
    def connect_error(cause):
        try:
            try:
                raise cause
            except Exception as e:
                raise httpx.ConnectError(str(e)) from e
        except httpx.ConnectError as e:
            return e
    assert transport_error(connect_error(socket.gaierror(-2, "Name or service not known"))) \
        == "dns"
    assert transport_error(connect_error(ssl.SSLCertVerificationError("bad cert"))) == "tls"
    assert transport_error(connect_error(ConnectionRefusedError(111, "refused"))) \
        == "connection_refused"
    assert transport_error(httpx.ReadTimeout("slow")) == "timeout"
    assert transport_error(httpx.RemoteProtocolError("eof")) == "connection_refused"


def test_missing_secret_makes_the_probe_unavailable(sim, tmp_path, tokens):
    conns = sim.connections(tmp_path, environ={"QBD_AGENT_API_KEY": ""})
    with pytest.raises(ProbeUnavailable) as info:
        run_check("quickbooks_desktop.agent", conns["acme-qbd"], tokens=tokens)
    assert "QBD_AGENT_API_KEY" in info.value.reason
    with pytest.raises(ValueError):
        run_check("salesforce.api", conns["acme-qbd"], tokens=tokens)
    assert set(PROBES) == {"salesforce.api", "quickbooks_online.api",
                           "quickbooks_desktop.agent"}


# --- connections config -------------------------------------------------------------------

def test_demo_config_points_at_the_simulator():
    conns = load_connections(environ={"SIMULATOR_URL": "http://127.0.0.1:9999/"})
    assert conns.demo
    assert {c.system for c in conns.values()} == set(IDS)
    sf = conns["demo-salesforce"]
    assert sf.endpoints["login"] == "http://127.0.0.1:9999/salesforce/demo-salesforce"
    assert sf.api_version == "62.0" and sf.connect_timeout == 3 and sf.read_timeout == 5
    assert sf.secret("refresh_token").startswith("demo-")  # harmless demo value
    assert len(conns.for_system("salesforce")) == 2
    default = load_connections(environ={})
    assert default["demo-quickbooks-desktop"].endpoints["agent_status"].startswith(
        "http://127.0.0.1:5001/agent/")
    assert load_connections(environ={"CONNECTIONS_PATH": str(conns.path)}).demo


@pytest.mark.parametrize(("text", "message"), [
    ("connections:\n  - id: a\n    label: A\n    system: salesforce\n    endpoints: {login: "
     "'https://x', bogus: 1}\n    secrets: {client_id: A, client_secret: B, refresh_token: C}\n",
     ":5: connections[0].endpoints.bogus: unknown key"),
    ("connections:\n  - id: Bad Id\n    label: A\n    system: quickbooks_desktop\n"
     "    endpoints: {agent_status: 'https://x'}\n    agent_id: a\n    secrets: {api_key: K}\n",
     ":2: connections[0].id: invalid value 'Bad Id'"),
    ("connections:\n  - id: a\n    label: A\n    system: sage\n",
     ":4: connections[0].system: unknown system 'sage'"),
    ("connections:\n  - id: a\n    label: A\n    system: quickbooks_desktop\n"
     "    endpoints: {agent_status: '${NOPE}/x'}\n    agent_id: a\n    secrets: {api_key: K}\n",
     ":5: connections[0].endpoints.agent_status: environment variable NOPE is not set"),
    ("connections: [\n", ":2: invalid YAML"),
    ("- just a list\n", ":1: expected a mapping"),
    ("connections:\n  - id: a\n    label: A\n    system: quickbooks_desktop\n"
     "    endpoints: {agent_status: 'https://x'}\n    agent_id: a\n    secrets: {api_key: K}\n"
     "  - id: a\n    label: A\n    system: quickbooks_desktop\n"
     "    endpoints: {agent_status: 'https://x'}\n    agent_id: a\n    secrets: {api_key: K}\n",
     ":8: connections[1].id: duplicate id 'a'"),
    ("connections:\n  - id: a\n    label: A\n    system: quickbooks_desktop\n"
     "    endpoints: {agent_status: 'ftp://x'}\n    agent_id: a\n    secrets: {api_key: K}\n",
     ":5: connections[0].endpoints.agent_status: invalid value 'ftp://x'"),
])
def test_config_errors_name_file_line_and_key(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConnectionsError) as info:
        load_connections(path, environ={})
    assert str(info.value).startswith(str(path))
    assert message in str(info.value)


def test_secrets_never_appear_in_repr_or_errors(sim, conns, tokens, tmp_path):
    conn = conns["acme-qbo"]
    run_check("quickbooks_online.api", conn, tokens=tokens)
    state = tokens.load(conn.id)
    shown = " ".join([repr(conn), str(conn), repr(conns), repr(state), str(state),
                      repr(tokens), repr(PROBES)])
    for value in (*SECRETS.values(), state.access_token, state.refresh_token):
        assert value and value not in shown
    empty = sim.connections(tmp_path / "tokens", environ={"QBO_CLIENT_SECRET": ""})
    with pytest.raises(MissingSecret) as info:
        empty["acme-qbo"].secret("client_secret")
    assert "QBO_CLIENT_SECRET" in str(info.value)
    assert SECRETS["QBO_CLIENT_ID"] not in str(info.value)


def test_bodies_are_capped_and_cookies_dropped(sim, conns, tokens):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=[("Content-Type", "application/json"),
                                            ("Set-Cookie", "sid=abc; HttpOnly")],
                              content=b"x" * 200_000)
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        [o] = run_check("quickbooks_desktop.agent", conns["acme-qbd"], tokens=tokens,
                        client=client)
    assert len(o["body"]) == 64 * 1024
    assert o["headers"] == {"Content-Type": "application/json", "Content-Length": "200000"}


def test_a_valid_access_token_is_reused_not_refreshed(sim, conns, tokens):
    conn = conns["acme-qbo"]
    run_check("quickbooks_online.api", conn, tokens=tokens)
    rotated = tokens.load(conn.id).refresh_token
    again = run_check("quickbooks_online.api", conn, tokens=tokens)
    assert again[0]["kind"] == "token" and again[0]["expires_in"] == 3600
    assert again[0]["issued_seconds_ago"] < 60
    assert shape(again[1:]) == [("company_info", 200), ("status_page", 200)]
    assert sim.calls()["acme-qbo"]["token"] == 1  # no second refresh, no rotation
    assert tokens.load(conn.id).refresh_token == rotated


def test_a_reused_token_that_is_refused_is_refreshed_once(sim, conns, tokens):
    conn = conns["acme-qbo"]
    run_check("quickbooks_online.api", conn, tokens=tokens)
    with tokens.locked(conn) as state:  # revoked upstream before its time
        state.access_token = "revoked-access-token"
    again = run_check("quickbooks_online.api", conn, tokens=tokens)
    assert shape(again[1:]) == [("company_info", 401), ("token", 200), ("company_info", 200),
                                ("status_page", 200)]
    from assistant.probes.diagnosis import diagnose
    assert diagnose("quickbooks_online", again).outcome == "connected"


def test_secrets_echoed_back_encoded_are_redacted(tmp_path, tokens):
    """An upstream that echoes the request (form body, Basic header) back in its error."""
    import base64
    import threading
    from urllib.parse import quote_plus

    from werkzeug.serving import make_server
    from werkzeug.wrappers import Request, Response

    @Request.application
    def echo(request):
        return Response(json.dumps({"error": "invalid_request", "error_description":
                                    request.get_data(as_text=True) + " "
                                    + request.headers.get("Authorization", "")}), 400,
                        content_type="application/json")

    server = make_server("127.0.0.1", 0, echo, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        secret = "SF/se+cret=2222"
        env = {**SECRETS, "QBO_CLIENT_SECRET": secret, "SIMULATOR_URL": "http://unused"}
        path = tmp_path / "c.yaml"
        path.write_text(f"""connections:
  - id: echo
    label: Echo
    system: quickbooks_online
    endpoints: {{token: "http://127.0.0.1:{server.server_port}/token",
                 api: "http://127.0.0.1:{server.server_port}"}}
    realm_id: "1"
    secrets: {{client_id: QBO_CLIENT_ID, client_secret: QBO_CLIENT_SECRET,
              refresh_token: QBO_REFRESH_TOKEN}}
""")
        conn = load_connections(path, environ=env)["echo"]
        text = json.dumps(run_check("quickbooks_online.api", conn, tokens=tokens))
    finally:
        server.shutdown()
    basic = base64.b64encode(f"{SECRETS['QBO_CLIENT_ID']}:{secret}".encode()).decode()
    for leaked in (secret, quote_plus(secret), basic, quote_plus(SECRETS["QBO_REFRESH_TOKEN"])):
        assert leaked not in text
    assert "[redacted]" in text


def test_only_endpoints_expand_environment_variables(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("""connections:
  - id: a
    label: "Org ${SF_CLIENT_SECRET}"
    system: quickbooks_desktop
    endpoints: {agent_status: "${SIMULATOR_URL}/agent/a/{agent_id}"}
    agent_id: x
    secrets: {api_key: K}
""")
    conn = load_connections(path, environ={"SF_CLIENT_SECRET": "s3cret",
                                           "SIMULATOR_URL": "http://127.0.0.1:9"})["a"]
    assert conn.label == "Org ${SF_CLIENT_SECRET}"
    assert conn.endpoints["agent_status"] == "http://127.0.0.1:9/agent/a/{agent_id}"


def _serve(app):
    import threading

    from werkzeug.serving import make_server
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _one_connection(tmp_path, text):
    path = tmp_path / "one.yaml"
    path.write_text(text)
    return next(iter(load_connections(path, environ={**SECRETS}).values()))


def test_a_trickling_upstream_cannot_outlast_the_check_budget(tmp_path, tokens):
    from werkzeug.wrappers import Response

    def trickle(environ, start_response):
        def body():
            for _ in range(100):  # a byte every 0.2 s: each read is "on time"
                time.sleep(0.2)
                yield b" "
        return Response(body(), content_type="application/json")(environ, start_response)

    server = _serve(trickle)
    try:
        conn = _one_connection(tmp_path, f"""connections:
  - id: slowpoke
    label: Slow
    system: quickbooks_desktop
    endpoints: {{agent_status: "http://127.0.0.1:{server.server_port}/{{agent_id}}"}}
    agent_id: a
    secrets: {{api_key: QBD_AGENT_API_KEY}}
    timeouts: {{connect: 0.3, read: 0.5}}
""")
        started = time.monotonic()
        observations = run_check("quickbooks_desktop.agent", conn, tokens=tokens)
        took = time.monotonic() - started
    finally:
        server.shutdown()
    assert observations == [{"kind": "transport", "endpoint": "agent_status",
                             "error": "timeout"}]
    assert took < 2 * (0.3 + 0.5) + 1.0  # the budget, not 100 × 0.2 s


def test_a_token_lock_held_too_long_is_a_token_timeout(sim, conns, tokens):
    import threading
    conn = conns["acme-qbo"]
    held, release = threading.Event(), threading.Event()

    def hold():
        with tokens.locked(conn):
            held.set()
            release.wait(10)
    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    try:
        started = time.monotonic()
        observations = run_check("quickbooks_online.api", conn, tokens=tokens)
        took = time.monotonic() - started
    finally:
        release.set()
        thread.join()
    assert observations[0] == {"kind": "transport", "endpoint": "token", "error": "timeout"}
    assert took < 2 * (conn.connect_timeout + conn.read_timeout) + 1.0
