"""The console's session list (filters, share-code search, pages), the session view
(transcript, time spent, live checks, feedback, handoffs, notes, live updates) and notes."""

from __future__ import annotations

import html as htmllib
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from assistant.store.models import Event, FlowSession, StaffNote, utcnow
from conftest import Walker, csrf_token, login

NOW = utcnow()


def _set(store, sid: str, **values) -> None:
    with store.Session.begin() as s:
        s.execute(update(FlowSession).where(FlowSession.id == sid).values(**values))


def _session(store, flow_id: str, created: datetime, *, connection: str | None = None,
             outcome: str | None = None, cause: str | None = None,
             idle: timedelta = timedelta(0)):
    row = store.create_session(flow_id, "v1", "start", connection_id=connection)
    _set(store, row.id, created_at=created, updated_at=NOW - idle, cause=cause,
         status="ended" if outcome else "active", outcome=outcome)
    return row


@pytest.fixture
def seeded(store):
    """Five sessions, one for each outcome, spread over five days of March 2025."""
    day = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    return {
        "resolved": _session(store, "salesforce", day, connection="sf-main",
                             outcome="resolved"),
        "unresolved": _session(store, "salesforce", datetime(2025, 3, 2, 23, 59, 59, tzinfo=UTC),
                               connection="sf-main", outcome="unresolved",
                               cause="salesforce.daily_api_limit_exceeded"),
        "escalated": _session(store, "quickbooks-online", datetime(2025, 3, 3, tzinfo=UTC),
                              connection="qbo-main", outcome="escalated",
                              cause="quickbooks_online.service_unavailable"),
        "active": _session(store, "quickbooks-desktop", day + timedelta(days=3)),
        "abandoned": _session(store, "quickbooks-desktop", day + timedelta(days=4),
                              idle=timedelta(hours=2)),
    }


@pytest.fixture
def staff(client, agent):
    login(client, agent)
    return client


def _codes(page: str) -> list[str]:
    """The share codes listed in the session table, top to bottom."""
    return re.findall(r'<a class="share-code" href="/console/sessions/[^"]+">([^<]+)<', page)


def _list(client, query: str = "", expect: int = 200) -> str:
    response = client.get(f"/console/sessions{query}")
    assert response.status_code == expect, response.get_data(as_text=True)[:400]
    return response.get_data(as_text=True)


def _text(fragment: str) -> str:
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _section(page: str, title_id: str) -> str:
    m = re.search(rf'<section aria-labelledby="{title_id}".*?</section>', page, re.S)
    assert m, f"no section {title_id}"
    return m.group(0)


# -- the list ---------------------------------------------------------------------------------

def test_login_lands_on_the_session_list(client, agent):
    response = login(client, agent)
    assert response.headers["Location"] == "/console/sessions"


def test_the_list_shows_every_session_newest_first_with_what_staff_need(staff, seeded):
    page = _list(staff)
    s = seeded
    assert _codes(page) == [s[k].code for k in ("abandoned", "active", "escalated",
                                                 "unresolved", "resolved")]
    assert "5 sessions." in _text(page)
    row = re.search(rf'<tr>\s*<th scope="row"><a class="share-code" '
                    rf'href="/console/sessions/{s["unresolved"].id}">.*?</tr>', page, re.S)
    cells = _text(row.group(0))
    assert "Reset your Salesforce connection" in cells
    assert "2025-03-02 23:59:59" in cells and "Not resolved" in cells
    assert "Daily API request limit used up" in cells  # the cause, in words
    assert "sf-main" in cells
    assert "Abandoned" in _text(re.search(rf'{s["abandoned"].code}.*?</tr>', page, re.S)[0])


