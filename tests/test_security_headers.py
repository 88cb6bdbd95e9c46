"""HSTS over HTTPS only, a forwarded scheme and address trusted only from configured proxies,
a Permissions-Policy on every page, and no session id in full in the app's own logs."""

from __future__ import annotations

import logging
import threading

import httpx
from werkzeug.serving import make_server

from conftest import STAFF_PASSWORD, Walker, csrf_token, launch_token, start_form

HSTS = "Strict-Transport-Security"


def test_hsts_only_over_https_and_a_forwarded_scheme_only_from_a_trusted_proxy(make_app):
    direct = make_app().test_client()
    assert HSTS not in direct.get("/").headers
    assert direct.get("/", base_url="https://help.example.com").headers[HSTS] == \
        "max-age=31536000"
    forged = direct.get("/", headers={"X-Forwarded-Proto": "https"})
    assert HSTS not in forged.headers  # no proxy configured: anyone could send it
    proxied = make_app(TRUSTED_PROXIES=1).test_client()
    assert proxied.get("/", headers={"X-Forwarded-Proto": "https"}).headers[HSTS]
    assert HSTS not in proxied.get("/", headers={"X-Forwarded-Proto": "http"}).headers


def test_login_limits_count_the_forwarded_address_only_behind_a_trusted_proxy(make_app):
    def failures(app, addresses):
        client = app.test_client()
        token = csrf_token(client)
        return [client.post("/console/login", headers={"X-Forwarded-For": address}, data={
            "csrf_token": token, "email": f"x{n}@example.com", "password": "nope"}
        ).status_code for n, address in enumerate(addresses)]
    addresses = ["203.0.113.5", "203.0.113.6", "203.0.113.7"]
    # Without a proxy, a client choosing X-Forwarded-For still counts as its own address.
    assert failures(make_app(LOGIN_RATE_LIMIT="2 per minute"), addresses) == [401, 401, 429]
    behind = make_app(LOGIN_RATE_LIMIT="2 per minute", TRUSTED_PROXIES=1)
    assert failures(behind, addresses) == [401, 401, 401]


def test_every_page_sends_a_permissions_policy(client, make_app):
    w = Walker(client, "salesforce")
    for response in (client.get("/"), w.page, client.get("/console/login"),
                     client.get("/no-such-page")):
        policy = response.headers["Permissions-Policy"]
        assert "camera=()" in policy and "geolocation=()" in policy and "microphone=()" in policy


def test_an_error_on_a_session_page_logs_no_session_id(make_app, caplog, monkeypatch):
    app = make_app(TESTING=False)
    client = app.test_client()
    w = Walker(client, "salesforce")

    def broken(*_args, **_kwargs):
        raise RuntimeError(f"could not read /s/{w.sid}/1")
    monkeypatch.setattr(app.extensions["assistant"].store, "transcript", broken)
    with caplog.at_level(logging.ERROR):
        assert client.get(f"/s/{w.sid}/1").status_code == 500
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert f"/s/{w.sid[:4]}…" in logged and "RuntimeError" in logged
    assert w.sid not in logged


def test_the_development_servers_request_log_holds_no_session_id(make_app, caplog):
    app = make_app()
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            base = f"http://127.0.0.1:{http.server_port}"
            start = start_form(httpx.get(base + "/flows/salesforce").text, "salesforce")
            started = httpx.post(base + start["action"], data=start["fields"])
            sid = started.headers["Location"].split("/")[2]
            httpx.get(base + started.headers["Location"])
            token = launch_token(app, "acme-salesforce")
            assert httpx.get(f"{base}/flows/salesforce?launch={token}&lang=en"
                             ).status_code == 200
    finally:
        http.shutdown()
        thread.join(5)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "werkzeug")
    assert f"/s/{sid[:4]}…" in logged and sid not in logged
    # A launch token (the key to the customer's connection until it expires) neither.
    assert "/flows/salesforce?launch=…&lang=en" in logged and token not in logged


def test_a_successful_login_gives_its_counted_attempt_back(make_app):
    # Each attempt is counted before the password is checked (so that attempts sent at once
    # cannot slip past the limit); a success gives it back.
    app = make_app(LOGIN_RATE_LIMIT="2 per minute")
    app.extensions["assistant"].staff.add("lead@example.com", STAFF_PASSWORD, "admin")
    client = app.test_client()
    token = csrf_token(client)

    def attempt(password):
        return client.post("/console/login", data={"csrf_token": token,
                                                   "email": "lead@example.com",
                                                   "password": password}).status_code
    assert [attempt("nope"), attempt(STAFF_PASSWORD)] == [401, 303]
    fresh = app.test_client()
    token = csrf_token(fresh)
    client = fresh
    assert [attempt("nope"), attempt("nope")] == [401, 429]
