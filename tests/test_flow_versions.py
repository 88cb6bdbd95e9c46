"""Flow versions never strand a session: every version served is stored by content hash; a
session in progress finishes on the version it started on after the flow file changes and the
server restarts; new sessions get the new version; the console shows the version and what
changed; analytics names the steps of an earlier version."""

from __future__ import annotations

import hashlib
import html as htmllib
import re

import pytest
from sqlalchemy import select

from assistant.flow import load_flow, parse_flow
from assistant.flow.diff import diff_flows
from assistant.store.models import FlowVersion
from conftest import FLOWS, Walker, answer_form, forms, heading, login

OLD_END = "title: Your Salesforce connection is back"
NEW_END = "title: Salesforce is connected again"


def edited_salesforce(tmp_path):
    """The shipped Salesforce flow with its question step renamed (``confirm`` →
    ``confirm-channel``), one answer relabelled and the resolved end retitled."""
    text = (FLOWS / "salesforce.yaml").read_text()
    assert "  confirm:\n" in text and "otherwise: confirm\n" in text and OLD_END in text
    text = (text.replace("  confirm:\n", "  confirm-channel:\n")
            .replace("otherwise: confirm\n", "otherwise: confirm-channel\n")
            .replace(OLD_END, NEW_END)
            .replace("label: I clicked Disconnect", "label: I have clicked Disconnect"))
    folder = tmp_path / "edited"
    folder.mkdir()
    for other in FLOWS.glob("*.yaml"):
        (folder / other.name).write_text(other.read_text())
    (folder / "salesforce.yaml").write_text(text)
    return folder


def page_text(response) -> str:
    return htmllib.unescape(response.get_data(as_text=True))


def test_a_session_finishes_on_its_version_after_the_flow_changes_and_the_server_restarts(
        make_app, tmp_path, store):
    before = make_app()
    old_version = before.extensions["assistant"].flows["salesforce"].version
    browser = before.test_client()
    w = Walker(browser, "salesforce")
    w.answer("disconnected")
    w.answer("connected")
    assert heading(w.html) == "Is Salesforce connected now?"  # step `confirm`, position 4
    code = store.get_session(w.sid).code

    # The flow file changes (the step the session is on is renamed) and the server restarts.
    after = make_app(FLOWS_PATH=[str(edited_salesforce(tmp_path))])
    new_version = after.extensions["assistant"].flows["salesforce"].version
    assert new_version != old_version
    client = after.test_client()
    w.client = client
    w.go(f"/s/{w.sid}/4")
    assert w.page.status_code == 200, w.html[:300]
    assert heading(w.html) == "Is Salesforce connected now?" and code in w.html
    # Back in its path: the steps as the customer saw them, labels included.
    back = client.get(f"/s/{w.sid}/1")
    assert heading(page_text(back)) == "Disconnect Salesforce"
    assert "I clicked Disconnect" in page_text(back)
    w.answer("not-connected")  # to an unresolved end of the old version
    assert w.page.status_code == 200 and code in w.html
    feedback = next(f for f in forms(w.html) if f["action"].endswith("/feedback"))
    sent = client.post(feedback["action"], data={**feedback["fields"], "reaction": "no",
                                                 "comment": "still broken"})
    assert sent.status_code == 303
    row = store.get_session(w.sid)
    assert row.status == "ended" and row.flow_version == old_version
    assert store.feedback_for(row).flow_version == old_version
    support = client.get(f"/s/{w.sid}/support")
    assert support.status_code == 200 and code in support.get_data(as_text=True)
    form = next(f for f in forms(support.get_data(as_text=True))
                if f["action"].endswith("/support"))
    assert client.post(form["action"], data={**form["fields"], "contact": "me@example.com",
                                             "message": "Please call"}).status_code == 303
    [handoff] = store.handoffs_for(w.sid)
    assert handoff.flow_version == old_version and handoff.message == "Please call"
    assert [line["step_title"] for line in handoff.transcript][-1] == \
        "Is Salesforce connected now?"

    # A new session gets the new version.
    fresh = Walker(client, "salesforce")
    assert store.get_session(fresh.sid).flow_version == new_version
    fresh.answer("disconnected")
    fresh.answer("connected")
    fresh.answer("connected")
    assert heading(fresh.html) == "Salesforce is connected again"


