"""The store's migrations and concurrency; the package as an installed wheel would see it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import text

from assistant.cli import main as cli
from assistant.store import Base, StaleRevision, Store, is_current, make_engine, upgrade
from conftest import REPO


def schema_differences(url: str) -> list:
    """What Alembic's autogenerate would change to make the database at ``url`` match the
    models (tables, columns, types, nullability, indexes, unique constraints, foreign keys)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": False}),
                Base.metadata)
    finally:
        engine.dispose()


def test_migrations_build_exactly_the_models(db_url):
    assert schema_differences(db_url) == []
    engine = make_engine(db_url)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_a_migrated_sqlite_file_is_in_wal_mode_before_the_app_opens_it(tmp_path):
    # Workers starting together must not race to convert the file: while one process reads,
    # converting a rollback-journal file to WAL waits for it and then fails.
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade(url)
    reader = sqlite3.connect(tmp_path / "fresh.db", isolation_level=None)
    assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM alembic_version").fetchone()  # a read stays open
    engine = make_engine(url)
    try:
        with engine.connect() as conn:  # a worker's first connection
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    finally:
        engine.dispose()
        reader.close()


def revisions() -> list[str]:
    """Every migration revision, oldest first."""
    from alembic.script import ScriptDirectory

    from assistant.store.migrate import alembic_config
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


@pytest.mark.parametrize("start", ["empty", *revisions()[:-1]])
def test_migrations_upgrade_from_empty_and_from_every_earlier_revision(empty_db_url, start):
    if start != "empty":
        upgrade(empty_db_url, start)
        assert not is_current(empty_db_url)
        assert schema_differences(empty_db_url) != []  # the later revisions have work to do
    upgrade(empty_db_url)
    assert is_current(empty_db_url) and schema_differences(empty_db_url) == []


