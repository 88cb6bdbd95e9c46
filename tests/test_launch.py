"""Signed launch links: the token itself (PyJWT, HS256, rotation), and the wizard binding a
visitor to their own connection only — never another one, never by a GET.

The app here is outside demo mode, with the simulator's connections (Acme) plus another
company's (Globex) on a real loopback simulator, so that "a check was started" is visible in
the simulator's call counts."""

from __future__ import annotations

import html as htmllib
import json
import re
import time
from base64 import urlsafe_b64decode, urlsafe_b64encode
from collections import deque
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import jwt
import pytest
import time_machine
from click.testing import CliRunner
from simserver import CONFIG, SECRETS, Simulator
from sqlalchemy import func, select

from assistant.cli import main as cli
from assistant.config import ConfigError
from assistant.launch import (
    LaunchSecretError,
    LaunchTokenError,
    LaunchTokenExpired,
    parse_secrets,
    sign,
    verify,
)
from assistant.store.models import FlowSession, ProbeCheck
from conftest import (
    CUSTOMER,
    Walker,
    answer_form,
    count_sessions,
    forms,
    launch_token,
    login,
    past_checks,
    start_form,
    start_session,
)

OLD = "old-launch-secret-abcdefghijklmnopqrstuvwxyz"
NEW = "new-launch-secret-ABCDEFGHIJKLMNOPQRSTUVWXYZ"
GLOBEX = """\
  - id: globex-salesforce
    label: Globex Corp. Salesforce
    system: salesforce
    endpoints:
      login: ${SIMULATOR_URL}/salesforce/globex-salesforce
      trust: ${SIMULATOR_URL}/salesforce/globex-salesforce/trust
    secrets: {client_id: SF_CLIENT_ID, client_secret: SF_CLIENT_SECRET,
              refresh_token: SF_REFRESH_TOKEN}
    timeouts: {connect: 1, read: 1}
"""
# What would reveal a connection on a page: its id or its label.
REVEALS = {"acme-salesforce": ("acme-salesforce", "Acme Inc. Salesforce"),
           "acme-qbo": ("acme-qbo", "Acme Inc. QuickBooks Online"),
           "acme-qbd": ("acme-qbd", "Acme Inc. QuickBooks Desktop"),
           "globex-salesforce": ("globex-salesforce", "Globex")}


# --- the token ------------------------------------------------------------------------------

def test_a_signed_token_gives_back_its_claims():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    token = sign(NEW, connection="acme-salesforce", customer="cus_8841", flow="salesforce",
                 minutes=10, now=now)
    launch = verify(token, NEW, now=now + timedelta(minutes=9))
    assert (launch.connection_id, launch.customer, launch.flow_id) == (
        "acme-salesforce", "cus_8841", "salesforce")
    assert launch.expires_at - launch.issued_at == timedelta(minutes=10)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    other = sign(NEW, connection="acme-salesforce", customer="cus_8841", now=now)
    assert verify(other, NEW, now=now).jti != launch.jti  # each token has its own id
    assert verify(other, NEW, now=now).flow_id is None


def test_an_expired_token_is_refused_as_expired():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    token = sign(NEW, connection="acme-qbo", customer="c", minutes=5, now=now)
    verify(token, NEW, now=now + timedelta(minutes=5))  # within the clock leeway
    with pytest.raises(LaunchTokenExpired):
        verify(token, NEW, now=now + timedelta(minutes=6))


