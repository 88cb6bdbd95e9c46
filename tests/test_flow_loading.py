"""Flow files: every shipped flow is valid; every broken file is refused with file, line, key."""

from __future__ import annotations

import json
import textwrap

import pytest
from click.testing import CliRunner

from assistant.cli import main as cli
from assistant.flow import FlowError, flow_files, load_flows, parse_flow
from conftest import FLOWS

GOOD = """\
id: demo
title: Demo
system: salesforce
summary: A small flow.
source: {title: How to Reset Your Connection}
start: ask
steps:
  ask:
    kind: question
    title: Does it work?
    answers:
      - {id: works, label: "Yes", next: fixed}
      - {id: fails, label: "No", next: sorry}
  fixed:
    kind: end
    outcome: resolved
    title: Fixed
  sorry:
    kind: end
    outcome: unresolved
    title: Sorry
"""

PROBE = GOOD.replace("start: ask\nsteps:\n", """\
start: check
steps:
  check:
    kind: probe
    title: Checking your connection
    probe: salesforce.api
    outcomes:
      connected: fixed
      salesforce.daily_api_limit_exceeded: sorry
    otherwise: manual
""").replace("  ask:\n", "  manual:\n")

COUNTED_SOURCE = GOOD.replace("""      - {id: fails, label: "No", next: sorry}""", """\
      - id: fails
        label: "No"
        next:
          - {when: {counter: rounds, below: 2}, to: again}
          - {to: sorry}
  again:
    kind: instruction
    title: Try again
    answers:
      - {id: done, label: Done, next: ask, count: rounds}""")


def problems(text: str) -> list[str]:
    with pytest.raises(FlowError) as info:
        parse_flow(textwrap.dedent(text), "demo.yaml")
    return [str(p) for p in info.value.problems]


def test_minimal_flow_parses():
    flow = parse_flow(GOOD, "demo.yaml")
    assert flow.start == "ask" and set(flow.steps) == {"ask", "fixed", "sorry"}
    assert flow.remaining == {"ask": 1, "fixed": 0, "sorry": 0}
    assert len(flow.version) == 12


@pytest.mark.parametrize("path", flow_files([FLOWS]), ids=lambda p: p.stem)
def test_every_shipped_flow_validates(path):
    flows, errors = load_flows([path])
    assert not errors and len(flows) == 1


def test_the_three_article_flows_are_shipped():
    flows, errors = load_flows([FLOWS])
    assert not errors
    assert {f.system for f in flows.values()} >= {"quickbooks_desktop", "quickbooks_online",
                                                  "salesforce"}