@pytest.mark.parametrize("query, expected", [
    ("?flow=salesforce", ["unresolved", "resolved"]),
    ("?outcome=resolved", ["resolved"]),
    ("?outcome=unresolved", ["unresolved"]),
    ("?outcome=escalated", ["escalated"]),
    ("?outcome=active", ["active"]),
    ("?outcome=abandoned", ["abandoned"]),
    ("?from=2025-03-02&to=2025-03-03", ["escalated", "unresolved"]),  # both ends inclusive
    ("?from=2025-03-03", ["abandoned", "active", "escalated"]),
    ("?to=2025-03-01", ["resolved"]),
    ("?connection=sf-main", ["unresolved", "resolved"]),
    ("?cause=salesforce.daily_api_limit_exceeded", ["unresolved"]),
    ("?flow=salesforce&outcome=resolved&connection=sf-main", ["resolved"]),
    ("?flow=quickbooks-online&outcome=resolved", []),
])
def test_each_filter_narrows_the_list(staff, seeded, query, expected):
    page = _list(staff, query)
    assert _codes(page) == [seeded[k].code for k in expected]
    if not expected:
        assert "No sessions match these filters." in _text(page)


def test_abandoned_follows_the_configured_time(make_app, agent, store, seeded):
    app = make_app(ABANDONED_AFTER_MINUTES=180)
    client = app.test_client()
    login(client, agent)
    assert _codes(_list(client, "?outcome=abandoned")) == []
    assert _codes(_list(client, "?outcome=active")) == [seeded["abandoned"].code,
                                                        seeded["active"].code]


def test_search_by_share_code_in_any_spelling(staff, seeded):
    code = seeded["escalated"].code
    sid = seeded["escalated"].id
    for typed in (code, code.lower(), code.replace("-", ""), code.replace("-", " ").lower(),
                  f"  {code}  ", code.replace("-", "–")):
        # A code alone opens the session: the agent typed what the customer read out.
        response = staff.get("/console/sessions?" + _query(code=typed))
        assert response.status_code == 303, typed
        assert response.headers["Location"] == f"/console/sessions/{sid}"
        # With another filter it is a search like any other.
        assert _codes(_list(staff, "?" + _query(code=typed, outcome="escalated"))) == [code]
    assert "No sessions match" in _list(staff, "?code=ZZ-ZZZ")


def _query(**values) -> str:
    from urllib.parse import urlencode
    return urlencode(values)


def test_the_filter_form_offers_what_sessions_have(staff, seeded):
    page = _list(staff)
    flow = re.search(r'<select id="filter-flow".*?</select>', page, re.S)[0]
    for flow_id in ("salesforce", "quickbooks-online", "quickbooks-desktop"):
        assert f'value="{flow_id}"' in flow
    connection = re.search(r'<select id="filter-connection".*?</select>', page, re.S)[0]
    assert 'value="sf-main"' in connection and 'value="qbo-main"' in connection
    cause = re.search(r'<select id="filter-cause".*?</select>', page, re.S)[0]
    assert 'value="salesforce.daily_api_limit_exceeded"' in cause
    # The chosen filters stay chosen, as a GET form that works without JavaScript.
    page = _list(staff, "?flow=salesforce&outcome=unresolved&from=2025-03-02")
    assert re.search(r'<form method="get" action="/console/sessions"', page)
    assert '<option value="salesforce" selected>' in page
    assert '<option value="unresolved" selected>' in page
    assert 'name="from" type="date" value="2025-03-02"' in page


@pytest.mark.parametrize("query, field, message", [
    ("?outcome=bogus", "outcome", "is not an outcome"),
    ("?from=2025-13-01", "from", "is not a date"),
    ("?to=yesterday", "to", "is not a date"),
    ("?from=2025-03-05&to=2025-03-01", "to", "is before the from date"),
    ("?code=hello", "code", "is not a session code"),
    ("?page=abc", "page", "is not a page number"),
    ("?page=0", "page", "is not a page number"),
    ("?flow=" + "x" * 200, "flow", "too long"),
])
def test_bad_filters_get_a_400_with_a_message_and_keep_the_form(staff, seeded, query, field,
                                                                 message):
    page = _list(staff, query, expect=400)
    assert message in _text(page)
    assert f'href="#filter-{field}"' in page  # the summary links to the field
    assert "<title>Error: Sessions" in page
    assert _codes(page) == []


