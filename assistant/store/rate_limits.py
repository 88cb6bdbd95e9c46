"""A storage for the ``limits`` library in the app's own database, so that login limits hold
across every worker process and host that shares the database (the default; a ``redis://``
``RATELIMIT_STORAGE_URI`` works as well).

Fixed windows only (:class:`limits.strategies.FixedWindowRateLimiter`): one row per counter,
incremented by one atomic ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` (SQLite ≥ 3.35 and
PostgreSQL), which starts a new window when the old one has expired. The storage interface is
https://limits.readthedocs.io/en/stable/custom-storage.html.
"""

from __future__ import annotations

import time

from limits.storage import Storage
from sqlalchemy import case, delete, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from .models import RateLimitCounter

_t = RateLimitCounter.__table__


class DatabaseStorage(Storage):
    """Fixed-window counters in the ``rate_limit_counters`` table of ``engine``'s database.

    Raises:
        ValueError: the database is neither SQLite nor PostgreSQL (no atomic upsert here).
    """

    STORAGE_SCHEME = None  # made from the app's engine, never from a URI

    def __init__(self, engine: Engine):
        super().__init__()
        if engine.dialect.name not in ("sqlite", "postgresql"):
            raise ValueError(f"the database storage needs SQLite or PostgreSQL, not "
                             f"{engine.dialect.name}: set a redis:// URI")
        self.engine = engine
        self._insert = (sqlite if engine.dialect.name == "sqlite" else postgresql).insert

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add ``amount`` to the counter and return its new value; a counter whose window
        has ended starts again at ``amount`` with a window of ``expiry`` seconds."""
        now = time.time()
        expired = _t.c.expires_at <= now
        fresh = max(amount, 0)  # a give-back (negative) never starts a window below zero
        statement = self._insert(_t).values(key=key, count=fresh, expires_at=now + expiry)
        statement = statement.on_conflict_do_update(index_elements=[_t.c.key], set_={
            "count": case((expired, fresh), else_=_t.c.count + amount),
            "expires_at": case((expired, now + expiry), else_=_t.c.expires_at),
        }).returning(_t.c.count)
        with self.engine.begin() as conn:
            conn.execute(delete(_t).where(_t.c.expires_at < now - 60))  # keep the table small
            return conn.execute(statement).scalar_one()

    def get(self, key: str) -> int:
        """The counter's value in its current window (0 if none)."""
        with self.engine.connect() as conn:
            value = conn.execute(select(_t.c.count).where(
                _t.c.key == key, _t.c.expires_at > time.time())).scalar()
        return value or 0

    def get_expiry(self, key: str) -> float:
        """When the counter's window ends (Unix seconds; now if there is none)."""
        with self.engine.connect() as conn:
            value = conn.execute(select(_t.c.expires_at).where(_t.c.key == key)).scalar()
        return max(value or 0.0, time.time())

    def check(self) -> bool:
        """True if the database answers."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        """Delete every counter; returns how many there were."""
        with self.engine.begin() as conn:
            return conn.execute(delete(_t)).rowcount

    def clear(self, key: str) -> None:
        """Delete one counter."""
        with self.engine.begin() as conn:
            conn.execute(delete(_t).where(_t.c.key == key))
