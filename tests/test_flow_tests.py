"""Flow tests (NAME.tests.yaml): the shipped flows are fully covered, a failing case or a broken
tests file is named with file, line and key, and `assistant test` exits 1 on any of them."""

from __future__ import annotations

import textwrap

import pytest
from click.testing import CliRunner
from test_flow_loading import COUNTED_SOURCE, GOOD, PROBE

from assistant.cli import main as cli
from assistant.flow import flow_files, load_flow, parse_flow
from assistant.flow.testcases import pairs, run_flow_tests, transitions
from conftest import FLOWS

CASES = """\
tests:
  - name: It works
    steps:
      - {answer: works, then: fixed, ends: resolved}
  - name: It fails twice, then gives up
    steps:
      - {answer: fails, then: again}
      - {answer: done, then: ask}
      - {answer: fails, then: again}
      - {answer: done, then: ask}
      - {answer: fails, then: sorry, ends: unresolved}
"""


def _write(folder, flow: str, cases: str | None = None, name: str = "demo"):
    (folder / f"{name}.yaml").write_text(flow)
    if cases is not None:
        (folder / f"{name}.tests.yaml").write_text(textwrap.dedent(cases))
    return folder / f"{name}.yaml"


def _run(folder, cases: str, flow: str = COUNTED_SOURCE):
    return run_flow_tests(_write(folder, flow, cases), folder / "demo.tests.yaml")


@pytest.mark.parametrize("flow_file", flow_files([FLOWS]), ids=lambda p: p.stem)
def test_every_shipped_flow_has_tests_covering_every_transition(flow_file):
    report = run_flow_tests(flow_file, flow_file.with_name(f"{flow_file.stem}.tests.yaml"))
    assert report.ok, "\n".join(map(str, report.problems))
    assert report.missing == [] and report.coverage == 1.0
    assert report.passed == report.cases >= 10


def test_transitions_are_each_branch_each_probe_outcome_and_otherwise():
    counted = [str(t) for t in transitions(parse_flow(COUNTED_SOURCE))]
    assert counted == ["ask --works--> fixed",
                       "ask --fails--> again (while rounds below 2)",
                       "ask --fails--> sorry (otherwise)",
                       "again --done--> ask"]
    probe = [str(t) for t in transitions(parse_flow(PROBE))]
    assert probe[:3] == ["check --connected--> fixed",
                         "check --salesforce.daily_api_limit_exceeded--> sorry",
                         "check --otherwise--> manual"]


def test_cases_walk_the_counters_and_cover_what_they_take(tmp_path):
    report = _run(tmp_path, CASES)
    assert report.ok and (report.passed, report.cases) == (2, 2)
    assert report.coverage == 1.0
    # without the loop case, its branches are reported as not covered
    report = _run(tmp_path, CASES.split("  - name: It fails")[0])
    assert report.ok and [str(t) for t in report.missing] == [
        "ask --fails--> again (while rounds below 2)", "ask --fails--> sorry (otherwise)",
        "again --done--> ask"]


def test_a_start_position_with_counters(tmp_path):
    report = _run(tmp_path, """\
        tests:
          - name: The last round
            start: ask
            counters: {rounds: 2}
            steps:
              - {answer: fails, ends: unresolved}
        """)
    assert report.ok and report.covered == {transitions(report.flow)[2]}


@pytest.mark.parametrize("item, expected", [
    ("{answer: works, then: sorry}",
     "demo.tests.yaml:4: tests[0].steps[0].then: expected step 'sorry', but 'works' at 'ask' "
     "led to 'fixed'"),
    ("{answer: works, ends: unresolved}",
     "demo.tests.yaml:4: tests[0].steps[0].ends: expected an end with outcome 'unresolved', "
     "but 'works' at 'ask' led to the end 'fixed' (resolved)"),
    ("{answer: fails, ends: unresolved}",
     "demo.tests.yaml:4: tests[0].steps[0].ends: expected an end with outcome 'unresolved', "
     "but 'fails' at 'ask' led to step 'again', which is not an end"),
    ("{answer: done, then: ask}",
     "demo.tests.yaml:4: tests[0].steps[0].answer: step 'ask' offers no answer 'done' "
     "(it offers works, fails)"),
    ("{probe: connected, then: fixed}",
     "demo.tests.yaml:4: tests[0].steps[0].probe: step 'ask' is not a probe step: give the "
     "customer's 'answer'"),
])
def test_a_failing_case_is_named_by_file_line_and_key(tmp_path, item, expected):
    report = _run(tmp_path, f"tests:\n  - name: One move\n    steps:\n      - {item}\n")
    assert not report.ok
    assert [str(p).replace(str(tmp_path) + "/", "") for p in report.problems] == [expected]


