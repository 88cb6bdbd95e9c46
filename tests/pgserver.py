"""A throwaway PostgreSQL server for the tests: Debian's ``postgresql`` binaries, a cluster made
by ``initdb`` in a temporary folder, listening only on a Unix socket in that folder (no TCP
port, so parallel runs never clash), removed when stopped.

PostgreSQL refuses to run as root: under root (CI) the cluster belongs to the ``postgres``
user the Debian package creates, and its commands run through ``runuser``.

Each test gets its own database, copied from a migrated template (``CREATE DATABASE … TEMPLATE``,
tens of milliseconds) and dropped after it with its connections (``WITH (FORCE)``).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

TEMPLATE = "assistant_template"


def bin_dir() -> Path | None:
    """The newest installed PostgreSQL's ``bin`` folder (``PG_BIN`` overrides), or None."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


class PostgresServer:
    """One cluster: :meth:`start` (initdb + pg_ctl start), :meth:`stop`, :meth:`restart`,
    :meth:`remove`. ``url(name)`` is a SQLAlchemy URL of database ``name`` (psycopg 3)."""

    def __init__(self):
        self.bin = bin_dir()
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed: `make test` installs Debian's "
                               "postgresql, or set TEST_DATABASES=sqlite to skip it")
        self.folder = Path(tempfile.mkdtemp(prefix="assistant-pg-"))
        self.data = self.folder / "data"
        self.user = None
        if os.geteuid() == 0:  # PostgreSQL refuses root
            self.user = "postgres"
            pw = pwd.getpwnam(self.user)
            os.chown(self.folder, pw.pw_uid, pw.pw_gid)
        self._names = itertools.count(1)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.user:
            runuser = shutil.which("runuser") or "/usr/sbin/runuser"  # sbin: not always on PATH
            command = [runuser, "-u", self.user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check,
                              timeout=120)

    @property
    def role(self) -> str:
        return self.user or pwd.getpwuid(os.geteuid()).pw_name

    def start(self) -> PostgresServer:
        """Make the cluster on first use, then start it and wait until it accepts
        connections."""
        if not self.data.exists():
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", self.role,
                      "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        options = (f"-c listen_addresses='' -c unix_socket_directories='{self.folder}' "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c max_connections=300")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-w", "-t", "60",
                  "-l", str(self.folder / "server.log"), "start")
        return self

    def stop(self) -> None:
        """Stop the server at once (mode fast: connections are cut, as in an outage)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    def remove(self) -> None:
        """Stop the server and delete the cluster."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, name: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.role}@/{name}?host={self.folder}"

    def _admin(self, sql: str) -> None:
        import psycopg
        with psycopg.connect(host=str(self.folder), user=self.role, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self, template: str | None = None) -> str:
        """A new, empty database (or a copy of ``template``); returns its name."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        self._admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template
                                                   else ""))
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name`` and cut its connections (a test may leave an engine open)."""
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def migrated_template(self) -> str:
        """The template every test database is copied from: migrated to the newest revision
        (made once per server)."""
        from assistant.store import upgrade
        self._admin(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{TEMPLATE}"')
        upgrade(self.url(TEMPLATE))
        return TEMPLATE
