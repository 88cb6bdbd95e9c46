"""The database engine: bounded waits, SQLite's WAL settings, PostgreSQL's timeouts."""

from __future__ import annotations

import math

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

DEFAULT_TIMEOUT = 0.75
"""Seconds a statement waits for the database before giving up (see :func:`make_engine`)."""


def make_engine(url: str, timeout: float = DEFAULT_TIMEOUT) -> Engine:
    """A SQLAlchemy engine for ``url`` whose waits for the database are bounded by
    ``timeout`` seconds, so that a busy or unreachable database costs a request that long and
    an error :func:`assistant.store.health.is_unavailable` recognises, not a stalled worker.

    SQLite gets WAL mode with ``synchronous=NORMAL`` (a crash can lose the last commits but
    never corrupts the file; see https://www.sqlite.org/wal.html), foreign keys and a busy
    timeout of ``timeout`` (a write lock held longer by another process gives "database is
    locked"). PostgreSQL gets ``lock_timeout`` = ``timeout``, libpq's ``connect_timeout``
    (whole seconds, at least 2: libpq's minimum) and a ping when a pooled connection is
    taken (after a server restart the pool's old connections are replaced, not used). Every
    engine waits at most ``timeout`` (at least 1 s) for a free pooled connection. Its
    failures and recoveries are logged once each (:mod:`assistant.store.health`).
    """
    from .health import health_of
    busy_ms = max(1, round(timeout * 1000))
    if url.startswith("sqlite"):
        engine = create_engine(url, pool_timeout=max(1.0, timeout))

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            cur = dbapi_connection.cursor()
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")  # before anything that may wait
            cur.execute("PRAGMA journal_mode=WAL")
            # Safe with WAL (no corruption); skips an fsync per commit.
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    elif url.startswith("postgresql"):
        engine = create_engine(url, pool_timeout=max(1.0, timeout), pool_pre_ping=True,
                               connect_args={"connect_timeout": max(2, math.ceil(timeout)),
                                             "options": f"-c lock_timeout={busy_ms}"})
    else:
        engine = create_engine(url, pool_timeout=max(1.0, timeout), pool_pre_ping=True)
    health_of(engine)
    return engine
