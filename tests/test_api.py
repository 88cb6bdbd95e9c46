"""The JSON API /api/v1 walked end to end with an HTTP client (httpx) against a real server on
loopback; every response is checked against the API's own OpenAPI document, and a
property-based run (hypothesis) sends it arbitrary bodies without getting a 5xx."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta

import httpx
import jsonschema
import pytest
from browsing import serving
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.cli import main as cli
from conftest import launch_token, login

ORIGIN = "https://help.example.com"


@pytest.fixture
def api(make_app):
    """(client, app): an httpx client on the app served on 127.0.0.1 that checks every
    response against /api/v1/openapi.json."""
    app = make_app(EMBED_ORIGINS=ORIGIN)
    with serving(app) as url:
        doc = httpx.get(url + "/api/v1/openapi.json").json()
        jsonschema.Draft202012Validator.check_schema({"$defs": doc["components"]["schemas"]})

        def check(response: httpx.Response) -> None:
            request = response.request
            path = request.url.path.removeprefix("/api/v1")
            if path == "/openapi.json":
                return
            for template, methods in doc["paths"].items():
                pattern = "^" + template.replace("{sid}", "[^/]+") + "$"
                if re.match(pattern, path) and request.method.lower() in methods:
                    op = methods[request.method.lower()]
                    break
            else:  # a path the document does not have: still a JSON error
                assert response.status_code in (404, 405), (path, response.status_code)
                op = {"responses": {str(response.status_code): {"content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}
            documented = op["responses"].get(str(response.status_code))
            assert documented, (request.method, path, response.status_code, response.text)
            schema = documented["content"]["application/json"]["schema"]
            jsonschema.validate(response.json(), {**schema, "components": doc["components"]},
                                cls=jsonschema.Draft202012Validator)
            response.validated = True

        with httpx.Client(base_url=url + "/api/v1", event_hooks={
                "response": [lambda r: r.read() and check(r)]}) as client:
            yield client, app


def walk_to_end(client, session: dict) -> dict:
    """Answer the first answer of every step and poll every check until the session ends."""
    for _ in range(40):
        if session["status"] == "ended":
            return session
        step = session["step"]
        if step["kind"] == "probe":
            r = client.post(f"/sessions/{session['id']}/poll",
                            json={"revision": session["revision"],
                                  "check": step["check"]["id"]})
            assert r.status_code == 200, r.text
            session = r.json()["session"]
            time.sleep(0.05)
            continue
        r = client.post(f"/sessions/{session['id']}/answers",
                        json={"answer": step["answers"][0]["id"],
                              "revision": session["revision"]})
        assert r.status_code == 200, r.text
        session = r.json()
    raise AssertionError("the walk did not end")


def test_a_session_walked_through_the_api_keeps_every_rule_of_the_wizard(api):
    client, app = api
    r = client.post("/sessions", json={"flow": "salesforce"})
    assert r.status_code == 201
    session = r.json()["session"]
    sid = session["id"]
    assert len(sid) >= 22 and session["revision"] == 0 and session["step"]["kind"] == "probe"
    # No connection bound: the check is done at once ("unavailable"); reading changes nothing.
    again = client.get(f"/sessions/{sid}").json()
    assert again["revision"] == 0 and again["step"]["check"]["done"] is True
    polled = client.post(f"/sessions/{sid}/poll", json={"revision": 0}).json()
    assert polled["applied"] is True and polled["session"]["revision"] == 1
    session = polled["session"]
    assert session["step"]["id"] == "disconnect" and session["finding"]["outcome"] == \
        "unavailable"
    assert session["transcript"][0]["answer"] == "unavailable"
    # The same poll again (a retry): never applied twice.
    stale = client.post(f"/sessions/{sid}/poll", json={"revision": 0})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale"
    # A probe step's outcome cannot be posted; an unknown answer is refused; both change nothing.
    wrong = client.post(f"/sessions/{sid}/answers", json={"answer": "nope", "revision": 1})
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "invalid_answer"
    forged = client.post(f"/sessions/{sid}/answers",
                         json={"answer": "connected", "revision": 1, "position": 0})
    assert forged.status_code == 400 and forged.json()["error"]["code"] == \
        "checked_automatically"
    ok = client.post(f"/sessions/{sid}/answers", json={"answer": "disconnected", "revision": 1})
    assert ok.status_code == 200 and ok.json()["step"]["id"] == "connect"
    double = client.post(f"/sessions/{sid}/answers",
                         json={"answer": "disconnected", "revision": 1})
    assert double.status_code == 409 and double.json()["error"]["message"].startswith(
        "This page was out of date")
    # Free text at a step: the answer it means, applied only when posted.
    meant = client.post(f"/sessions/{sid}/match", json={"text": "ok I reconnected it"})
    assert meant.status_code == 200 and set(meant.json()) == {"answer", "candidates"}
    ended = walk_to_end(client, ok.json())
    assert ended["step"]["kind"] == "end" and ended["closed"] is False
    fb = client.post(f"/sessions/{sid}/feedback",
                     json={"reaction": "no", "comment": "still broken",
                           "revision": ended["revision"]})
    assert fb.status_code == 200 and fb.json()["feedback"] == {"reaction": "no",
                                                               "comment": "still broken"}
    assert fb.json()["closed"] is True
    handed = client.post(f"/sessions/{sid}/handoff",
                         json={"revision": ended["revision"], "contact": "ann@example.com",
                               "message": "Please call me"})
    assert handed.status_code == 201 and handed.json()["reference"].startswith("H-")
    closed = client.post(f"/sessions/{sid}/answers",
                         json={"answer": "anything", "revision": ended["revision"]})
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "closed"
    assert "This guide has ended" in closed.json()["error"]["message"]
    # The wizard shows the same session where the API left it.
    page = app.test_client().get(f"/s/{sid}")
    assert page.headers["Location"] == f"/s/{sid}/{ended['position']}"


def test_a_spanish_session_answers_in_spanish_whoever_asks(api):
    client, app = api
    # The browser's language picks it when the body does not say.
    r = client.post("/sessions", json={"flow": "salesforce"},
                    headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert r.status_code == 201 and r.json()["session"]["language"] == "es"
    sid = r.json()["session"]["id"]
    polled = client.post(f"/sessions/{sid}/poll", json={"revision": 0}).json()["session"]
    assert polled["step"]["title"] == "Desconecta Salesforce"
    assert "Inicia sesión en Autofy" in polled["step"]["text"]
    assert polled["transcript"][0]["answer_label"].startswith("Revisado automáticamente")
    assert polled["finding"]["title"] != "Live check unavailable"  # the catalogue's Spanish
    # Its refusals too, even to a client that asks for English.
    stale = client.post(f"/sessions/{sid}/poll", json={"revision": 0},
                        headers={"Accept-Language": "en"})
    assert stale.status_code == 409
    assert stale.json()["error"]["message"].startswith("Esta página estaba desactualizada")
    late = client.post(f"/sessions/{sid}/handoff", json={"revision": 0, "message": "hola"},
                       headers={"Accept-Language": "en"})  # the handoff's refusals too
    assert late.status_code == 409
    assert late.json()["error"]["message"].startswith("Todavía no se envió nada")
    # Said in the body, it wins over the browser's; the session keeps it.
    r = client.post("/sessions", json={"flow": "salesforce", "language": "es"},
                    headers={"Accept-Language": "en-US"})
    assert r.json()["session"]["language"] == "es"
    assert app.extensions["assistant"].store.get_session(
        r.json()["session"]["id"]).language == "es"
    english = client.post("/sessions", json={"flow": "salesforce"}).json()["session"]
    assert english["language"] == "en"
    refused = client.post("/sessions", json={"flow": "salesforce", "language": "fr"})
    assert refused.status_code == 400 and "language" in refused.json()["error"]["fields"]


def test_free_text_starts_the_right_guide_or_says_none_fits(api):
    client, _ = api
    r = client.post("/sessions", json={"text": "REQUEST_LIMIT_EXCEEDED: TotalRequests Limit "
                                               "exceeded."})
    assert r.status_code == 201
    body = r.json()
    assert body["route"]["flow"] == "salesforce" and body["route"]["cause"] == \
        "salesforce.daily_api_limit_exceeded"
    assert body["session"]["flow"]["id"] == "salesforce"
    assert body["session"]["step"]["id"] == body["route"]["step"]
    none = client.post("/sessions", json={"text": "how do I change my billing plan"})
    assert none.status_code == 200 and none.json()["session"] is None
    assert none.json()["route"]["flow"] is None
    routed = client.post("/route", json={"text": "quickbooks"})
    assert routed.status_code == 200 and routed.json()["flow"] is None
    assert routed.json()["question"]
    sid = client.post("/sessions", json={"flow": "salesforce"}).json()["session"]["id"]
    as_text = client.post(f"/sessions/{sid}/poll", json={"revision": "0"})
    assert as_text.status_code == 400 and "revision" in as_text.json()["error"]["fields"]
    for url in ("/sessions", "/route"):  # nothing written: refused, as the web form does
        for empty in ("", "   \n "):
            refused = client.post(url, json={"text": empty})
            assert refused.status_code == 400 and "text" in refused.json()["error"]["fields"]


def test_launch_tokens_bind_as_in_the_wizard(api):
    client, app = api
    token = launch_token(app, "acme-salesforce", flow="salesforce")
    first = client.post("/sessions", json={"flow": "salesforce", "launch": token})
    assert first.status_code == 201
    resumed = client.post("/sessions", json={"flow": "salesforce", "launch": token})
    assert resumed.status_code == 200  # one token starts one session
    assert resumed.json()["session"]["id"] == first.json()["session"]["id"]
    store = app.extensions["assistant"].store
    assert store.get_session(first.json()["session"]["id"]).customer_ref == "cust-1042"
    other = client.post("/sessions", json={"flow": "quickbooks-online", "launch": token})
    assert other.status_code == 400 and other.json()["error"]["code"] == "launch_refused"
    forged = client.post("/sessions", json={"flow": "salesforce", "launch": token[:-3] + "abc"})
    assert forged.status_code == 400 and store.session_by_launch("x") is None
    expired = launch_token(app, "acme-salesforce", minutes=1,
                           now=datetime.now(UTC) - timedelta(hours=1))
    gone = client.post("/sessions", json={"flow": "salesforce", "launch": expired})
    assert gone.status_code == 410


def test_refusals_are_json_with_the_right_status(api):
    client, _ = api
    cases = [
        (client.post("/sessions", data={"flow": "salesforce"}), 415, "unsupported_media_type"),
        (client.post("/sessions", content=b"{nope", headers={"Content-Type":
                                                             "application/json"}), 400,
         "bad_json"),
        (client.post("/sessions", json={"flow": "salesforce", "text": "x"}), 400, "invalid"),
        (client.post("/sessions", json={"flow": "salesforce", "extra": 1}), 400, "invalid"),
        (client.post("/sessions", json={"flow": "no-such-guide"}), 404, "not_found"),
        (client.post("/sessions", json={"flow": "sales\x00force"}), 400, "invalid"),
        (client.get("/sessions/not-a-session"), 404, "not_found"),
        (client.post("/sessions/not-a-session/answers", json={"answer": "a", "revision": 0}),
         404, "not_found"),
        (client.post("/sessions", content=b"x" * 300_000,
                     headers={"Content-Type": "application/json"}), 413, "too_large"),
        (client.get("/no-such-endpoint"), 404, "not_found"),
        (client.delete("/sessions"), 405, "method_not_allowed"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, (response.request.url, response.text)
        assert response.json()["error"]["code"] == code
        assert response.json()["error"]["message"]
    invalid = cases[2][0].json()["error"]
    assert invalid["fields"]


def test_staff_endpoints_need_a_staff_token_never_a_cookie(api, db_url, agent):
    client, app = api
    sid = client.post("/sessions", json={"flow": "salesforce"}).json()["session"]["id"]
    client.post(f"/sessions/{sid}/poll", json={"revision": 0})
    code = app.extensions["assistant"].store.get_session(sid).code
    assert client.get(f"/staff/sessions/{sid}").status_code == 401
    assert client.get(f"/staff/sessions/{sid}",
                      headers={"Authorization": "Bearer made-up"}).status_code == 401
    browser = app.test_client()
    login(browser, agent)  # a console login cookie alone is not enough
    assert browser.get(f"/api/v1/staff/sessions/{sid}/transcript").status_code == 401
    result = CliRunner().invoke(cli, ["staff", "token", agent[0]],
                                env={"DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token not in json.dumps([r for r in _rows(app, "staff_api_tokens")])  # hashed
    auth = {"Authorization": f"Bearer {token}"}
    by_code = client.get(f"/staff/sessions/{code}", headers=auth)
    assert by_code.status_code == 200 and by_code.json()["id"] == sid
    transcript = client.get(f"/staff/sessions/{sid}/transcript", headers=auth).json()
    assert transcript["transcript"][0]["check"]["outcome"] == "unavailable"
    unknown = CliRunner().invoke(cli, ["staff", "token", "nobody@example.com"],
                                 env={"DATABASE_URL": db_url})
    assert unknown.exit_code != 0 and "no active account" in unknown.output


def _rows(app, table: str) -> list:
    from sqlalchemy import text
    with app.extensions["assistant"].store.engine.connect() as conn:
        return [tuple(map(str, r)) for r in conn.execute(text(f"SELECT * FROM {table}"))]


def test_cors_only_for_the_embed_origins(api):
    client, _ = api
    allowed = client.post("/route", json={"text": "x"}, headers={"Origin": ORIGIN})
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Access-Control-Allow-Credentials" not in allowed.headers
    preflight = client.options("/sessions", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    other = client.post("/route", json={"text": "x"}, headers={"Origin": "https://evil.test"})
    assert "Access-Control-Allow-Origin" not in other.headers
    assert "set-cookie" not in allowed.headers


JSON = st.recursive(st.none() | st.booleans() | st.integers()
                    | st.floats(allow_nan=False, allow_infinity=False)
                    | st.text(max_size=30),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=10), inner, max_size=3), max_leaves=8)


def _poster(client, path: str, seen: set):
    def post(body):  # one hypothesis example
        r = client.post(path, json=body)
        assert r.status_code < 500, (path, body, r.text)
        seen.add(r.status_code)
    return post


def test_arbitrary_bodies_never_get_a_5xx(api):
    """Hypothesis over the schemas: each operation gets bodies made of its own fields (from
    the OpenAPI document) with arbitrary JSON values, and arbitrary JSON; 50 per operation."""
    client, _ = api
    doc = client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    sid = client.post("/sessions", json={"flow": "salesforce"}).json()["session"]["id"]
    seen = set()
    for template, methods in doc["paths"].items():
        for method, op in methods.items():
            if method != "post":
                continue
            name = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].split(
                "/")[-1]
            props = schemas[name]["properties"]
            fields = st.fixed_dictionaries({}, optional={
                k: JSON | st.just(0) | st.just("salesforce") | st.just("yes")
                for k in props})
            run = settings(max_examples=50, deadline=None,
                           suppress_health_check=list(HealthCheck))(
                given(body=fields | JSON)(_poster(client, template.replace("{sid}", sid),
                                                  seen)))
            run()
    assert seen >= {200, 400}
