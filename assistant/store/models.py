"""SQLAlchemy 2 models: sessions, their events (the transcript), feedback, handoffs, and the
results of live connection checks."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """The declarative base: ``Base.metadata`` is the schema the migrations build."""


class FlowSession(Base):
    """One person's walk through one flow.

    ``flow_version`` is the version of the flow file of the last answer (or the start).
    ``position`` is how many answers the current path holds (0 at the start); ``revision`` goes
    up by one with every change and guards against stale or doubled submits. ``status`` is
    ``active`` or ``ended``; ``outcome`` is the end step's outcome once ended.
    """

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    flow_id: Mapped[str] = mapped_column(String(64), index=True)
    flow_version: Mapped[str] = mapped_column(String(12))
    step: Mapped[str] = mapped_column(String(64))
    counters: Mapped[dict] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="active")
    outcome: Mapped[str | None] = mapped_column(String(16))
    connection_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ProbeCheck(Base):
    """One live check of a connection, as the wizard used it: what was diagnosed, the evidence
    (status codes, error codes, quota numbers — never secrets), how long it took.

    ``state`` is ``running`` until the check finishes, then ``done``. ``outcome`` is what a
    probe step branches on: ``connected``, a cause id, ``unknown``, ``timeout`` or
    ``unavailable``; ``cause`` is the diagnosis proper. ``latency_ms`` is wall time in
    milliseconds. A check with no ``connection_id`` found no connection to check. ``owner``
    is ``host:pid`` of the process running it (a dead owner's check is superseded at once).
    """

    __tablename__ = "probe_checks"
    __table_args__ = (Index("ix_probe_checks_connection", "connection_id", "probe", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connection_id: Mapped[str | None] = mapped_column(String(64))
    probe: Mapped[str] = mapped_column(String(96))
    state: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(96))
    cause: Mapped[str | None] = mapped_column(String(96))
    title: Mapped[str | None] = mapped_column(String(200))
    explanation: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)
    owner: Mapped[str | None] = mapped_column(String(128))


class ProbeClaim(Base):
    """The latest check of each (connection, probe): whoever moves ``claimed_at`` forward may
    call the upstream; nobody may while it is younger than the TTL. One row per pair, shared by
    every worker and process through the database."""

    __tablename__ = "probe_claims"

    connection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    probe: Mapped[str] = mapped_column(String(96), primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    check_id: Mapped[int | None] = mapped_column(ForeignKey("probe_checks.id"))


class Event(Base):
    """One answer: from which step, by which answer, to which step, with counters after it.
    At a probe step the answer is the check's outcome and ``probe_check_id`` names the check.

    ``position`` is the answer's place in the path (1 for the first answer). An answer that was
    replaced because the user went back and chose differently is kept, ``superseded``.
    """

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_session_position", "session_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    from_step: Mapped[str] = mapped_column(String(64))
    answer: Mapped[str] = mapped_column(String(64))
    to_step: Mapped[str] = mapped_column(String(64))
    counters: Mapped[dict] = mapped_column(JSON, default=dict)
    superseded: Mapped[bool] = mapped_column(default=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    probe_check_id: Mapped[int | None] = mapped_column(ForeignKey("probe_checks.id"))


class _OnePerRevision:
    """Columns of a record made at one revision of a session, at most one per revision: the
    same page sent twice finds the first record; a changed path can make a new one."""

    __table_args__ = (UniqueConstraint("session_id", "revision"),)  # also the session index

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    flow_id: Mapped[str] = mapped_column(String(64), index=True)
    flow_version: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Feedback(_OnePerRevision, Base):
    """The answer to "Did this answer your question?" at an end step.

    ``reaction`` is ``yes``, ``partly`` or ``no``; submitting the same end page twice updates
    the row instead of adding another.
    """

    __tablename__ = "feedback"

    end_step: Mapped[str] = mapped_column(String(64))
    reaction: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)


class Handoff(_OnePerRevision, Base):
    """A request for a human, with a snapshot of the transcript (a list of dicts) at that time.

    ``status`` is ``open``, ``taken`` or ``closed``.
    """

    __tablename__ = "handoffs"

    step: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))
    contact: Mapped[str | None] = mapped_column(String(254))
    message: Mapped[str | None] = mapped_column(Text)
    transcript: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="open")
