"""Probe checks in the database: the TTL claim that lets one process at a time call an upstream,
and the stored results (diagnosis, evidence, latency) sessions refer to.

The claim is one row per (connection, probe) in ``probe_claims``. Taking it is a single
conditional ``UPDATE … WHERE claimed_at <= now - ttl`` (or the ``INSERT`` of the first row): the
database serialises concurrent claimers, so across every worker and process at most one check
per connection and probe starts per TTL. A check whose process died is simply superseded once
its claim is older than the TTL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from .models import ProbeCheck, ProbeClaim, utcnow
from .repository import as_utc

_checks = ProbeCheck.__table__
_claims = ProbeClaim.__table__


@dataclass(frozen=True)
class CheckRecord:
    """A stored check as the wizard needs it. Times are UTC; ``latency_ms`` in milliseconds;
    ``evidence`` a JSON-safe dict. ``state`` is ``running`` or ``done``."""

    id: int
    connection_id: str | None
    probe: str
    state: str
    started_at: datetime
    finished_at: datetime | None
    latency_ms: int | None
    outcome: str | None
    cause: str | None
    title: str | None
    explanation: str | None
    evidence: dict
    owner: str | None = None

    @property
    def done(self) -> bool:
        """True once the check has a result."""
        return self.state == "done"

    def age_seconds(self, now: datetime | None = None) -> float:
        """Seconds since the result was obtained (since the start while running)."""
        return ((now or utcnow()) - (self.finished_at or self.started_at)).total_seconds()


def _record(row) -> CheckRecord:
    return CheckRecord(
        id=row.id, connection_id=row.connection_id, probe=row.probe, state=row.state,
        started_at=as_utc(row.started_at),
        finished_at=as_utc(row.finished_at) if row.finished_at else None,
        latency_ms=row.latency_ms, outcome=row.outcome, cause=row.cause, title=row.title,
        explanation=row.explanation, evidence=dict(row.evidence or {}), owner=row.owner)


class ProbeChecks:
    """Claims and results of probe checks, in the same database as the sessions."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def latest(self, connection_id: str, probe: str) -> CheckRecord | None:
        """The last check claimed for this pair, however old, or None."""
        query = (select(_checks).join(_claims, _claims.c.check_id == _checks.c.id)
                 .where(_claims.c.connection_id == connection_id, _claims.c.probe == probe))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _record(row) if row else None

    def claim(self, connection_id: str, probe: str, ttl: float,
              now: datetime | None = None, *, owner: str | None = None,
              supersede: int | None = None) -> CheckRecord | None:
        """Take the right to call the upstream: a new ``running`` check (run by ``owner``), or
        None if another claim of this pair is younger than ``ttl`` seconds (someone else
        checks, or checked) — unless that claim is for check ``supersede`` (whose process is
        known to be dead): then exactly one caller replaces it."""
        now = (now or utcnow()).astimezone(UTC)
        try:
            with self.engine.begin() as conn:
                before = conn.execute(select(_claims.c.check_id).where(
                    _claims.c.connection_id == connection_id, _claims.c.probe == probe)
                ).scalar()
                stale = _claims.c.claimed_at <= now - timedelta(seconds=ttl)
                if supersede is not None:
                    stale = or_(stale, _claims.c.check_id == supersede)
                taken = conn.execute(
                    update(_claims)
                    .where(_claims.c.connection_id == connection_id, _claims.c.probe == probe,
                           stale)
                    .values(claimed_at=now, check_id=None)).rowcount
                if not taken:  # no row yet, or a fresh one (then the INSERT fails)
                    conn.execute(insert(_claims).values(
                        connection_id=connection_id, probe=probe, claimed_at=now,
                        check_id=None))
                check_id = conn.execute(insert(_checks).values(
                    connection_id=connection_id, probe=probe, state="running",
                    started_at=now, evidence={}, owner=owner).returning(_checks.c.id)
                ).scalar_one()
                conn.execute(update(_claims)
                             .where(_claims.c.connection_id == connection_id,
                                    _claims.c.probe == probe)
                             .values(check_id=check_id))
                if before is not None:  # superseded while still running: its process died
                    conn.execute(update(_checks)
                                 .where(_checks.c.id == before, _checks.c.state == "running")
                                 .values(state="done", finished_at=now, outcome="timeout",
                                         cause="timeout", title="No answer in time",
                                         explanation="The check never finished."))
        except IntegrityError:
            return None
        return self.get(check_id)

    def finish(self, check_id: int, *, outcome: str, cause: str, title: str, explanation: str,
               evidence: dict, latency_ms: int, now: datetime | None = None) -> CheckRecord:
        """Store the result of a running check."""
        with self.engine.begin() as conn:
            conn.execute(update(_checks).where(_checks.c.id == check_id).values(
                state="done", finished_at=(now or utcnow()).astimezone(UTC), outcome=outcome,
                cause=cause, title=title, explanation=explanation, evidence=evidence,
                latency_ms=latency_ms))
        return self.get(check_id)

    def record(self, connection_id: str | None, probe: str, *, outcome: str, title: str,
               explanation: str, evidence: dict | None = None,
               cause: str | None = None) -> CheckRecord:
        """Store a result obtained without calling anything (e.g. no connection to check);
        its ``cause`` is ``outcome`` unless given."""
        now = utcnow()
        with self.engine.begin() as conn:
            check_id = conn.execute(insert(_checks).values(
                connection_id=connection_id, probe=probe, state="done", started_at=now,
                finished_at=now, latency_ms=0, outcome=outcome, cause=cause or outcome, title=title,
                explanation=explanation, evidence=evidence or {}
            ).returning(_checks.c.id)).scalar_one()
        return self.get(check_id)

    def get(self, check_id: int) -> CheckRecord | None:
        """The check with this id, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(_checks).where(_checks.c.id == check_id)).first()
        return _record(row) if row else None

    def count(self, connection_id: str, probe: str) -> int:
        """How many checks of this pair were ever started (for tests and benchmarks)."""
        from sqlalchemy import func
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(_checks).where(
                _checks.c.connection_id == connection_id, _checks.c.probe == probe)
            ).scalar_one()
