"""Shared fixtures: an app on a real, migrated database — SQLite and PostgreSQL (a throwaway
server, see tests/pgserver.py) —; a form-submitting client.

Every test that takes ``db_url`` runs once per database in ``TEST_DATABASES`` (default
``sqlite,postgresql``), except the real-browser tests, which run on SQLite: they test the
pages, and the pages' database work runs on both through the other tests.
"""

from __future__ import annotations

import html as htmllib
import os
import re
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from assistant.store import upgrade
from assistant.web import create_app

REPO = Path(__file__).resolve().parent.parent
FLOWS = REPO / "flows"
LAUNCH_SECRET = "test-launch-secret-0123456789abcdefghijkl"
CUSTOMER = "cust-1042"


DATABASES = [d for d in os.environ.get("TEST_DATABASES", "sqlite,postgresql").split(",") if d]


def pytest_generate_tests(metafunc):
    for name in ("db_url", "empty_db_url"):
        if name in metafunc.fixturenames:
            browser = metafunc.definition.get_closest_marker("browser") is not None
            kinds = ["sqlite"] if browser else DATABASES
            metafunc.parametrize(name, kinds, indirect=True)


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for the whole test session (started on first use, then removed)."""
    from pgserver import PostgresServer
    server = PostgresServer().start()
    server.template = server.migrated_template()
    yield server
    server.remove()


@pytest.fixture
def db_url(request, tmp_path) -> str:
    """A migrated database of the kind ``request.param`` (``sqlite`` or ``postgresql``), new
    for this test; its URL."""
    if getattr(request, "param", "sqlite") == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
        upgrade(url)
        yield url
        return
    server = request.getfixturevalue("postgres")
    name = server.create_database(template=server.template)
    yield server.url(name)
    server.drop_database(name)


@pytest.fixture
def empty_db_url(request, tmp_path) -> str:
    """A new database with nothing in it (not migrated), of the kind ``request.param``."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server = request.getfixturevalue("postgres")
    name = server.create_database()
    yield server.url(name)
    server.drop_database(name)


@pytest.fixture
def no_connections(tmp_path) -> str:
    """A connections config with no connection: every probe step takes its manual path."""
    path = tmp_path / "no-connections.yaml"
    path.write_text("connections: []\n")
    return str(path)


@pytest.fixture
def make_app(db_url, tmp_path, no_connections):
    def make(**config):
        settings = {"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "test-secret",
                    "FLOWS_PATH": [str(FLOWS)], "CONNECTIONS_PATH": no_connections,
                    "TOKENS_DIR": str(tmp_path / "tokens"), "LAUNCH_SECRET": LAUNCH_SECRET}
        settings.update(config)
        return create_app(settings)
    return make


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for the browser tests of one module (see tests/browsing.py)."""
    from browsing import chromium
    with chromium() as browser:
        yield browser


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def store(app):
    return app.extensions["assistant"].store


class Forms(HTMLParser):
    """Collects the forms of a page: action, method and their named inputs and buttons."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"id": a.get("id"), "action": a.get("action"),
                               "method": a.get("method", "get"),
                               "hx-post": a.get("hx-post"), "fields": {}, "buttons": []})
        elif self.forms and tag == "input" and a.get("type") == "hidden":
            self.forms[-1]["fields"][a["name"]] = a.get("value", "")
        elif self.forms and tag == "button" and a.get("name"):
            self.forms[-1]["buttons"].append((a["name"], a.get("value")))


def forms(html: str) -> list[dict]:
    parser = Forms()
    parser.feed(html)
    return parser.forms


def poll_form(html: str) -> dict | None:
    """The form of a probe step's poller (``#probe-wait``), or None if the page has none. Its
    ``state`` is ``done`` once the check is done (the page offers Continue), ``running``
    while it runs, ``none`` when none runs (its POST, "Check now", starts one); ``done`` is
    True once it is done."""
    form = next((f for f in forms(html) if f["id"] == "probe-wait"), None)
    if form is not None:
        form["state"] = re.search(r'id="probe-wait"[^>]*data-check="(\w+)"', html).group(1)
        form["done"] = form["state"] == "done"
    return form


def past_checks(client, page, **kwargs):
    """``page`` (a response), or, at a probe step whose check is done, the page after
    pressing Continue (as often as it takes), as a person does; where no check runs (a
    re-check waiting for the TTL), "Check now" likewise, a moment apart. ``kwargs`` go to
    each POST."""
    for _ in range(200):
        form = poll_form(page.get_data(as_text=True))
        if form is None or form["state"] == "running":
            return page
        if form["state"] == "none":
            time.sleep(0.1)
        page = client.post(form["action"], data=form["fields"], follow_redirects=True,
                           **kwargs)
    raise AssertionError("the probe step never moved on")