@pytest.mark.parametrize("broken, expected", [
    (GOOD.replace("  fixed:\n", "  fixed:\n    colour: red\n"),
     "demo.yaml:15: steps.fixed.colour: unknown key 'colour'"),
    (GOOD.replace("start: ask\n", ""), "demo.yaml:1: start: missing required key 'start'"),
    (GOOD.replace("start: ask", "start: nowhere"),
     "demo.yaml:6: start: start step 'nowhere' does not exist"),
    (GOOD.replace("next: sorry", "next: gone"),
     "demo.yaml:13: steps.ask.answers[1].next: step 'gone' does not exist"),
    (GOOD + "  fixed:\n    kind: end\n    outcome: resolved\n    title: Again\n",
     "demo.yaml:22: steps.fixed: duplicate key 'fixed'"),
    (GOOD.replace("{id: fails,", "{id: works,"),
     "demo.yaml:13: steps.ask.answers[1].id: duplicate answer id 'works'"),
    (GOOD.replace('label: "No"', "label: No"),
     "demo.yaml:13: steps.ask.answers[1].label: expected text, but YAML read this as false"),
    (GOOD + "  orphan:\n    kind: end\n    outcome: resolved\n    title: Nobody comes here\n",
     "demo.yaml:22: steps.orphan: step 'orphan' cannot be reached from the start"),
    (GOOD.replace("    outcome: unresolved\n", ""),
     "demo.yaml:18: steps.sorry: an end step needs an 'outcome'"),
    (GOOD.replace("    kind: end\n    outcome: unresolved\n", "    kind: question\n"),
     "demo.yaml:18: steps.sorry: step 'sorry' has no answers and is not an end: it has no way out"),
    (GOOD.replace("kind: question", "kind: probe"),
     "demo.yaml:8: steps.ask: a probe step needs 'probe' (one of quickbooks_desktop.agent, "),
    (PROBE.replace("probe: salesforce.api", "probe: salesforce.apy"),
     "demo.yaml:11: steps.check.probe: unknown probe 'salesforce.apy' (known: "),
    (PROBE.replace("probe: salesforce.api", "probe: quickbooks_online.api"),
     "demo.yaml:11: steps.check.probe: probe 'quickbooks_online.api' checks quickbooks_online, "
     "but this flow is about salesforce"),
    (PROBE.replace("salesforce.daily_api_limit_exceeded", "salesforce.daily_limit"),
     "demo.yaml:14: steps.check.outcomes.salesforce.daily_limit: 'salesforce.daily_limit' is "
     "not an outcome of probe 'salesforce.api'"),
    (PROBE.replace("salesforce.daily_api_limit_exceeded", "quickbooks_online.throttled"),
     "demo.yaml:14: steps.check.outcomes.quickbooks_online.throttled: "),
    (PROBE.replace("    otherwise: manual\n", ""),
     "demo.yaml:8: steps.check: a probe step needs 'otherwise': the step for any outcome it "
     "does not list (the flow's manual path)"),
    (PROBE.replace("    probe: salesforce.api\n", "    probe: salesforce.api\n    causes: [x.y]\n"),
     "demo.yaml:12: steps.check.causes[0]: cause 'x.y' is not in the flow's causes"),
    (PROBE.replace("otherwise: manual", "otherwise: nowhere"),
     "demo.yaml:15: steps.check.otherwise: step 'nowhere' does not exist"),
    (PROBE.replace("connected: fixed", "connected: gone"),
     "demo.yaml:13: steps.check.outcomes.connected: step 'gone' does not exist"),
    (PROBE.replace("    kind: question\n    title: Does it work?\n",
                   "    kind: question\n    title: Does it work?\n    probe: salesforce.api\n"),
     "demo.yaml:19: steps.manual.probe: only a probe step has 'probe'"),
    (GOOD.replace("kind: question", "kind: quiz"),
     "demo.yaml:9: steps.ask.kind: Input should be"),
    (GOOD.replace("outcome: resolved", "outcome: great"),
     "demo.yaml:16: steps.fixed.outcome: Input should be 'resolved', 'unresolved' or 'escalated'"),
    (GOOD.replace("title: Does it work?\n", "title: Does it work?\n    causes: [x.y]\n"),
     "demo.yaml:11: steps.ask.causes[0]: cause 'x.y' is not in the flow's causes"),
    ("id: demo\ntitle: [unclosed\n", "demo.yaml:2: invalid YAML: while parsing a flow"),
    (GOOD.replace("title: Fixed", 'title: "Fixed'), "demo.yaml:17: invalid YAML: while scanning a "
     "quoted scalar: found unexpected end of stream"),
    (GOOD.replace("  sorry:", "  no:").replace("next: sorry", "next: 'no'"),
     "demo.yaml:18: steps.no: expected text, but YAML read this as false"),
    (GOOD + "on: true\n", "demo.yaml:22: on: expected text, but YAML read this as true"),
    (GOOD.replace("  sorry:", "  str:").replace("next: sorry", "next: str").replace(
        "outcome: unresolved", "outcome: unresolved\n    bogus: 1"),
     "demo.yaml:21: steps.str.bogus: unknown key 'bogus'"),
    (GOOD.replace("next: sorry", "next: Sorry"),
     "demo.yaml:13: steps.ask.answers[1].next: 'Sorry' is not a valid id: use lower-case"),
    (GOOD.replace("next: sorry", "next: 12"),
     "demo.yaml:13: steps.ask.answers[1].next: must be a step id, or a list of branches"),
    (GOOD.replace("  sorry:", "  Sorry:"),
     "demo.yaml:18: steps.Sorry: 'Sorry' is not a valid id: use lower-case letters"),
    ("- just\n- a list\n", "demo.yaml:1: a flow file must be a YAML mapping"),
    (GOOD.replace("  fixed:\n", "---\n  fixed:\n"),
     "demo.yaml:14: invalid YAML: expected a single document in the stream"),
    (COUNTED_SOURCE.replace("below: 2", "below: yes"),
     "demo.yaml:16: steps.ask.answers[1].next[0].when.below: expected a whole number, but "
     "YAML read this as true"),
    (GOOD.replace("    kind: end\n    outcome: resolved\n    title: Fixed\n", ""),
     "demo.yaml:14: steps.fixed: expected a mapping of keys (key: value lines), found nothing"),
    (GOOD.replace("source: {title: How to Reset Your Connection}",
                  "source: {title: How, url: 'javascript:alert(1)'}"),
     "demo.yaml:5: source.url: 'javascript:alert(1)' is not an http(s) address"),
    (GOOD.replace("    outcome: resolved\n", "    outcome: resolved\n    answers:\n"
                  "      - {id: again, label: Again, next: ask}\n"),
     "demo.yaml:17: steps.fixed.answers: an end step cannot have answers"),
    (GOOD.replace("    title: Does it work?\n",
                  "    title: Does it work?\n    outcome: resolved\n"),
     "demo.yaml:11: steps.ask.outcome: only an end step has an outcome"),
    (GOOD.replace("next: sorry", "next: []"),
     "demo.yaml:13: steps.ask.answers[1].next: needs at least one branch"),
    (GOOD.replace("summary: A small flow.", "summary: &s A small flow.\nkeywords: [*s]"),
     "demo.yaml:5: YAML aliases (*s) are not allowed in flow files"),
])
def test_broken_flow_is_refused_with_file_line_and_key(broken, expected):
    found = problems(broken)
    assert any(p.startswith(expected) for p in found), found


