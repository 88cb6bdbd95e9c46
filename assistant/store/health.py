"""Whether the database answers, as this process sees it, and what counts as "it does not".

The database is *unavailable* when it cannot be reached (PostgreSQL stopped or restarting, the
network down), is busy past the configured wait (SQLite's write lock held by another
process, a PostgreSQL lock wait over ``lock_timeout``), or no pooled connection frees up in
time. Nothing was written then: the request can simply be tried again, which is what the web
layer's 503 page says.

Each engine made by :func:`assistant.store.make_engine` has one :class:`DatabaseHealth`. It
logs one line when the database stops answering and one when it answers again (with how long
it was away), instead of a traceback per request.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger("assistant.database")


def is_unavailable(error: BaseException) -> bool:
    """True if ``error`` means the database could not be used just now (unreachable, busy,
    locked, no connection free) rather than a bug: trying again later may work."""
    if isinstance(error, OperationalError | PoolTimeout):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def summary(error: BaseException) -> str:
    """The first line of the database's own message (no SQL, no parameters)."""
    original = getattr(error, "orig", None) or error
    text = str(original).strip().splitlines()
    return f"{type(original).__name__}: {text[0] if text else ''}"[:300]


class DatabaseHealth:
    """Up or down, with a log line at each change. Thread-safe; cheap when nothing changes."""

    def __init__(self, name: str):
        self.name = name
        self.down_since: float | None = None  # time.monotonic() of the first failure
        self._lock = threading.Lock()

    @property
    def up(self) -> bool:
        return self.down_since is None

    def failed(self, error: BaseException) -> None:
        """The database did not answer (``error``); logs once per outage."""
        if self.down_since is not None:
            return
        with self._lock:
            if self.down_since is None:
                self.down_since = time.monotonic()
                log.error("database %s unavailable (%s); answering 503 until it answers "
                          "again", self.name, summary(error))

    def answered(self) -> None:
        """A transaction committed; logs the recovery if it was down."""
        if self.down_since is None:
            return
        with self._lock:
            if self.down_since is not None:
                log.warning("database %s answering again after %.1f s", self.name,
                            time.monotonic() - self.down_since)
                self.down_since = None


_health: weakref.WeakKeyDictionary[Engine, DatabaseHealth] = weakref.WeakKeyDictionary()


def health_of(engine: Engine) -> DatabaseHealth:
    """The :class:`DatabaseHealth` of ``engine`` (made and wired to it on first use)."""
    health = _health.get(engine)
    if health is None:
        health = _health[engine] = DatabaseHealth(engine.url.render_as_string(
            hide_password=True).split("?")[0])
        watch(engine, health)
    return health


def watch(engine: Engine, health: DatabaseHealth) -> None:
    """Report ``engine``'s failures and successes to ``health``."""
    @event.listens_for(engine, "handle_error")
    def _failed(context):  # connect errors included
        error = context.sqlalchemy_exception or context.original_exception
        if context.is_disconnect or is_unavailable(error):
            health.failed(error)

    # Back once a transaction commits: under SQLite's write lock reads still work, so a read
    # proves nothing (and would log "back" between every two refused writes). Watched by
    # wrapping the dialect's do_commit (every Connection's and ORM Session's commit goes
    # through it, once the DBAPI commit succeeded) rather than by a "commit" event listener:
    # any Connection event listener makes SQLAlchemy dispatch events around every
    # statement, ~35 us per answer of four statements.
    commit = engine.dialect.do_commit

    def do_commit(dbapi_connection) -> None:
        commit(dbapi_connection)
        if health.down_since is not None:
            health.answered()

    engine.dialect.do_commit = do_commit