def test_pages_of_25_keep_the_filters_and_never_fail_past_the_end(staff, store):
    start = datetime(2025, 1, 1, tzinfo=UTC)
    made = [_session(store, "salesforce", start + timedelta(minutes=i)) for i in range(60)]
    _session(store, "quickbooks-online", start)  # filtered out below
    newest_first = [row.code for row in reversed(made)]
    pages = [_codes(_list(staff, f"?flow=salesforce&page={n}")) for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [25, 25, 10]
    assert pages[0] + pages[1] + pages[2] == newest_first
    first = _list(staff, "?flow=salesforce")
    assert "60 sessions match these filters: page 1 of 3." in _text(first)
    links = set(re.findall(r'href="(/console/sessions\?[^"]*page=\d+)"', first))
    assert "/console/sessions?flow=salesforce&amp;page=2" in links
    assert all("flow=salesforce" in link for link in links)
    assert 'rel="next"' in first and 'rel="prev"' not in first
    for past in ("4", "99", "123456789012345678901234567890"):  # the last page, not a 500
        assert _codes(_list(staff, f"?flow=salesforce&page={past}")) == pages[2]
    empty = _list(staff, "?flow=salesforce&outcome=resolved&page=7")
    assert "No sessions match these filters." in _text(empty)


def test_a_session_of_a_flow_no_longer_served_is_listed_and_shown(staff, store):
    row = _session(store, "retired-flow", datetime(2025, 2, 1, tzinfo=UTC))
    assert "retired-flow (no longer served)" in _text(_list(staff))
    page = staff.get(f"/console/sessions/{row.id}")
    assert page.status_code == 200
    assert "its diagram cannot be drawn" in page.get_data(as_text=True)


# -- one session --------------------------------------------------------------------------------

@pytest.fixture
def walked(app, store):
    """A Salesforce session: a live check found the daily API limit used up; the customer
    chose "Reset the connection anyway", went back and chose to wait (an unresolved end),
    said the guide didn't help and asked for a person."""
    services = app.extensions["assistant"]
    flow = services.flows["salesforce"]
    row = store.create_session("salesforce", flow.version, "detect", connection_id="sf-main")
    check = services.probes.checks.record(
        "sf-main", "salesforce.api", outcome="salesforce.daily_api_limit_exceeded",
        title="Your org has used up its daily API requests",
        explanation="Salesforce answered REQUEST_LIMIT_EXCEEDED.",
        evidence={"status": 403, "error_code": "REQUEST_LIMIT_EXCEEDED", "remaining": 0,
                  "max": 15000})
    row = store.record_answer(row, flow.version, 0, "detect",
                              "salesforce.daily_api_limit_exceeded", "daily-limit", {}, None,
                              probe_check_id=check.id,
                              cause="salesforce.daily_api_limit_exceeded")
    row = store.record_answer(row, flow.version, 1, "daily-limit", "reset-anyway", "disconnect",
                              {}, None)
    row = store.record_answer(row, flow.version, 1, "daily-limit", "wait", "limit-wait", {},
                              "unresolved")
    with store.Session.begin() as s:
        s.execute(update(Event).where(Event.session_id == row.id, Event.answer == "wait")
                  .values(spent_ms=65_000))
    store.save_feedback(row, flow.version, "no", "Still broken after a day")
    store.create_handoff(row, flow.version, "unresolved_end", [], "cust@example.com",
                         "Please call me back")
    return row


def test_the_session_view_shows_the_whole_story(staff, walked, staff_accounts):
    response = staff.get(f"/console/sessions/{walked.id}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert f'<span class="share-code">{walked.code}</span>' in page
    assert "Reset your Salesforce connection" in page
    summary = _text(re.search(r'<dl class="summary-list">.*?</dl>', page, re.S)[0])
    assert "Outcome Not resolved" in summary
    assert "Current step Waiting for the daily limit to reset" in summary
    assert "Diagnosed cause Daily API request limit used up" in summary
    assert "Connection sf-main" in summary
    assert walked.flow_version in summary

    transcript = _text(_section(page, "transcript-title"))
    assert ("2 Your org has used up its daily Salesforce API requests "
            "I'll wait for the limit to reset 1 min 5 s") in transcript
    assert "Checked automatically: Daily API request limit used up" in transcript
    assert "Reset the connection anyway" not in transcript
    replaced = _section(page, "replaced-title")
    assert 'class="replaced"' in replaced and "Reset the connection anyway" in _text(replaced)

    checks = _text(_section(page, "checks-title"))
    for seen in ("Your org has used up its daily API requests", "REQUEST_LIMIT_EXCEEDED",
                 "HTTP status 403", "Daily limit 15,000", "Requests remaining 0",
                 "Salesforce answered REQUEST_LIMIT_EXCEEDED.", "Took 0 ms",
                 "Outcome salesforce.daily_api_limit_exceeded"):
        assert seen in checks, seen
    feedback = _text(_section(page, "feedback-title"))
    assert "No, it didn't Still broken after a day" in feedback
    handoffs = _text(_section(page, "handoffs-title"))
    assert "Ended unresolved" in handoffs and "Please call me back" in handoffs
    assert "cust@example.com" in handoffs and "Open" in handoffs

    # The diagram marks the path and the step the session is at.
    assert re.search(r'<g class="node node-end node-unresolved on-path current" '
                     r'data-step="limit-wait"', page)
    assert re.search(r'<g class="node node-question on-path" data-step="daily-limit"', page)
    assert not re.search(r'class="node[^"]*on-path[^"]*" data-step="disconnect"', page)
    assert f'href="/s/{walked.id}">Open in the wizard</a>' in page
    handoff_form = f'action="/console/sessions/{walked.id}/handoff"' in page
    assert handoff_form == ("console.handoff_create" in staff.application.view_functions)


def test_an_unknown_session_is_a_404_page(staff):
    for sid in ("nope", "x" * 200):
        response = staff.get(f"/console/sessions/{sid}")
        assert response.status_code == 404
        assert "Page not found" in response.get_data(as_text=True)
        assert staff.post(f"/console/sessions/{sid}/notes", data={
            "csrf_token": csrf_token(staff, "/console/"), "body": "hi"}).status_code == 404


# -- notes --------------------------------------------------------------------------------------

def _note(client, sid: str, body: str, *, token: bool = True, htmx: bool = False):
    data = {"body": body}
    if token:
        data["csrf_token"] = csrf_token(client, f"/console/sessions/{sid}")
    return client.post(f"/console/sessions/{sid}/notes", data=data,
                        headers={"HX-Request": "true"} if htmx else {})


def _notes_in_db(store, sid: str) -> list[str]:
    from sqlalchemy import select
    with store.Session() as s:
        return list(s.scalars(select(StaffNote.body).where(StaffNote.session_id == sid)))


def test_a_note_is_saved_trimmed_and_shown_with_its_author(staff, walked, store, agent):
    response = _note(staff, walked.id, "  Customer will call back\r\nafter lunch.  ")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/console/sessions/{walked.id}#notes"
    assert _notes_in_db(store, walked.id) == ["Customer will call back\nafter lunch."]
    notes = _section(staff.get(f"/console/sessions/{walked.id}").get_data(as_text=True),
                     "notes-title")
    assert agent[0] in notes and "Customer will call back\nafter lunch." in notes


def test_empty_or_too_long_notes_are_refused_and_the_text_is_kept(staff, walked, store):
    response = _note(staff, walked.id, "   \n  ")
    assert response.status_code == 400
    assert "The note is empty" in response.get_data(as_text=True)
    typed = "word " * 801  # 4,005 characters, 4,004 once trimmed
    response = _note(staff, walked.id, typed)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Your note has 4,004 characters; the limit is 4,000." in _text(page)
    assert f'name="body" rows="4" aria-describedby="note-hint note-error">{typed}</textarea>' \
        in page
    assert "<title>Error: Session" in page
    assert _notes_in_db(store, walked.id) == []
    assert _note(staff, walked.id, " " + "n" * 4000 + "\n").status_code == 303  # the limit
    assert _notes_in_db(store, walked.id) == ["n" * 4000]


def test_a_note_needs_its_csrf_token_and_keeps_the_text(staff, client, walked, store):
    response = _note(staff, walked.id, "Told them to wait", token=False)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "could not be checked" in page and ">Told them to wait</textarea>" in page
    assert walked.code in page  # the session view, not the customer's wizard step
    assert _notes_in_db(store, walked.id) == []
    staff.post("/console/logout", data={"csrf_token": csrf_token(staff, "/console/")})
    response = _note(client, walked.id, "Told them to wait", token=False)
    assert response.status_code == 401  # no login: nothing of the session shown
    assert walked.code not in response.get_data(as_text=True)


def test_notes_with_htmx_answer_the_form_alone(staff, walked, store):
    response = _note(staff, walked.id, "First call done", htmx=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in page
    assert response.headers["HX-Trigger"] == "notes-changed"  # the live region refreshes
    assert '<form id="note-form"' in page and "></textarea>" in page  # emptied
    assert 'hx-swap-oob="innerHTML">Note added.' in page
    response = _note(staff, walked.id, "", htmx=True)
    assert response.status_code == 400 and "The note is empty" in response.get_data(
        as_text=True)
    assert _notes_in_db(store, walked.id) == ["First call done"]


# -- live updates -------------------------------------------------------------------------------

def _poll(client, sid: str, url: str):
    return client.get(url, headers={"HX-Request": "true", "HX-Target": "session-live"})


def _poll_url(page: str) -> str:
    return htmllib.unescape(re.search(r'id="session-live"[^>]*hx-get="([^"]+)"', page, re.S)[1])


def test_the_session_view_follows_the_customer(staff, app):
    customer = app.test_client()
    walker = Walker(customer, "quickbooks-desktop")
    page = staff.get(f"/console/sessions/{walker.sid}").get_data(as_text=True)
    assert 'hx-trigger="every 2s, notes-changed from:body"' in page
    url = _poll_url(page)
    nothing = _poll(staff, walker.sid, url)
    assert nothing.status_code == 204 and nothing.get_data() == b""  # htmx swaps nothing
    walker.answer("disconnected")
    changed = _poll(staff, walker.sid, url)
    fragment = changed.get_data(as_text=True)
    assert changed.status_code == 200 and "<html" not in fragment
    assert fragment.lstrip().startswith('<div id="session-live"')
    assert "It says Disconnected" in fragment
    current = "Step 1: Is the Autofy Agent open with two green check marks?"
    assert current in _text(re.search(r'<tr class="current-row">.*?</tr>', fragment, re.S)[0])
    assert ('hx-swap-oob="innerHTML">Answered: It says Disconnected. Now at: '
            f'{current}.') in fragment
    assert _poll(staff, walker.sid, _poll_url(fragment)).status_code == 204
    # A note by another agent shows too, and is announced.
    _note(staff, walker.sid, "Watching")
    fragment = _poll(staff, walker.sid, _poll_url(fragment)).get_data(as_text=True)
    assert "Watching" in fragment and "New note by agent@example.com." in fragment


def test_an_ended_session_is_watched_less_often(staff, walked):
    page = staff.get(f"/console/sessions/{walked.id}").get_data(as_text=True)
    assert 'hx-trigger="every 10s, notes-changed from:body"' in page
    # The note form is outside the polled region, so a poll never touches what is typed.
    live_start = page.index('id="session-live"')
    live_end = page.index('<section aria-labelledby="add-note-title"')
    assert live_start < live_end < page.index('id="note-body"')
    assert "<form" not in page[live_start:live_end]
