"""Guided mode and share codes: an agent starts a session for a caller and sees what to say;
the customer sees the code to read out, on every page, and never the staff's script."""

from __future__ import annotations

import html as htmllib
import re

import pytest
from sqlalchemy import func, select, update

from assistant.flow import load_flows
from assistant.store.models import FlowSession
from conftest import FLOWS, Walker, answer_form, csrf_token, forms, heading, login, past_checks

CONNECTIONS = """\
demo: true
connections:
  - id: sf-main
    label: Acme Salesforce
    system: salesforce
    endpoints: {login: "http://127.0.0.1:9/sf-main"}
    secrets: {client_id: X_SF_ID, client_secret: X_SF_SECRET, refresh_token: X_SF_RT}
  - id: sf-europe
    label: Acme Europe Salesforce
    system: salesforce
    endpoints: {login: "http://127.0.0.1:9/sf-europe"}
    secrets: {client_id: X_SF_ID, client_secret: X_SF_SECRET, refresh_token: X_SF_RT}
  - id: qbo-main
    label: Acme QuickBooks Online
    system: quickbooks_online
    endpoints: {token: "http://127.0.0.1:9/token", api: "http://127.0.0.1:9/api"}
    realm_id: "123"
    secrets: {client_id: X_QBO_ID, client_secret: X_QBO_SECRET, refresh_token: X_QBO_RT}
"""

NO_SCRIPT_FLOW = """\
id: plain
title: A guide without scripts
system: salesforce
summary: For testing.
source: {title: Test}
start: ask
steps:
  ask:
    kind: question
    title: Is the light green?
    body: Look at the **status light** on the router.
    answers:
      - {id: green, label: "Yes, it is green", next: done}
  done:
    kind: end
    outcome: resolved
    title: All good
"""

FLOWS_LOADED, _ = load_flows([FLOWS])


def spelled(code: str) -> str:
    """How a screen reader is told the code: "K 7 dash 4 Q X"."""
    return " ".join("dash" if c == "-" else c for c in code)


def text_of(html: str) -> str:
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def session_count(store) -> int:
    with store.Session() as s:
        return s.scalar(select(func.count()).select_from(FlowSession))


def start_guided(client, flow_id: str, connection: str | None = "none", expect: int = 303):
    data = {"csrf_token": csrf_token(client, "/console/guided"), "flow": flow_id}
    if connection is not None:
        data["connection"] = connection
    response = client.post("/console/guided", data=data)
    assert response.status_code == expect, response.get_data(as_text=True)[:500]
    return response


@pytest.fixture
def agent_client(app, agent):
    client = app.test_client()
    login(client, agent)
    return client


@pytest.fixture
def with_connections(make_app, tmp_path):
    path = tmp_path / "connections.yaml"
    path.write_text(CONNECTIONS)
    return make_app(CONNECTIONS_PATH=str(path))


# --- starting a guided session -----------------------------------------------------------

def test_the_start_page_offers_every_guide_with_the_customers_connections(with_connections,
                                                                          agent):
    client = with_connections.test_client()
    login(client, agent)
    response = client.get("/console/guided")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    by_flow = {f["fields"]["flow"]: f for f in forms(page) if "flow" in f["fields"]}
    assert set(by_flow) == {"salesforce", "quickbooks-online", "quickbooks-desktop"}
    assert all(f["action"] == "/console/guided" and f["method"] == "post"
               and f["fields"]["csrf_token"] for f in by_flow.values())
    # Two Salesforce connections: the agent must choose (nothing preselected but "Choose…").
    sf = re.search(r'<select id="connection-salesforce".*?</select>', page, re.S).group(0)
    assert re.findall(r'<option value="([^"]*)"', sf) == ["", "sf-main", "sf-europe", "none"]
    assert re.search(r'<option value="" selected>Choose…', sf)
    assert "Acme Europe Salesforce" in sf and "No live check (manual steps)" in sf
    # One QuickBooks Online connection: preselected.
    qbo = re.search(r'<select id="connection-quickbooks-online".*?</select>', page, re.S).group(0)
    assert re.search(r'<option value="qbo-main" selected>', qbo)
    # No QuickBooks Desktop connection: the manual steps, said in words.
    assert by_flow["quickbooks-desktop"]["fields"]["connection"] == "none"
    assert 'id="connection-quickbooks-desktop"' not in page
    assert "No connection of this kind is set up for live checks" in page
    assert '<label for="connection-salesforce">Customer\'s connection</label>' in page