def _tamper(token: str, **changes) -> str:
    """The token with its payload changed and its signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    forged = urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


@pytest.mark.parametrize("make", [
    pytest.param(lambda t: _tamper(t, connection="globex-salesforce"), id="tampered"),
    pytest.param(lambda t: _tamper(t, exp=4102444800), id="lengthened"),
    pytest.param(lambda t: sign(OLD, connection="acme-qbd", customer="c"), id="wrong-secret"),
    pytest.param(lambda t: t[:-3] + ("AAA" if not t.endswith("AAA") else "BBB"),
                 id="bad-signature"),
    pytest.param(lambda t: "not a token", id="garbage"),
    pytest.param(lambda t: "x" * 5000, id="huge"),
    pytest.param(lambda t: jwt.encode({**jwt.decode(t, options={"verify_signature": False})},
                                      None, algorithm="none"), id="alg-none"),
    pytest.param(lambda t: jwt.encode(jwt.decode(t, options={"verify_signature": False}),
                                      NEW + "x" * 40, algorithm="HS512"), id="HS512"),
    pytest.param(lambda t: jwt.encode({"connection": "acme-qbd", "customer": "c",
                                       "iat": 1, "exp": 4102444800, "jti": "0123456789"},
                                      NEW, algorithm="HS256"), id="valid-for-years"),
    pytest.param(lambda t: jwt.encode({"connection": "acme-qbd", "customer": "c",
                                       "iat": int(datetime.now(UTC).timestamp()),
                                       "exp": int(datetime.now(UTC).timestamp()) + 60},
                                      NEW, algorithm="HS256"), id="no-jti"),
    pytest.param(lambda t: jwt.encode({"connection": "ACME/../x", "customer": "c\n",
                                       "iat": int(datetime.now(UTC).timestamp()),
                                       "exp": int(datetime.now(UTC).timestamp()) + 60,
                                       "jti": "0123456789"}, NEW, algorithm="HS256"),
                 id="bad-claims"),
])
def test_a_token_not_signed_as_issued_is_refused(make):
    token = make(sign(NEW, connection="acme-qbd", customer="c"))
    with pytest.raises(LaunchTokenError) as refused:
        verify(token, NEW)
    assert not isinstance(refused.value, LaunchTokenExpired)


def test_secrets_rotate_the_first_signs_and_all_verify():
    old_token = sign(OLD, connection="acme-qbd", customer="c")
    assert verify(old_token, f"{NEW},{OLD}").customer == "c"  # during the rotation
    with pytest.raises(LaunchTokenError):
        verify(old_token, NEW)  # after it: the old secret is gone
    new_token = sign(f" {NEW} , {OLD} ", connection="acme-qbd", customer="c")
    verify(new_token, NEW)  # the first one signed
    with pytest.raises(LaunchTokenError):
        verify(new_token, OLD)


def test_unusable_secrets_are_named_not_shown(make_app):
    assert parse_secrets(None) == () and parse_secrets([NEW, " "]) == (NEW,)
    with pytest.raises(LaunchSecretError):
        parse_secrets(f"{NEW},short")
    with pytest.raises(LaunchSecretError):
        sign("", connection="acme-qbd", customer="c")
    with pytest.raises(ConfigError, match="LAUNCH_SECRET") as refused:
        make_app(LAUNCH_SECRET="too-short-secret")
    assert "too-short-secret" not in str(refused.value)
    with pytest.raises(ValueError):
        sign(NEW, connection="acme-qbd", customer="c", minutes=24 * 60 + 1)


# --- the wizard -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sim():
    with Simulator(delay=0.05, hang_seconds=2) as s:
        yield s


@pytest.fixture
def site(sim, make_app, monkeypatch, tmp_path):
    """Outside demo mode: Acme's three connections and Globex's, on the simulator."""
    sim.reset()
    monkeypatch.setenv("SIMULATOR_URL", sim.url)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "connections.yaml"
    path.write_text(CONFIG.replace("READ", "1") + GLOBEX)
    apps = []

    def make(**settings):
        apps.append(make_app(**{"CONNECTIONS_PATH": str(path), "PROBE_TTL_SECONDS": 1,
                                **settings}))
        return apps[-1]
    yield make
    for app in apps:  # checks still running would call the simulator during the next test
        pool = app.extensions["assistant"].probes._pool
        if pool is not None:
            pool.shutdown(wait=True)


def text(response) -> str:
    """The page as sent, entities decoded (attributes included: an id there reveals too)."""
    return htmllib.unescape(response.get_data(as_text=True))


def words(response) -> str:
    """What the page says: its text without tags, runs of space as one."""
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", response.get_data(
        as_text=True))).split()).replace(" .", ".")


def settle(w, tries=100):
    """Reload a probe step's page until its check is done (as the meta refresh does)."""
    for _ in range(tries):
        if 'id="probe-wait"' not in w.html:
            return
        time.sleep(0.1)
        w.go(w.url)
    raise AssertionError("the check did not finish")


