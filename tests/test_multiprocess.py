"""The app as production runs it: gunicorn with 4 worker processes on a real PostgreSQL server,
the vendor simulator and a webhook receiver on loopback. What must hold across processes:
identical answers sent at the same moment apply once; a connection is checked upstream once per
TTL however many workers ask; two agents taking one handoff cannot both get it; identical
feedback and contact-support submits at the same moment make one webhook delivery per change.

The figures each test sees are printed (``pytest -s``) for the release notes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from receiver import SECRET, Receiver, wait_for
from simserver import SECRETS, Simulator

from assistant.launch import sign
from assistant.store import make_engine, upgrade
from assistant.store.staff import StaffAccounts
from conftest import FLOWS, LAUNCH_SECRET, STAFF_PASSWORD, answer_form, forms, start_form

WORKERS = 4
TTL = 2  # PROBE_TTL_SECONDS: short, so that one test sees several TTL periods

FLOW = """\
id: multiprocess-check
title: Multi-process check
system: salesforce
summary: A two-step flow for the multi-process test.
source: {title: The multi-process test, section: Its flow}
start: ask
steps:
  ask:
    kind: question
    title: Does it work now?
    answers:
      - {id: works, label: It works, next: fixed}
      - {id: broken, label: Still broken, next: stuck}
  fixed:
    kind: end
    outcome: resolved
    title: It works again
  stuck:
    kind: end
    outcome: unresolved
    title: Still broken
"""


class Gunicorn:
    """``gunicorn -w WORKERS`` with the production settings (``assistant.gunicorn_conf``)
    serving the app on a Unix socket (no port to clash)."""

    def __init__(self, folder: Path, env: dict):
        self.socket = folder / "gunicorn.sock"
        self.log = folder / "gunicorn.log"
        gunicorn = Path(sys.executable).parent / "gunicorn"
        self.proc = subprocess.Popen(
            [str(gunicorn), "-c", "python:assistant.gunicorn_conf", "-w", str(WORKERS),
             "-b", f"unix:{self.socket}", "--timeout", "60", "assistant.web:create_app()"],
            env=env, stdout=self.log.open("w"),
            stderr=subprocess.STDOUT, cwd=folder)

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(transport=httpx.HTTPTransport(uds=str(self.socket)),
                            base_url="http://assistant.test", timeout=30, **kwargs)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                with self.client() as c:
                    if c.get("/").status_code == 200:
                        return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError("gunicorn did not answer:\n" + self.log.read_text()[-3000:])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:  # pragma: no cover
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def server(postgres, tmp_path_factory):
    folder = tmp_path_factory.mktemp("gunicorn")
    name = postgres.create_database()
    url = postgres.url(name)
    upgrade(url)
    engine = make_engine(url)
    for who in ("first", "second"):
        StaffAccounts(engine).add(f"{who}@example.com", STAFF_PASSWORD, "agent")
    engine.dispose()
    (folder / "flow.yaml").write_text(FLOW)
    with Simulator(delay=0.2) as sim, Receiver() as receiver:
        env = {**os.environ, **SECRETS, "DATABASE_URL": url, "SECRET_KEY": "multi-process",
               "FLOWS_PATH": f"{FLOWS}{os.pathsep}{folder / 'flow.yaml'}",
               "CONNECTIONS_PATH": str(sim.connections(folder, read=2.0).path),
               "LAUNCH_SECRET": LAUNCH_SECRET,
               "SIMULATOR_URL": sim.url, "TOKENS_DIR": str(folder / "tokens"),
               "INSTANCE_PATH": str(folder / "instance"), "PROBE_TTL_SECONDS": str(TTL),
               "WEBHOOK_URL": receiver.url, "WEBHOOK_SECRET": SECRET,
               "WEBHOOK_BACKOFF_SECONDS": "0.5"}
        app = Gunicorn(folder, env)
        try:
            app.wait_ready()
            app.sim, app.receiver, app.url = sim, receiver, url
            yield app
        finally:
            app.stop()
        log = app.log.read_text()
        assert "Traceback" not in log, log[-3000:]
    postgres.drop_database(name)


def at_once(count: int, call):
    """Run ``call(i)`` for i < ``count`` in threads released together; their results."""
    start = threading.Barrier(count)

    def run(i):
        start.wait()
        return call(i)
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


CONNECTION_OF = {"quickbooks-desktop": "acme-qbd", "multiprocess-check": "acme-salesforce"}


def start(client: httpx.Client, flow_id: str) -> str:
    """Start a session bound to the flow's connection by a launch token, as a person does:
    the start page, then its Start button; the first step's URL."""
    token = sign(LAUNCH_SECRET, connection=CONNECTION_OF[flow_id], customer="acct-1")
    page = client.get(f"/flows/{flow_id}", params={"launch": token})
    form = start_form(page.text, flow_id)
    response = client.post(form["action"], data=form["fields"])
    assert response.status_code == 303, response.text[:300]
    return response.headers["location"]


def same_browser(client: httpx.Client, server) -> httpx.Client:
    """Another connection with the same cookies (a second tab, a double click)."""
    return server.client(cookies=client.cookies)


