"""The customer's language: ?lang=, then the session's stored language, then Accept-Language;
the switcher keeps the session where it is; the Spanish catalogue covers every UI string;
feedback and handoffs record the session's language."""

from __future__ import annotations

import io

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from assistant.conversation import payload
from assistant.probes.diagnosis import cause_explanation, cause_title, causes_for
from assistant.probes.ruleset import load_catalogue_texts, load_rules
from assistant.resources import PACKAGE
from assistant.web.handoff import queue
from conftest import REPO, Walker, answer_form, forms, heading, login, past_checks

SPANISH = {"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}


def _page(response) -> str:
    return response.get_data(as_text=True)


def test_accept_language_picks_spanish_and_lang_overrides_it(client):
    page = _page(client.get("/", headers=SPANISH))
    assert '<html lang="es">' in page and heading(page) == "¿Qué estás intentando conectar?"
    assert "Restablece tu conexión con Salesforce" in page  # the flows' own titles too
    page = _page(client.get("/?lang=en", headers=SPANISH))
    assert '<html lang="en">' in page and heading(page) == "What are you trying to connect?"
    page = _page(client.get("/?lang=es-419"))
    assert heading(page) == "¿Qué estás intentando conectar?"
    # links from a ?lang= page keep the language; an unknown language is English
    assert 'href="/flows/salesforce?lang=es"' in page
    assert heading(_page(client.get("/?lang=xx"))) == "What are you trying to connect?"


def test_a_session_keeps_its_language_and_the_switcher_keeps_its_place(client, store):
    page = client.get("/flows/salesforce?lang=es")
    form = next(f for f in forms(_page(page)) if f["action"].startswith("/flows/salesforce"))
    assert form["action"] == "/flows/salesforce?lang=es"
    started = client.post(form["action"], data=form["fields"])
    sid = started.headers["Location"].split("/")[2]
    assert store.get_session(sid).language == "es"
    step = past_checks(client, client.get(started.headers["Location"], follow_redirects=True))
    assert heading(_page(step)) == "Desconecta Salesforce"  # no connection: the manual path
    # a later page without ?lang= and an English browser: still the session's Spanish
    step = client.get(step.request.path, headers={"Accept-Language": "en"})
    assert heading(_page(step)) == "Desconecta Salesforce"
    assert "Ya hice clic en Desconectar" in _page(step)
    assert "Respuestas dadas: 1 · pendientes: al menos" in _page(step)  # not "1 respondidas"
    # ?lang= shows another language without changing the session (a GET changes nothing)
    assert heading(_page(client.get(step.request.path + "?lang=en"))) == "Disconnect Salesforce"
    assert store.get_session(sid).language == "es"
    # the switcher: a POST with the session's form token, back to the same step
    switch = next(f for f in forms(_page(step)) if f["action"].endswith("/language"))
    before = store.get_session(sid)
    moved = client.post(switch["action"], data={**switch["fields"], "lang": "en"})
    assert moved.status_code == 303 and moved.headers["Location"] == step.request.path
    after = store.get_session(sid)
    assert after.language == "en" and (after.position, after.revision) == (
        before.position, before.revision)
    assert heading(_page(client.get(moved.headers["Location"]))) == "Disconnect Salesforce"
    # a forged switch (no token) changes nothing
    assert client.post(switch["action"], data={"lang": "es"}).status_code == 400
    assert store.get_session(sid).language == "en"
    assert client.post(switch["action"], data={**switch["fields"], "lang": "xx"}
                       ).status_code == 400


def _spanish_unresolved_end(client) -> Walker:
    """A Salesforce session switched to Spanish, walked to an unresolved end, with "No" as
    feedback (which hands it to support)."""
    walker = Walker(client, "salesforce")
    switch = next(f for f in forms(walker.html) if f["action"].endswith("/language"))
    client.post(switch["action"], data={**switch["fields"], "lang": "es"})
    walker.go(walker.url)
    for answer in ("disconnected", "connected", "not-connected"):
        walker.answer(answer)
    assert heading(walker.html) == "Salesforce todavía no se conecta"
    assert "¿Esto respondió tu pregunta?" in walker.html and "Causas posibles" in walker.html
    feedback = next(f for f in forms(walker.html) if f["action"].endswith("/feedback"))
    client.post(feedback["action"], data={**feedback["fields"], "reaction": "no"})
    return walker


def test_feedback_and_handoffs_record_the_language(client, store, app):
    walker = _spanish_unresolved_end(client)
    row = store.get_session(walker.sid)
    assert store.feedback_for(row).language == "es"
    with app.test_request_context():
        handoff = queue().for_session(walker.sid)[0]
        assert handoff.language == "es"
        body = payload("handoff.created", handoff, None, "http://x/console")
    assert body["session"]["language"] == "es"


def test_the_console_shows_the_sessions_language(client, app, agent):
    walker = _spanish_unresolved_end(client)
    with app.test_request_context():
        handoff_id = queue().for_session(walker.sid)[0].id
    login(client, agent)
    page = _page(client.get(f"/console/sessions/{walker.sid}"))
    assert 'id="session-language">Español<' in page and '<html lang="en"' in page
    page = _page(client.get(f"/console/handoffs/{handoff_id}"))
    assert "<dt>Language</dt><dd>Español</dd>" in page
    # the console speaks English only: it offers no language switch that would do nothing
    assert 'class="language-switcher"' not in page
    assert 'class="language-switcher"' not in _page(client.get("/console/"))
    assert 'class="language-switcher"' in _page(client.get("/"))  # customers' pages do


def test_every_ui_string_has_spanish():
    """Every string the templates and views mark for translation has a Spanish text in the
    catalogue (a new string without one fails here)."""
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None,
                "_l": None}
    found = set()
    for folder, method in ((REPO / "assistant", "python"), (REPO / "templates", "jinja2")):
        for _, _, message, _, _ in extract_from_dir(
                folder, method_map=[("**.py", "python")] if method == "python"
                else [("**.html", "jinja2")], keywords=keywords):
            found.add(message[0] if isinstance(message, tuple) else message)
    po = PACKAGE / "translations" / "es" / "LC_MESSAGES" / "messages.po"
    catalog = read_po(io.BytesIO(po.read_bytes()))
    missing = [m for m in sorted(found) if not (catalog.get(m) and catalog.get(m).string
                                                and not catalog.get(m).fuzzy)]
    assert len(found) > 150 and missing == []