def test_a_case_stops_at_its_first_failure_and_the_others_still_run(tmp_path):
    report = _run(tmp_path, CASES.replace("then: again}\n      - {answer: done, then: ask}",
                                          "then: sorry}\n      - {answer: done, then: ask}", 1))
    assert (report.passed, report.cases, len(report.problems)) == (1, 2, 1)
    assert ":7: tests[1].steps[0].then: expected step 'sorry'" in str(report.problems[0])


def test_probe_outcomes_at_a_probe_step(tmp_path):
    cases = """\
        tests:
          - name: Found the limit
            steps:
              - {probe: salesforce.daily_api_limit_exceeded, ends: unresolved}
          - name: Nothing to check, so the manual path
            steps:
              - {probe: unavailable, then: manual}
              - {probe: connected, then: fixed}
        """
    report = run_flow_tests(_write(tmp_path, PROBE, cases), tmp_path / "demo.tests.yaml")
    assert (report.passed, report.cases) == (1, 2)
    assert [str(p).split(": ", 1)[1] for p in report.problems] == [
        "tests[1].steps[1].probe: step 'manual' is not a probe step: give the customer's "
        "'answer'"]
    assert {str(t) for t in report.covered} == {"check --salesforce.daily_api_limit_exceeded--> "
                                                "sorry", "check --otherwise--> manual"}


@pytest.mark.parametrize("cases, expected", [
    ("tests:\n  - name: x\n    steps:\n      - {answer: works, then: nowhere}\n",
     ["demo.tests.yaml:4: tests[0].steps[0].then: step 'nowhere' does not exist"]),
    ("tests:\n  - name: x\n    start: gone\n    steps:\n      - {answer: works, then: fixed}\n",
     ["demo.tests.yaml:3: tests[0].start: step 'gone' does not exist"]),
    ("tests:\n  - name: x\n    counters: {laps: 1}\n    steps:\n      - {answer: works, "
     "then: fixed}\n", ["demo.tests.yaml:3: tests[0].counters.laps: the flow counts no counter "
                        "'laps'"]),
    ("tests:\n  - name: x\n    steps:\n      - {then: fixed}\n",
     ["demo.tests.yaml:4: tests[0].steps[0]: give either 'answer' (an answer id) or 'probe' "
      "(what the live check found)"]),
    ("tests:\n  - name: x\n    steps:\n      - {answer: works}\n",
     ["demo.tests.yaml:4: tests[0].steps[0]: say what must follow: 'then' (a step id) or "
      "'ends' (resolved, unresolved, escalated)"]),
    ("tests:\n  - name: x\n    steps:\n      - {probe: quickbooks_online.throttled, "
     "then: fixed}\n", ["demo.tests.yaml:4: tests[0].steps[0].probe: "
                        "'quickbooks_online.throttled' is not an outcome of a salesforce check"]),
    ("tests:\n  - name: x\n    steps: [{answer: works, then: fixed}]\n  - name: x\n"
     "    steps: [{answer: works, then: fixed}]\n",
     ["demo.tests.yaml:4: tests[1].name: another test is named 'x'"]),
    ("tests:\n  - name: x\n    steps:\n      - {answer: works, then: fixed, colour: red}\n",
     ["demo.tests.yaml:4: tests[0].steps[0].colour: unknown key 'colour'"]),
    ("tests:\n  - name: x\n    steps:\n      - {answer: works, ends: great}\n",
     ["demo.tests.yaml:4: tests[0].steps[0].ends: Input should be 'resolved', 'unresolved' or "
      "'escalated'"]),
    ("tests:\n  - name: x\n    steps: []\n",
     ["demo.tests.yaml:3: tests[0].steps: List should have at least 1 item"]),
    ("tests:\n  - name: x\n    steps:\n      - {answer: no, then: fixed}\n",
     ["demo.tests.yaml:4: tests[0].steps[0].answer: expected text, but YAML read this as false "
      "(yes/no/on/off are booleans in YAML): put it in quotes"]),
    ("tests:\n  - name: [unclosed\n", ["demo.tests.yaml:2: invalid YAML: while parsing a flow"]),
    ("- name: x\n", ["demo.tests.yaml:1: a tests file must be a YAML mapping"]),
    ("tests:\n  - name: x\n    name: y\n    steps: [{answer: works, then: fixed}]\n",
     ["demo.tests.yaml:3: tests[0].name: duplicate key 'name'"]),
])
def test_a_broken_tests_file_is_refused_with_file_line_and_key(tmp_path, cases, expected):
    report = run_flow_tests(_write(tmp_path, GOOD, cases), tmp_path / "demo.tests.yaml")
    found = [str(p).replace(str(tmp_path) + "/", "") for p in report.problems]
    assert len(found) == len(expected)
    for got, want in zip(found, expected, strict=True):
        assert got.startswith(want), got


