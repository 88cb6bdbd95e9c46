"""Analytics by the language a session is read in: the ``language`` filter, the per-language
breakdown, and the language shown beside feedback and handoffs in the console.

On the hand-checked March sessions of ``analytics_scenario`` (see ``test_analytics.py``), A
(resolved, feedback yes) and D (escalated, a handoff, no feedback) are switched to Spanish; the
other six stay English (B: feedback no and a handoff; C: feedback partly; K: a handoff).
"""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
import time_machine
from analytics_scenario import NOW, seed

from assistant.store.analytics import Analytics
from assistant.store.analytics_figures import LanguageFigures, Scope
from conftest import login

MARCH = {"flow": "salesforce", "version": "", "from": "2026-03-01", "to": "2026-03-31"}


@pytest.fixture
def scenario(app, store):
    flows = app.extensions["assistant"].flows
    sessions = seed(store, {fid: f.version for fid, f in flows.items()})
    for letter in "AD":
        store.set_language(sessions[letter].id, "es")
    return sessions


@pytest.fixture
def admin_client(app, admin, scenario):
    client = app.test_client()
    with time_machine.travel(NOW, tick=False):
        login(client, admin)
    return client


def march(language=None):
    from datetime import date
    return Scope("salesforce", None, date(2026, 3, 1), date(2026, 3, 31), language)


def get(client, url, **query):
    with time_machine.travel(NOW, tick=False):
        return client.get(url, query_string=query)


def figure(html: str, name: str) -> str:
    return re.search(rf'data-figure="{name}">([^<]*)<', html).group(1).strip()


def test_the_language_filter_keeps_the_sessions_read_in_it(scenario, store):
    analytics = Analytics(store.engine)
    from datetime import timedelta
    spanish = analytics.report(march("es"), now=NOW, abandoned_after=timedelta(minutes=30))
    assert (spanish.started, spanish.resolved, spanish.escalated) == (2, 1, 1)
    assert spanish.reactions == {"yes": 1, "partly": 0, "no": 0}
    assert spanish.handoff_sessions == 1  # D
    assert spanish.step("detect").answered == 2
    # Sessions without a language (from before languages) are English.
    english = analytics.report(march("en"), now=NOW, abandoned_after=timedelta(minutes=30))
    assert (english.started, english.resolved, english.abandoned) == (6, 0, 3)
    assert english.reactions == {"yes": 0, "partly": 1, "no": 1}
    assert english.handoff_sessions == 2  # B, K
    assert analytics.reactions(march("es")) == spanish.reactions


def test_the_breakdown_counts_each_language(scenario, store):
    assert Analytics(store.engine).languages(march("es")) == [
        LanguageFigures("en", started=6, resolved=0, feedback=2),
        LanguageFigures("es", started=2, resolved=1, feedback=1)]


def test_the_page_filters_by_language_and_shows_the_breakdown(admin_client):
    everyone = get(admin_client, "/console/analytics", **MARCH).get_data(as_text=True)
    assert figure(everyone, "started") == "8"
    rows = dict(re.findall(r'<tr data-language="(\w+)">(.*?)</tr>', everyone, re.S))
    assert (figure(rows["es"], "started"), figure(rows["es"], "resolved"),
            figure(rows["es"], "feedback")) == ("2", "1", "1")
    assert (figure(rows["en"], "started"), figure(rows["en"], "feedback")) == ("6", "2")
    assert "language=es" in rows["es"]  # each language links to its filter

    spanish = get(admin_client, "/console/analytics", **MARCH, language="es")
    page = spanish.get_data(as_text=True)
    assert spanish.status_code == 200
    assert (figure(page, "started"), figure(page, "resolved"), figure(page, "handoffs")) == \
        ("2", "1", "1")
    assert '<option value="es" selected>' in page
    assert "Thanks, fixed it" in page and "still broken" not in page  # A's comment only
    assert "language=es" in re.search(r'href="(/console/analytics/sessions\.csv[^"]*)"',
                                      page).group(1)


def test_the_exports_keep_the_language(admin_client):
    response = get(admin_client, "/console/analytics/sessions.csv", **MARCH, language="es")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 1 + 2
    assert "-es-" in response.headers["Content-Disposition"]


def test_a_language_the_wizard_does_not_speak_is_refused(admin_client):
    response = get(admin_client, "/console/analytics", **MARCH, language="fr")
    assert response.status_code == 400
    assert "'fr' is not a language sessions are read in" in html.unescape(
        response.get_data(as_text=True))


def test_feedback_and_handoffs_show_the_language_they_were_given_in(app, admin, store):
    version = app.extensions["assistant"].flows["salesforce"].version
    row = store.create_session("salesforce", version, "already-working", language="es")
    row = store.record_answer(row, version, row.position, "already-working", "works",
                              "connected-resolved", {}, "resolved")
    store.save_feedback(row, version, "yes", "Gracias")
    store.create_handoff(row, version, "asked", [], "k@example.com", "Llámame")
    client = app.test_client()
    login(client, admin)
    session_page = client.get(f"/console/sessions/{row.id}").get_data(as_text=True)
    assert re.search(r'class="feedback-language">Español<', session_page)
    queue = client.get("/console/handoffs").get_data(as_text=True)
    assert re.search(r'class="muted handoff-language">Español<', queue)
    comments = client.get("/console/analytics", query_string={
        "flow": "salesforce", "from": "", "to": ""}).get_data(as_text=True)
    comment = re.search(r"<li><p class=\"comment-meta\">([^\n]*)</p>\s*<blockquote>Gracias<",
                        comments)
    assert comment and "· Español ·" in comment.group(1)
