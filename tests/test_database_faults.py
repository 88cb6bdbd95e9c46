"""A database that is busy or away: customers get an honest 503 at once (Retry-After, nothing
lost, try again), the log gets a line when it goes and one when it is back, and the app
recovers by itself — SQLite under another process's write lock, and a real PostgreSQL server
stopped mid-walk and started again."""

from __future__ import annotations

import html
import logging
import sqlite3
import time

import pytest

from assistant.store import upgrade
from assistant.web import create_app
from conftest import FLOWS, STAFF_PASSWORD, Walker, answer_form, login


def settings(url, tmp_path, **more):
    (tmp_path / "connections.yaml").write_text("connections: []\n")
    return {"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test-secret",
            "FLOWS_PATH": [str(FLOWS)], "CONNECTIONS_PATH": str(tmp_path / "connections.yaml"),
            "TOKENS_DIR": str(tmp_path / "tokens"), **more}


def first_answer(walker) -> tuple[str, dict]:
    form = answer_form(walker.html)
    answer = next(v for n, v in form["buttons"] if n == "answer")
    return form["action"], {**form["fields"], "answer": answer}


def assert_honest_503(response, *, htmx=False):
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.headers["Retry-After"].isdigit()
    text = html.unescape(response.get_data(as_text=True))
    assert "Nothing you've done so far is lost" in text and "try again" in text
    assert "Traceback" not in text and "OperationalError" not in text
    assert ("<html" in text) is not htmx  # htmx gets the fragment, a browser the page


def database_log(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "assistant.database"]


def test_sqlite_held_by_another_writer_answers_503_at_once_then_recovers(tmp_path, caplog):
    url = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade(url)
    client = create_app(settings(url, tmp_path)).test_client()
    walker = Walker(client, "salesforce")
    action, form = first_answer(walker)

    # Another process (an operator's shell, a long import) holds the write lock.
    holder = sqlite3.connect(tmp_path / "app.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    caplog.set_level(logging.INFO)
    try:
        started = time.monotonic()
        refused = [client.post(action, data=form) for _ in range(3)]
        htmx = client.post(action, data=form, headers={"HX-Request": "true"})
        waited = (time.monotonic() - started) / 4
        # Reading still works under a write lock (WAL): the step is shown as it was.
        assert client.get(walker.url).status_code == 200
    finally:
        holder.rollback()
        holder.close()
    for response in refused:
        assert_honest_503(response)
    assert_honest_503(htmx, htmx=True)
    assert waited < 3, f"each refused request waited {waited:.1f} s for the lock"

    applied = client.post(action, data=form)  # the same form, once the lock is gone
    assert applied.status_code == 303
    assert client.get(applied.headers["Location"]).status_code == 200

    lines = database_log(caplog)
    assert [r.levelname for r in lines] == ["ERROR", "WARNING"], [r.message for r in lines]
    assert "unavailable" in lines[0].message and "locked" in lines[0].message
    assert "answering again" in lines[1].message
    assert not any(r.exc_info for r in caplog.records)  # no traceback per request


@pytest.fixture
def own_postgres():
    """A PostgreSQL server of this test's own, to stop and start."""
    from pgserver import PostgresServer
    server = PostgresServer().start()
    yield server
    server.remove()


def test_postgresql_stopped_mid_walk_answers_503_and_recovers_without_restart(
        own_postgres, tmp_path, caplog):
    url = own_postgres.url("postgres")
    upgrade(url)
    app = create_app(settings(url, tmp_path))
    client, staff = app.test_client(), app.test_client()
    app.extensions["assistant"].staff.add("agent@example.com", STAFF_PASSWORD, "agent")
    login(staff, ("agent@example.com", STAFF_PASSWORD))
    walker = Walker(client, "salesforce")
    walker.answer(first_answer(walker)[1]["answer"])
    step_url = walker.url
    action, form = first_answer(walker)
    caplog.set_level(logging.INFO)

    own_postgres.stop()
    started = time.monotonic()
    slowest = 0.0
    for request in [lambda: client.post(action, data=form), lambda: client.get(step_url)] * 5:
        sent = time.monotonic()
        assert_honest_503(request())
        slowest = max(slowest, time.monotonic() - sent)
    assert_honest_503(client.post(action, data=form, headers={"HX-Request": "true"}),
                      htmx=True)
    assert (time.monotonic() - started) / 11 < 3
    assert_honest_503(staff.get("/console/sessions"))  # staff pages too, on the plain layout

    own_postgres.start()
    recovered = time.monotonic()
    response = client.post(action, data=form)
    while response.status_code == 503 and time.monotonic() - recovered < 10:
        time.sleep(0.2)
        response = client.post(action, data=form)
    assert response.status_code == 303, response.status_code
    print(f"\nPostgreSQL stopped: 12 requests, each 503 (slowest {slowest * 1000:.0f} ms); "
          f"started again: the same answer applied {time.monotonic() - recovered:.2f} s later")
    walker.go(response.headers["Location"])
    # Nothing was lost: the answer before the outage is still in the transcript.
    assert walker.page.status_code == 200 and "Change" in walker.html

    lines = database_log(caplog)
    assert [r.levelname for r in lines] == ["ERROR", "WARNING"], [r.message for r in lines]
    assert not any(r.exc_info for r in caplog.records)


def test_the_app_starts_while_postgresql_is_down_and_serves_once_it_is_up(
        own_postgres, tmp_path, caplog):
    url = own_postgres.url("postgres")
    upgrade(url)
    own_postgres.stop()
    caplog.set_level(logging.INFO)
    app = create_app(settings(url, tmp_path))  # a gunicorn worker booting: no exception
    client = app.test_client()
    assert_honest_503(client.get("/flows/salesforce"))
    assert client.get("/static/app.css").status_code == 200

    own_postgres.start()
    deadline = time.monotonic() + 10
    response = client.get("/flows/salesforce")
    while response.status_code == 503 and time.monotonic() < deadline:
        time.sleep(0.3)  # the migration check is tried at most once a second
        response = client.get("/flows/salesforce")
    assert response.status_code == 303
    assert len([r for r in database_log(caplog) if r.levelname == "ERROR"]) == 1