def test_db_upgrade_command_creates_the_database(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    out = subprocess.run([sys.executable, "-m", "assistant.cli", "db", "upgrade"], env=env,
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "database is up to date" in out.stdout
    assert (tmp_path / "fresh.db").exists()


def test_concurrent_answers_at_one_revision_apply_once(db_url):
    store = Store(make_engine(db_url))
    row = store.create_session("salesforce", "v1", "disconnect")

    def answer(_):
        try:
            store.record_answer(row, "v1", 0, "disconnect", "disconnected", "connect", {},
                                None)
            return "applied"
        except StaleRevision:
            return "stale"

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(answer, range(16)))
    assert results.count("applied") == 1 and results.count("stale") == 15
    assert len(store.transcript(row.id)) == 1 and store.get_session(row.id).revision == 1


FIRST_READ = """
import json, sys
from assistant.store import Store, make_engine
store = Store(make_engine(sys.argv[1]))
row = store.get_session(sys.argv[2])  # before any model was constructed in this process
after = store.record_answer(row, "v1", row.position, row.step, "disconnected", "connect", {},
                           None)
print(json.dumps([row.step, row.revision, after.step, after.revision, after.status]))
"""


def test_a_fresh_process_reads_and_answers_before_building_any_model(db_url):
    # A new gunicorn worker's first request reads a session before anything in that process
    # has constructed a model (which is what would configure the ORM's mappers).
    row = Store(make_engine(db_url)).create_session("salesforce", "v1", "disconnect")
    out = subprocess.run([sys.executable, "-c", FIRST_READ, db_url, row.id],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[-2] == '["disconnect", 0, "connect", 1, "active"]'


def test_wheel_ships_templates_flows_static_and_migrations(tmp_path):
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                          "--no-build-isolation", "-q", "-w", str(tmp_path), str(REPO)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    [wheel] = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("assistant/templates/step.html", "assistant/flows/quickbooks-desktop.yaml",
                 "assistant/static/htmx-2.0.11.min.js", "assistant/static/htmx-LICENSE.txt",
                 "assistant/migrations/env.py", "assistant/migrations/script.py.mako"):
        assert name in names, name
    # Unpacked on its own, the package finds its templates and flows and validates them.
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = ("from assistant.resources import templates_dir, flows_dir;"
            "print(templates_dir()); print(flows_dir())")
    env = {**os.environ, "PYTHONPATH": str(site)}
    found = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, cwd=tmp_path, check=True).stdout.split()
    assert found == [str(site / "assistant/templates"), str(site / "assistant/flows")]
    check = subprocess.run([sys.executable, "-m", "assistant.cli", "validate"], env=env,
                           capture_output=True, text=True, cwd=tmp_path)
    assert check.returncode == 0 and check.stdout.count("ok ") == 3, check.stderr


@pytest.mark.parametrize("variable, value, message", [
    ("COMMENT_MAX_CHARS", "abc",
     "COMMENT_MAX_CHARS must be a whole number from 1 to 1,000,000,000, not 'abc'"),
    ("PROBE_TTL_SECONDS", "100000000000",
     "PROBE_TTL_SECONDS must be a whole number from 1 to 86,400, not '100000000000'"),
    ("DATABASE_URL", "not a url", "DATABASE_URL is not a SQLAlchemy URL"),
])
def test_a_bad_setting_is_named_not_a_traceback(variable, value, message, tmp_path):
    result = CliRunner().invoke(cli, ["db", "upgrade"], env={variable: value})
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output


def test_serve_says_so_when_the_simulators_port_is_taken(tmp_path, monkeypatch, db_url):
    import socket

    from flask import Flask
    monkeypatch.setattr(Flask, "run", lambda *a, **k: pytest.fail("served anyway"))
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        result = CliRunner().invoke(cli, ["serve"], env={
            "DATABASE_URL": db_url, "SECRET_KEY": "test", "CONNECTIONS_PATH": "",
            "TOKENS_DIR": str(tmp_path / "tokens"),
            "SIMULATOR_URL": f"http://127.0.0.1:{busy.getsockname()[1]}"})
    finally:
        busy.close()
    assert result.exit_code == 1 and "cannot start the simulator" in result.output
    assert "SIMULATOR_URL" in result.output


def test_serve_names_a_connections_file_it_cannot_use(tmp_path, monkeypatch, db_url):
    from flask import Flask
    monkeypatch.setattr(Flask, "run", lambda *a, **k: pytest.fail("served anyway"))
    (tmp_path / "c.yaml").write_text("connections:\n  - id: x\n    system: sap\n")
    for path, message in ((tmp_path / "missing.yaml", "cannot read the connections file"),
                          (tmp_path / "c.yaml", "c.yaml:3: connections[0].system: unknown")):
        result = CliRunner().invoke(cli, ["serve"], env={
            "DATABASE_URL": db_url, "SECRET_KEY": "test", "CONNECTIONS_PATH": str(path)})
        assert result.exit_code == 2 and "CONNECTIONS_PATH: " in result.output
        assert message in result.output and "Traceback" not in result.output


def test_serve_refuses_an_unmigrated_database(tmp_path, monkeypatch):
    from flask import Flask
    monkeypatch.setattr(Flask, "run", lambda *a, **k: pytest.fail("served anyway"))
    result = CliRunner().invoke(cli, ["serve"], env={
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}", "SECRET_KEY": "test"})
    assert result.exit_code == 2
    assert "the database is not migrated: run `assistant db upgrade`" in result.output


def test_concurrent_feedback_on_one_end_keeps_one_row(db_url):
    store = Store(make_engine(db_url))
    row = store.create_session("salesforce", "v1", "disconnect")
    row = store.record_answer(row, "v1", 0, "disconnect", "disconnected", "connected-resolved",
                              {}, "resolved")

    def save(i):
        store.save_feedback(row, "v1", ["yes", "no"][i % 2], f"comment {i}")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(save, range(32)))  # raises if any save failed
    with store.Session() as s:
        assert s.execute(text("SELECT count(*) FROM feedback")).scalar() == 1


def test_messages_sent_at_once_to_one_handoff_are_all_kept(db_url):
    # Two tabs (or the agent's comment and the customer's message) at the same moment: each
    # read the message, appended its own and wrote it back, so one of them was lost.
    store = Store(make_engine(db_url))
    row = store.create_session("salesforce", "v1", "disconnect")
    handoff = store.create_handoff(row, "v1", "customer_request", [], None, None)
    messages = [f"message {i:02d}." for i in range(24)]

    def add(message):
        store.add_to_handoff(handoff, f"{message}@example.com", message)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(add, messages))
    [kept] = store.handoffs_for(row.id)
    assert kept.contact in {f"{m}@example.com" for m in messages}  # the first one sent
    parts = kept.message.split("\n\n")
    also = [p for p in parts if p.startswith("Also reachable at ")]
    assert sorted(p for p in parts if p not in also) == sorted(messages)
    # every other address is kept for staff, once
    assert sorted(also) == sorted(f"Also reachable at {m}@example.com" for m in messages
                                  if f"{m}@example.com" != kept.contact)


def test_the_secret_key_is_made_once_when_processes_race(tmp_path):
    from assistant.config import instance_secret_key
    code = ("import sys; from assistant.config import instance_secret_key;"
            "print(instance_secret_key(sys.argv[1]))")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True) for _ in range(6)]
    keys = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert keys == {instance_secret_key(str(tmp_path))} and len(keys.pop()) == 64
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]