LOOP = GOOD.replace("""      - {id: fails, label: "No", next: sorry}""", """\
      - {id: fails, label: "No", next: again}
  again:
    kind: instruction
    title: Try again
    answers:
      - {id: done, label: Done, next: retry}
  retry:
    kind: instruction
    title: Retry
    answers:
      - {id: done, label: Done, next: again}""")


def test_loop_with_no_exit_is_named():
    found = problems(LOOP)
    assert any("steps.again: loop with no exit: again → retry → again" in p for p in found), found


COUNTED = COUNTED_SOURCE


def test_counted_loop_is_accepted_and_exits():
    flow = parse_flow(COUNTED, "demo.yaml")
    from assistant.flow import graph
    walks = [[a for _, a in p] for p in graph.paths(flow)]
    assert ["fails", "done", "fails", "done", "fails"] in walks  # twice round the loop, then out


def test_counter_that_is_never_counted_is_refused():
    found = problems(COUNTED.replace(", count: rounds", ""))
    assert any("counter 'rounds' is never counted by any answer" in p for p in found), found


def test_fallback_branch_must_come_last():
    broken = COUNTED.replace("          - {to: sorry}\n", "").replace(
        "          - {when: {counter: rounds, below: 2}, to: again}\n",
        "          - {to: sorry}\n          - {when: {counter: rounds, below: 2}, to: again}\n")
    found = problems(broken)
    assert any("only the last branch may have no 'when'" in p for p in found), found
    assert any("the last branch must have no 'when'" in p for p in found), found


def test_all_problems_of_a_file_are_reported_at_once():
    broken = GOOD.replace("next: sorry", "next: gone").replace("next: fixed", "next: lost")
    assert len(problems(broken)) == 2


def test_validate_command(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(cli, ["validate", str(FLOWS)])
    assert ok.exit_code == 0 and ok.output.count("ok ") == len(flow_files([FLOWS]))
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("next: sorry", "next: gone"))
    result = runner.invoke(cli, ["validate", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:13: steps.ask.answers[1].next: step 'gone' does not exist" in result.output


def test_validate_reports_two_files_with_one_flow_id(tmp_path):
    copy = tmp_path / "copy.yaml"
    copy.write_text((FLOWS / "salesforce.yaml").read_text())
    result = CliRunner().invoke(cli, ["validate", str(FLOWS), str(copy)])
    assert result.exit_code == 1
    assert f"{copy}:2: id: flow id 'salesforce' is already used by" in result.output


def test_schema_command_prints_json_schema():
    result = CliRunner().invoke(cli, ["schema"])
    schema = json.loads(result.output)
    assert schema["$schema"].endswith("2020-12/schema")
    assert {"id", "title", "start", "steps"} <= set(schema["required"])


def test_server_refuses_a_broken_flow_and_serves_the_others(make_app, tmp_path, caplog):
    bad = tmp_path / "broken.yaml"
    bad.write_text(GOOD.replace("id: demo", "id: broken").replace("next: sorry", "next: gone"))
    app = make_app(FLOWS_PATH=[str(FLOWS), str(bad)])
    flows = app.extensions["assistant"].flows
    assert "broken" not in flows and "salesforce" in flows
    assert "broken.yaml:13: steps.ask.answers[1].next: step 'gone' does not exist" in caplog.text
    client = app.test_client()
    assert client.get("/flows/broken").status_code == 404
    assert client.get("/flows/salesforce").status_code == 200  # its start page


def test_markdown_is_sanitised():
    flow = parse_flow(GOOD.replace("title: Does it work?\n", "title: Does it work?\n"
                                   "    body: \"<script>alert(1)</script> [x](javascript:alert(1))"
                                   " **bold**\"\n"), "demo.yaml")
    html = str(flow.steps["ask"].body_html)
    assert "<script>" not in html and 'href="javascript' not in html
    assert "<strong>bold</strong>" in html


def test_the_readme_example_flow_is_valid():
    readme = (FLOWS.parent / "README.md").read_text()
    [example] = [block.split("```", 1)[0] for block in readme.split("```yaml\n")[1:]
                 if block.startswith("id: ")]
    flow = parse_flow(example, "README.md")
    from assistant.engine import CompiledFlow
    compiled = CompiledFlow(flow)
    position = compiled.probe_outcome(compiled.start(), "timeout").to  # the manual path
    for answer in ("done", "no", "done", "no"):
        position = compiled.answer(position, answer).to
    assert position.step == "still-failing"
    daily = compiled.probe_outcome(compiled.start(), "salesforce.daily_api_limit_exceeded")
    assert daily.to.step == "still-failing"


def test_the_readme_connections_example_is_valid(tmp_path):
    from assistant.probes.connections import load_connections
    readme = (FLOWS.parent / "README.md").read_text()
    [example] = [block.split("```", 1)[0] for block in readme.split("```yaml\n")[1:]
                 if block.startswith("connections:")]
    (tmp_path / "connections.yaml").write_text(example)
    connections = load_connections(tmp_path / "connections.yaml", environ={})
    assert [c.system for c in connections.values()] == [
        "salesforce", "quickbooks_online", "quickbooks_desktop"]
    assert not connections.demo



def test_an_alias_bomb_is_refused_at_once():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join('*' + p for _ in range(9))}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True))
    found = problems(bomb)
    assert found == ["demo.yaml:2: YAML aliases (*a) are not allowed in flow files: "
                     "write the value out"]