def test_starting_records_the_agent_and_the_connection_and_opens_the_first_step(
        with_connections, agent, staff_accounts, store):
    client = with_connections.test_client()
    login(client, agent)
    me = staff_accounts.by_email(agent[0]).id

    response = start_guided(client, "salesforce", "sf-europe")
    match = re.fullmatch(r"/s/([A-Za-z0-9_-]{22})/0", response.headers["Location"])
    assert match, response.headers["Location"]
    row = store.get_session(match.group(1))
    assert (row.flow_id, row.guided_by, row.connection_id, row.position) == (
        "salesforce", me, "sf-europe", 0)
    assert row.code and row.status == "active"

    response = start_guided(client, "quickbooks-desktop", "none")
    row = store.get_session(response.headers["Location"].split("/")[2])
    assert (row.flow_id, row.guided_by, row.connection_id) == ("quickbooks-desktop", me, None)


def test_a_bad_start_is_refused_with_the_page_and_creates_nothing(with_connections, agent,
                                                                  store):
    app = with_connections
    client = app.test_client()
    login(client, agent)
    token = csrf_token(client, "/console/guided")

    # No CSRF token.
    response = client.post("/console/guided", data={"flow": "salesforce", "connection": "none"})
    assert response.status_code == 400
    # A flow that does not exist.
    response = client.post("/console/guided", data={"csrf_token": token, "flow": "nope",
                                                     "connection": "none"})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "That guide does not exist" in body and 'href="#guides"' in body
    assert "Reset your Salesforce connection" in body  # the choices are shown again
    # A connection of another system, an unknown one, none chosen.
    for wanted, message in (("qbo-main", "not one this guide can check"),
                            ("sf-nowhere", "not one this guide can check"),
                            ("", "Choose the customer's connection"), (None, "Choose the")):
        data = {"csrf_token": token, "flow": "salesforce"}
        if wanted is not None:
            data["connection"] = wanted
        response = client.post("/console/guided", data=data)
        assert response.status_code == 400, wanted
        body = htmllib.unescape(response.get_data(as_text=True))
        assert message in body, wanted
        assert 'href="#connection-salesforce"' in body  # the summary links to the field
        assert 'aria-describedby="connection-salesforce-hint connection-salesforce-error"' in body
    assert session_count(store) == 0
    # Without a login, nothing either (401 for a form post).
    anonymous = app.test_client()
    response = anonymous.post("/console/guided", data={
        "csrf_token": csrf_token(anonymous), "flow": "salesforce", "connection": "none"})
    assert response.status_code == 401
    assert session_count(store) == 0


# --- what staff and customers see ----------------------------------------------------------

