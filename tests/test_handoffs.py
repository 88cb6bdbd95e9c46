"""Handoffs: where they come from (an unresolved end, negative feedback, an agent, the contact
form), what they carry (and never: secrets), and the console queue with its actions and races."""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import timedelta

import pytest
from receiver import SECRET, Receiver, wait_for
from simserver import SECRETS, Simulator
from sqlalchemy import MetaData, select, update

from assistant.store.models import FlowSession, utcnow
from conftest import (
    CUSTOMER,
    STAFF_PASSWORD,
    Walker,
    answer_form,
    csrf_token,
    forms,
    heading,
    login,
)

UNRESOLVED = ("quickbooks-online", ["disconnected", "connected", "not-connected"])
RESOLVED = ("salesforce", ["disconnected", "connected", "connected"])


def finish(client, flow_id, answers):
    w = Walker(client, flow_id)
    for a in answers:
        w.answer(a)
    return w


def feedback_form(html):
    return next(f for f in forms(html) if f["action"].endswith("/feedback"))


def support_form(client, sid):
    page = client.get(f"/s/{sid}/support").get_data(as_text=True)
    return page, next(f for f in forms(page) if f["action"].endswith("/support"))


@pytest.fixture
def console(app, agent):
    """A test client logged in as the agent."""
    c = app.test_client()
    login(c, agent)
    return c


@pytest.fixture
def second(app, staff_accounts):
    """Another agent's logged-in client."""
    staff_accounts.add("second@example.com", STAFF_PASSWORD, "agent")
    c = app.test_client()
    login(c, ("second@example.com", STAFF_PASSWORD))
    return c