def test_a_valid_token_binds_its_connection_and_the_session_keeps_it(site, sim, store):
    app = site()
    client = app.test_client()
    token = launch_token(app, "acme-salesforce", flow="salesforce")
    start = client.get(f"/flows/salesforce?launch={token}")
    assert start.status_code == 200
    assert "We'll check Acme Inc. Salesforce live first" in words(start)
    assert start_form(start.get_data(as_text=True), "salesforce")["fields"]["launch"] == token
    w = Walker(client, "salesforce", launch=token)
    row = store.get_session(w.sid)
    assert (row.connection_id, row.customer_ref) == ("acme-salesforce", CUSTOMER)
    settle(w)
    assert sim.calls()["acme-salesforce"]  # it was checked live
    assert "Acme Inc. Salesforce" in w.html and "Globex" not in w.html
    # The session keeps its connection after the token has expired.
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=2)):
        page = client.get(w.url)
        assert page.status_code == 200 and "Acme Inc. Salesforce" in text(page)
        assert store.get_session(w.sid).connection_id == "acme-salesforce"


def test_start_again_on_a_launched_session_checks_the_same_connection(site, sim, store):
    from conftest import forms
    app = site()
    client = app.test_client()
    w = Walker(client, "salesforce", launch=launch_token(app, "acme-salesforce"))
    settle(w)
    # Long after the link expired, the visitor presses "Start again" mid-guide.
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=2)):
        page = client.get(w.url).get_data(as_text=True)
        [again] = [f for f in forms(page) if f["action"] == f"/s/{w.sid}/again"]
        assert "<a class=\"restart-link\"" not in page  # not a link that starts unbound
        started = client.post(again["action"], data=again["fields"])
        assert started.status_code == 303, started.get_data(as_text=True)[-3000:]
        new = store.get_session(started.headers["Location"].split("/")[2])
    assert new.id != w.sid and (new.connection_id, new.customer_ref) == \
        ("acme-salesforce", CUSTOMER)
    # Without a bound connection "Start again" stays a plain link to the guide's start.
    plain = Walker(client, "salesforce")
    settle(plain)
    assert '<a class="restart-link" href="/flows/salesforce' in plain.html
    assert f"/s/{plain.sid}/again" not in plain.html


def test_a_token_for_a_with_connection_b_in_the_address_checks_only_a(site, sim, store):
    app = site()
    client = app.test_client()
    token = launch_token(app, "acme-salesforce")
    page = client.get(f"/flows/salesforce?launch={token}&connection=globex-salesforce")
    assert page.status_code == 200 and "Globex" not in text(page)
    form = start_form(page.get_data(as_text=True), "salesforce")
    started = client.post(form["action"], data={**form["fields"],
                                                "connection": "globex-salesforce"})
    sid = started.headers["Location"].split("/")[2]
    assert store.get_session(sid).connection_id == "acme-salesforce"
    w = Walker.__new__(Walker)
    w.client, w.sid = client, sid
    w.go(started.headers["Location"])
    settle(w)
    assert "Globex" not in w.html and "globex" not in json.dumps(sim.calls())


def test_without_a_token_no_page_lists_connections_and_connection_is_ignored(site, sim, store):
    client = site().test_client()
    pages = [client.get("/"), client.get("/flows/salesforce"),
             client.get("/flows/salesforce?connection=globex-salesforce"),
             client.get("/flows/quickbooks-desktop?connection=acme-qbd")]
    for page in pages:
        assert page.status_code == 200
        for names in REVEALS.values():
            assert not any(name in text(page) for name in names)
    assert "open this guide from the help link in your account" in words(pages[1])
    form = start_form(pages[2].get_data(as_text=True), "salesforce")
    assert "launch" not in form["fields"]
    started = client.post(form["action"], data={**form["fields"],
                                                "connection": "globex-salesforce"})
    sid = started.headers["Location"].split("/")[2]
    assert store.get_session(sid).connection_id is None
    step = past_checks(client, client.get(started.headers["Location"], follow_redirects=True))
    assert "wasn't opened with a link to your own connection" in words(step)
    assert "What we found Not checked live" in words(step)  # not "could not be reached"
    assert "Checked automatically: Could not be checked" in words(step)  # the transcript
    assert "Disconnect Salesforce" in text(step)  # the manual path
    assert sim.calls() == {}  # nothing was checked


@pytest.mark.parametrize("connection", ["nope", "acme-qbo"])  # unknown; another system's
def test_a_link_naming_a_connection_we_cannot_check_says_so(site, sim, store, connection):
    app = site()
    client = app.test_client()
    url = start_session(client, "salesforce",
                        launch=launch_token(app, connection, flow="salesforce"))
    step = past_checks(client, client.get(url, follow_redirects=True))
    assert "names a connection we can't check here" in words(step)
    assert "wasn't opened with a link" not in words(step)  # it was
    assert "What we found Not checked live" in words(step)
    assert "Disconnect Salesforce" in text(step)
    assert sim.calls() == {}