def scalar(server, sql: str, **params):
    """One value read from the server's database."""
    from sqlalchemy import create_engine, text
    engine = create_engine(server.url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


def test_identical_answers_sent_at_once_apply_once(server):
    with server.client() as browser:
        step = start(browser, "multiprocess-check")
        form = answer_form(browser.get(step).text)
        data = {**form["fields"], "answer": "works"}
        clients = [same_browser(browser, server) for _ in range(12)]
        statuses = at_once(12, lambda i: clients[i].post(form["action"], data=data).status_code)
        for c in clients:
            c.close()
    sid = step.split("/")[2]
    print(f"\nidentical answers x12: {dict(Counter(statuses))}")
    assert statuses.count(303) == 1 and statuses.count(409) == 11, statuses
    assert scalar(server, "SELECT count(*) FROM events WHERE session_id = :sid", sid=sid) == 1
    assert scalar(server, "SELECT revision FROM sessions WHERE id = :sid", sid=sid) == 1


def test_a_connection_is_checked_upstream_once_per_ttl_across_workers(server):
    server.sim.reset()
    rounds, per_round = 4, 16
    with server.client() as browser:
        for _ in range(rounds):
            steps = [start(browser, "quickbooks-desktop") for _ in range(per_round)]
            clients = [server.client() for _ in range(per_round)]
            at_once(per_round, lambda i, c=clients, s=steps: c[i].get(s[i]).status_code)
            for c in clients:
                c.close()
            time.sleep(TTL + 0.5)  # the next round finds the check older than the TTL
    calls = server.sim.calls()["acme-qbd"]["agent_status"]
    print(f"\nupstream checks: {calls} for {rounds} rounds of {per_round} sessions at once "
          f"(TTL {TTL} s, {WORKERS} workers)")
    assert calls == rounds


def login(client: httpx.Client, email: str) -> None:
    page = client.get("/console/login").text
    token = next(f["fields"]["csrf_token"] for f in forms(page) if "csrf_token" in f["fields"])
    response = client.post("/console/login", data={"csrf_token": token, "email": email,
                                                   "password": STAFF_PASSWORD})
    assert response.status_code == 303, response.text[:300]


def walk_to_end(client: httpx.Client, answer: str) -> str:
    """A session of the two-step flow answered ``answer``; the end step's URL."""
    step = start(client, "multiprocess-check")
    form = answer_form(client.get(step).text)
    response = client.post(form["action"], data={**form["fields"], "answer": answer})
    assert response.status_code == 303
    return response.headers["location"]


def test_two_agents_taking_one_handoff_cannot_both_get_it(server):
    with server.client() as customer:
        walk_to_end(customer, "broken")  # an unresolved end: a handoff
    agents = [server.client(), server.client()]
    for agent, who in zip(agents, ("first", "second"), strict=True):
        login(agent, f"{who}@example.com")
    handoff = scalar(server, "SELECT max(id) FROM handoffs")
    take = [next(f for f in forms(a.get(f"/console/handoffs/{handoff}").text)
                 if f["fields"].get("action") == "take") for a in agents]
    responses = at_once(2, lambda i: agents[i].post(take[i]["action"], data=take[i]["fields"]))
    statuses = sorted(r.status_code for r in responses)
    loser = next(r for r in responses if r.status_code == 409)
    print(f"\ntwo agents taking one handoff: {statuses}")
    assert statuses == [303, 409]
    assert "took this handoff" in loser.text
    for a in agents:
        a.close()


def test_identical_feedback_and_support_submits_make_one_delivery_each(server):
    before = len(server.receiver.received)
    sessions, copies = 4, 8
    expected = Counter()
    codes = []
    for i in range(sessions):
        with server.client() as browser:
            resolved = i % 2 == 0
            end = walk_to_end(browser, "works" if resolved else "broken")
            if not resolved:
                expected["handoff.created"] += 1  # an unresolved end hands off at once
            page = browser.get(end).text
            form = next(f for f in forms(page) if (f["action"] or "").endswith("/feedback"))
            data = {**form["fields"], "reaction": "no" if resolved else "partly",
                    "comment": f"Still broken ({i})"}
            clients = [same_browser(browser, server) for _ in range(copies)]
            at_once(copies, lambda k, c=clients, d=data, a=form["action"]:
                    c[k].post(a, data=d).status_code)
            # A resolved end answered "No": one handoff made; an unresolved one: one update.
            expected["handoff.created" if resolved else "handoff.updated"] += 1

            support = end.rsplit("/", 1)[0] + "/support"
            sform = next(f for f in forms(browser.get(support).text)
                         if (f["action"] or "").endswith("/support"))
            sdata = {**sform["fields"], "contact": f"customer{i}@example.com",
                     "message": f"Please call me ({i})."}
            statuses = at_once(copies, lambda k, c=clients, d=sdata, a=sform["action"]:
                               c[k].post(a, data=d).status_code)
            codes += statuses
            expected["handoff.updated"] += 1
            for c in clients:
                c.close()
    total = sum(expected.values())
    wait_for(lambda: len(server.receiver.received) - before >= total, timeout=30)
    time.sleep(2)  # anything extra would arrive now
    got = server.receiver.received[before:]
    events = Counter(r["event"] for r in got)
    ids = Counter(r["delivery"] for r in got)
    print(f"\nwebhook: {len(got)} deliveries received for {total} changes "
          f"({sessions} sessions, {copies} identical copies of each submit): {dict(events)}; "
          f"distinct delivery ids {len(ids)}")
    assert set(codes) <= {303}, Counter(codes)
    assert all(r["signature_ok"] for r in got)
    assert events == expected and len(ids) == total and max(ids.values()) == 1
