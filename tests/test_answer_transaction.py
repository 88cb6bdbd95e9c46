"""An answer is one connection and one transaction; without JavaScript the POST only applies it
(the browser's GET after the 303 reads and shows the next step), so no step is read or rendered
twice."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from conftest import Walker, answer_form, forms, heading

HX = {"HX-Request": "true"}


class Counted:
    """The database work on ``engine`` while the block runs: connections taken from the
    pool, transactions committed and statements run."""

    def __init__(self, engine):
        self.engine = engine

    def __enter__(self):
        self.checkouts = self.commits = 0
        self.statements: list[str] = []  # the first word of each
        self.connections: list[list[str]] = []  # "SELECT sessions"… for each connection
        event.listen(self.engine, "checkout", self._checkout)  # pool event, on the engine
        event.listen(self.engine, "commit", self._commit)
        event.listen(self.engine, "before_cursor_execute", self._statement)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "checkout", self._checkout)
        event.remove(self.engine, "commit", self._commit)
        event.remove(self.engine, "before_cursor_execute", self._statement)

    def _checkout(self, *args):
        self.checkouts += 1
        self.connections.append([])

    def _commit(self, *args):
        self.commits += 1

    def _statement(self, conn, cursor, statement, *args):
        words = statement.split()
        self.statements.append(words[0].upper())
        table = words[words.index("FROM") + 1] if words[0] == "SELECT" and "FROM" in words \
            else words[2] if words[0] == "INSERT" else words[1]
        self.connections[-1].append(f"{words[0]} {table.strip(chr(34))}")


@pytest.fixture
def engine(store):
    return store.engine


def _post(client, html: str, answer: str, **headers):
    form = answer_form(html)
    return client.post(form["action"], data={**form["fields"], "answer": answer},
                       headers=headers)


def test_an_htmx_answer_is_one_connection_and_one_transaction(client, engine):
    w = Walker(client, "salesforce")  # at "Disconnect Salesforce" (its check had no connection)
    with Counted(engine) as db:
        response = _post(client, w.html, "disconnected", **HX)
    assert response.status_code == 200
    assert "Connect to Salesforce again" in response.get_data(as_text=True)
    # Read the session, guard the revision and write the answer and its event, read the
    # transcript tail: on one connection, committed once.
    assert db.connections == [["SELECT sessions", "UPDATE sessions", "INSERT events",
                               "SELECT events"]]
    assert db.commits == 1


def test_changing_an_earlier_answer_is_one_transaction_too(client, engine, store):
    w = Walker(client, "salesforce")
    w.answer("disconnected")
    w.answer("connected")  # the verify check cannot run: "Does it work now?"
    w.answer("connected")
    assert store.get_session(w.sid).status == "ended"
    back = client.get(f"/s/{w.sid}/4").get_data(as_text=True)
    with Counted(engine) as db:
        response = _post(client, back, "not-connected", **HX)
    assert response.status_code == 200
    assert [line.answer for line in store.transcript(w.sid)] == [
        "unavailable", "disconnected", "connected", "unavailable", "not-connected"]
    # The answer, on the first connection: read the session (and, as it had ended, its
    # feedback and handoff), supersede the later answers, write the new one, read the tail.
    answer, *after = db.connections
    assert answer[0] == "SELECT sessions", answer
    assert answer.index("UPDATE sessions") < answer.index("INSERT events") \
        < answer.index("SELECT events", answer.index("INSERT events")), answer
    assert "UPDATE events" in answer  # the superseded ones
    # That end is unresolved: its handoff is recorded after the answer's transaction.
    assert [s for c in after for s in c if not s.startswith("SELECT")] == ["INSERT handoffs"]
    assert db.commits == 2


def test_a_refused_answer_writes_nothing(client, engine, store):
    w = Walker(client, "salesforce")
    form = answer_form(w.html)
    before = store.get_session(w.sid)
    with Counted(engine) as db:
        response = client.post(form["action"], data={**form["fields"], "answer": "disconnected",
                                                     "revision": str(before.revision - 1)},
                               headers=HX)
    assert response.status_code == 409
    assert "UPDATE" not in db.statements and "INSERT" not in db.statements
    assert store.get_session(w.sid).revision == before.revision


def test_a_no_js_answer_only_applies_it_and_its_get_shows_the_step(client, engine):
    w = Walker(client, "salesforce")
    with Counted(engine) as db:
        response = _post(client, w.html, "disconnected")
    assert response.status_code == 303
    # Read the session, guard the revision, write the answer and its event; nothing the next
    # step shows is read here: the GET that follows reads it, once.
    assert db.connections == [["SELECT sessions", "UPDATE sessions", "INSERT events"]]
    assert db.commits == 1
    with Counted(engine) as db:
        page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert db.statements and all(s == "SELECT" for s in db.statements)  # a GET writes nothing
    assert page.headers["Cache-Control"] == "no-store"
    assert heading(page.get_data(as_text=True)) == "Connect to Salesforce again"
    assert _post(client, page.get_data(as_text=True), "connected").status_code == 303


def test_the_same_answer_again_without_js_goes_to_the_step_after_it(client, store):
    w = Walker(client, "salesforce")
    first = _post(client, w.html, "disconnected")
    back = client.get(answer_form(w.html)["action"]).get_data(as_text=True)  # Back, fetched
    again = _post(client, back, "disconnected")  # and the same answer once more
    assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"]
    assert store.get_session(w.sid).revision == 2 and len(store.transcript(w.sid)) == 2


def test_a_change_between_the_post_and_its_get_is_shown(client, store):
    w = Walker(client, "salesforce")
    first = _post(client, w.html, "disconnected")
    # Another tab answers the next step before this browser follows the 303.
    other = client.get(first.headers["Location"]).get_data(as_text=True)
    second = _post(client, other, "connected")
    assert second.status_code == 303
    late = client.get(first.headers["Location"])  # the first POST's page would be stale
    html = late.get_data(as_text=True)
    assert "earlier" in html.lower() or "go back to where you were" in html.lower()
    assert store.get_session(w.sid).revision == 3


def test_a_language_chosen_between_the_post_and_its_get_is_shown(client):
    w = Walker(client, "salesforce")
    response = _post(client, w.html, "disconnected")
    page = client.get(f"/s/{w.sid}/1").get_data(as_text=True)  # not the kept page's address
    switcher = next(f for f in forms(page)
                    if f["action"].startswith(f"/s/{w.sid}/language"))
    client.post(switcher["action"], data={**switcher["fields"], "lang": "es"})
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert '<html lang="es"' in html and "Connect to Salesforce again" not in html


def test_staff_following_the_address_see_their_own_page(client, app, agent):
    from conftest import login
    w = Walker(client, "salesforce")
    response = _post(client, w.html, "disconnected")
    staff = app.test_client()
    login(staff, agent)
    html = staff.get(response.headers["Location"]).get_data(as_text=True)
    assert "Say to the customer" in html and "Staff view." in html
    # The customer following the same address sees the customer's page, without the script.
    customer = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Say to the customer" not in customer and "Staff view." not in customer
    assert heading(customer) == heading(html) == "Connect to Salesforce again"
