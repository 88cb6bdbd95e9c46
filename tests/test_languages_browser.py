"""A whole guide in Spanish in Chromium (a browser set to Spanish), axe-core on every page,
and the switcher moving the session to English in place."""

from __future__ import annotations

import re

import pytest
from browsing import axe, manual_app, serving

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    app = manual_app(tmp_path_factory.mktemp("languages"))
    with serving(app) as url:
        yield type("Server", (), {"url": url, "store": app.extensions["assistant"].store})


def heading(page) -> str:
    return page.locator("#step-heading").inner_text().strip()


def wait_heading(page, text: str) -> None:
    """Wait until the step heading (swapped in by htmx) contains ``text``."""
    page.wait_for_function("t => document.querySelector('#step-heading')?.textContent"
                           ".includes(t)", arg=text)


def click(page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()


def test_a_full_spanish_walk_with_axe(server, browser):
    context = browser.new_context(locale="es-MX", bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems = {}
    page.goto(server.url + "/")
    assert page.locator("html").get_attribute("lang") == "es"
    assert heading(page) == "¿Qué estás intentando conectar?"
    problems["inicio"] = axe(page)
    page.get_by_role("link", name="Restablece tu conexión con QuickBooks Desktop").click()
    problems["guía"] = axe(page)
    click(page, "Empezar")
    page.wait_for_url(re.compile(r"/s/[^/]+/\d+"))
    wait_heading(page, "Autofy Agent Status")
    assert heading(page) == "¿Qué muestra el Autofy Agent Status?"
    problems["paso"] = axe(page)
    click(page, "Dice Disconnected")
    wait_heading(page, "Paso 1")
    assert "Tus respuestas hasta ahora" in page.inner_text("body")
    assert "Dice Disconnected" in page.locator(".transcript").inner_text()
    click(page, "Sí, veo dos marcas verdes")
    wait_heading(page, "Paso 2")
    page.get_by_text("Por qué sucede").click()  # the causes, in Spanish, open
    assert "ventana de autorización de seguridad" in page.locator("details.causes").inner_text()
    problems["causas"] = axe(page)
    click(page, "Ya hice clic en Connect")
    wait_heading(page, "Paso 3")
    click(page, "Sí, dice Connected")
    wait_heading(page, "volvió a funcionar")
    assert page.locator(".panel-tag").text_content().strip() == "Resuelto"
    problems["final"] = axe(page)
    page.get_by_label("Sí").check()
    page.get_by_label("¿Algo más que quieras agregar? (opcional)").fill("Muy clara, gracias")
    click(page, "Enviar opinión")
    page.wait_for_function("document.querySelector('#feedback-title')?.textContent"
                           ".includes('Gracias')")
    problems["gracias"] = axe(page)
    sid = page.url.split("/")[4]
    row = server.store.get_session(sid)
    assert row.language == "es" and server.store.feedback_for(row).language == "es"
    context.close()
    bad = {name: found for name, found in problems.items() if found}
    assert not bad, bad


def test_the_switcher_keeps_the_session_where_it_is(server, browser):
    context = browser.new_context(locale="es-ES")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(server.url + "/flows/salesforce")
    click(page, "Empezar")
    page.wait_for_url(re.compile(r"/s/[^/]+/\d+"))
    click(page, "Ya hice clic en Desconectar")
    wait_heading(page, "Vuelve a conectar")
    here = page.url
    page.get_by_role("button", name="English").click()
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert heading(page) == "Connect to Salesforce again" and page.url == here
    assert "I clicked Disconnect" in page.locator(".transcript").inner_text()
    page.reload()  # stored on the session: the browser's Spanish no longer decides
    assert heading(page) == "Connect to Salesforce again"
    context.close()