def test_the_folder_pairs_flows_with_their_tests_and_finds_lone_tests_files(tmp_path):
    _write(tmp_path, GOOD, CASES)
    _write(tmp_path, GOOD.replace("id: demo", "id: other"), name="other")
    (tmp_path / "lost.tests.yaml").write_text(CASES)
    (tmp_path / "demo.es.yaml").write_text("steps: {}\n")
    assert pairs([tmp_path]) == [(tmp_path / "demo.yaml", tmp_path / "demo.tests.yaml"),
                                 (tmp_path / "lost.yaml", tmp_path / "lost.tests.yaml"),
                                 (tmp_path / "other.yaml", None)]
    assert pairs([tmp_path / "demo.tests.yaml"]) == pairs([tmp_path / "demo.yaml"])[:1]
    lost = run_flow_tests(tmp_path / "lost.yaml", tmp_path / "lost.tests.yaml")
    assert [str(p) for p in lost.problems] == [
        f"{tmp_path / 'lost.tests.yaml'}:1: no flow lost.yaml beside this tests file"]


def test_the_test_command_prints_coverage_and_fails_on_a_failure(tmp_path):
    runner = CliRunner()
    shipped = runner.invoke(cli, ["test"])
    assert shipped.exit_code == 0, shipped.output
    for flow_file in flow_files([FLOWS]):
        flow = load_flow(flow_file)
        n = len(transitions(flow))
        assert f"ok   {flow.id}: " in shipped.output
        assert f"{n} of {n} transitions covered (100 %)" in shipped.output

    _write(tmp_path, COUNTED_SOURCE, CASES.split("  - name: It fails")[0])
    partial = runner.invoke(cli, ["test", str(tmp_path)])
    assert partial.exit_code == 0
    assert "ok   demo: 1 of 1 tests passed; 1 of 4 transitions covered (25 %)" in partial.output
    assert "not covered: again --done--> ask" in partial.output
    short = runner.invoke(cli, ["test", "--min-coverage", "100", str(tmp_path)])
    assert short.exit_code == 1 and "FAIL demo:" in short.output
    assert "coverage 25 % is below --min-coverage 100 %" in short.output

    (tmp_path / "demo.tests.yaml").write_text(CASES.replace("then: fixed", "then: sorry"))
    failing = runner.invoke(cli, ["test", str(tmp_path / "demo.tests.yaml")])
    assert failing.exit_code == 1
    assert "FAIL demo: 1 of 2 tests passed" in failing.output
    assert f"{tmp_path / 'demo.tests.yaml'}:4: tests[0].steps[0].then: expected step " \
           "'sorry'" in failing.output

    (tmp_path / "demo.yaml").write_text(GOOD.replace("next: sorry", "next: gone"))
    broken_flow = runner.invoke(cli, ["test", str(tmp_path)])
    assert broken_flow.exit_code == 1 and "FAIL demo.yaml: not run" in broken_flow.output
    assert "step 'gone' does not exist" in broken_flow.output


def test_the_loader_still_refuses_what_a_tests_file_would_need_as_a_flow():
    # a tests file is no flow: naming it alone gives the server nothing to load
    assert flow_files([FLOWS / "salesforce.tests.yaml"]) == []
    assert load_flow(FLOWS / "salesforce.yaml").id == "salesforce"
