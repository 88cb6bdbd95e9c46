"""An upstream that echoes the secret it was sent — upper-cased, cut short, base64- or
hex-encoded, in its message, its body and its request-id header — gets none of it into the
database, a customer's or a staff page, or a webhook delivery. A real loopback HTTP server."""

from __future__ import annotations

import base64
import json
import re
import threading
import time

import pytest
import sqlalchemy
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from conftest import Walker, forms, login

API_KEY = "qk_7Hq2Lw9Zx4Vb8Nm3Tr5Yp1Kd6"  # random, as real keys are


def echoes(secret: str) -> str:
    """The ways a careless or hostile upstream reflects ``secret``."""
    b64 = base64.b64encode
    return " ".join([
        secret.upper(), secret[:14], secret[-12:].lower(),
        b64(secret.encode()).decode(), b64(secret.upper().encode()).decode(),
        b64(f"x{secret[:20]}".encode()).decode(), base64.urlsafe_b64encode(
            f"key={secret}".encode()).decode().rstrip("="), secret.encode().hex()])


def leaks(text: str, secret: str) -> list[str]:
    """Traces of ``secret`` in ``text``: any 8 characters of it (any case), or the start of
    its base64 (any case of the secret, any alignment) or hex."""
    low, found = text.lower(), []
    value = secret.lower()
    found += [value[i:i + 8] for i in range(len(value) - 7) if value[i:i + 8] in low]
    for variant in (secret, secret.upper(), secret.lower()):
        for start in range(3):
            encoded = base64.b64encode(variant[start:].encode()).decode()[:12]
            if encoded in text or encoded.replace("+", "-").replace("/", "_") in text:
                found.append(encoded)
    if secret.encode().hex()[:16] in low:
        found.append("hex")
    return found


def hostile_app(kind: str):
    @Request.application
    def app(request: Request) -> Response:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ")
        headers = {"X-Request-Id": sent.upper()[:24]}
        if kind == "message":  # a readable agent status whose error message echoes the key
            body = {"connected": False, "last_seen": "2026-03-01T10:00:00Z",
                    "last_error": {"hresult": "0x80040408",
                                   "message": f"Could not start QuickBooks for {echoes(sent)}"}}
            return Response(json.dumps(body), 200, headers, content_type="application/json")
        return Response(f"<h1>Internal error</h1><pre>auth={echoes(sent)}</pre>", 500, headers,
                        content_type="text/html")
    return app


@pytest.fixture(params=["message", "error_page"])
def hostile(request):
    server = make_server("127.0.0.1", 0, hostile_app(request.param), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def test_an_echoing_upstream_gets_no_secret_into_the_database_pages_or_webhook(
        hostile, make_app, tmp_path, db_url, admin, monkeypatch):
    monkeypatch.setenv("HOSTILE_QBD_KEY", API_KEY)
    config = tmp_path / "connections.yaml"
    config.write_text(f"""\
connections:
  - id: hostile-qbd
    label: Hostile agent
    system: quickbooks_desktop
    endpoints: {{agent_status: "{hostile}/v1/agents/{{agent_id}}/status"}}
    agent_id: agent-0001
    secrets: {{api_key: HOSTILE_QBD_KEY}}
    timeouts: {{connect: 1, read: 2}}
""")
    app = make_app(CONNECTIONS_PATH=str(config), WEBHOOK_URL="http://127.0.0.1:9/hook",
                   WEBHOOK_SECRET="a webhook secret of some length")
    assert leaks(echoes(API_KEY), API_KEY)  # the helper sees what the upstream sends
    client = app.test_client()
    w = Walker(client, "quickbooks-desktop", connection="hostile-qbd")
    deadline = time.monotonic() + 20
    while w.url.endswith("/0"):  # "Checking…" until the check is done, then the next step
        assert time.monotonic() < deadline, "the check did not finish"
        time.sleep(0.2)
        w.go(w.url)
    customer_page = w.html
    support = client.get(f"/s/{w.sid}/support").get_data(as_text=True)
    form = next(f for f in forms(support) if f["action"].endswith("/support"))
    assert client.post(form["action"], data={**form["fields"], "message": "help"}
                       ).status_code == 303
    staff = app.test_client()
    login(staff, admin)
    console_page = staff.get(f"/console/sessions/{w.sid}").get_data(as_text=True)
    assert "0x80040408" in console_page or "500" in console_page  # the evidence is shown

    # Every row of every table, on SQLite or PostgreSQL.
    engine = sqlalchemy.create_engine(db_url)
    try:
        tables = sqlalchemy.MetaData()
        tables.reflect(engine)
        with engine.connect() as conn:
            dump = "\n".join(str(row) for table in tables.sorted_tables
                             for row in conn.execute(table.select()))
            [body] = conn.execute(sqlalchemy.text("SELECT body FROM webhook_deliveries")
                                  ).scalars().all()
            checks = "\n".join(str(row) for row in conn.execute(
                sqlalchemy.text("SELECT * FROM probe_checks")))
    finally:
        engine.dispose()
    assert "[redacted]" in checks  # the echo was seen, and cut out
    for where, text in (("database", dump), ("customer page", customer_page),
                        ("console page", console_page), ("webhook", body)):
        assert leaks(text, API_KEY) == [], where
    assert re.search(r"hostile-qbd", body)  # the delivery does carry the check