def test_every_version_served_is_stored_once_by_content_hash(make_app, tmp_path, store):
    make_app()
    make_app()  # a second process starting on the same files stores nothing twice
    make_app(FLOWS_PATH=[str(edited_salesforce(tmp_path))])
    with store.Session() as s:
        rows = list(s.scalars(select(FlowVersion).where(FlowVersion.flow_id == "salesforce")))
    assert len(rows) == 2
    shipped = (FLOWS / "salesforce.yaml").read_bytes()
    [stored] = [r for r in rows if r.content.encode() == shipped]
    assert stored.sha256 == hashlib.sha256(shipped).hexdigest()
    assert stored.version == load_flow(FLOWS / "salesforce.yaml").version


def test_the_console_shows_a_sessions_version_and_what_changed(make_app, tmp_path, admin):
    before = make_app()
    w = Walker(before.test_client(), "salesforce")
    w.answer("disconnected")
    after = make_app(FLOWS_PATH=[str(edited_salesforce(tmp_path))])
    old = before.extensions["assistant"].flows["salesforce"].version
    new = after.extensions["assistant"].flows["salesforce"].version
    client = after.test_client()
    login(client, admin)
    view = page_text(client.get(f"/console/sessions/{w.sid}"))
    assert old in view and "an earlier version" in view
    link = re.search(r'id="version-diff" href="([^"]+)"', view).group(1)
    assert link == f"/console/flows/salesforce/versions/{old}/{new}"
    diff = page_text(client.get(link))
    added = diff[diff.index('id="added"'):diff.index('id="removed"')]
    removed = diff[diff.index('id="removed"'):diff.index('id="changed"')]
    changed = diff[diff.index('id="changed"'):]
    assert "confirm-channel" in added and "confirm-channel" not in removed
    assert "<code>confirm</code>: Is Salesforce connected now?" in removed
    assert "Your Salesforce connection is back" in changed  # the old title of the end
    assert "“I clicked Disconnect” → “I have clicked Disconnect”" in changed
    assert "leads to <code>confirm</code> → <code>confirm-channel</code>" in changed
    versions = page_text(client.get("/console/flows/salesforce/versions"))
    assert old in versions and new in versions and link in versions
    assert client.get(f"/console/flows/salesforce/versions/{old}/000000000000"
                      ).status_code == 404
    # Analytics of the earlier version names its steps from that version.
    page = page_text(client.get(f"/console/analytics?flow=salesforce&version={old}&from="))
    assert "Is Salesforce connected now?" in page and "not in this version" not in page


def test_the_diff_names_added_removed_and_changed_answers():
    base = (FLOWS / "salesforce.yaml").read_text()
    old = parse_flow(base)
    new = parse_flow(base.replace(
        "      - id: not-connected\n        label: No, it still doesn't connect\n"
        "        next: still-failing\n",
        "      - id: not-sure\n        label: I'm not sure\n        next: still-failing\n"))
    diff = diff_flows(old, new)
    assert not diff.added and not diff.removed and diff.start is None
    [change] = diff.changed
    assert change.id == "confirm" and change.fields == ()
    assert [a.id for a in change.answers_added] == ["not-sure"]
    assert [a.id for a in change.answers_removed] == ["not-connected"]
    assert diff_flows(old, old).empty


@pytest.mark.parametrize("damage", ["missing", "unparsable"])
def test_a_session_whose_version_cannot_be_found_continues_where_the_served_flow_allows(
        make_app, store, damage):
    app = make_app()
    client = app.test_client()
    w = Walker(client, "salesforce")
    w.answer("disconnected")
    library = app.extensions["assistant"].library
    with store.engine.begin() as conn:
        row = store.get_session(w.sid)
        if damage == "missing":
            conn.execute(FlowVersion.__table__.update().values(version="0" * 12))
        else:
            conn.execute(FlowVersion.__table__.update().values(content="id: [broken"))
    library._cache.clear()
    # The served flow is the same version here; make the session's version an unknown one.
    with store.engine.begin() as conn:
        from assistant.store.models import FlowSession
        conn.execute(FlowSession.__table__.update().where(FlowSession.id == row.id)
                     .values(flow_version="feedfacecafe"))
    page = client.get(f"/s/{w.sid}/2")
    assert page.status_code == 200 and heading(page_text(page)) == "Connect to Salesforce again"
    form = answer_form(page.get_data(as_text=True))
    assert client.post(form["action"], data={**form["fields"], "answer": "connected"}
                       ).status_code == 303
