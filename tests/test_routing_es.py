"""Free-text routing for customers writing Spanish: the Spanish evaluation set, the Spanish
routing data's checks, pasted vendor errors routed the same in both languages, and the
language passed by ``assistant route --lang``, the describe page, the API and a session."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_free_text import describe, session_id, text_of
from test_routing import _signal_cases

from assistant.cli import main
from assistant.flow import FlowError, load_flows
from assistant.flow.translate import load_translations, localize
from assistant.probes.diagnosis import causes_for
from assistant.resources import flows_dir
from assistant.routing import load_router, load_routing, routing_folders
from assistant.routing.evaluate import evaluate, flow_right, read_cases
from conftest import count_sessions, forms, heading

EVAL = Path(__file__).parent / "fixtures" / "routing" / "es"


@pytest.fixture(scope="module")
def flows():
    loaded, errors = load_flows([flows_dir()])
    assert not errors
    return loaded


@pytest.fixture(scope="module")
def router(flows):
    return load_router(flows, "es")


@pytest.fixture(scope="module")
def english(flows):
    return load_router(flows)


def _cases():
    return [c for f in sorted(EVAL.glob("*.yaml")) for c in read_cases(f)]


# --- the Spanish evaluation set -------------------------------------------------------------

def test_the_spanish_evaluation_set_is_large_and_varied():
    cases = _cases()
    assert len(cases) >= 60
    assert {"pasted", "words", "typo", "ambiguous", "two-systems", "off-topic", "long",
            "short"} <= {c["kind"] for c in cases}
    assert {"salesforce", "quickbooks-online", "quickbooks-desktop", "none", "ask"} <= \
        {c["flow"] for c in cases}
    accented = [c for c in cases if any(ch in c["text"] for ch in "áéíóúñ¿")]
    assert len(accented) >= 15 and len(cases) - len(accented) >= 15
    assert len({c["text"] for c in cases}) == len(cases), "a message is in the set twice"


@pytest.mark.parametrize("part", ["tuning", "heldout"])
def test_spanish_routing_meets_its_targets_on_each_part(router, part):
    report = evaluate(router, read_cases(EVAL / f"{part}.yaml"))
    shown = "\n".join(report.lines() + [f"{c['text']!r} → {r.flow} {r.cause} q={r.question}"
                                       for c, r in report.misses])
    assert report.flow_accuracy >= 0.9, shown
    assert report.cause_accuracy >= 0.9, shown
    assert report.confident_wrong == 0, shown


def test_every_spanish_case_not_marked_a_known_miss_routes_right(router):
    """The cases the router gets right stay right, so deleting a Spanish name, synonym,
    phrase or word list entry that one of them relies on fails here (the accuracy floor
    alone would let one case go)."""
    wrong = []
    for case in _cases():
        route = router.route(case["text"])
        cause_ok = "cause" not in case or route.cause == (
            None if case["cause"] == "none" else case["cause"])
        if "known_miss" not in case and not (flow_right(case, route) and cause_ok):
            wrong.append((case["text"], route.flow, route.cause, route.question))
    assert wrong == []


def test_the_spanish_router_answers_in_spanish(router):
    asked = router.route("quickbooks no funciona")
    assert asked.question.startswith("¿Es QuickBooks Desktop")
    assert {a.title for a in asked.alternatives} == {
        "Restablece tu conexión con QuickBooks Desktop",
        "Restablece tu conexión con QuickBooks Online"}
    which = router.route("tengo un error de conexión")
    assert which.question == "¿Con qué conexión tienes el problema?"
    none = router.route("quiero la factura del mes pasado")
    assert none.flow is None and none.message.startswith("Ninguna de nuestras guías")
    pasted = router.route("me sale REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.")
    assert pasted.message == ("Reconocimos REQUEST_LIMIT_EXCEEDED: tu organización ya usó "
                              "todas sus solicitudes diarias a la API de Salesforce.")
    said = router.route("la sesión de salesforce caducó")
    assert said.message == "Parece que caducó la sesión que Autofy usaba con Salesforce."
    guide = router.route("salesforce no conecta desde ayer")
    assert guide.message == "Esta guía debería ayudarte: Restablece tu conexión con Salesforce."


def test_accents_typos_and_inflections_are_read_alike(router):
    for text in ("la sesión de salesforce caducó", "la sesion de salesforce caduco",
                 "sesiones de salesforce caducadas", "la sesion de salesforse caducada"):
        route = router.route(text)
        assert (route.flow, route.cause) == ("salesforce", "salesforce.session_expired"), text


@pytest.mark.parametrize(("word", "not_into"), [
    ("gente", "agente"), ("clase", "clave"), ("tierra", "cierra"), ("juego", "luego"),
])
def test_a_spanish_word_is_read_as_itself_not_as_a_flow_word_one_letter_away(router, word,
                                                                            not_into):
    assert not_into in router.analyser.known and word not in router.analyser.known
    assert router.analyser.words(f"salesforce {word}") == ["salesforce", word]


@pytest.mark.parametrize("text, flow", [
    ("la sincronización de Salesforce funciona bien pero QuickBooks Online no sincroniza",
     "quickbooks-online"),
    ("QuickBooks Online funciona correctamente, aunque Salesforce da sesión vencida",
     "salesforce"),
])
def test_a_clause_saying_a_system_is_fine_is_left_out_in_spanish(router, text, flow):
    assert router.route(text).flow == flow


@pytest.mark.parametrize("text", ["QuickBooks Online no funciona, pero Salesforce sí",
                                  "QuickBooks Online no funciona bien, pero Salesforce sí"])
def test_a_healthy_word_inside_a_trouble_phrase_is_trouble(router, text):
    """"no funciona" holds "funciona": that clause is a complaint and is kept, so the
    route is never the other system."""
    route = router.route(text)
    assert route.flow in (None, "quickbooks-online"), route
    assert route.flow or route.question


@pytest.mark.parametrize(("text", "broken"), [
    ("QuickBooks Online no está bien, pero Salesforce sí conecta", "quickbooks-online"),
    ("QuickBooks Online funcionaba bien hasta hoy pero Salesforce sigue sincronizando",
     "quickbooks-online"),
    ("QuickBooks Online funciona fatal, mientras Salesforce sincroniza sin problemas",
     "quickbooks-online"),
    ("En QuickBooks Online el login esta bien pero despues se traba, Salesforce sin problemas",
     "quickbooks-online"),
    ("QuickBooks Online conecta bien pero luego se congela, mientras Salesforce va de maravilla",
     "quickbooks-online"),
    ("Salesforce funciona con mi usuario admin pero el usuario de integración está bloqueado, "
     "aunque QBO está conectado", "salesforce"),
    ("salesforce va bien pero kickbooks online se desconecta", "quickbooks-online"),
    ("la sincronización con Salesforce va bien, pero QuickBooks Desktop no",
     "quickbooks-desktop"),
    ("QuickBooks Desktop se congela y Salesforce funciona, pero QBO se desconecta", None),
    ("Salesforce funciona bien pero el agente no", "quickbooks-desktop"),
    ("QBO bien pero la organizacion no", "salesforce"),
    ("el agente en nuestro servidor esta desconectado, salesforce bien", "quickbooks-desktop"),
    ("Solo funciona Salesforce", None),
    ("SF mal / QBO bien", "salesforce"),
    ("Todo esta caido menos QuickBooks Desktop", None),
])
def test_a_healthy_word_never_leaves_the_broken_system_out_in_spanish(router, text, broken):
    route = router.route(text)
    assert route.flow in {None, broken}, route
    assert route.flow or route.question


def test_the_sync_alone_asks_which_connection(router):
    route = router.route("la sincronización está atascada")
    assert route.flow is None and route.question == router.data.common.question_any


@pytest.mark.parametrize(("text", "answer"), [
    *((reply, "connected") for reply in (
        "ya", "correcto", "exacto", "vale", "perfecto", "conectado", "ahora conecta",
        "resuelto", "arreglado")),
    *((reply, "not-connected") for reply in (
        "siguen las cruces rojas", "nunca", "tampoco", "igual", "ninguno", "ninguna")),
])
def test_a_spanish_reply_that_says_yes_or_no_chooses_that_answer(router, flows, text, answer):
    """Each Spanish yes and no word, as a customer replies to "¿Ya está conectado?" in the
    Spanish flow (both answers share the word "conecta": only the yes or no decides)."""
    translations, _ = load_translations(flows)
    step = localize(flows["salesforce"], translations[("salesforce", "es")]).steps["confirm"]
    assert router.match_answer(step, text).answer == answer


@pytest.mark.parametrize(("message", "core"), [
    ("buenas tardes, saludos: el agente aparece desconectado, gracias", "el agente desconectado"),
    ("buenas noches equipo, oigan, ¿pueden ayudarme? necesito ayuda con el token", "token"),
    ("oye che, bueno, pues vale: Salesforce dice sesión caducada hoy",
     "Salesforce sesión caducada"),
    ("¿me pueden ayudar? ¿podeis ayudar? ¿podrian? que me ayuden, escribo porque sale error "
     "ayer y ahora siempre", "error"),
    ("salio un aviso, aparece y aparecio otra vez: muestra error cada vez, dicen que pasa",
     "aviso error"),
    ("el agente no puede conectar", "el agente no conectar"),
])
def test_spanish_greetings_and_filler_are_not_read_as_terms(router, message, core):
    """Saludos, "¿me pueden ayudar?", "sale / aparece / dice" are no evidence for any guide."""
    assert router.analyser.terms(message) == router.analyser.terms(core)


def test_quick_books_online_in_two_words_names_quickbooks_online(router):
    assert router.route("quick books online no conecta").flow == "quickbooks-online"


def test_people_are_not_read_as_the_desktop_agent(router):
    # "gente" (people) read as "agente" used to lean towards QuickBooks Desktop
    route = router.route("no funciona, necesito ayuda de la gente de soporte")
    assert route.flow is None
    assert all(a.confidence == 0 for a in route.alternatives)


def test_the_flows_spanish_text_is_indexed(flows):
    """Words only the Spanish flow texts have (no routing data) find their guide."""
    bare = load_router(flows, "es")
    route = bare.route("¿dónde está la pestaña Accounting? el agente no conecta")
    assert route.flow == "quickbooks-desktop"
    assert "pestana" not in load_router(flows).analyser.known
    assert "pestana" in bare.analyser.known


# --- pasted vendor errors: the same in both languages ---------------------------------------

@pytest.mark.parametrize(("case", "text"), list(_signal_cases()))
def test_a_pasted_vendor_signal_routes_the_same_in_spanish(router, english, case, text):
    es, en = router.route(text), english.route(text)
    assert (es.flow, es.step, es.cause, es.signal) == (en.flow, en.step, en.cause, en.signal)
    assert (es.question is None) == (en.question is None)


@pytest.mark.parametrize("text", ["INVALID_SESSION_ID", "AuthenticationFailed 3200",
                                  "HTTP 401 invalid_grant salesforce", "0x80040408"])
def test_a_code_in_a_spanish_sentence_is_recognised(router, english, text):
    alone = english.route(text)
    said = router.route(f"Hola, desde ayer me sale este error: {text}. ¿Qué hago?")
    assert (said.flow, said.cause) == (alone.flow, alone.cause)


# --- the Spanish routing data ---------------------------------------------------------------

def test_every_cause_has_a_spanish_sentence_for_the_customer(router, english, flows):
    for flow in flows.values():
        for cause in causes_for(flow.system):
            spanish = router.data.flows[flow.id].causes[cause].recognised
            assert spanish.strip() and spanish != english.data.flows[flow.id].causes[
                cause].recognised, (flow.id, cause)


def _spanish_words(flow_id: str) -> dict:
    import yaml
    return yaml.safe_load((flows_dir() / "routing" / f"{flow_id}.es.yaml").read_text())


def test_each_spanish_cause_phrase_leads_to_its_cause(router, flows):
    for flow in flows.values():
        name = min(router.data.flows[flow.id].names, key=len)
        for cause, entry in _spanish_words(flow.id)["causes"].items():
            for phrase in entry.get("phrases", []):
                route = router.route(f"{name} {phrase}")
                assert route.flow == flow.id, (name, phrase, route)
                assert route.cause in (cause, None), (phrase, route.cause)
            best = max(entry["phrases"], key=lambda p: len(p.split()))
            assert router.route(f"{name} {best}").cause == cause, (flow.id, best)


def test_every_spanish_name_of_a_system_leads_to_its_flow(router, flows):
    for flow in flows.values():
        for name in _spanish_words(flow.id)["names"]:
            assert router.route(f"{name} no funciona").flow == flow.id, name


@pytest.fixture
def flow_copy(tmp_path):
    shutil.copytree(flows_dir(), tmp_path / "flows")
    return tmp_path / "flows"


def _problems(folder: Path, language: str = "es") -> str:
    loaded, _ = load_flows([folder])
    with pytest.raises(FlowError) as e:
        load_routing(loaded, routing_folders(loaded), language)
    return str(e.value)


def test_a_cause_without_its_spanish_sentence_is_refused(flow_copy):
    path = flow_copy / "routing" / "salesforce.es.yaml"
    text = path.read_text()
    start = text.index("  salesforce.inactive_user:")
    end = text.index("  salesforce.login_restricted:")
    path.write_text(text[:start] + text[end:])
    line = next(i for i, row in enumerate(text.splitlines()) if row.startswith("causes:")) + 1
    assert (f"salesforce.es.yaml:{line}: causes: no es sentence for the cause "
            "salesforce.inactive_user") in _problems(flow_copy)


def test_spanish_common_words_must_say_everything_in_spanish(flow_copy):
    path = flow_copy / "routing" / "_common.es.yaml"
    text = path.read_text()
    path.write_text(text.replace('  guide: "Esta guía debería ayudarte: {title}."\n', "")
                    .replace("    flows: [quickbooks-desktop, quickbooks-online]",
                             "    flows: [quickbooks-desktop, salesforce]"))
    problems = _problems(flow_copy)
    assert "_common.es.yaml" in problems and "messages: no es text for: guide" in problems
    assert "no es question for the family of quickbooks-desktop, quickbooks-online" in problems


def test_a_sentence_with_an_unknown_field_is_refused(flow_copy):
    path = flow_copy / "routing" / "_common.es.yaml"
    path.write_text(path.read_text().replace("Parece que {cause}", "Parece que {causa}"))
    assert "sounds_like: unknown field {causa} (it may use {cause})" in _problems(flow_copy)


def test_a_flow_without_spanish_words_keeps_its_own(flow_copy):
    (flow_copy / "routing" / "salesforce.es.yaml").unlink()
    loaded, _ = load_flows([flow_copy])
    spanish = load_router(loaded, "es")
    route = spanish.route("salesforce INVALID_SESSION_ID")
    assert route.cause == "salesforce.session_expired"
    assert route.message.startswith("Reconocimos INVALID_SESSION_ID: the session")


def test_english_routing_reads_no_spanish_file(flow_copy, flows):
    (flow_copy / "routing" / "salesforce.es.yaml").write_text("not: [valid")
    loaded, _ = load_flows([flow_copy])
    assert load_router(loaded).route("salesforce session expired").flow == "salesforce"
    assert "salesforce.es.yaml:1" in _problems(flow_copy)


# --- where the language comes from ----------------------------------------------------------

def test_route_command_takes_the_customers_language():
    result = CliRunner().invoke(main, ["route", "--lang", "es", "la sesión de salesforce caducó"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert (data["flow"], data["cause"]) == ("salesforce", "salesforce.session_expired")
    assert data["message"].startswith("Parece que caducó")
    english = json.loads(CliRunner().invoke(main, ["route", "quickbooks"]).output)
    assert english["question"].startswith("Is it QuickBooks Desktop")
    refused = CliRunner().invoke(main, ["route", "--lang", "xx", "quickbooks"])
    assert refused.exit_code == 2


def test_the_spanish_describe_page_routes_spanish_words_to_their_guide(client, store):
    response = describe(client, "la sesión de salesforce caducó y no sincroniza",
                        page="/?lang=es")
    assert response.status_code == 303
    row = store.get_session(session_id(response.headers["Location"]))
    assert (row.flow_id, row.language) == ("salesforce", "es")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    shown = text_of(page)
    assert "Escribiste: la sesión de salesforce caducó" in shown
    assert "Parece que caducó la sesión que Autofy usaba con Salesforce." in shown
    assert heading(page) == "Salesforce ya no acepta la autorización de Autofy"


def test_the_spanish_describe_page_asks_in_spanish(client, store):
    page = describe(client, "quickbooks no funciona", page="/?lang=es").get_data(as_text=True)
    assert heading(page).startswith("¿Es QuickBooks Desktop")
    choices = next(f for f in forms(page) if ("flow", "quickbooks-online") in f["buttons"])
    assert ("flow", "quickbooks-desktop") in choices["buttons"]
    assert "Restablece tu conexión con QuickBooks Online" in text_of(page)
    assert count_sessions(store) == 0
    english = describe(client, "quickbooks no funciona").get_data(as_text=True)
    assert heading(english).startswith("Is it QuickBooks Desktop")


def test_the_api_routes_in_the_language_it_is_given(client):
    spanish = client.post("/api/v1/route", json={"text": "quickbooks online dice que hay "
                                                         "demasiadas solicitudes",
                                                 "language": "es"}).get_json()
    assert (spanish["flow"], spanish["cause"]) == ("quickbooks-online",
                                                   "quickbooks_online.throttled")
    assert spanish["message"].startswith("Parece que QuickBooks Online está limitando")
    started = client.post("/api/v1/sessions", json={"text": "sfdc token vencido",
                                                    "language": "es"})
    assert started.status_code == 201
    assert started.get_json()["route"]["cause"] == "salesforce.session_expired"
    refused = client.post("/api/v1/route", json={"text": "hola", "language": "xx"})
    assert refused.status_code == 400
