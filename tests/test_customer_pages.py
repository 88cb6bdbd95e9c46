"""Customer pages: a way on from every page of every flow, finished sessions closed, times in
words, reaction icons that need no emoji font."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from assistant.web.presenting import ago, with_times
from conftest import FLOWS, Walker, answer_form, forms, heading, past_checks, poll_form


def _reachable(flow) -> list[str]:
    seen, todo = [flow.start], [flow.start]
    while todo:
        for answer in flow.steps[todo.pop()].answers:
            for branch in answer.branches:
                if branch.to not in seen:
                    seen.append(branch.to)
                    todo.append(branch.to)
    return seen


@pytest.mark.parametrize("flow_id", [p.stem for p in sorted(FLOWS.glob("*.yaml"))
                                     if "." not in p.stem])
def test_every_reachable_page_of_every_flow_offers_a_way_on(app, client, store, flow_id):
    flow = app.extensions["assistant"].flows[flow_id]
    steps = _reachable(flow)
    assert len(steps) == len(flow.steps)  # the walk sees every step
    for step_id in steps:
        step = flow.steps[step_id]
        row = store.create_session(flow_id, flow.version, step_id)
        page = client.get(f"/s/{row.id}/0", follow_redirects=True)
        assert page.status_code == 200, step_id
        if step.is_probe:  # no connection here: the check is done at once; Continue goes on
            assert poll_form(page.get_data(as_text=True))["done"], step_id
            page = past_checks(client, page)
            assert page.status_code == 200, step_id
        html = page.get_data(as_text=True)
        if step.is_probe:
            assert heading(html) != step.title, step_id
        elif not step.is_end:
            buttons = answer_form(html)["buttons"]
            assert buttons and {v for _, v in buttons} == {a.id for a in step.answers}, step_id
        else:
            assert any(f["action"].endswith("/feedback") for f in forms(html)), step_id
            if step.outcome != "resolved":
                assert f'href="/s/{row.id}/support"' in html, step_id


def test_set_up_the_agent_first_links_to_the_agent_setup_guide(make_app, store):
    app = make_app(AGENT_SETUP_GUIDE_URL="https://help.example.com/agent-setup")
    client = app.test_client()
    flow = app.extensions["assistant"].flows["quickbooks-desktop"]
    row = app.extensions["assistant"].store.create_session(flow.id, flow.version,
                                                           "agent-setup-guide")
    html = client.get(f"/s/{row.id}/0").get_data(as_text=True)
    assert 'href="/help/agent-setup-guide"' in html
    guide = client.get("/help/agent-setup-guide")
    assert guide.status_code == 302
    assert guide.headers["Location"] == "https://help.example.com/agent-setup"


def test_waiting_for_quickbooks_online_offers_check_again(app, client, store):
    flow = app.extensions["assistant"].flows["quickbooks-online"]
    row = store.create_session(flow.id, flow.version, "outage-wait", connection_id="acme-qbo",
                               customer_ref="cust-42")
    html = client.get(f"/s/{row.id}/0").get_data(as_text=True)
    assert heading(html) == "Waiting for QuickBooks Online"
    form = next(f for f in forms(html) if f["action"] == f"/s/{row.id}/again")
    assert ">Check again</button>" in html
    again = client.post(form["action"], data=form["fields"])
    assert again.status_code == 303
    new_sid = again.headers["Location"].split("/")[2]
    fresh = store.get_session(new_sid)
    # The new run keeps the connection and customer the first one was bound to.
    assert new_sid != row.id and fresh.flow_id == "quickbooks-online"
    assert (fresh.connection_id, fresh.customer_ref, fresh.position) == ("acme-qbo", "cust-42", 0)
    assert store.get_session(row.id).step == "outage-wait"  # the old session is untouched
    resolved = store.create_session(flow.id, flow.version, "connected-resolved",
                                    connection_id="acme-qbo")
    ended_well = client.get(f"/s/{resolved.id}/0").get_data(as_text=True)
    assert ">Check again</button>" not in ended_well  # (its "Start again" is a new run too)
    # Another session's form token is refused before anything is looked up.
    assert client.post("/s/nosuchsession000000000/again", data=form["fields"]).status_code == 400


def _to_the_end(client) -> Walker:
    w = Walker(client, "salesforce")  # no connection: the manual path
    w.answer("disconnected")
    w.answer("connected")
    w.answer("connected")
    return w


def _feedback(client, w: Walker, reaction: str):
    form = next(f for f in forms(w.html) if f["action"].endswith("/feedback"))
    response = client.post(form["action"], data={**form["fields"], "reaction": reaction})
    assert response.status_code == 303
    w.go(response.headers["Location"])


def test_a_session_with_feedback_is_closed(client, store):
    w = _to_the_end(client)
    assert 'class="change-link"' in w.html  # still open: answers can be changed
    first = client.get(f"/s/{w.sid}/1").get_data(as_text=True)
    stale_form = answer_form(first)
    _feedback(client, w, "yes")
    before = store.get_session(w.sid)
    assert 'class="change-link"' not in w.html
    # An earlier step, posted from a page opened before (or with the current revision): 409.
    for revision in (stale_form["fields"]["revision"], str(before.revision)):
        response = client.post(f"/s/{w.sid}/1", data={**stale_form["fields"],
                                                       "revision": revision,
                                                       "answer": "disconnected"})
        assert response.status_code == 409
        assert "This guide has ended; start again" in response.get_data(as_text=True)
    after = store.get_session(w.sid)
    assert (after.step, after.outcome, after.revision, after.position) == (
        before.step, before.outcome, before.revision, before.position)
    assert store.feedback_for(after).reaction == "yes"
    earlier = client.get(f"/s/{w.sid}/1").get_data(as_text=True)
    assert "This guide has ended" in earlier and not [
        f for f in forms(earlier) if any(n == "answer" for n, _ in f["buttons"])]


def test_a_session_the_customer_sent_to_support_is_closed(client, store):
    w = Walker(client, "salesforce")
    w.answer("disconnected")
    w.answer("connected")
    w.answer("not-connected")  # still failing: an unresolved end, handed off automatically
    form = answer_form(client.get(f"/s/{w.sid}/1").get_data(as_text=True))
    assert 'class="change-link"' in w.html  # an automatic handoff alone does not close it
    page = client.get(f"/s/{w.sid}/support").get_data(as_text=True)
    support = next(f for f in forms(page) if f["action"].endswith("/support"))
    sent = client.post(support["action"], data={**support["fields"], "message": "Still broken"})
    assert sent.status_code == 303
    handoffs_before = store.handoff_at(store.get_session(w.sid))
    response = client.post(f"/s/{w.sid}/1", data={
        **form["fields"], "revision": str(store.get_session(w.sid).revision),
        "answer": "disconnected"})
    assert response.status_code == 409
    row = store.get_session(w.sid)
    assert row.outcome == "unresolved"
    assert store.handoff_at(row).message == handoffs_before.message == "Still broken"


def test_times_read_as_words_with_the_full_time_as_tooltip():
    now = datetime(2026, 12, 4, 13, 38, 12, tzinfo=UTC)
    two = ago("2026-12-04T13:36:12Z", now=now)
    assert ">2 minutes ago</time>" in two and 'title="Friday 4 December 2026, 13:36:12 UTC"' in two
    assert ">in 1 hour</time>" in ago(now + timedelta(hours=1, seconds=5), now=now)
    assert ago(42) == "42 seconds" and ago(3600) == "1 hour"
    text = with_times("last seen 2026-12-04T13:36:12+00:00 <b>")
    assert "2026-12-04T13:36:12+00:00 " not in re.sub(r"<[^>]+>", "", text)
    assert "&lt;b&gt;" in text and "<time " in text


def test_reactions_are_inline_svg_not_emoji(client):
    w = _to_the_end(client)
    feedback = re.search(r'<fieldset class="field.*?</fieldset>', w.html, re.S).group(0)
    assert feedback.count("<svg") == 3
    assert not re.search("[\U0001F300-\U0001FAFF]", feedback)


def test_an_escalated_end_says_support_has_it_and_never_sends_the_customer_there():
    # An escalated end hands the session to support by itself ("Passed to support"): its text
    # once told the customer to "contact support with this page" as well.
    from assistant.flow import load_flows
    from assistant.flow.translate import load_translations, localize
    flows, _ = load_flows([FLOWS])
    translations, _ = load_translations(flows)
    escalated = 0
    for flow in flows.values():
        for shown in (flow, localize(flow, translations.get((flow.id, "es")))):
            for step in shown.steps.values():
                if step.outcome == "escalated":
                    escalated += 1
                    body = step.body_html.striptags().lower()
                    assert "contact support" not in body and "contacta a soporte" not in body
                    assert "support team" in body or "equipo de soporte" in body, step.id
    assert escalated >= 6  # three flows, English and Spanish