def test_the_spanish_cause_catalogue_is_complete():
    texts = load_catalogue_texts("es")
    assert set(texts) == set(load_rules().causes)
    for system in ("salesforce", "quickbooks_online", "quickbooks_desktop"):
        for cause in causes_for(system):
            assert cause_title(cause, "es") != cause_title(cause)
    assert cause_explanation("salesforce.daily_api_limit_exceeded",
                             {"used": 15000, "max": 15000}, "es").startswith(
        "Se usaron 15.000 de 15.000 solicitudes diarias")  # Spanish separators
    assert cause_explanation("salesforce.daily_api_limit_exceeded",
                             {"used": 15000, "max": 15000}).startswith("15,000 of 15,000")


@pytest.mark.parametrize("edit, message", [
    (("  salesforce.inactive_user:\n", "  salesforce.gone:\n    title: X\n    explanation: Y\n"
                                       "  salesforce.inactive_user:\n"), "salesforce.gone"),
    (("{used} de {max}", "{used} de {maximo}"), "placeholders"),
])
def test_a_broken_spanish_catalogue_is_refused(monkeypatch, tmp_path, edit, message):
    from assistant.probes import ruleset
    original = ruleset._read

    def read(name):
        data = original(name)
        if name == "catalogue.es.yaml":
            import yaml
            text = (PACKAGE / "probes" / "rules" / name).read_text().replace(*edit)
            return yaml.safe_load(text)
        return data
    monkeypatch.setattr(ruleset, "_read", read)
    ruleset.load_catalogue_texts.cache_clear()
    try:
        with pytest.raises(ruleset.RulesError, match=message):
            ruleset.load_catalogue_texts("es")
    finally:
        ruleset.load_catalogue_texts.cache_clear()


def _spanish(msgid: str) -> str:
    """The Spanish catalogue's text for ``msgid``."""
    po = PACKAGE / "translations" / "es" / "LC_MESSAGES" / "messages.po"
    return read_po(io.BytesIO(po.read_bytes())).get(msgid).string


def test_the_application_layers_refusals_are_in_the_sessions_language(client):
    """The application layer says why it refused in English (it imports no Flask); the page
    of a Spanish session says it in Spanish: a stale answer, an answer that is no choice, a
    typed answer left empty, feedback too long, a forged launch link."""
    from assistant.conversation import errors
    walker = Walker(client, "salesforce")
    switch = next(f for f in forms(walker.html) if f["action"].endswith("/language"))
    client.post(switch["action"], data={**switch["fields"], "lang": "es"})
    walker.go(walker.url)
    form = answer_form(walker.html)
    walker.answer("disconnected")
    stale = _page(client.post(form["action"], data={**form["fields"], "answer": "disconnected"}))
    assert _spanish(str(errors.Stale.message)) in stale and str(errors.Stale.message) not in stale
    form = answer_form(walker.html)
    wrong = _page(client.post(form["action"], data={**form["fields"], "answer": "nonsense"}))
    assert _spanish(str(errors.NotAChoice.message)) in wrong
    assert _spanish("Please choose one of the answers below.") in wrong
    say = next(f for f in forms(walker.html) if f["action"].endswith("/say"))
    empty = _page(client.post(say["action"], data={**say["fields"], "text": "  "}))
    assert _spanish("Type your answer, or choose one of the answers.") in empty
    for answer in ("connected", "not-connected"):
        walker.answer(answer)
    feedback = next(f for f in forms(walker.html) if f["action"].endswith("/feedback"))
    long = _page(client.post(feedback["action"], data={**feedback["fields"], "reaction": "no",
                                                       "comment": "x" * 5000}))
    assert "Tu comentario tiene 5.000 caracteres y el límite es 1.000" in long  # es numbers
    refused = _page(client.get("/flows/salesforce?launch=forged.token.here", headers=SPANISH))
    assert _spanish("This link can't be used to check your connection.") in refused
