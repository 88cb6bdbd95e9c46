"""The application layer (assistant.conversation) on its own, without Flask: a real migrated
database, the shipped flows, the probe runner with no connection (checks are "unavailable")."""

from __future__ import annotations

import subprocess
import sys

import pytest

from assistant.conversation import Conversations, Handoffs, errors
from assistant.engine import compile_flows
from assistant.flow import load_flows
from assistant.flow_library import FlowLibrary
from assistant.probes.connections import load_connections
from assistant.probes.runner import ProbeRunner
from assistant.probes.tokens import TokenStore
from assistant.store import ProbeChecks, Store, make_engine
from assistant.store.flow_versions import FlowVersions
from assistant.store.staff import StaffAccounts
from assistant.store.webhooks import WebhookDeliveries
from assistant.webhooks import WebhookSender
from conftest import FLOWS


def test_the_application_layer_imports_no_flask():
    code = ("import sys, assistant.conversation; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'flask_wtf', "
            "'flask_login', 'werkzeug') or m.startswith('assistant.web')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.fixture
def conv(db_url, no_connections, tmp_path):
    engine = make_engine(db_url)
    flows, problems = load_flows([str(FLOWS)])
    assert not problems
    compiled = compile_flows(flows)
    versions = FlowVersions(engine)
    versions.record(flows.values())
    library = FlowLibrary(compiled, versions)
    store = Store(engine)
    runner = ProbeRunner(ProbeChecks(engine), load_connections(no_connections),
                         TokenStore(str(tmp_path / "tokens")), ttl=60, workers=1)
    staff = StaffAccounts(engine)
    sender = WebhookSender(WebhookDeliveries(engine), url=None, secret=None, max_attempts=1,
                           backoff=1, timeout=1)
    yield Conversations(flows=flows, compiled=compiled, library=library, store=store,
                        probes=runner, connections=runner.connections, staff=staff,
                        handoffs=Handoffs(store, library, runner, staff, sender,
                                          lambda hid: f"/console/handoffs/{hid}"),
                        launch_secret=("x" * 40,), comment_max=20, message_max=50)
    runner.shutdown()


def past_check(conv, sid):
    view = conv.view(sid)
    assert view.step.is_probe and view.ready
    polled = conv.poll(sid, view.n, view.session.revision, view.checking.id)
    assert polled.applied
    return polled.session


def test_viewing_changes_nothing_and_a_poll_applies_a_check_once(conv):
    row = conv.start("salesforce").session
    for _ in range(3):
        view = conv.view(row.id)
        assert view.step.id == "detect" and view.ready and view.session.revision == 0
    assert conv.store.transcript(row.id) == []
    after = past_check(conv, row.id)
    assert after.step == "disconnect" and after.revision == 1
    with pytest.raises(errors.Stale):
        conv.poll(row.id, 0, 0)
    with pytest.raises(errors.Stale):  # the next step is not a probe step
        conv.poll(row.id, 1, 0)
    with pytest.raises(errors.NotAProbeStep):
        conv.poll(row.id, 1, 1)
    assert len(conv.store.transcript(row.id)) == 1
    view = conv.view(row.id)
    assert view.finding.outcome == "unavailable" and view.transcript[0]["answer_label"] \
        .startswith("Checked automatically")


def test_answers_follow_the_revision_rules(conv):
    sid = conv.start("salesforce").session.id
    past_check(conv, sid)
    with pytest.raises(errors.Incomplete):
        conv.answer(sid, 1, "disconnected", None)
    with pytest.raises(errors.Stale):
        conv.answer(sid, 1, "disconnected", 0)
    with pytest.raises(errors.Stale):
        conv.answer(sid, 5, "disconnected", 1)
    with pytest.raises(errors.NotAChoice):
        conv.answer(sid, 1, "nope", 1)
    with pytest.raises(errors.CheckedAutomatically):
        conv.answer(sid, 0, "connected", 1)
    view = conv.answer(sid, 1, "disconnected", 1)
    assert (view.session.step, view.session.revision, view.n) == ("connect", 2, 2)
    # The step it leads to, as a view would show it: the answers so far under it.
    assert view.step.id == "connect" and view.current
    assert [line["answer"] for line in view.transcript] == [
        line["answer"] for line in conv.view(sid).transcript] and len(view.transcript) == 2
    view = conv.answer(sid, 1, "disconnected", 2)  # the same answer again: no change
    assert (view.session.revision, view.n) == (2, 2)
    with pytest.raises(errors.SessionNotFound):
        conv.answer("no-such-session", 0, "x", 0)


def test_feedback_and_handoff_close_a_session(conv):
    flows = conv.flows
    sid = conv.start("salesforce").session.id
    past_check(conv, sid)
    conv.answer(sid, 1, "disconnected", 1)
    conv.answer(sid, 2, flows["salesforce"].steps["connect"].answers[0].id, 2)
    while not conv.view(sid).step.is_end:  # the verify check, then the first answers
        view = conv.view(sid)
        if view.step.is_probe:
            past_check(conv, sid)
        else:
            conv.answer(sid, view.n, view.step.answers[0].id, view.session.revision)
    row = conv.store.get_session(sid)
    with pytest.raises(errors.NotAtEnd):
        conv.give_feedback(sid, "disconnect", "yes", "", row.revision)
    with pytest.raises(errors.Invalid) as invalid:
        conv.give_feedback(sid, row.step, "maybe", "x" * 21, row.revision)
    assert set(invalid.value.errors) == {"reaction", "comment"}
    assert not conv.closed(row)
    conv.give_feedback(sid, row.step, "partly", "meh", row.revision)
    assert conv.closed(row)
    with pytest.raises(errors.Closed):
        conv.answer(sid, row.position, "anything", row.revision)
    handoff = conv.store.handoff_at(row)
    assert handoff.reason == "negative_feedback"  # "Partly" hands it off
    with pytest.raises(errors.Stale):
        conv.hand_off(sid, row.revision - 1, "a@example.com", "hi")
    with pytest.raises(errors.Invalid) as bad:
        conv.hand_off(sid, row.revision, "not an address", "y" * 51)
    assert set(bad.value.errors) == {"contact", "message"}
    same = conv.hand_off(sid, row.revision, "a@example.com", "please call")
    assert same.id == handoff.id and same.contact == "a@example.com"


def test_launch_tokens_and_free_text(conv):
    from assistant.launch import sign
    token = sign(conv.launch_secret, connection="acme", customer="c-1", flow="salesforce")
    launch = conv.verify_launch(token, conv.flows["salesforce"])
    first = conv.start("salesforce", launch=launch)
    assert not first.resumed and first.session.customer_ref == "c-1"
    assert conv.start("salesforce", launch=launch).resumed
    with pytest.raises(errors.LaunchRefused):
        conv.verify_launch(token, conv.flows["quickbooks-online"])
    with pytest.raises(errors.LaunchRefused):
        conv.verify_launch(token + "x", None)
    route, started = conv.start_from_text("REQUEST_LIMIT_EXCEEDED: TotalRequests Limit "
                                          "exceeded.")
    assert route.flow == "salesforce" and started.session.step == route.step
    route, started = conv.start_from_text("asdfgh")
    assert route.flow is None and started is None
    sid = conv.start("salesforce").session.id
    past_check(conv, sid)
    match = conv.match_answer(sid, "done, I clicked disconnect")
    assert match.answer == "disconnected" or "disconnected" in match.candidates
