"""The production recipe under gunicorn with several workers on loopback: login limits hold
across the worker processes (the counters are in the database), the access log never holds a
session id in full, and a forwarded scheme is not trusted unless configured."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from assistant.store import make_engine, upgrade
from assistant.store.staff import StaffAccounts
from conftest import STAFF_PASSWORD, forms, start_form

WORKERS = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn(tmp_path, no_connections):
    """``gunicorn -c python:assistant.gunicorn_conf -w 3`` on a migrated SQLite file, with an
    access log recording each request's worker pid. Yields (base URL, access log path)."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade(url)
    StaffAccounts(make_engine(url)).add("lead@example.com", STAFF_PASSWORD, "admin")
    port = _free_port()
    access = tmp_path / "access.log"
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "gunicorn-test-secret",
           "CONNECTIONS_PATH": no_connections, "TOKENS_DIR": str(tmp_path / "tokens")}
    env.pop("RATELIMIT_STORAGE_URI", None)  # the default, as the README's recipe runs it
    # Where gunicorn would put its control socket by default (~/.gunicorn/gunicorn.ctl).
    env["HOME"] = str(tmp_path / "home")
    env.pop("XDG_RUNTIME_DIR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:assistant.gunicorn_conf",
         "-w", str(WORKERS), "-b", f"127.0.0.1:{port}", "--access-logfile", str(access),
         "--access-logformat", '%(p)s "%(r)s" %(s)s "%(f)s"', "assistant.web:create_app()"],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        yield base, access
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_login_limits_and_log_redaction_hold_across_gunicorn_workers(gunicorn):
    base, access = gunicorn
    # Each request on a new connection, so that any worker may take it.
    with httpx.Client(base_url=base, headers={"Connection": "close"}, timeout=30) as client:
        page = client.get("/console/login").text
        token = next(f["fields"]["csrf_token"] for f in forms(page)
                     if "csrf_token" in f["fields"])
        statuses = [client.post("/console/login", data={
            "csrf_token": token, "email": "lead@example.com",
            "password": f"wrong guess {n}"}).status_code for n in range(60)]
        # Past the limit even the right password is refused, without being checked.
        right = client.post("/console/login", data={
            "csrf_token": token, "email": "lead@example.com", "password": STAFF_PASSWORD})

        start = start_form(client.get("/flows/salesforce").text, "salesforce")
        started = client.post(start["action"], data=start["fields"])
        step_url = started.headers["Location"]
        sid = step_url.split("/")[2]
        assert client.get(step_url, headers={"Referer": base + step_url},
                          follow_redirects=True).status_code == 200
        spoofed = client.get("/", headers={"X-Forwarded-Proto": "https"})
        launch = "eyJhbGciOiJIUzI1NiJ9.eyJjb25uZWN0aW9uIjoiYWNtZSJ9.c2lnbmF0dXJl"
        client.get(f"/flows/salesforce?launch={launch}", headers={
            "Referer": f"{base}/flows/salesforce?lang=es&launch={launch}"})
    assert statuses == [401] * 10 + [429] * 50, statuses
    assert right.status_code == 429
    # No HSTS for a forwarded scheme nobody configured the app to trust.
    assert "Strict-Transport-Security" not in spoofed.headers

    time.sleep(0.5)  # the access log is written after each response
    log = Path(access).read_text()
    login_pids = set(re.findall(r'^<(\d+)> "POST /console/login', log, re.M))
    assert len(login_pids) >= 2, "the failures were not spread over several workers"
    assert sid not in log and f"/s/{sid[:4]}…" in log
    assert launch not in log and '"GET /flows/salesforce?launch=… HTTP/1.1"' in log
    assert "?lang=es&launch=…" in log  # the Referer too
    # No control socket: a second gunicorn on the host would fight over its one default path.
    assert not (Path(access).parent / "home" / ".gunicorn").exists()


class _Cycle:
    def __init__(self):
        self.me = self  # freed only by a collection


def test_a_worker_collects_then_freezes_the_loaded_app_out_of_the_collector():
    import gc
    import weakref

    from assistant import gunicorn_conf
    garbage = _Cycle()
    freed = weakref.ref(garbage)
    del garbage
    kept = _Cycle()  # still in use, as the loaded app is
    try:
        gunicorn_conf.post_worker_init(worker=None)
        assert freed() is None, "garbage left over from loading the app was frozen with it"
        assert gc.get_freeze_count() > 0
        assert not any(o is kept for o in gc.get_objects())  # out of every pass from now on
    finally:
        gc.unfreeze()