def _bad_tokens(app):
    good = launch_token(app, "acme-salesforce")
    now = datetime.now(UTC)
    return {
        "expired": (launch_token(app, "acme-salesforce", minutes=5,
                                 now=now - timedelta(minutes=10)), 410, "has expired"),
        "tampered": (_tamper(good, connection="globex-salesforce"), 400, "can't be used"),
        "wrong secret": (sign(OLD, connection="acme-salesforce", customer="c"), 400,
                         "can't be used"),
        "garbage": ("eyJhbGciOi.nonsense.", 400, "can't be used"),
        "another guide": (launch_token(app, "acme-salesforce", flow="quickbooks-online"), 400,
                          "for another guide"),
    }


def test_bad_tokens_get_a_clear_page_offering_the_guide_without_a_check(site, sim, store):
    app = site()
    client = app.test_client()
    for name, (token, status, words) in _bad_tokens(app).items():
        for page in (client.get(f"/flows/salesforce?launch={token}"),
                     client.get(f"/?launch={token}") if name != "another guide" else None):
            if page is None:
                continue
            assert page.status_code == status, name
            assert words in text(page), name
            assert not any(w in text(page) for ws in REVEALS.values() for w in ws), name
        # The same token posted (a start page kept open past expiry): refused, nothing made.
        form = start_form(client.get("/flows/salesforce").get_data(as_text=True), "salesforce")
        refused = client.post(form["action"], data={**form["fields"], "launch": token})
        assert refused.status_code == status and words in text(refused), name
        assert count_sessions(store) == 0
        # What it offers: the guide by hand.
        offered = start_form(refused.get_data(as_text=True), "salesforce")
        assert "launch" not in offered["fields"]
    started = client.post(offered["action"], data=offered["fields"])
    assert store.get_session(started.headers["Location"].split("/")[2]).connection_id is None
    assert sim.calls() == {}


def test_a_rotated_secret_keeps_old_links_working_until_it_is_removed(site, store):
    old_app = site(LAUNCH_SECRET=OLD)
    token = launch_token(old_app, "acme-qbd")
    rotating = site(LAUNCH_SECRET=f"{NEW},{OLD}")
    w = Walker(rotating.test_client(), "quickbooks-desktop", launch=token)
    assert store.get_session(w.sid).connection_id == "acme-qbd"
    assert verify(launch_token(rotating, "acme-qbd"), NEW)  # the new one signs
    rotated = site(LAUNCH_SECRET=NEW).test_client()
    page = rotated.get(f"/flows/quickbooks-desktop?launch={launch_token(old_app, 'acme-qbd')}")
    assert page.status_code == 400 and "Acme" not in text(page)


def test_a_token_starts_one_session_and_is_refused_once_it_has_ended(site, store):
    app = site()
    client = app.test_client()
    token = launch_token(app, "acme-qbd", flow="quickbooks-desktop")
    page = client.get(f"/flows/quickbooks-desktop?launch={token}")
    form = start_form(page.get_data(as_text=True), "quickbooks-desktop")
    first = client.post(form["action"], data=form["fields"])
    again = client.post(form["action"], data=form["fields"])  # a double click, Back + Start
    sid = first.headers["Location"].split("/")[2]
    assert again.status_code == 303 and again.headers["Location"] == f"/s/{sid}"
    assert count_sessions(store) == 1
    # It ends (how is not what this is about).
    with store.Session.begin() as s:
        s.get(FlowSession, sid).status = "ended"
    for replay in (client.get(f"/flows/quickbooks-desktop?launch={token}"),
                   client.post(form["action"], data=form["fields"]),
                   client.get(f"/?launch={token}")):
        assert replay.status_code == 410 and "used already" in text(replay)
        assert "launch" not in json.dumps(forms(replay.get_data(as_text=True)))
    assert count_sessions(store) == 1


# --- what a crawler and the URL map see --------------------------------------------------------

def _links(html: str, base: str) -> list[str]:
    """Same-origin links of a page (no other site, no fragments)."""
    out = []
    for href in re.findall(r'href="([^"]+)"', html):
        href = htmllib.unescape(href)
        parts = urlsplit(href)
        if parts.scheme and not href.startswith(base):
            continue
        out.append(href.removeprefix(base).split("#")[0] or "/")
    return out