def test_deep_nesting_is_a_problem_not_a_crash():
    found = problems("id: demo\nsummary: " + "[" * 50_000 + "]" * 50_000 + "\n")
    assert found == ["demo.yaml:2: nested more than 32 levels deep: too deep to be a flow"]


def test_unreadable_and_non_utf8_files_are_problems(tmp_path):
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(GOOD.replace("Sorry", "Désolé").encode("latin-1"))
    flows, errors = load_flows([latin, tmp_path / "missing.yaml"])
    assert not flows
    messages = [str(e) for e in errors]
    assert messages[0].startswith(f"{latin}:1: not UTF-8 text")
    assert messages[1] == f"{tmp_path / 'missing.yaml'}:1: cannot read: No such file or directory"


def test_the_server_rules_refuse_a_second_file_with_the_same_flow_id(tmp_path):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(GOOD)
    second.write_text(GOOD.replace("title: Demo", "title: Other"))
    flows, errors = load_flows([tmp_path])
    assert flows["demo"].title == "Demo"
    assert [str(e) for e in errors] == [
        f"{second}:1: id: flow id 'demo' is already used by {first}"]


def test_a_branch_problem_is_named_once_at_its_own_key():
    found = problems(COUNTED.replace("below: 2", "below: 0"))
    assert found == ["demo.yaml:16: steps.ask.answers[1].next[0].when.below: Input should be "
                     "greater than or equal to 1"]


def test_counters_that_multiply_into_too_many_states_are_refused_quickly():
    answers = "".join(f"""
      - id: a{i}
        label: Answer {i}
        count: c{i}
        next:
          - {{when: {{counter: c{i}, below: 100}}, to: hub}}
          - {{to: done}}""" for i in range(4))
    text = f"""\
id: demo
title: Demo
system: demo
summary: Counters.
source: {{title: T}}
start: hub
steps:
  hub:
    kind: question
    title: Again?
    answers:{answers}
  done: {{kind: end, outcome: resolved, title: Done}}
"""
    found = problems(text)
    assert len(found) == 1 and "combine into more than 20,000 states to check" in found[0]


def test_files_beside_a_flow_are_not_loaded_as_flows(tmp_path):
    """NAME.tests.yaml, NAME.es.yaml, NAME.synonyms.yaml … belong to the flow NAME.yaml (a
    translation, NAME.LANG.yaml, is checked beside it: tests/test_flow_translations.py)."""
    (tmp_path / "demo.yaml").write_text(GOOD)
    for other in ("demo.tests.yaml", "demo.notes.yaml", "demo.synonyms.yml"):
        (tmp_path / other).write_text("tests: []\n")
    (tmp_path / "notes.txt").write_text("not YAML at all: [")
    assert flow_files([tmp_path]) == [tmp_path / "demo.yaml"]
    flows, errors = load_flows([tmp_path])
    assert list(flows) == ["demo"] and not errors
    # a shell glob names them all: validate checks the flow and says what it skipped
    result = CliRunner().invoke(cli, ["validate", *map(str, sorted(tmp_path.glob("*.y*ml")))])
    assert result.exit_code == 0, result.output
    assert result.output.count("ok ") == 1
    assert f"skip {tmp_path / 'demo.tests.yaml'}: not a flow file" in result.output