def page(client, handoff_id):
    response = client.get(f"/console/handoffs/{handoff_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def action_form(html, action):
    return next(f for f in forms(html) if f["action"].endswith("/status")
                and f["fields"].get("action") == action)


def act(client, html, action):
    form = action_form(html, action)
    return client.post(form["action"], data=form["fields"])


def text(html):
    """The visible text of a page, whitespace collapsed (for phrases split over lines)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#39;", "'").split())


# --- where handoffs come from ---------------------------------------------------------------

def test_an_unresolved_end_is_handed_off_with_its_path_and_time_spent(client, store, console):
    flow_id, answers = UNRESOLVED
    w = finish(client, flow_id, answers[:-1])
    # The customer reads the last question for two minutes before answering it.
    with store.engine.begin() as conn:
        conn.execute(update(FlowSession).where(FlowSession.id == w.sid).values(
            updated_at=utcnow() - timedelta(seconds=125)))
    w.answer(answers[-1])
    [handoff] = store.handoffs_for(w.sid)
    assert (handoff.reason, handoff.status, handoff.contact, handoff.message) == (
        "unresolved_end", "open", None, None)
    assert [line["answer"] for line in handoff.transcript] == [
        "unavailable", "disconnected", "connected", "unavailable", "not-connected"]
    assert 125_000 <= handoff.transcript[-1]["spent_ms"] < 135_000

    queue = console.get("/console/handoffs").get_data(as_text=True)
    assert "H-00001" in queue and "Unresolved end" in queue
    assert "QuickBooks Online still doesn't connect" in text(queue)
    html = page(console, handoff.id)
    assert "2 min 5 s" in html or "2 min 6 s" in html  # the time spent, readable
    assert "Is QuickBooks Online connected now?" in html and "No, it still doesn" in html
    assert f'href="/console/sessions/{w.sid}"' in html  # the session view
    assert "Checked automatically: Could not be checked" in html


def test_a_resolved_end_is_not_handed_off(client, store):
    w = finish(client, *RESOLVED)
    form = feedback_form(w.html)
    client.post(form["action"], data={**form["fields"], "reaction": "yes"})
    assert store.handoffs_for(w.sid) == []


@pytest.mark.parametrize("reaction", ["no", "partly"])
def test_negative_feedback_is_handed_off_with_the_reaction_and_comment(client, store, console,
                                                                      reaction):
    w = finish(client, *RESOLVED)
    form = feedback_form(w.html)
    response = client.post(form["action"], data={**form["fields"], "reaction": reaction,
                                                  "comment": "It broke again an hour later"})
    assert response.status_code == 303
    [handoff] = store.handoffs_for(w.sid)
    assert handoff.reason == "negative_feedback"
    html = page(console, handoff.id)
    assert {"no": "No, it didn't", "partly": "Partly"}[reaction] in text(html)
    assert "It broke again an hour later" in html and "Negative feedback" in html


def test_feedback_at_an_unresolved_end_joins_its_handoff(client, store, console):
    w = finish(client, *UNRESOLVED)
    form = feedback_form(w.html)
    client.post(form["action"], data={**form["fields"], "reaction": "no", "comment": "Meh"})
    [handoff] = store.handoffs_for(w.sid)  # one per point in the session, not two
    assert handoff.reason == "unresolved_end"
    html = page(console, handoff.id)
    assert "No, it didn't" in text(html) and "Meh" in html


def test_the_contact_form_completes_the_automatic_handoff(client, store, console):
    w = finish(client, *UNRESOLVED)
    html, form = support_form(client, w.sid)
    assert "H-00001" in html and "Send to support" in html  # it exists, and asks for more
    sent = client.post(form["action"], data={**form["fields"], "contact": "ann@example.com",
                                             "message": "Tried it twice"})
    assert sent.status_code == 303
    done = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "Support has your session" in done and "ann@example.com" in done
    [handoff] = store.handoffs_for(w.sid)
    assert (handoff.reason, handoff.contact, handoff.message) == (
        "unresolved_end", "ann@example.com", "Tried it twice")
    html = page(console, handoff.id)
    assert "mailto:ann@example.com" in html and "Tried it twice" in html


def test_sending_the_form_empty_to_an_automatic_handoff_confirms_it(client, store):
    w = finish(client, *UNRESOLVED)
    _, form = support_form(client, w.sid)
    sent = client.post(form["action"], data=form["fields"])
    done = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "Support has your session" in done and "Quote your reference" in done
    assert len(store.handoffs_for(w.sid)) == 1


def test_an_agent_hands_a_session_off_from_the_console(client, store, staff_accounts, console,
                                                       agent):
    w = Walker(client, "salesforce")  # mid-way, on the phone with support
    url = f"/console/sessions/{w.sid}/handoff"
    form_page = console.get(url).get_data(as_text=True)
    assert "Disconnect Salesforce" in form_page
    form = next(f for f in forms(form_page) if f["action"] == url)
    made = console.post(url, data={**form["fields"], "comment": "Call back after 3 pm"})
    assert made.status_code == 303 and made.headers["Location"] == "/console/handoffs/1"
    [handoff] = store.handoffs_for(w.sid)
    me = staff_accounts.by_email(agent[0])
    assert (handoff.reason, handoff.created_by, handoff.message, handoff.step) == (
        "agent", me.id, "Call back after 3 pm", "disconnect")
    html = page(console, handoff.id)
    assert "Handed off as H-00001." in html and "agent@example.com" in html
    assert "Call back after 3 pm" in html
    # At the same point again: the comment joins that handoff.
    again = console.post(url, data={**form["fields"], "comment": "Customer rang again"})
    assert again.headers["Location"] == "/console/handoffs/1"
    assert "handed off at this point already" in page(console, 1)
    [handoff] = store.handoffs_for(w.sid)
    assert handoff.message == "Call back after 3 pm\n\nCustomer rang again"


def test_an_agent_handoff_refuses_too_long_a_comment_and_keeps_it(client, store, console):
    w = Walker(client, "salesforce")
    url = f"/console/sessions/{w.sid}/handoff"
    form = next(f for f in forms(console.get(url).get_data(as_text=True)) if f["action"] == url)
    long = "z" * 4001
    response = console.post(url, data={**form["fields"], "comment": long})
    assert response.status_code == 400 and long in response.get_data(as_text=True)
    assert "the limit is 4,000" in response.get_data(as_text=True)
    assert store.handoffs_for(w.sid) == []
    assert console.post("/console/sessions/nope/handoff",
                        data=form["fields"]).status_code == 404


# --- the queue --------------------------------------------------------------------------------

def _seed(store, count):
    """``count`` handoffs, one per new session (oldest first)."""
    ids = []
    for _ in range(count):
        row = store.create_session("salesforce", "v1", "disconnect")
        ids.append(store.create_handoff(row, "v1", "customer_request", [], None, None).id)
    return ids


def test_the_queue_lists_by_status_with_counts_newest_first_in_pages(store, console):
    ids = _seed(store, 27)
    first = console.get("/console/handoffs").get_data(as_text=True)
    refs = [f"H-{i:05d}" for i in ids]
    assert first.index(refs[-1]) < first.index(refs[-2])  # newest first
    assert refs[0] not in first and "page 1 of 2" in first
    second = console.get("/console/handoffs?page=2").get_data(as_text=True)
    assert refs[0] in second and refs[1] in second and refs[2] not in second
    act(console, page(console, ids[0]), "take")
    act(console, page(console, ids[1]), "close")
    tabs = text(console.get("/console/handoffs").get_data(as_text=True))
    assert "Open 25" in tabs and "Taken 1" in tabs and "Closed 1" in tabs
    taken = console.get("/console/handoffs?status=taken").get_data(as_text=True)
    assert refs[0] in taken and refs[1] not in taken and "agent@example.com (you)" in taken
    bad = console.get("/console/handoffs?status=lost")
    assert bad.status_code == 400 and "here are the open ones" in bad.get_data(as_text=True)


def test_take_release_close_and_reopen(store, console):
    [hid] = _seed(store, 1)
    assert act(console, page(console, hid), "take").status_code == 303
    html = page(console, hid)
    assert "You took H-00001." in html and "Taken by agent@example.com (you)" in html
    act(console, html, "release")
    html = page(console, hid)
    assert "Open: nobody has taken it yet" in html
    act(console, html, "close")
    html = page(console, hid)
    assert "Closed" in html and "by agent@example.com" in html
    act(console, html, "reopen")
    assert "Open: nobody has taken it yet" in page(console, hid)


def test_taking_a_handoff_someone_has_needs_take_over(store, console, second):
    [hid] = _seed(store, 1)
    stale = page(second, hid)  # the second agent's page, still showing it open
    act(console, page(console, hid), "take")
    mine = page(console, hid)
    lost = act(second, stale, "take")
    html = lost.get_data(as_text=True)
    assert lost.status_code == 409
    assert "agent@example.com took this handoff" in html and "nothing was changed" in html
    assert 'value="take_over"' in html and 'value="release"' not in html
    # Closing it from the stale page loses too; taking it over (an explicit choice) works.
    assert act(second, stale, "close").status_code == 409
    assert act(second, html, "take_over").status_code == 303
    assert "Taken by second@example.com (you)" in page(second, hid)
    # The first agent's page is now stale: releasing or closing from it changes nothing.
    for action in ("release", "close"):
        lost = act(console, mine, action)
        assert lost.status_code == 409
        assert "second@example.com took this handoff" in lost.get_data(as_text=True)
    assert "Taken by second@example.com (you)" in page(second, hid)


def test_two_agents_clicking_take_at_once_one_wins_and_the_other_gets_409(store, console,
                                                                          second):
    for hid in _seed(store, 5):
        pages = {c: page(c, hid) for c in (console, second)}
        barrier = threading.Barrier(2)
        results = {}

        def click(c, barrier=barrier, pages=pages, results=results):
            barrier.wait()
            results[c] = act(c, pages[c], "take")

        threads = [threading.Thread(target=click, args=(c,)) for c in pages]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = sorted(r.status_code for r in results.values())
        assert codes == [303, 409], codes
        winner = next(c for c, r in results.items() if r.status_code == 303)
        loser = results[next(c for c in results if c is not winner)].get_data(as_text=True)
        email = "agent@example.com" if winner is console else "second@example.com"
        assert f"{email} took this handoff" in loser
        assert f"Taken by {email} (you)" in page(winner, hid)


def test_queue_actions_need_the_csrf_token(app, store, console):
    [hid] = _seed(store, 1)
    form = action_form(page(console, hid), "take")
    for token in (None, "forged"):
        data = dict(form["fields"])
        if token is None:
            data.pop("csrf_token")
        else:
            data["csrf_token"] = token
        assert console.post(form["action"], data=data).status_code == 400
    other = app.test_client()  # a logged-out browser with the form's token: not accepted
    assert other.post(form["action"], data=form["fields"]).status_code in (400, 401)
    assert "Open: nobody has taken it yet" in page(console, hid)
    broken = console.post(form["action"], data={**form["fields"], "action": "steal"})
    assert broken.status_code == 400 and "nothing was changed" in broken.get_data(as_text=True)
    assert console.get("/console/handoffs/999").status_code == 404


def test_a_number_in_the_address_past_any_row_id_is_a_404(store, console, admin, app):
    # 2**31 is past PostgreSQL's INTEGER; 2**63 and more are past SQLite's (OverflowError).
    [hid] = _seed(store, 1)
    form = action_form(page(console, hid), "take")
    token = form["fields"]["csrf_token"]
    for big in (2**31, 2**63, 10**30):
        assert console.get(f"/console/handoffs/{big}").status_code == 404
        assert console.post(f"/console/handoffs/{big}/status",
                            data=form["fields"]).status_code == 404
        assert console.post(f"/console/handoffs/{hid}/deliveries/{big}/retry",
                            data={"csrf_token": token}).status_code == 404
    as_admin = app.test_client()
    login(as_admin, admin)
    token = csrf_token(as_admin, "/console/staff")
    assert as_admin.post(f"/console/staff/{10**30}/active",
                         data={"csrf_token": token, "active": "1"}).status_code == 404


# --- what a handoff carries, and never secrets --------------------------------------------------

@pytest.fixture(scope="module")
def sim():
    with Simulator(delay=0.05, hang_seconds=5) as s:
        yield s


PLANTED = "planted-secret-Zq8vN3kL0pX7wR2t"


def test_a_handoff_carries_everything_and_no_secret(sim, make_app, monkeypatch, tmp_path,
                                                   db_url, agent, staff_accounts):
    sim.reset()
    monkeypatch.setenv("SIMULATOR_URL", sim.url)
    for name, value in {**SECRETS, "QBO_CLIENT_SECRET": PLANTED}.items():
        monkeypatch.setenv(name, value)
    config = sim.connections(tmp_path, read=1.0).path
    sim.set("acme-qbo", "quickbooks_online", "quickbooks_online.invalid_client_credentials")
    with Receiver() as receiver:
        app = make_app(CONNECTIONS_PATH=str(config), WEBHOOK_URL=receiver.url,
                       WEBHOOK_SECRET=SECRET, WEBHOOK_BACKOFF_SECONDS=0.05,
                       WEBHOOK_TIMEOUT_SECONDS=2)
        try:
            client = app.test_client()
            w = Walker(client, "quickbooks-online", connection="acme-qbo")
            deadline = time.monotonic() + 10
            while "Still checking" in w.html:  # as the page's refresh does
                assert time.monotonic() < deadline
                time.sleep(0.1)
                w.go(w.url)
            assert heading(w.html) == "This needs our support team"  # an escalated end
            form = feedback_form(w.html)
            client.post(form["action"], data={**form["fields"], "reaction": "no",
                                              "comment": "Still failing"})
            _, form = support_form(client, w.sid)
            client.post(form["action"], data={**form["fields"], "contact": "bo@example.com",
                                              "message": "Please call"})
            wait_for(lambda: len(receiver.received) == 3)
            console = app.test_client()
            login(console, agent)
            html = page(console, 1)
        finally:
            app.extensions["webhooks"].stop()
    created, *updates = receiver.received
    assert [r["event"] for r in receiver.received] == [
        "handoff.created", "handoff.updated", "handoff.updated"]
    assert all(r["signature_ok"] for r in receiver.received)
    body = updates[-1]["body"]
    flow = app.extensions["assistant"].flows["quickbooks-online"]
    assert body["flow"] == {"id": "quickbooks-online", "title": flow.title,
                            "version": flow.version}
    assert body["step"] == {"id": "our-side", "title": "This needs our support team",
                            "outcome": "escalated"}
    assert body["handoff"]["reason"] == "unresolved_end"
    assert body["handoff"]["console_url"].endswith("/console/handoffs/1")
    assert (body["handoff"]["contact"], body["handoff"]["message"]) == (
        "bo@example.com", "Please call")
    assert body["feedback"] == {"reaction": "no", "comment": "Still failing"}
    assert body["cause"]["id"] == "quickbooks_online.invalid_client_credentials"
    [line] = body["path"]
    assert line["check"]["outcome"] == "quickbooks_online.invalid_client_credentials"
    assert line["check"]["evidence"]["status"] == 401 and "spent_ms" in line
    assert body["session"]["code"] and created["body"]["feedback"] is None
    # Support looks the customer up by the reference the host's launch link carried.
    assert body["session"]["customer"] == CUSTOMER and CUSTOMER in html
    assert "401" in html and "invalid_client" in html  # the evidence, on the handoff page
    # Never a secret: not in what was sent, shown or stored (and not the session's id, which
    # opens the customer's session).
    engine = app.extensions["assistant"].store.engine
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        dump = json.dumps([[list(map(str, row)) for row in conn.execute(select(table))]
                           for table in meta.sorted_tables])
    sent = b"".join(r["raw"] for r in receiver.received).decode()
    for value in (*SECRETS.values(), PLANTED):
        assert value not in sent and value not in html and value not in dump
    assert w.sid not in sent


def test_reaching_an_unresolved_end_again_after_going_back_hands_off_again(client, store):
    w = finish(client, *UNRESOLVED)
    back = answer_form(client.get(f"/s/{w.sid}/4").get_data(as_text=True))
    client.post(back["action"], data={**back["fields"], "answer": "connected"})
    assert len(store.handoffs_for(w.sid)) == 1  # a resolved end: nothing new
    back = answer_form(client.get(f"/s/{w.sid}/4").get_data(as_text=True))
    client.post(back["action"], data={**back["fields"], "answer": "not-connected"})
    assert [h.reason for h in store.handoffs_for(w.sid)] == ["unresolved_end"] * 2


def test_a_second_form_with_another_address_keeps_it_for_staff(client, store, console):
    w = finish(client, *UNRESOLVED)
    _, first = support_form(client, w.sid)
    _, second = support_form(client, w.sid)  # another tab, the same revision
    client.post(first["action"], data={**first["fields"], "contact": "ok@example.com",
                                       "message": "Tried it twice"})
    for _ in range(2):  # and a double click
        client.post(second["action"], data={**second["fields"], "contact": "other@example.com",
                                            "message": "Use this address"})
    client.post(first["action"], data={**first["fields"], "contact": "OK@example.com",
                                       "message": "Tried it twice"})  # the first, again
    [handoff] = store.handoffs_for(w.sid)
    assert handoff.contact == "ok@example.com"
    assert handoff.message == ("Tried it twice\n\nUse this address\n\n"
                               "Also reachable at other@example.com")
    assert "other@example.com" in page(console, handoff.id)