def test_staff_see_the_script_and_a_customer_on_the_same_url_never_does(app, agent_client,
                                                                        store):
    response = start_guided(agent_client, "quickbooks-desktop")
    page = past_checks(agent_client, agent_client.get(response.headers["Location"],
                                                  follow_redirects=True))
    url = page.request.path  # no connection: the live check falls back to the manual steps
    staff_html = page.get_data(as_text=True)
    step = FLOWS_LOADED["quickbooks-desktop"].steps["agent-status"]
    assert heading(staff_html) == step.title
    assert '<h2 id="say-title">Say to the customer</h2>' in staff_html
    assert str(step.script_html) in staff_html
    assert "What does the <strong>Autofy Agent Status</strong> say?" in staff_html
    row = store.get_session(url.split("/")[2])
    assert "Staff view." in staff_html and f"Share code: {row.code}" in text_of(staff_html)
    assert 'href="/console/guided">Start again' in staff_html  # another guided session

    customer = app.test_client()
    for headers in ({}, {"HX-Request": "true"}):
        response = customer.get(url, headers=headers)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert heading(html) == step.title
        assert str(step.script_html) not in html and "Please log into Autofy" not in html
        for staff_only in ("Say to the customer", "Staff view", "Share code:", "console",
                           "what to say", "No script for this step"):
            assert staff_only not in html, (staff_only, headers)
        assert f"Tell support: {row.code}" in text_of(html)
    # The staff fragment carries the script too.
    fragment = agent_client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and str(step.script_html) in fragment


def test_the_staff_variant_is_never_cached_and_varies_by_cookie(app, agent_client):
    response = start_guided(agent_client, "salesforce")
    url = past_checks(agent_client, agent_client.get(response.headers["Location"],
                                                  follow_redirects=True)).request.path
    customer = app.test_client()
    for client in (agent_client, customer):
        for path in (url, url.rsplit("/", 1)[0] + "/support"):
            for headers in ({}, {"HX-Request": "true"}):
                r = client.get(path, headers=headers)
                assert r.status_code == 200, path
                assert r.headers["Cache-Control"] == "no-store", path
                vary = {v.strip() for v in r.headers["Vary"].split(",")}
                assert {"Cookie", "HX-Request"} <= vary, (path, vary)


def test_a_step_without_a_script_tells_the_agent_to_read_it_aloud(make_app, tmp_path, agent):
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "plain.yaml").write_text(NO_SCRIPT_FLOW)
    app = make_app(FLOWS_PATH=[str(folder)])  # the same database: the agent exists
    client = app.test_client()
    login(client, agent)
    response = start_guided(client, "plain", connection=None)  # no probe step: no connection
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "No script for this step: read the step aloud." in html
    assert "Look at the <strong>status light</strong> on the router." in html
    customer = app.test_client().get(response.headers["Location"]).get_data(as_text=True)
    assert "No script for this step" not in customer and "status light" in customer


# --- the share code --------------------------------------------------------------------------

def test_the_share_code_is_on_every_step_end_and_support_page_and_in_fragments(client, store):
    w = Walker(client, "quickbooks-desktop")
    row = store.get_session(w.sid)
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{2}-[2-9A-HJKMNP-Z]{3}", row.code)
    shown = f"Tell support: {row.code}"
    said = f"Tell support: {spelled(row.code)}"

    def check(html: str, where: str):
        assert shown in text_of(html), where
        # Screen readers get it spelled; the visible code is hidden from them.
        assert f'<span class="visually-hidden">{said}</span>' in html, where
        assert f'<span aria-hidden="true">Tell support: <span class="share-code">{row.code}' \
               f'</span></span>' in html, where

    seen = []
    for answer_id in ("disconnected", "two-green-check-marks", "clicked-connect",
                      "still-disconnected", "signed-out"):
        check(w.html, w.url)
        seen.append(heading(w.html))
        w.answer(answer_id)
    # htmx: an answer answers the #step fragment, which carries the code too.
    form = answer_form(w.html)  # (the page's first form is the language switcher)
    response = client.post(form["action"], headers={"HX-Request": "true"},
                           data={**form["fields"], "answer": "repeat-steps-1-3"})
    assert response.status_code == 200 and "<html" not in response.get_data(as_text=True)
    check(response.get_data(as_text=True), "htmx answer")
    w.go(response.headers["HX-Push-Url"])
    for answer_id in ("no-green-check-marks",):
        w.answer(answer_id)
    assert heading(w.html) == "Set up the Autofy Agent first"  # an end
    check(w.html, "end page")
    check(client.get(w.url, headers={"HX-Request": "true"}).get_data(as_text=True), "end htmx")
    # Earlier steps (Back), the support page before and after sending.
    check(client.get(f"/s/{w.sid}/1").get_data(as_text=True), "back")
    support = f"/s/{w.sid}/support"
    check(client.get(support).get_data(as_text=True), "support")
    check(client.get(support, headers={"HX-Request": "true"}).get_data(as_text=True),
          "support htmx")
    form = next(f for f in forms(client.get(support).get_data(as_text=True))
                if f["action"].endswith("/support"))
    sent = client.post(support, data={**form["fields"], "contact": "", "message": ""},
                       follow_redirects=True)
    assert "Support has your session" in sent.get_data(as_text=True)
    check(sent.get_data(as_text=True), "support sent")
    assert len(seen) == 5