def answer_form(html: str) -> dict:
    """The form that posts answers (the one with answer buttons)."""
    return next(f for f in forms(html) if any(n == "answer" for n, _ in f["buttons"]))


def heading(html: str) -> str:
    m = re.search(r'<h1 id="step-heading"[^>]*>(.*?)</h1>', html, re.S)
    assert m, "page has no step heading"
    return htmllib.unescape(re.sub(r"<[^>]+>", "", m.group(1))).strip()


def launch_token(app, connection: str, customer: str = CUSTOMER, **claims) -> str:
    """A launch token for ``connection`` signed with ``app``'s first launch secret, as the
    host app would make one (``claims``: ``flow``, ``minutes``, ``now``)."""
    from assistant.launch import sign
    return sign(app.config["LAUNCH_SECRET"], connection=connection, customer=customer, **claims)


def start_form(html: str, flow_id: str) -> dict:
    """The form on a guide's start page that starts a session (POST to ``/flows/<id>``)."""
    return next(f for f in forms(html)
                if f["action"] == f"/flows/{flow_id}" and f["method"] == "post")


def count_sessions(store) -> int:
    """How many sessions the database holds."""
    from sqlalchemy import func, select

    from assistant.store.models import FlowSession
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(FlowSession)).scalar_one()


def start_session(client, flow_id: str, *, connection: str | None = None,
                  launch: str | None = None, choose: dict | None = None) -> str:
    """Open the guide's start page and press Start, as a person does: with the launch token
    ``launch`` (or one signed for ``connection``) in the address and ``choose`` added to the
    form (the demo chooser's ``connection``). Returns the new session's first step URL."""
    if connection is not None:
        launch = launch_token(client.application, connection)
    page = client.get(f"/flows/{flow_id}", query_string={"launch": launch} if launch else None)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    form = start_form(page.get_data(as_text=True), flow_id)
    response = client.post(form["action"], data={**form["fields"], **(choose or {})})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return response.headers["Location"]


class Walker:
    """Answers steps through HTTP as a browser without JavaScript would (POST, 303, GET).

    It opens the guide's start page and presses Start, with the launch token ``launch`` (or
    one signed for ``connection``) in the address, and ``choose`` added to the form (the demo
    chooser's ``connection``)."""

    def __init__(self, client, flow_id: str, *, connection: str | None = None,
                 launch: str | None = None, choose: dict | None = None):
        self.client = client
        first = start_session(client, flow_id, connection=connection, launch=launch,
                              choose=choose)
        self.sid = first.split("/")[2]
        self.go(first)
        assert self.page.status_code == 200

    def go(self, url: str) -> None:
        """GET ``url`` as a browser would, following redirects; at a probe step whose check
        is done, press Continue (the POST that applies its outcome) as a person does."""
        self.page = past_checks(self.client, self.client.get(url, follow_redirects=True))
        self.url = self.page.request.path

    @property
    def html(self) -> str:
        return self.page.get_data(as_text=True)

    def answer(self, answer_id: str, expect: int = 303):
        form = answer_form(self.html)
        assert ("answer", answer_id) in form["buttons"], f"{answer_id} not offered on {self.url}"
        response = self.client.post(form["action"], data={**form["fields"], "answer": answer_id})
        assert response.status_code == expect, response.get_data(as_text=True)[:500]
        if expect == 303:
            self.go(response.headers["Location"])
        return response


STAFF_PASSWORD = "correct horse battery staple"


@pytest.fixture
def staff_accounts(app):
    return app.extensions["assistant"].staff


@pytest.fixture
def agent(staff_accounts):
    """An agent account: (email, password)."""
    staff_accounts.add("agent@example.com", STAFF_PASSWORD, "agent")
    return "agent@example.com", STAFF_PASSWORD


@pytest.fixture
def admin(staff_accounts):
    """An admin account: (email, password)."""
    staff_accounts.add("admin@example.com", STAFF_PASSWORD, "admin")
    return "admin@example.com", STAFF_PASSWORD


def csrf_token(client, url: str = "/console/login") -> str:
    """The CSRF token of the first form on ``url`` (the same for every form of the session)."""
    page = client.get(url, follow_redirects=True).get_data(as_text=True)
    token = next((f["fields"]["csrf_token"] for f in forms(page)
                  if "csrf_token" in f["fields"]), None)
    assert token, f"no form with a CSRF token on {url}"
    return token


def login(client, account: tuple[str, str], expect: int = 303):
    """Log ``client`` in through the login form as a browser would."""
    email, password = account
    response = client.post("/console/login", data={
        "csrf_token": csrf_token(client), "email": email, "password": password})
    assert response.status_code == expect, response.get_data(as_text=True)[:300]
    return response
