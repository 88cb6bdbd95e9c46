"""Staff accounts and access: login, roles, the guard on every console route, CSRF, rate
limits, and the ``assistant staff`` commands."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from werkzeug.routing import IntegerConverter

from assistant.cli import main
from conftest import STAFF_PASSWORD, Walker, csrf_token, login

OPEN = {"console.login"}


def _console_urls(app):
    """Every console route as (endpoint, method, concrete URL), path arguments filled in."""
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("console.") or rule.endpoint in OPEN:
            continue
        values = {arg: (1 if isinstance(rule._converters.get(arg), IntegerConverter)
                        else "x") for arg in rule.arguments}
        with app.test_request_context():
            from flask import url_for
            url = url_for(rule.endpoint, **values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, url))
    return out


def test_every_console_route_needs_a_login(app, client):
    routes = _console_urls(app)
    assert len(routes) >= 20, routes  # every console route is walked, not a sample
    for endpoint, method, url in routes:
        response = client.open(url, method=method)
        if method == "GET":
            assert response.status_code == 303, (endpoint, response.status_code)
            assert response.headers["Location"].startswith("/console/login?next="), endpoint
        else:
            assert response.status_code in (400, 401), (endpoint, method, response.status_code)
        # htmx asks: 401 and a redirect for the whole page, never a fragment of the console
        response = client.open(url, method=method, headers={"HX-Request": "true"})
        assert response.status_code in (400, 401), (endpoint, method, response.status_code)


def test_htmx_without_a_login_sends_the_page_to_the_login_form_and_back(client):
    cases = {"http://localhost/console/sessions/abc?v=1":
             "/console/login?next=/console/sessions/abc?v%3D1",
             "http://localhost/s/abc/0": "/console/login",  # not a console page
             "http://[::1/console/x": "/console/login"}  # not a URL at all
    for current, login_url in cases.items():
        response = client.get("/console/sessions/abc?v=1", headers={
            "HX-Request": "true", "HX-Current-URL": current})
        assert response.status_code == 401
        assert response.headers["HX-Redirect"] == login_url, current


def test_posts_without_login_get_401_even_with_a_valid_csrf_token(app, client):
    token = csrf_token(client)
    for endpoint, method, url in _console_urls(app):
        if method == "POST":
            response = client.post(url, data={"csrf_token": token})
            assert response.status_code == 401, (endpoint, response.status_code)


def test_admin_pages_answer_403_to_an_agent_and_200_to_an_admin(app, make_app, agent, admin):
    admin_only = {rule.endpoint for rule in app.url_map.iter_rules()
                  if getattr(app.view_functions[rule.endpoint], "admin_only", False)}
    assert {"console.analytics", "console.analytics_sessions_csv", "console.staff",
            "console.staff_add"} <= admin_only
    as_agent = app.test_client()
    login(as_agent, agent)
    checked = 0
    for endpoint, method, url in _console_urls(app):
        if endpoint == "console.logout":
            continue
        response = as_agent.open(url, method=method, data={
            "csrf_token": csrf_token(as_agent, "/console/sessions")})
        if endpoint in admin_only:
            assert response.status_code == 403, (endpoint, method, response.status_code)
            checked += 1
        else:
            assert response.status_code != 403, (endpoint, method)
    assert checked >= len(admin_only)
    as_admin = app.test_client()
    login(as_admin, admin)
    for endpoint, method, url in _console_urls(app):
        if endpoint in admin_only and method == "GET" and "/x" not in url and "/1" not in url:
            assert as_admin.get(url).status_code == 200, endpoint


def test_no_console_page_is_kept_in_a_cache(app, store, admin):
    # The handoff queue and pages show customers' addresses and messages, the staff page the
    # accounts: like the session pages, none may stay in the browser's disk cache or a proxy.
    start = app.extensions["assistant"].compiled["salesforce"].start().step
    row = store.create_session("salesforce", "v1", start)
    store.create_handoff(row, "v1", "customer_request", [], "cust@example.com", "Call me")
    client = app.test_client()
    login(client, admin)
    version = app.extensions["assistant"].flows["salesforce"].version
    flow_pages = {"console.flow_versions": "/console/flows/salesforce/versions",
                  "console.flows_detail": "/console/flows/salesforce",
                  "console.flow_diff": f"/console/flows/salesforce/versions/{version}/{version}"}
    pages = {flow_pages.get(endpoint) or url.replace("/x", f"/{row.id}")
             for endpoint, method, url in _console_urls(app)
             if method == "GET" and endpoint != "console.home"}
    assert {"/console/handoffs", "/console/handoffs/1", "/console/staff"} <= pages
    for url in sorted(pages):
        response = client.get(url)
        assert response.status_code == 200 and response.get_data(), url  # (streams read out)
        assert "no-store" in response.headers.get("Cache-Control", ""), url


def test_login_goes_on_to_the_page_asked_for_and_never_to_another_site(app, client, agent):
    response = client.get("/console/")
    assert response.status_code == 303
    target = response.headers["Location"]
    token = csrf_token(client, target)
    response = client.post(target, data={"csrf_token": token, "email": agent[0],
                                         "password": agent[1]})
    assert response.status_code == 303 and response.headers["Location"] == "/console/"
    assert client.get("/console/sessions").status_code == 200
    for evil in ("https://evil.example/console/", "//evil.example/console/",
                 "/\\evil.example", "/s/abc"):
        other = app.test_client()
        response = other.post(f"/console/login?next={evil}", data={
            "csrf_token": csrf_token(other), "email": agent[0], "password": agent[1]})
        assert response.headers["Location"] == "/console/sessions", evil
    # A line break in ?next= once made the Location header raise (500) after logging in.
    for evil in ("/console/sessions\r\nSet-Cookie: x=1", "/console/\x1b", "/console/\x7f"):
        other = app.test_client()
        response = other.post("/console/login", query_string={"next": evil}, data={
            "csrf_token": csrf_token(other), "email": agent[0], "password": agent[1]})
        assert response.status_code == 303, repr(evil)
        assert response.headers["Location"] == "/console/sessions", repr(evil)
        assert "Set-Cookie: x" not in str(response.headers)
        response = other.get("/console/login", query_string={"next": evil})  # logged in now
        assert response.headers["Location"] == "/console/sessions", repr(evil)


def test_wrong_password_unknown_email_and_inactive_account_are_refused_alike(
        app, client, agent, staff_accounts):
    for account in (("agent@example.com", "wrong password!!"),
                    ("nobody@example.com", STAFF_PASSWORD)):
        response = login(client, account, expect=401)
        assert "do not match an active staff account" in response.get_data(as_text=True)
        assert client.get("/console/sessions").status_code == 303
    staff_accounts.set_active(staff_accounts.by_email("agent@example.com").id, False)
    login(client, agent, expect=401)


def test_email_is_case_insensitive_and_the_password_is_hashed_with_argon2id(
        client, agent, staff_accounts):
    login(client, ("AGENT@Example.com", agent[1]))
    stored = staff_accounts.by_email("agent@example.com")
    assert stored.password_hash.startswith("$argon2id$")
    assert agent[1] not in stored.password_hash
    assert stored.last_login_at is not None


def test_a_deactivated_account_is_logged_out_at_its_next_request(client, agent, staff_accounts):
    login(client, agent)
    assert client.get("/console/sessions").status_code == 200
    staff_accounts.set_active(staff_accounts.by_email(agent[0]).id, False)
    assert client.get("/console/sessions").status_code == 303


def test_a_new_password_ends_the_logins_made_with_the_old_one(app, client, agent,
                                                            staff_accounts):
    # The way to lock out someone who has an agent's login: deactivate the account, then set
    # a new password (`assistant staff password`, which also reactivates it). The old login
    # cookie came back to life with the account.
    login(client, agent)
    other = app.test_client()
    login(other, agent)
    staff_accounts.set_active(staff_accounts.by_email(agent[0]).id, False)
    staff_accounts.set_password(agent[0], "a brand new passphrase")
    for stale in (client, other):
        assert stale.get("/console/sessions").status_code == 303
    login(client, (agent[0], "a brand new passphrase"))
    assert client.get("/console/sessions").status_code == 200
    assert other.get("/console/sessions").status_code == 303


def test_logout_is_a_csrf_protected_post(client, agent):
    login(client, agent)
    assert client.get("/console/logout").status_code == 405
    assert client.post("/console/logout").status_code == 400  # no CSRF token: nothing happens
    assert client.get("/console/sessions").status_code == 200
    response = client.post("/console/logout", data={"csrf_token": csrf_token(client,
                                                                               "/console/")})
    assert response.status_code == 303
    assert client.get("/console/sessions").status_code == 303


def test_login_form_needs_its_csrf_token(client, agent):
    response = client.post("/console/login", data={"email": agent[0], "password": agent[1]})
    assert response.status_code == 400
    assert client.get("/console/sessions").status_code == 303


def test_a_second_login_tab_goes_on_logged_in_rather_than_form_expired(client, agent):
    second_tab = csrf_token(client)  # two login tabs open; the first one logs in
    login(client, agent)
    response = client.post("/console/login?next=/console/handoffs", data={
        "csrf_token": second_tab, "email": agent[0], "password": agent[1]})
    assert response.status_code == 303 and response.headers["Location"] == "/console/handoffs"
    # logged out, the same stale form is refused as before
    client.post("/console/logout", data={"csrf_token": csrf_token(client, "/console/")})
    stale = client.post("/console/login", data={
        "csrf_token": second_tab, "email": agent[0], "password": agent[1]})
    assert stale.status_code == 400


def test_failed_logins_are_rate_limited_per_address_and_per_email(make_app, staff_accounts):
    app = make_app(LOGIN_RATE_LIMIT="3 per minute", LOGIN_EMAIL_RATE_LIMIT="5 per hour")
    app.extensions["assistant"].staff.add("lead@example.com", STAFF_PASSWORD, "admin")
    client = app.test_client()
    for _ in range(3):
        login(client, ("lead@example.com", "not the password"), expect=401)
    response = login(client, ("lead@example.com", STAFF_PASSWORD), expect=429)
    assert "Too many failed logins" in response.get_data(as_text=True)
    assert response.headers["Retry-After"]
    # Another address still gets its own tries, but the email's limit holds across addresses.
    other = app.test_client()
    environ = {"REMOTE_ADDR": "10.0.0.9"}
    for _ in range(2):
        other.post("/console/login", environ_base=environ, data={
            "csrf_token": csrf_token(other), "email": "lead@example.com", "password": "nope"})
    response = other.post("/console/login", environ_base=environ, data={
        "csrf_token": csrf_token(other), "email": "lead@example.com",
        "password": STAFF_PASSWORD})
    assert response.status_code == 429
    third = app.test_client()
    response = third.post("/console/login", environ_base={"REMOTE_ADDR": "10.0.0.10"}, data={
        "csrf_token": csrf_token(third), "email": "someone@example.com", "password": "nope"})
    assert response.status_code == 401


def test_successful_logins_do_not_use_up_the_limit(make_app):
    app = make_app(LOGIN_RATE_LIMIT="2 per minute")
    app.extensions["assistant"].staff.add("lead@example.com", STAFF_PASSWORD, "admin")
    for _ in range(4):
        login(app.test_client(), ("lead@example.com", STAFF_PASSWORD))


def test_share_code_opens_the_session(app, client, agent, store):
    login(client, agent)
    row = store.create_session("salesforce-connection", "v1", "start")
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{2}-[2-9A-HJKMNP-Z]{3}", row.code)
    typed = row.code.lower().replace("-", " ")
    response = client.get(f"/console/?code={typed}", follow_redirects=True)
    assert response.request.path == f"/console/sessions/{row.id}"
    response = client.get("/console/?code=ZZ-ZZZ", follow_redirects=True)
    assert response.request.path == "/console/sessions"
    assert "No sessions match" in response.get_data(as_text=True)


@pytest.fixture
def cli_env(db_url, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", db_url)
    return db_url


def test_staff_add_reads_the_password_from_stdin(cli_env, make_app):
    runner = CliRunner()
    result = runner.invoke(main, ["staff", "add", "Lead@Example.com", "--role", "admin"],
                           input=STAFF_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "created admin lead@example.com" in result.output
    app = make_app()
    login(app.test_client(), ("lead@example.com", STAFF_PASSWORD))
    result = runner.invoke(main, ["staff", "add", "lead@example.com"], input=STAFF_PASSWORD)
    assert result.exit_code == 1 and "exists already" in result.output
    result = runner.invoke(main, ["staff", "add", "x@example.com"], input="short\n")
    assert result.exit_code == 1 and "at least 12 characters" in result.output
    for weak in (" " * 12, "x" * 14, "abababababab"):  # long enough, no password
        result = runner.invoke(main, ["staff", "add", "x@example.com"], input=weak + "\n")
        assert result.exit_code == 1 and "at least 5 different characters" in result.output
    for bad in ("<script>alert(1)</script>@x.com", "ann@example", 'a"b@example.com'):
        result = runner.invoke(main, ["staff", "add", bad], input=STAFF_PASSWORD + "\n")
        assert result.exit_code == 1 and "is not an email address" in result.output, bad
    result = runner.invoke(main, ["staff", "add", "x@example.com", "--role", "root"],
                           input=STAFF_PASSWORD)
    assert result.exit_code == 2
    result = runner.invoke(main, ["staff", "list"])
    assert "lead@example.com\tadmin\tactive" in result.output


def test_demo_mode_makes_a_demo_admin_and_keeps_its_password(make_app, tmp_path):
    import os
    import stat

    from assistant.cli.servers import DEMO_PASSWORD_FILE, _demo_login
    app = make_app()
    app.instance_path = str(tmp_path)  # not the checkout's instance folder
    email, password = _demo_login(app)
    path = os.path.join(app.instance_path, DEMO_PASSWORD_FILE)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert _demo_login(app) == (email, password)  # stable across restarts
    client = app.test_client()
    login(client, (email, password))
    assert client.get("/console/staff").status_code == 200  # an admin
    os.unlink(path)  # a lost file: a new password, and the account follows it
    email, fresh = _demo_login(app)
    assert fresh != password
    login(app.test_client(), (email, fresh))
    login(app.test_client(), (email, password), expect=401)


def test_serve_prints_how_to_log_into_the_demo(monkeypatch, db_url, tmp_path):
    from assistant.cli import servers
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("CONNECTIONS_PATH", raising=False)
    monkeypatch.setattr("flask.Flask.run", lambda *a, **k: None)
    monkeypatch.setattr(servers, "start_simulator", lambda url: None)
    monkeypatch.setattr(servers, "_demo_login", lambda app: ("demo-admin@example.com", "pw-123"))
    result = CliRunner().invoke(main, ["serve", "--port", "5999", "--no-help-center"])
    assert result.exit_code == 0, result.output
    assert ("Staff console: http://127.0.0.1:5999/console/ — log in as "
            "demo-admin@example.com with password pw-123") in result.output


def test_a_share_code_opens_nothing_for_a_customer(client, store):
    row = store.create_session("salesforce", "v1", "start")
    for url in (f"/s/{row.code}", f"/s/{row.code}/0", f"/console/?code={row.code}",
                f"/console/sessions/{row.id}"):
        response = client.get(url)
        assert response.status_code in (303, 404), url
        if response.status_code == 303:
            assert response.headers["Location"].startswith("/console/login"), url
        # (A redirect to the login page names the page asked for, as its "next" address; the
        # language switcher links to the very address asked for, in the other language.)
        shown = (response.get_data(as_text=True)
                 .replace(response.headers.get("Location", ""), "")
                 .replace(f'href="{url}?lang=es"', ""))
        assert row.id not in shown and row.code not in shown, url


def test_a_login_ends_after_staff_login_hours_even_for_a_copied_cookie(make_app):
    from datetime import UTC, datetime, timedelta

    import time_machine
    app = make_app(STAFF_LOGIN_HOURS=2)
    app.extensions["assistant"].staff.add("lead@example.com", STAFF_PASSWORD, "admin")
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False) as clock:
        client = app.test_client()
        login(client, ("lead@example.com", STAFF_PASSWORD))
        copy = app.test_client()
        copy.set_cookie("session", client.get_cookie("session").value)
        clock.move_to(start + timedelta(hours=2) - timedelta(seconds=60))  # still in
        assert client.get("/console/sessions").status_code == 200
        assert copy.get("/console/sessions").status_code == 200
        clock.move_to(start + timedelta(hours=2, seconds=1))
        for cookie in (client, copy):
            response = cookie.get("/console/sessions")
            assert response.status_code == 303 and "/console/login" in response.headers[
                "Location"]
        login(client, ("lead@example.com", STAFF_PASSWORD))
        assert client.get("/console/sessions").status_code == 200


def test_a_copied_cookie_replayed_after_logout_is_refused(app, client, agent):
    login(client, agent)
    stolen = client.get_cookie("session").value
    other_login = app.test_client()  # the same person on another computer
    login(other_login, agent)
    response = client.post("/console/logout", data={"csrf_token": csrf_token(client,
                                                                               "/console/")})
    assert response.status_code == 303
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    response = replay.get("/console/sessions")
    assert response.status_code == 303 and "/console/login" in response.headers["Location"]
    assert replay.get("/console/sessions", headers={"HX-Request": "true"}).status_code == 401
    assert other_login.get("/console/sessions").status_code == 200  # only that login ended


def test_a_customer_request_without_a_login_never_looks_logins_up(app, client, store,
                                                                  monkeypatch):
    calls = []
    staff = app.extensions["assistant"].staff
    monkeypatch.setattr(staff, "by_login", lambda *a: calls.append(a))
    w = Walker(client, "salesforce")
    w.answer("disconnected")
    assert calls == []


@pytest.mark.parametrize("name, value", [("LOGIN_RATE_LIMIT", "lots"),
                                         ("LOGIN_EMAIL_RATE_LIMIT", "5 per fortnight"),
                                         ("RATELIMIT_STORAGE_URI", "nosuch://x")])
def test_unusable_login_limit_settings_are_named(make_app, name, value):
    from assistant.config import ConfigError
    with pytest.raises(ConfigError, match=name):
        make_app(**{name: value})


def test_console_error_pages_keep_the_console_layout(client, agent):
    login(client, agent)
    page = client.get("/console/analytics")
    assert page.status_code == 403
    html = page.get_data(as_text=True)
    assert "Support console" in html and "Not for your role" in html
    assert 'href="/console/sessions"' in html
    missing = client.get("/console/handoffs/999")
    assert missing.status_code == 404 and "Support console" in missing.get_data(as_text=True)
    customer = client.get("/s/nope")
    assert "Support console" not in customer.get_data(as_text=True)