def test_of_identical_submits_at_once_exactly_one_changes_anything(db_url):
    # What decides whether a webhook update is sent: a read before the write said "changed"
    # to every one of them, so each sent its own delivery.
    store = Store(make_engine(db_url))
    row = store.create_session("salesforce", "v1", "disconnect")
    row = store.record_answer(row, "v1", 0, "disconnect", "disconnected", "connected-resolved",
                              {}, "resolved")
    with ThreadPoolExecutor(8) as pool:
        saved = list(pool.map(lambda _: store.save_feedback(row, "v1", "no", "Still broken"),
                              range(16)))
    assert saved.count(True) == 1
    assert store.save_feedback(row, "v1", "partly", "Still broken") is True  # a real change
    handoff = store.create_handoff(row, "v1", "negative_feedback", [], None, None)
    with ThreadPoolExecutor(8) as pool:
        added = list(pool.map(lambda _: store.add_to_handoff(
            handoff, "me@example.com", "Please call.")[1], range(16)))
    assert added.count(True) == 1


def service_user_python() -> list[str]:
    """How to run Python as an unprivileged user (``nobody`` when the tests run as root, else
    the current user): this interpreter if that user may run it, else the system's Python of
    the same version (this one may live in root's home)."""
    import shutil
    import sysconfig
    prefix = [shutil.which("runuser") or "/usr/sbin/runuser", "-u", "nobody", "--"] \
        if os.geteuid() == 0 else []
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for python in (sys.executable, shutil.which(version, path="/usr/bin:/usr/local/bin")):
        if python and subprocess.run([*prefix, python, "-c", ""],
                                     capture_output=True).returncode == 0:
            # The venv's packages (and the editable install's .pth) for any interpreter.
            site = sysconfig.get_paths()["purelib"]
            return [*prefix, python, "-c", f"import site; site.addsitedir({site!r}); "
                    "import sys, runpy; sys.argv = sys.argv[1:]; "
                    "runpy.run_module(sys.argv[0], run_name='__main__')"]
    pytest.fail("no Python interpreter the unprivileged user may run")


def as_service_user(args: list[str], env: dict, cwd) -> subprocess.CompletedProcess:
    """Run module ``args[0]`` with arguments ``args[1:]`` as the service user, with only
    ``env`` and the basic PATH."""
    return subprocess.run([*service_user_python(), *args],
                          env={"PATH": "/usr/bin:/bin", **env},
                          capture_output=True, text=True, cwd=cwd, timeout=120)


def test_a_service_user_runs_the_installed_app_writing_only_its_instance_folder(tmp_path):
    import shutil
    import tempfile
    folder = tempfile.mkdtemp(prefix="service-user-")  # tmp_path is private to root
    try:
        if os.geteuid() == 0:
            os.chown(folder, 65534, 65534)  # nobody
        instance = os.path.join(folder, "instance")
        with open(os.path.join(folder, "connections.yaml"), "w") as f:
            f.write("connections: []\n")
        env = {"INSTANCE_PATH": instance,
               "CONNECTIONS_PATH": os.path.join(folder, "connections.yaml")}
        out = as_service_user(["assistant.cli", "db", "upgrade"], env, folder)
        assert out.returncode == 0, out.stderr[-2000:]
        with open(os.path.join(folder, "serve.py"), "w") as f:
            # the start page, then its Start button: a session is written to the database
            f.write("import re\n"
                    "from assistant.web import create_app\n"
                    "c = create_app().test_client()\n"
                    "page = c.get('/flows/salesforce').get_data(as_text=True)\n"
                    "token = re.search(r'name=\"csrf_token\" value=\"([^\"]+)\"', page)[1]\n"
                    "print(c.post('/flows/salesforce', data={'csrf_token': token})"
                    ".status_code)\n")
        out = as_service_user(["serve"], {**env, "PYTHONPATH": folder}, folder)
        assert out.returncode == 0 and out.stdout.split()[-1] == "303", out.stderr[-2000:]
        assert sorted(os.listdir(instance)) == ["assistant.db", "secret_key", "tokens",
                                                "translations"]  # compiled catalogues

        if os.geteuid() == 0:  # the installation's own instance folder: not nobody's to write
            out = as_service_user(["assistant.cli", "db", "upgrade"], {}, folder)
            assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr[-2000:]
            assert "INSTANCE_PATH" in out.stderr and "Permission denied" in out.stderr
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_flow_file_over_the_size_limit_is_refused_unread(tmp_path, make_app, caplog):
    big = tmp_path / "huge.yaml"
    big.write_text("id: huge\n" + "# padding\n" * 150_000)  # 1.5 MB
    app = make_app(FLOWS_PATH=[str(REPO / "flows"), str(big)])
    assert "huge" not in app.extensions["assistant"].flows
    assert len(app.extensions["assistant"].flows) == 3
    assert f"{big}:1: the file is 1,500,009 bytes; a flow file may be at most 1,000,000 " \
           "bytes (FLOW_MAX_BYTES)" in caplog.text
    result = CliRunner().invoke(cli, ["validate", str(big)], env={"FLOW_MAX_BYTES": "2000000"})
    assert "the file is" not in result.output  # a larger limit lets it be read (and checked)