@pytest.mark.parametrize("demo", [False, True], ids=["customers", "demo"])
def test_a_crawler_starts_no_session_and_no_check(site, sim, store, tmp_path, demo):
    settings = {}
    if demo:
        path = tmp_path / "demo.yaml"
        path.write_text("demo: true\n" + CONFIG.replace("READ", "1") + GLOBEX)
        settings["CONNECTIONS_PATH"] = str(path)
    app = site(**settings)
    client = app.test_client()
    token = launch_token(app, "acme-salesforce")
    # Where crawlers and link previewers come from: the site, and links that were shared
    # (a launch link in an email a scanner prefetches, a demo link with ?connection=).
    queue = deque(["/", f"/?launch={token}", f"/flows/salesforce?launch={token}",
                   "/flows/salesforce?connection=acme-salesforce"])
    queue += [str(rule.rule).replace("<flow_id>", flow)
              for rule in app.url_map.iter_rules() if rule.endpoint.startswith("wizard.")
              and "GET" in rule.methods and "<sid>" not in rule.rule
              for flow in app.extensions["assistant"].flows]
    seen: set[str] = set()
    while queue and len(seen) < 300:
        url = queue.popleft()
        if url in seen or url.startswith(("/console", "/static")):
            continue
        seen.add(url)
        response = client.get(url, headers={"User-Agent": "Googlebot/2.1"})
        assert response.status_code < 500, url
        if response.status_code in (301, 302, 303, 307, 308):
            queue.append(response.headers["Location"])
        elif "html" in response.content_type:
            queue.extend(_links(response.get_data(as_text=True), "http://localhost"))
    assert {"/flows/salesforce", "/flows/quickbooks-online", "/flows/quickbooks-desktop"} <= {
        u.split("?")[0] for u in seen}
    assert count_sessions(store) == 0
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ProbeCheck)).scalar_one() == 0
    assert sim.calls() == {}
    # The launch link the scanner opened still works for the person it was sent to.
    w = Walker(client, "salesforce", launch=token)
    assert store.get_session(w.sid).connection_id == "acme-salesforce"


def test_no_customer_route_reveals_a_connection_the_session_is_not_bound_to(site, sim, store):
    """Every customer route of the URL map (GET, and POST with a real form token) on a session
    bound to Acme's Salesforce by a token, and on one without a token, with ?connection= and
    a token for another connection in the address: no page names a connection the session
    is not bound to."""
    app = site()
    client = app.test_client()
    bound = Walker(client, "salesforce", connection="acme-salesforce")
    settle(bound)
    unbound = Walker(client, "salesforce")
    csrf = answer_form(unbound.html)["fields"]["csrf_token"]
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("wizard.")]
    other = launch_token(app, "globex-salesforce")  # Globex's own, valid token
    forged = _tamper(launch_token(app, "acme-salesforce"), connection="globex-salesforce")
    visited = set()
    for session, allowed in ((bound, "acme-salesforce"), (unbound, None)):
        assert store.get_session(session.sid).connection_id == allowed
        for rule in rules:
            values = {"sid": session.sid, "n": 0, "flow_id": "salesforce"}
            unknown = set(rule.arguments) - set(values)
            assert not unknown, f"{rule.rule}: teach this test about {unknown}"
            url = rule.build({k: values[k] for k in rule.arguments})[1]
            # A session's pages ignore any token in the address; a start page shows the
            # connection of a valid token, so it gets a forged one.
            query = {"connection": "globex-salesforce", "answers": "all",
                     "launch": other if "sid" in rule.arguments else forged}
            shown_may = allowed if "sid" in rule.arguments else None
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                if method == "GET":
                    response = client.get(url, query_string=query)
                else:
                    response = client.post(url, query_string=query,
                                           data={"csrf_token": csrf, "revision": "0",
                                                 "connection": "globex-salesforce"})
                while response.status_code in (302, 303) and \
                        response.headers["Location"].startswith("/"):  # ours, not elsewhere
                    response = client.get(response.headers["Location"])
                visited.add((rule.endpoint, method))
                assert response.status_code < 500, (url, method)
                page = text(response)
                for connection, words in REVEALS.items():
                    if connection != shown_may:
                        assert not any(w in page for w in words), (url, method, connection)
    assert {("wizard.begin", "GET"), ("wizard.start_session", "POST"), ("wizard.step", "GET"),
            ("wizard.answer", "POST"), ("wizard.support", "POST")} <= visited
    assert store.get_session(unbound.sid).connection_id is None  # still unbound
    assert store.get_session(bound.sid).connection_id == "acme-salesforce"


