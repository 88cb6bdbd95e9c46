"""SQLAlchemy 2 models: sessions, their events (the transcript), feedback and handoffs."""

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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Event(Base):
    """One answer: from which step, by which answer, to which step, with counters after it.

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
