"""Flow translations (NAME.LANG.yaml): the shipped Spanish files are complete; a missing text,
a key for something the flow does not have, a script, a non-text value and a new link are
refused with FILE:LINE: KEY; a translated flow keeps its Markdown sanitised."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from assistant.cli import main as cli
from assistant.flow import FlowError, load_flows
from assistant.flow.translate import (
    expected_texts,
    load_translations,
    localize,
    parse_translation,
    translation_language,
)
from conftest import FLOWS

FLOW = """\
id: demo
title: Demo
system: salesforce
summary: A small flow.
source: {title: How to Reset Your Connection}
causes:
  salesforce.oauth_incomplete: {title: Not completed, detail: "See [help](https://help.example/x)."}
start: ask
steps:
  ask:
    kind: question
    title: Does it work?
    body: Look at the **Channels** page.
    causes: [salesforce.oauth_incomplete]
    answers:
      - {id: works, label: "Yes", next: fixed}
      - {id: fails, label: "No", next: sorry}
  fixed: {kind: end, outcome: resolved, title: Fixed}
  sorry: {kind: end, outcome: unresolved, title: Sorry}
"""

SPANISH = """\
title: Demostración
summary: Un flujo pequeño.
source: {title: Cómo restablecer tu conexión}
causes:
  salesforce.oauth_incomplete:
    title: No se completó
    detail: "Consulta la [ayuda](https://help.example/x)."
steps:
  ask:
    title: ¿Funciona?
    body: Mira la página **Canales**.
    answers:
      works: Sí
      fails: "No"
  fixed:
    title: Resuelto
  sorry:
    title: Lo sentimos
"""


@pytest.fixture
def demo(tmp_path):
    (tmp_path / "demo.yaml").write_text(FLOW)
    flows, errors = load_flows([tmp_path])
    assert not errors
    return flows["demo"], tmp_path


def _refused(flow, text: str) -> list[str]:
    with pytest.raises(FlowError) as e:
        parse_translation(text.encode(), "demo.es.yaml", flow, "es")
    return [str(p) for p in e.value.problems]


def test_the_shipped_flows_have_complete_spanish():
    flows, errors = load_flows([FLOWS])
    translations, refused = load_translations(flows)
    assert not refused
    assert {(f, "es") for f in flows} <= set(translations)
    for (flow_id, _), t in translations.items():
        assert set(t.texts) == set(expected_texts(flows[flow_id]))
        # translated, not copied: no English title left (product names aside)
        same = [k for k, v in t.texts.items()
                if k[-1] == "title" and v == expected_texts(flows[flow_id])[k]]
        assert same == [], same


def test_a_good_translation_is_applied_and_stays_sanitised(demo):
    flow, _ = demo
    t = parse_translation(SPANISH.encode(), "demo.es.yaml", flow, "es")
    es = localize(flow, t)
    assert es.title == "Demostración" and es.steps["ask"].title == "¿Funciona?"
    assert [a.label for a in es.steps["ask"].answers] == ["Sí", "No"]
    assert "<strong>Canales</strong>" in es.steps["ask"].body_html
    assert es.steps["ask"].causes[0].title == "No se completó"
    assert es.steps["ask"].answers[0].branches == flow.steps["ask"].answers[0].branches
    # raw HTML in a translation is escaped exactly as in a flow
    hostile = SPANISH.replace("Mira la página **Canales**.", "<script>alert(1)</script>")
    es = localize(flow, parse_translation(hostile.encode(), "demo.es.yaml", flow, "es"))
    assert "<script>" not in es.steps["ask"].body_html
    assert "&lt;script&gt;" in es.steps["ask"].body_html


def test_a_missing_and_an_extra_key_are_refused_with_file_and_line(demo):
    flow, _ = demo
    broken = SPANISH.replace("      fails: \"No\"\n", "").replace(
        "  sorry:\n", "  later:\n    title: Después\n  sorry:\n")
    assert _refused(flow, broken) == [
        "demo.es.yaml:12: steps.ask.answers.fails: missing the es text of "
        "steps.ask.answers.fails (“No”)",
        "demo.es.yaml:16: steps.later: the flow demo has no step 'later'",
    ]


@pytest.mark.parametrize("edit, expected", [
    (("      works: Sí\n", "      works: Sí\n      maybe: Quizás\n"),
     "demo.es.yaml:14: steps.ask.answers.maybe: the step 'ask' has no answer 'maybe'"),
    (("    body: Mira", "    script: Dile al cliente\n    body: Mira"),
     "demo.es.yaml:11: steps.ask.script: scripts are for staff"),
    (("  salesforce.oauth_incomplete:\n", "  salesforce.gone:\n    title: X\n"
                                          "  salesforce.oauth_incomplete:\n"),
     "demo.es.yaml:5: causes.salesforce.gone: the flow demo has no cause 'salesforce.gone'"),
    (("title: Demostración", "title: [Demo]"), "demo.es.yaml:1: title: expected the "
                                                "translated text, found list"),
    (("summary: Un flujo pequeño.", "summary: ''"), "demo.es.yaml:2: summary: expected the "
                                                     "translated text"),
    (("Mira la página **Canales**.", "'[Inicia sesión](https://evil.example/login)'"),
     "demo.es.yaml:11: steps.ask.body: links to https://evil.example/login, which the "
     "original text does not link to"),
    (("    title: Lo sentimos\n", ""),
     "demo.es.yaml:17: steps.sorry.title: missing the es text of steps.sorry.title"),
    (("title: Demostración\n", "title: Demostración\ntitle: Otra\n"),
     "demo.es.yaml:2: title: duplicate key 'title'"),
])
def test_each_rule_refuses_with_file_line_and_key(demo, edit, expected):
    flow, _ = demo
    problems = _refused(flow, SPANISH.replace(*edit))
    assert any(p.startswith(expected) for p in problems), problems


def test_a_translated_link_the_original_has_is_allowed(demo):
    flow, _ = demo
    parse_translation(SPANISH.encode(), "demo.es.yaml", flow, "es")  # keeps help.example/x


def test_validate_checks_translation_files(demo):
    flow, folder = demo
    (folder / "demo.es.yaml").write_text(SPANISH.replace("    title: Resuelto\n", ""))
    result = CliRunner().invoke(cli, ["validate", str(folder)])
    assert result.exit_code == 1
    assert f"{folder}/demo.es.yaml:15: steps.fixed.title: missing the es text" in result.output
    (folder / "demo.es.yaml").write_text(SPANISH)
    result = CliRunner().invoke(cli, ["validate", str(folder)])
    assert result.exit_code == 0, result.output
    assert "demo.es.yaml" in result.output


def test_validate_checks_the_shipped_translations(tmp_path):
    for f in FLOWS.glob("salesforce*.yaml"):
        shutil.copy(f, tmp_path)
    (tmp_path / "routing").mkdir()
    text = (tmp_path / "salesforce.es.yaml").read_text()
    (tmp_path / "salesforce.es.yaml").write_text(
        text.replace("  limit-wait:\n", "  limit-wait:\n    scripts: x\n"))
    result = CliRunner().invoke(cli, ["validate", str(tmp_path / "salesforce.yaml")])
    assert result.exit_code == 1 and "steps.limit-wait.scripts" in result.output


def test_translation_file_names():
    assert translation_language("flows/salesforce.es.yaml") == "es"
    assert translation_language("flows/salesforce.tests.yaml") is None
    assert translation_language("flows/salesforce.yaml") is None