# --- console, handoffs and the command line ------------------------------------------------

def test_support_finds_the_session_by_the_customer_reference(site, store, agent):
    app = site()
    client = app.test_client()
    mine = Walker(client, "quickbooks-desktop",
                  launch=launch_token(app, "acme-qbd", customer="acct-77"))
    Walker(client, "quickbooks-desktop", launch=launch_token(app, "acme-qbd",
                                                             customer="acct-78"))
    Walker(client, "quickbooks-desktop")
    console = app.test_client()
    login(console, agent)
    listing = text(console.get("/console/sessions"))
    assert "acct-77" in listing and "acct-78" in listing
    found = text(console.get("/console/sessions?customer=acct-77"))
    assert "1 session matches" in found and store.get_session(mine.sid).code in found
    assert "acct-78" not in found
    view = text(console.get(f"/console/sessions/{mine.sid}"))
    assert "acct-77" in view and "from their launch link" in view
    too_long = console.get("/console/sessions?customer=" + "x" * 201)
    assert too_long.status_code == 400


def test_the_command_line_prints_a_link_the_app_accepts(site, db_url, tmp_path, store):
    path = tmp_path / "connections.yaml"
    env = {"DATABASE_URL": db_url, "SECRET_KEY": "test", "CONNECTIONS_PATH": str(path),
           "LAUNCH_SECRET": f"{NEW},{OLD}", "PUBLIC_URL": "https://help.example.com",
           "SIMULATOR_URL": "http://127.0.0.1:9", **SECRETS}
    path.write_text(CONFIG.replace("READ", "1") + GLOBEX)
    result = CliRunner().invoke(cli, ["launch-link", "--connection", "acme-qbd", "--customer",
                                      "acct 9/ü", "--flow", "quickbooks-desktop",
                                      "--minutes", "30"], env=env)
    assert result.exit_code == 0, result.output
    link = result.output.strip()
    assert link.startswith("https://help.example.com/flows/quickbooks-desktop?launch=")
    launch = verify(link.split("launch=")[1], NEW)
    assert (launch.connection_id, launch.customer) == ("acme-qbd", "acct 9/ü")
    assert launch.expires_at - launch.issued_at == timedelta(minutes=30)
    app = site(LAUNCH_SECRET=f"{NEW},{OLD}")
    w = Walker(app.test_client(), "quickbooks-desktop", launch=link.split("launch=")[1])
    assert store.get_session(w.sid).customer_ref == "acct 9/ü"
    whole = CliRunner().invoke(cli, ["launch-link", "--connection", "acme-qbd",
                                     "--customer", "c"], env=env)
    assert whole.output.strip().startswith("https://help.example.com/?launch=")
    for args, message in ((["--connection", "nope"], "no connection 'nope'"),
                          (["--connection", "acme-qbd", "--flow", "salesforce"],
                           "is about salesforce"),
                          (["--connection", "acme-qbd", "--minutes", "0"], "minutes")):
        refused = CliRunner().invoke(cli, ["launch-link", "--customer", "c", *args], env=env)
        assert refused.exit_code == 2 and message in refused.output, refused.output
    unset = CliRunner().invoke(cli, ["launch-link", "--connection", "acme-qbd", "--customer",
                                     "c"], env={**env, "LAUNCH_SECRET": ""})
    assert unset.exit_code == 2 and "LAUNCH_SECRET is not set" in unset.output



def test_the_readme_recipe_makes_links_the_app_accepts(site, store):
    """The README's ten lines for a host app, run as they are printed."""
    from conftest import REPO
    readme = (REPO / "README.md").read_text()
    recipe = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    assert len(recipe.strip().splitlines()) <= 10
    scope = {"LAUNCH_SECRET": NEW}
    exec(recipe, scope)  # noqa: S102 - our own README
    link = scope["launch_link"]("acme-salesforce", "acct-5")
    assert link.startswith("https://help.example.com/flows/salesforce?launch=")
    w = Walker(site(LAUNCH_SECRET=NEW).test_client(), "salesforce",
               launch=link.split("launch=")[1])
    row = store.get_session(w.sid)
    assert (row.connection_id, row.customer_ref) == ("acme-salesforce", "acct-5")
