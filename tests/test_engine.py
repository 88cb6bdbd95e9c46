"""The engine on the shipped flows: every path, the repeat loop, refusals, sharing."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from assistant.engine import InvalidAnswer, Position, compile_flows
from assistant.flow import graph, load_flows
from conftest import FLOWS

FLOWS_BY_ID, _ = load_flows([FLOWS])
COMPILED = compile_flows(FLOWS_BY_ID)


@pytest.mark.parametrize("flow_id", sorted(FLOWS_BY_ID))
def test_every_path_reaches_an_end_and_covers_every_step(flow_id):
    compiled = COMPILED[flow_id]
    flow = compiled.flow
    visited, ends = set(), set()
    walks = list(graph.paths(flow))
    assert walks
    for walk in walks:
        position = compiled.start()
        for step_id, answer_id in walk:
            assert position.step == step_id
            visited.add(step_id)
            position = compiled.answer(position, answer_id).to
        assert flow.steps[position.step].is_end
        ends.add(position.step)
        visited.add(position.step)
    assert visited == set(flow.steps), "some step is on no path"
    assert ends == {s.id for s in flow.steps.values() if s.is_end}, "some end is unreachable"


def walk(flow_id, answers):
    compiled = COMPILED[flow_id]
    position = compiled.start()
    trail = [position.step]
    for answer in answers:
        if compiled.flow.steps[position.step].is_probe:  # the answer is the check's outcome
            position = compiled.probe_outcome(position, answer).to
        else:
            position = compiled.answer(position, answer).to
        trail.append(position.step)
    return trail, position


def test_quickbooks_desktop_repeats_steps_1_to_3_once_then_goes_to_step_5():
    first_round = ["unavailable", "disconnected", "two-green-check-marks", "clicked-connect",
                   "still-disconnected"]
    trail, position = walk("quickbooks-desktop", first_round + [
        "signed-out", "repeat-steps-1-3", "two-green-check-marks", "clicked-connect",
        "still-disconnected"])
    assert trail[5:8] == ["step-3-close-and-sign-out", "step-4-log-back-in",
                          "step-1-check-marks"]
    assert position == Position("step-5-remove-user-token", {"repeats": 1})
    trail, position = walk("quickbooks-desktop", first_round[:-1] + ["connected"])
    assert position.step == "connected-resolved"


def test_quickbooks_desktop_follows_the_article_in_order():
    trail, position = walk("quickbooks-desktop", [
        "timeout", "disconnected", "two-green-check-marks", "clicked-connect", "still-disconnected",
        "signed-out", "repeat-steps-1-3", "two-green-check-marks", "clicked-connect",
        "still-disconnected", "removed", "see-red-x", "saved-key", "clicked-connect",
        "still-disconnected"])
    numbered = [s for s in trail if s.startswith("step-")]
    order = [int(s.split("-")[1]) for s in numbered]
    assert order == [1, 2, 3, 3, 4, 1, 2, 3, 5, 6, 7, 8]
    assert COMPILED["quickbooks-desktop"].flow.steps[position.step].outcome == "unresolved"


@pytest.mark.parametrize("position, answer", [
    (Position("agent-status"), "two-green-check-marks"),  # offered by another step
    (Position("agent-status"), "to_connected-resolved"),
    (Position("connected-resolved"), "connected"),        # an end offers nothing
    (Position("no-such-step"), "connected"),
])
def test_an_answer_not_offered_is_refused(position, answer):
    with pytest.raises(InvalidAnswer):
        COMPILED["quickbooks-desktop"].answer(position, answer)
    assert position.counters == {}


@pytest.mark.parametrize("flow_id, outcome, expected", [
    ("salesforce", "salesforce.daily_api_limit_exceeded", "daily-limit"),
    ("salesforce", "connected", "already-working"),
    ("salesforce", "timeout", "disconnect"),        # not listed: the manual path
    ("salesforce", "unavailable", "disconnect"),
    ("quickbooks-online", "quickbooks_online.service_unavailable", "service-unavailable"),
    ("quickbooks-online", "unknown", "disconnect"),
    ("quickbooks-desktop", "quickbooks_desktop.modal_dialog_open", "fix-close-dialog"),
    ("quickbooks-desktop", "quickbooks_desktop.agent_offline", "step-1-check-marks"),
    ("quickbooks-desktop", "unknown", "agent-status"),
])
def test_a_probe_outcome_picks_the_fix_or_falls_back_to_the_manual_path(flow_id, outcome,
                                                                      expected):
    compiled = COMPILED[flow_id]
    move = compiled.probe_outcome(compiled.start(), outcome)
    assert (move.from_step, move.answer, move.to.step) == ("detect", outcome, expected)


def test_probe_outcomes_only_at_probe_steps():
    with pytest.raises(InvalidAnswer):
        COMPILED["quickbooks-desktop"].probe_outcome(Position("agent-status"), "connected")


def test_every_cause_of_each_system_has_its_own_step_after_detection():
    from assistant.probes.diagnosis import causes_for
    for compiled in COMPILED.values():
        detect = compiled.flow.steps["detect"]
        fallback = detect.answer("otherwise").destination({})
        for cause in causes_for(compiled.flow.system):
            assert compiled.probe_outcome(compiled.start(), cause).to.step != fallback, cause


def test_answering_does_not_change_the_given_position():
    position = Position("step-4-log-back-in", {})
    move = COMPILED["quickbooks-desktop"].answer(position, "repeat-steps-1-3")
    assert position == Position("step-4-log-back-in", {})
    assert move.to == Position("step-1-check-marks", {"repeats": 1})


def test_machines_have_no_automatic_transitions_and_no_models():
    for compiled in COMPILED.values():
        assert not [e for e in compiled.machine.events if e.startswith("to_")]
        assert compiled.machine.models == []


def test_a_shared_machine_serves_many_threads():
    path = ["unknown", "disconnected", "two-green-check-marks", "clicked-connect",
            "still-disconnected", "signed-out", "repeat-steps-1-3", "two-green-check-marks",
            "clicked-connect", "still-disconnected", "removed", "see-red-x", "saved-key",
            "clicked-connect", "connected"]

    def run(_):
        return walk("quickbooks-desktop", path)[1].step

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(run, range(400)))
    assert results == ["connected-resolved"] * 400


def test_engine_and_flow_loading_do_not_import_flask():
    code = "import sys, assistant.engine, assistant.flow; print('flask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
