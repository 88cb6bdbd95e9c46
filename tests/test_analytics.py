"""Analytics: every figure of a hand-checked set of sessions (``analytics_scenario``), the
filters (version, dates, the abandoned threshold), the page, its charts, the CSV exports, bad
input and roles.

The expected numbers below are worked out by hand from the scenario's table, not by calling
the code under test. Paths of the March sessions (A–G, K; H started on 28 February, Q is
another flow):

    A: detect, disconnect, connect, verify, connected-resolved      (ended, resolved)
    B: detect, daily-limit, verify, daily-limit, limit-wait          (ended, unresolved)
    C: detect, disconnect, connect, verify, still-failing            (ended, unresolved)
    D: detect, our-side                                              (ended, escalated)
    E: detect, disconnect            (last answer 6 days before NOW: abandoned at disconnect)
    F: detect, disconnect            (last answer 9 min 50 s before NOW: still active)
    G: detect                        (started an hour before NOW, no answer: abandoned)
    K: detect, daily-limit, disconnect (last answer 30 days before NOW: abandoned)
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from datetime import timedelta

import pytest
import time_machine
from analytics_scenario import DAILY, NOW, OLD_VERSION, seed

from assistant.store.analytics import Analytics
from assistant.store.analytics_figures import Scope
from conftest import login

MARCH = {"flow": "salesforce", "version": "", "from": "2026-03-01", "to": "2026-03-31"}
ALL_TIME = {"flow": "salesforce", "version": "", "from": "", "to": ""}
THIRTY_MINUTES = timedelta(minutes=30)


@pytest.fixture
def scenario(app, store):
    flows = app.extensions["assistant"].flows
    return seed(store, {fid: f.version for fid, f in flows.items()})


@pytest.fixture
def analytics(store):
    return Analytics(store.engine)


def logged_in(app, account):
    """A test client logged in at NOW (a session cookie signed later would be refused)."""
    client = app.test_client()
    with time_machine.travel(NOW, tick=False):
        login(client, account)
    return client


@pytest.fixture
def admin_client(app, admin, scenario):
    return logged_in(app, admin)


def scope(**kw):
    from datetime import date
    values = {"flow_id": "salesforce", "version": None, "first_day": date(2026, 3, 1),
              "last_day": date(2026, 3, 31)}
    values.update(kw)
    return Scope(**values)


def get(client, url, **query):
    with time_machine.travel(NOW, tick=False):
        return client.get(url, query_string=query)


def figure(html: str, name: str, step: str | None = None) -> str:
    """The text of the cell marked ``data-figure=name`` (in the row of ``step``)."""
    if step is not None:
        row = re.search(rf'<tr data-step="{re.escape(step)}">(.*?)</tr>', html, re.S)
        assert row, f"no row for step {step}"
        html = row.group(1)
    cell = re.search(rf'data-figure="{re.escape(name)}">([^<]*)<', html)
    assert cell, f"no figure {name}"
    return cell.group(1).strip()


# --- the figures, from the store ---------------------------------------------------------------

def test_every_figure_of_march(scenario, analytics):
    r = analytics.report(scope(), now=NOW, abandoned_after=THIRTY_MINUTES)
    assert (r.started, r.finished, r.resolved, r.unresolved, r.escalated) == (8, 4, 1, 2, 1)
    assert (r.abandoned, r.active) == (3, 1)  # E, G, K abandoned; F active
    # per step: (reached, answered, stopped there, median ms)
    expected = {
        "detect": (8, 7, 1, 4000),  # answers 2,2,3,4,5,6,10 s; G stopped here
        "disconnect": (5, 2, 2, 45000),  # A, C, E, F, K; answers 60 and 30 s; E and K stopped
        "connect": (2, 2, 0, 37500),  # 30 and 45 s
        "verify": (3, 3, 0, 4000),  # 5, 3, 4 s
        "daily-limit": (2, 2, 0, 30000),  # B (twice: counted once) and K; 40, 20, 30 s
        "connected-resolved": (1, 0, 0, None),
        "limit-wait": (1, 0, 0, None),
        "still-failing": (1, 0, 0, None),
        "our-side": (1, 0, 0, None),
    }
    got = {step: (f.reached, f.answered, f.dropped, f.median_ms) for step, f in r.steps.items()}
    assert got == expected
    assert r.step("disconnect").dropped_share == pytest.approx(0.4)
    assert r.step("detect").dropped_share == pytest.approx(0.125)
    assert r.step("confirm").reached == 0 and r.step("confirm").dropped_share is None
    assert r.causes == [(DAILY, 2), ("salesforce.invalid_client_id", 1),
                        ("salesforce.session_expired", 1)]
    assert r.reactions == {"yes": 1, "partly": 1, "no": 1}
    assert [c.comment for c in r.comments] == ["\t=1+2", "=SUM(A1:A2) still broken",
                                               "Thanks, fixed it"]
    assert [c.code for c in r.comments] == [scenario[k].code for k in "CBA"]
    assert r.comments[0].reaction == "partly" and r.comments[0].end_step == "still-failing"
    assert r.handoff_sessions == 3 and r.handoff_share == pytest.approx(0.375)  # B, D, K


def test_superseded_answers_do_not_count(scenario, analytics):
    # C answered disconnect after 100 s, went back and answered it again after 30 s: only the
    # 30 s answer is on its path (the median of 60 and 30 is 45 s; with the 100 s one, 60 s).
    r = analytics.report(scope(first_day=scope().first_day.replace(day=5),
                               last_day=scope().first_day.replace(day=5)),
                         now=NOW, abandoned_after=THIRTY_MINUTES)
    assert r.started == 1
    assert r.step("disconnect").answered == 1
    assert r.step("disconnect").median_ms == 30000
    assert r.step("connect").reached == 1


def test_version_filter(scenario, analytics):
    old = analytics.report(scope(version=OLD_VERSION, first_day=None, last_day=None),
                           now=NOW, abandoned_after=THIRTY_MINUTES)
    assert (old.started, old.finished, old.resolved) == (1, 1, 1)  # H only
    assert {s: f.reached for s, f in old.steps.items()} == {
        "detect": 1, "already-working": 1, "connected-resolved": 1}
    assert old.step("already-working").median_ms == 15000
    assert old.reactions == {"yes": 1, "partly": 0, "no": 0}
    assert [c.comment for c in old.comments] == ["@cmd hello"]
    assert old.handoff_sessions == 0 and old.causes == []
    current = scenario["A"].flow_version
    new = analytics.report(scope(version=current, first_day=None, last_day=None),
                           now=NOW, abandoned_after=THIRTY_MINUTES)
    assert new.started == 8 and new.step("detect").answered == 7
    everything = analytics.report(scope(first_day=None, last_day=None), now=NOW,
                                  abandoned_after=THIRTY_MINUTES)
    assert everything.started == 9 and everything.reactions["yes"] == 2
    versions = {v.version: v.sessions for v in analytics.versions("salesforce")}
    assert versions == {current: 8, OLD_VERSION: 1}


def test_date_filter_includes_both_days_and_nothing_else(scenario, analytics):
    from datetime import date
    r = analytics.report(scope(first_day=date(2026, 3, 2), last_day=date(2026, 3, 5)),
                         now=NOW, abandoned_after=THIRTY_MINUTES)
    assert (r.started, r.finished, r.resolved, r.unresolved, r.abandoned) == (3, 3, 1, 2, 0)
    assert r.reactions == {"yes": 1, "partly": 1, "no": 1} and r.handoff_sessions == 1
    # K started at 00:00:00 on 1 March, H one second before: the first day starts at midnight
    first = analytics.report(scope(last_day=date(2026, 3, 1)), now=NOW,
                             abandoned_after=THIRTY_MINUTES)
    assert first.started == 1 and first.causes == [(DAILY, 1)]
    before = analytics.report(scope(first_day=date(2026, 2, 28), last_day=date(2026, 2, 28)),
                              now=NOW, abandoned_after=THIRTY_MINUTES)
    assert before.started == 1 and before.resolved == 1  # H


def test_abandoned_threshold(scenario, analytics):
    short = analytics.report(scope(), now=NOW, abandoned_after=timedelta(minutes=5))
    assert (short.abandoned, short.active) == (4, 0)  # F too (9 min 50 s)
    assert short.step("disconnect").dropped == 3
    long = analytics.report(scope(), now=NOW, abandoned_after=timedelta(days=10))
    assert (long.abandoned, long.active) == (1, 3)  # only K (30 days)
    assert long.step("detect").dropped == 0 and long.step("disconnect").dropped == 1


def test_a_flow_with_no_sessions_in_scope_has_zero_figures(scenario, analytics):
    r = analytics.report(scope(flow_id="quickbooks-desktop"), now=NOW,
                         abandoned_after=THIRTY_MINUTES)
    assert r.started == 0 and r.steps == {} and r.handoff_share is None
    assert r.reactions == {"yes": 0, "partly": 0, "no": 0} and r.comments == []


# --- the page ----------------------------------------------------------------------------------

def test_page_shows_the_figures(admin_client):
    response = get(admin_client, "/console/analytics", **MARCH)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "8 sessions started from 2026-03-01 to 2026-03-31" in html
    for name, value in {"started": "8", "finished": "4", "resolved": "1", "unresolved": "2",
                        "escalated": "1", "abandoned": "3", "active": "1", "handoffs": "3",
                        "handoff-share": "37.5%", "yes": "1", "partly": "1", "no": "1"}.items():
        assert figure(html, name) == value, name
    assert figure(html, "reached", "disconnect") == "5"
    assert figure(html, "answered", "disconnect") == "2"
    assert figure(html, "dropped", "disconnect") == "2"
    assert figure(html, "dropped-share", "disconnect") == "40.0%"
    assert figure(html, "median", "disconnect") == "45 s"
    assert figure(html, "median", "connect") == "38 s"  # 37.5 s, rounded half to even
    assert figure(html, "reached", "daily-limit") == "2"
    # the main path is numbered in order; steps without traffic are listed too
    order = re.findall(r'<tr data-step="([^"]+)">', html)
    assert order[:6] == ["detect", "disconnect", "connect", "verify", "confirm",
                         "connected-resolved"]
    assert figure(html, "reached", "confirm") == "0"
    causes = re.findall(r'<tr data-cause="([^"]+)">', html)
    assert causes == [DAILY, "salesforce.invalid_client_id", "salesforce.session_expired"]
    assert "Your org has used up its daily Salesforce API requests" not in causes
    assert "=SUM(A1:A2) still broken" in html and "Thanks, fixed it" in html
    assert "Other flow&#39;s comment" not in html and "Other flow's comment" not in html
    # CSP: no inline style or script in the page
    assert ' style="' not in html and "<style" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)


def test_page_shades_the_diagram_by_traffic(admin_client):
    html = get(admin_client, "/console/analytics", **MARCH).get_data(as_text=True)
    node = re.search(r'<g class="node[^"]*shaded[^"]*" data-step="disconnect">(.*?)</g>',
                     html, re.S)
    assert node, "the disconnect step is not shaded"
    assert "5 reached · 40% stopped" in node.group(1)
    assert 'class="drop-bar"' in node.group(1)
    start = re.search(r'<g class="node[^"]*" data-step="detect">(.*?)</g>', html, re.S)
    assert 'fill="#1d4e89"' in start.group(1)  # every session reached it: the darkest
    confirm = re.search(r'<g class="node[^"]*" data-step="confirm">(.*?)</g>', html, re.S)
    assert 'fill="#ffffff"' in confirm.group(1) and "drop-bar" not in confirm.group(1)


def test_page_defaults_to_the_first_flow_all_versions_last_30_days(admin_client, app):
    html = get(admin_client, "/console/analytics").get_data(as_text=True)
    first = next(iter(app.extensions["assistant"].flows.values()))
    assert f"<h1 tabindex=\"-1\">Analytics: {first.title}</h1>" in html
    assert 'value="2026-03-02"' in html and 'value="2026-03-31"' in html
    html = get(admin_client, "/console/analytics", flow="salesforce").get_data(as_text=True)
    # 2 to 31 March: A–G (K started on 1 March)
    assert figure(html, "started") == "7" and figure(html, "abandoned") == "2"
    assert " selected>" not in html.split('id="version"', 1)[1].split("</select>", 1)[0]


def test_page_lists_versions_and_filters_by_one(admin_client, scenario):
    html = get(admin_client, "/console/analytics", **{**ALL_TIME, "version": OLD_VERSION}
               ).get_data(as_text=True)
    assert figure(html, "started") == "1" and figure(html, "resolved") == "1"
    assert "1 session started" in html  # not "1 sessions"
    assert re.search(rf'<option value="{OLD_VERSION}" selected>{OLD_VERSION}: 1 session,',
                     html)
    current = scenario["A"].flow_version
    assert f'<option value="{current}">{current} (current): 8 sessions' in html
    html = get(admin_client, "/console/analytics", **ALL_TIME).get_data(as_text=True)
    assert figure(html, "started") == "9"


def test_abandoned_threshold_comes_from_the_config(make_app, admin, scenario):
    client = logged_in(make_app(ABANDONED_AFTER_MINUTES=5), admin)
    html = get(client, "/console/analytics", **MARCH).get_data(as_text=True)
    assert figure(html, "abandoned") == "4" and figure(html, "active") == "0"
    assert "no answer for 5 minutes" in html


@pytest.mark.parametrize("query, message", [
    ({"from": "2026-02-30"}, "is not a date"),
    ({"to": "31/03/2026"}, "is not a date"),
    ({"from": "yesterday"}, "is not a date"),
    ({"from": "2026-03-31", "to": "2026-03-01"}, "is after the To date"),
    ({"flow": "no-such-flow"}, "There is no flow"),
    ({"version": "x" * 13}, "is not a flow version"),
    ({"version": "<script>"}, "is not a flow version"),
])
def test_bad_filters_answer_400_with_the_reason(admin_client, query, message):
    response = get(admin_client, "/console/analytics", **query)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and "There is a problem" in html
    assert "<script>" not in html.split("<main", 1)[1]  # the value is escaped
    assert 'name="from"' in html  # the form is there to put it right
    for url in ("/console/analytics/sessions.csv", "/console/analytics/steps.csv",
                "/console/analytics/funnel.svg", "/console/analytics/dropoff.svg"):
        response = get(admin_client, url, **query)
        assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_the_last_date_there_is_can_be_the_to_date(admin_client):
    # "to=9999-12-31" (a careless "no end") once overflowed the day after it: a 500, and a
    # CSV download cut off mid-stream.
    march = get(admin_client, "/console/analytics/sessions.csv", **MARCH).get_data()
    for url in ("/console/analytics", "/console/analytics/sessions.csv",
                "/console/analytics/steps.csv", "/console/analytics/funnel.svg",
                "/console/analytics/dropoff.svg"):
        response = get(admin_client, url, **{**MARCH, "to": "9999-12-31"})
        assert response.status_code == 200 and response.get_data(), url  # read to the end
    assert get(admin_client, "/console/analytics/sessions.csv", **{
        **MARCH, "to": "9999-12-31"}).get_data() == march  # nothing is after March


def test_agents_get_403(app, agent, scenario):
    client = logged_in(app, agent)
    for url in ("/console/analytics", "/console/analytics/sessions.csv",
                "/console/analytics/steps.csv", "/console/analytics/funnel.svg",
                "/console/analytics/dropoff.svg"):
        assert get(client, url, **MARCH).status_code == 403, url
    html = get(client, "/console/sessions").get_data(as_text=True)
    assert "/console/analytics" not in html  # not in an agent's navigation


# --- charts ------------------------------------------------------------------------------------

def test_charts_are_svg_images_with_their_own_csp(admin_client):
    funnel = get(admin_client, "/console/analytics/funnel.svg", **MARCH)
    assert funnel.status_code == 200 and funnel.mimetype == "image/svg+xml"
    csp = funnel.headers["Content-Security-Policy"]
    assert "style-src 'unsafe-inline'" in csp and "default-src 'none'" in csp
    svg = funnel.get_data(as_text=True)
    assert "<svg" in svg and "kozea.github.io" not in svg and "http://" not in svg.split(
        "-->", 3)[-1].replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
        'xmlns:xlink="http://www.w3.org/1999/xlink"', "")
    labels = ["Checking your Salesforce connection", "Disconnect Salesforce",
              "Connect to Salesforce again", "Checking the connection again",
              "Is Salesforce connected now?", "Your Salesforce connection is back"]
    positions = [svg.index(label) for label in labels]
    assert positions == sorted(positions, reverse=True)  # drawn bottom-up: reads top-down
    values = re.findall(r'<text[^>]*class="value[^"]*"[^>]*>([^<]+)</text>', svg)
    assert sorted(values, key=int) == ["0", "1", "2", "3", "5", "8"], values
    dropoff = get(admin_client, "/console/analytics/dropoff.svg", **MARCH)
    svg = dropoff.get_data(as_text=True)
    assert "Disconnect Salesforce" in svg and "Checking your Salesforce connection" in svg
    assert "Connect to Salesforce again" not in svg  # nobody stopped there
    values = re.findall(r'<text[^>]*class="value[^"]*"[^>]*>([^<]+)</text>', svg)
    assert sorted(values) == ["1", "2"]


def test_page_points_at_the_charts_and_exports_with_its_filters(admin_client):
    html = get(admin_client, "/console/analytics", **MARCH).get_data(as_text=True)
    query = "flow=salesforce&amp;version=&amp;from=2026-03-01&amp;to=2026-03-31"
    for name in ("funnel.svg", "dropoff.svg", "sessions.csv", "steps.csv"):
        assert f"/console/analytics/{name}?{query}" in html, name
    for alt in re.findall(r'<img [^>]*alt="([^"]*)"', html):
        assert "table" in alt  # each chart says where its figures are in text


# --- CSV ---------------------------------------------------------------------------------------

def rows_of(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte order mark
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_sessions_csv(admin_client, scenario):
    response = get(admin_client, "/console/analytics/sessions.csv", **MARCH)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="salesforce-2026-03-01-2026-03-31-sessions.csv"'
    rows = rows_of(response)
    assert rows[0] == ["code", "started_utc", "last_answer_utc", "ended_utc", "flow",
                       "flow_version", "state", "outcome", "current_step", "answers", "cause",
                       "feedback", "feedback_comment", "handoffs", "guided"]
    assert [r[0] for r in rows[1:]] == [scenario[k].code for k in "KABCDEGF"]
    by_code = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    b = by_code[scenario["B"].code]
    assert b == {"code": scenario["B"].code, "started_utc": "2026-03-03T11:00:00Z",
                 "last_answer_utc": "2026-03-03T11:01:05Z",
                 "ended_utc": "2026-03-03T11:01:05Z", "flow": "salesforce",
                 "flow_version": scenario["B"].flow_version, "state": "ended",
                 "outcome": "unresolved", "current_step": "limit-wait", "answers": "4",
                 "cause": DAILY, "feedback": "no",
                 "feedback_comment": "'=SUM(A1:A2) still broken", "handoffs": "1",
                 "guided": "no"}
    assert by_code[scenario["C"].code]["feedback_comment"] == "'=1+2"  # tab, then a formula
    assert [by_code[scenario[k].code]["state"] for k in "EFGK"] == [
        "abandoned", "active", "abandoned", "abandoned"]
    assert by_code[scenario["K"].code]["handoffs"] == "1"
    assert by_code[scenario["G"].code]["answers"] == "0"
    old = rows_of(get(admin_client, "/console/analytics/sessions.csv",
                      **{**ALL_TIME, "version": OLD_VERSION}))
    assert len(old) == 2 and old[1][12] == "'@cmd hello"
    response = get(admin_client, "/console/analytics/sessions.csv",
                   **{**ALL_TIME, "version": OLD_VERSION})
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="salesforce-{OLD_VERSION}-start-2026-03-31-sessions.csv"'


def test_steps_csv(admin_client):
    response = get(admin_client, "/console/analytics/steps.csv", **MARCH)
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="salesforce-2026-03-01-2026-03-31-steps.csv"'
    rows = rows_of(response)
    assert rows[0] == ["step", "title", "kind", "main_path_position", "reached", "answered",
                       "stopped", "stopped_percent_of_reached", "median_seconds"]
    assert [r[0] for r in rows[1:7]] == ["detect", "disconnect", "connect", "verify",
                                         "confirm", "connected-resolved"]
    by_step = {r[0]: r for r in rows[1:]}
    assert len(by_step) == 15  # every step of the flow
    assert by_step["disconnect"] == ["disconnect", "Disconnect Salesforce", "instruction", "2",
                                     "5", "2", "2", "40.0", "45.0"]
    assert by_step["detect"][3:] == ["1", "8", "7", "1", "12.5", "4.0"]
    assert by_step["daily-limit"][3:] == ["", "2", "2", "0", "0.0", "30.0"]
    assert by_step["confirm"][4:] == ["0", "0", "0", "", ""]


def test_traffic_only_gives_the_same_traffic_without_the_rest(scenario, analytics):
    full = analytics.report(scope(), now=NOW, abandoned_after=THIRTY_MINUTES)
    light = analytics.report(scope(), now=NOW, abandoned_after=THIRTY_MINUTES,
                             traffic_only=True)
    assert {s: (f.reached, f.answered, f.dropped) for s, f in light.steps.items()} == \
        {s: (f.reached, f.answered, f.dropped) for s, f in full.steps.items()}
    assert (light.started, light.abandoned, light.causes) == (8, 3, full.causes)
    assert all(f.median_ms is None for f in light.steps.values())
    assert light.comments == [] and light.handoff_sessions == 0


def test_upgrading_to_0005_copies_the_session_start_onto_existing_rows(tmp_path):
    """Answers, feedback and handoffs written before migration 0005 are counted after it."""
    from datetime import UTC, datetime

    from sqlalchemy import create_engine, text

    from assistant.store import upgrade
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0004")
    started = "2026-03-10 09:00:00.000000"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO sessions (id, flow_id, flow_version, step, counters, position, "
            "revision, status, outcome, created_at, updated_at, ended_at) VALUES ('s1', "
            "'salesforce', 'v1', 'our-side', '{}', 1, 1, 'ended', 'escalated', :t, :t, :t)"),
            {"t": started})
        conn.execute(text(
            "INSERT INTO events (session_id, position, from_step, answer, to_step, counters, "
            "superseded, at, spent_ms) VALUES ('s1', 1, 'detect', "
            "'salesforce.invalid_client_id', 'our-side', '{}', 0, :t, 3000)"), {"t": started})
        for table, extra, values in (
                ("feedback", "end_step, reaction, comment", "'our-side', 'no', 'old'"),
                ("handoffs", "step, reason, transcript, status",
                 "'our-side', 'unresolved_end', '[]', 'open'")):
            conn.execute(text(
                f"INSERT INTO {table} (session_id, revision, flow_id, flow_version, created_at, "
                f"{extra}) VALUES ('s1', 1, 'salesforce', 'v1', :t, {values})"), {"t": started})
    engine.dispose()
    upgrade(url)
    analytics = Analytics(create_engine(url))
    r = analytics.report(scope(), now=datetime(2026, 3, 31, tzinfo=UTC),
                         abandoned_after=THIRTY_MINUTES)
    assert (r.started, r.escalated, r.handoff_sessions) == (1, 1, 1)
    assert r.step("detect").answered == 1 and r.step("detect").median_ms == 3000
    assert r.reactions["no"] == 1 and [c.comment for c in r.comments] == ["old"]
    v1 = analytics.report(scope(version="v1"), now=datetime(2026, 3, 31, tzinfo=UTC),
                          abandoned_after=THIRTY_MINUTES)
    assert (v1.started, v1.step("detect").answered, v1.reactions["no"],
            v1.handoff_sessions) == (1, 1, 1, 1)


def test_a_session_counts_under_its_current_version_with_all_its_rows(store, analytics):
    """A flow file edited mid-session: the session's version changes, and so does the version
    its earlier answers and handoff are counted under."""
    old, new = "aaaaaaaaaaaa", "bbbbbbbbbbbb"
    with time_machine.travel(NOW - timedelta(hours=2), tick=False) as clock:
        row = store.create_session("salesforce", old, "detect")
        clock.shift(timedelta(seconds=5))
        row = store.record_answer(row, old, 0, "detect", "timeout", "disconnect", {}, None)
        store.create_handoff(row, old, "customer_request", [], None, None)
        clock.shift(timedelta(seconds=40))
        row = store.record_answer(row, new, 1, "disconnect", "disconnected", "connect", {},
                                  None)
    assert row.flow_version == new
    for version, count in ((new, 1), (old, 0)):
        r = analytics.report(Scope("salesforce", version, None, None), now=NOW,
                             abandoned_after=THIRTY_MINUTES)
        assert r.started == count and r.abandoned == count, version
        assert r.step("detect").answered == count and r.step("disconnect").answered == count
        assert r.step("detect").median_ms == (5000 if count else None)
        assert r.handoff_sessions == count


def test_a_chart_of_a_few_sessions_counts_in_whole_sessions():
    import re as _re

    from assistant.web.console.analytics_charts import _bar_chart
    svg = _bar_chart("Where abandoned sessions stopped", ["Step 1", "Step 2"], [2, 1],
                     "#b3261e")
    # The count axis: each tick is a guide line with its label.
    ticks = _re.findall(r'class="(?:axis|guide) line" /><text[^>]*>([^<]*)</text>', svg)
    assert ticks == ["0", "1", "2"]  # not "0 0 1 1 2 2": half sessions rounded


def test_a_version_of_another_flow_is_refused_with_a_reason(make_app, admin):
    from conftest import login
    app = make_app()
    store = app.extensions["assistant"].store
    other = app.extensions["assistant"].flows["quickbooks-desktop"].version
    store.create_session("quickbooks-desktop", other, "detect")
    client = app.test_client()
    login(client, admin)
    page = client.get(f"/console/analytics?flow=salesforce&version={other}&from=")
    assert page.status_code == 400
    assert "No session of" in page.get_data(as_text=True)
    assert client.get(f"/console/analytics?flow=quickbooks-desktop&version={other}&from="
                      ).status_code == 200
    current = app.extensions["assistant"].flows["salesforce"].version
    assert client.get(f"/console/analytics?flow=salesforce&version={current}"
                      ).status_code == 200  # no session yet, but the flow's own version


def test_a_flow_no_longer_served_keeps_its_analytics(make_app, admin, tmp_path):
    # A typo in a flow file (or the file removed) takes the flow off the wizard, not its
    # history: its sessions stay countable from its stored versions.
    from conftest import FLOWS, Walker, login
    folder = tmp_path / "flows"
    folder.mkdir()
    shutil.copytree(FLOWS / "routing", folder / "routing")
    for name in ("salesforce.yaml", "quickbooks-online.yaml", "quickbooks-desktop.yaml"):
        shutil.copy(FLOWS / name, folder / name)
    served = make_app(FLOWS_PATH=[str(folder)])
    Walker(served.test_client(), "salesforce")  # one session started
    (folder / "salesforce.yaml").write_text(
        (FLOWS / "salesforce.yaml").read_text().replace("next: ", "next: nowhere-", 1))
    app = make_app(FLOWS_PATH=[str(folder)])
    assert "salesforce" not in app.extensions["assistant"].flows
    client = app.test_client()
    login(client, admin)
    page = client.get("/console/analytics?flow=salesforce&from=")
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html[-2000:]
    assert figure(html, "started") == "1"
    assert re.search(r'<option value="salesforce" selected>[^<]* \(no longer served\)<', html)
    assert "(current)" not in html  # no version of it is being served
    for url in ("/console/analytics/sessions.csv", "/console/analytics/steps.csv",
                "/console/analytics/funnel.svg", "/console/analytics/dropoff.svg"):
        assert client.get(url, query_string={"flow": "salesforce", "from": ""}
                          ).status_code == 200, url