def test_a_session_from_before_share_codes_shows_no_code(client, store):
    w = Walker(client, "salesforce")
    with store.Session.begin() as s:
        s.execute(update(FlowSession).where(FlowSession.id == w.sid).values(code=None))
    html = client.get(w.url).get_data(as_text=True)
    assert heading(html) == "Disconnect Salesforce"
    assert "Tell support" not in html and "share-code" not in html
    assert "Tell support" not in client.get(f"/s/{w.sid}/support").get_data(as_text=True)


# --- the scripts -----------------------------------------------------------------------------

STEPS = [(flow.id, step) for flow in FLOWS_LOADED.values() for step in flow.steps.values()]


@pytest.mark.parametrize("flow_id, step", STEPS, ids=[f"{f}:{s.id}" for f, s in STEPS])
def test_every_step_has_a_short_script_spoken_to_the_customer(flow_id, step):
    assert step.script_html, f"{flow_id}:{step.id} has no script"
    text = text_of(str(step.script_html))
    assert len(text) <= 600, (flow_id, step.id, len(text))
    # Said to the caller (you, please, let's, I'm checking), never staff notes about them.
    assert re.search(r"\b(you|your|yours|please|let[’']s|we|I[’']m)\b", text, re.I), text
    assert not re.search(r"\bthe customer\b|\bask them\b|\btheir\b", text, re.I), text
    # Every screen element the script names in bold is one the step itself names.
    said = text_of(str(step.body_html) + " ".join(str(c.detail_html) for c in step.causes))
    for bold in re.findall(r"<strong>(.*?)</strong>", str(step.script_html), re.S):
        assert text_of(bold) in said, (flow_id, step.id, bold)


def test_staff_get_a_link_to_the_console_session_view(make_app, agent):
    app = make_app()
    client = app.test_client()
    login(client, agent)
    url = client.get(start_guided(client, "salesforce").headers["Location"],
                     follow_redirects=True).request.path
    sid = url.split("/")[2]
    link = f'<a href="/console/sessions/{sid}">Open this session in the console</a>'
    assert link in client.get(url).get_data(as_text=True)
    assert link in client.get(f"/s/{sid}/support").get_data(as_text=True)
    customer = app.test_client()
    assert "/console/sessions/" not in customer.get(url).get_data(as_text=True)


def test_the_console_view_of_a_guided_session_opens_and_names_its_agent(make_app, agent):
    # The staff bar's link, and the live poll of that page: a session with a staff member
    # attached once answered 500 (the staff emails were read into a dict the wrong way).
    app = make_app()
    client = app.test_client()
    login(client, agent)
    sid = start_guided(client, "salesforce").headers["Location"].split("/")[2]
    response = client.get(f"/console/sessions/{sid}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert re.search(r"<dt>Guided by</dt><dd>agent@example.com</dd>", page)
    poll = client.get(f"/console/sessions/{sid}?v=old",
                      headers={"HX-Request": "true", "HX-Target": "session-live"})
    assert poll.status_code == 200 and "agent@example.com" in poll.get_data(as_text=True)
