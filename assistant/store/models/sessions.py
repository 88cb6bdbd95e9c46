"""Sessions and what happens in them: the session, its answers (the transcript), the
feedback at its end and its handoffs to a human; and the flow versions sessions walk."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class FlowSession(Base):
    """One person's walk through one flow.

    ``flow_version`` is the version of the flow file of the last answer (or the start).
    ``position`` is how many answers the current path holds (0 at the start); ``revision`` goes
    up by one with every change and guards against stale or doubled submits. ``status`` is
    ``active`` or ``ended``; ``outcome`` is the end step's outcome once ended.

    ``code`` is the short share code the customer reads out to support ("K7-4QX"), unique.
    ``cause`` is the cause the last live check diagnosed (None before any, or when it found
    the connection working). ``guided_by`` is the staff member who started the session for a
    customer on the phone (guided mode). ``updated_at`` is the time of the last answer (or the
    start): a session still active long after it has been abandoned.

    A session started from a launch token (see :mod:`assistant.launch`) keeps the host's
    opaque ``customer_ref`` (what support looks the customer up by) and the token's
    ``launch_jti``, unique: one token starts one session.

    A session started from free text keeps the customer's words (``opened_with``) and what
    the router said about them (``route_note``, "We recognised …").
    """

    __tablename__ = "sessions"
    __table_args__ = (
        Index("ix_sessions_flow_created", "flow_id", "created_at"),
        # Analytics: a flow's sessions counted by step, state and cause from the index alone,
        # in its order (no sort), whatever the date range.
        Index("ix_sessions_flow_figures", "flow_id", "step", "status", "outcome", "cause",
              "created_at", "updated_at", "flow_version", "id"),
        # Analytics: the versions of a flow its sessions have, grouped in index order.
        Index("ix_sessions_flow_version", "flow_id", "flow_version", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    flow_id: Mapped[str] = mapped_column(String(64))
    flow_version: Mapped[str] = mapped_column(String(12))
    step: Mapped[str] = mapped_column(String(64))
    code: Mapped[str | None] = mapped_column(String(8), unique=True, index=True)
    cause: Mapped[str | None] = mapped_column(String(96))
    guided_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", name="fk_sessions_guided_by_staff"))
    counters: Mapped[dict] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="active")
    outcome: Mapped[str | None] = mapped_column(String(16))
    connection_id: Mapped[str | None] = mapped_column(String(64))
    customer_ref: Mapped[str | None] = mapped_column(String(200), index=True)
    # The language the customer reads it in ("es"; None before languages: English).
    language: Mapped[str | None] = mapped_column(String(16))
    launch_jti: Mapped[str | None] = mapped_column(String(128), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    opened_with: Mapped[str | None] = mapped_column(Text)
    route_note: Mapped[str | None] = mapped_column(String(300))


class Event(Base):
    """One answer: from which step, by which answer, to which step, with counters after it.
    At a probe step the answer is the check's outcome and ``probe_check_id`` names the check.

    ``position`` is the answer's place in the path (1 for the first answer). An answer that was
    replaced because the user went back and chose differently is kept, ``superseded``.
    ``spent_ms`` is the time spent on ``from_step`` before answering, in milliseconds: from the
    session's previous change (its previous answer, or its start) to this answer.

    ``flow_id``, ``session_started_at`` and ``session_version`` are the session's flow, start
    and current ``flow_version``, copied from it (the store updates ``session_version`` on
    every row of the session when the session's version changes), so that analytics reads a
    flow's answers from one index without joining the sessions (see
    :mod:`assistant.store.analytics`).
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_session_position", "session_id", "position"),
        # Analytics, current paths only: sessions per step (ordered by session, so counting
        # distinct sessions needs no sort) and the median time per step (ordered by time; timed
        # answers only, which also keeps the planner from taking it for the count).
        Index("ix_events_flow_step_session", "flow_id", "from_step", "session_id",
              "session_started_at", "session_version", "spent_ms", "superseded",
              sqlite_where=text("superseded = 0"), postgresql_where=text("NOT superseded")),
        Index("ix_events_flow_step_spent", "flow_id", "from_step", "spent_ms",
              "session_started_at", "session_version", "superseded",
              sqlite_where=text("superseded = 0 AND spent_ms IS NOT NULL"),
              postgresql_where=text("NOT superseded AND spent_ms IS NOT NULL")),
    )

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
    said: Mapped[str | None] = mapped_column(Text)  # the free text the answer was chosen by
    spent_ms: Mapped[int | None] = mapped_column(Integer)
    flow_id: Mapped[str | None] = mapped_column(String(64))
    session_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    session_version: Mapped[str | None] = mapped_column(String(12))


class _OnePerRevision:
    """Columns of a record made at one revision of a session, at most one per revision: the
    same page sent twice finds the first record; a changed path can make a new one.

    ``language`` is the session's language at the time.

    ``session_started_at`` and ``session_version`` are the session's start and current
    ``flow_version``, copied from it (kept up to date by the store, as on
    :class:`Event`), so that analytics selects a flow's records without joining the
    sessions.
    """

    __table_args__ = (UniqueConstraint("session_id", "revision"),)  # also the session index

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    flow_id: Mapped[str] = mapped_column(String(64), index=True)
    flow_version: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    session_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    session_version: Mapped[str | None] = mapped_column(String(12))
    # The session's language when it was made (None before languages: English).
    language: Mapped[str | None] = mapped_column(String(16))


class Feedback(_OnePerRevision, Base):
    """The answer to "Did this answer your question?" at an end step.

    ``reaction`` is ``yes``, ``partly`` or ``no``; submitting the same end page twice updates
    the row instead of adding another.
    """

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("session_id", "revision"),  # one per revision, as the mixin's
        # Analytics: reactions of a flow's sessions by start (grouped in index order); the
        # latest comments, newest first.
        Index("ix_feedback_flow_reaction", "flow_id", "reaction", "session_started_at",
              "session_version"),
        Index("ix_feedback_flow_comments", "flow_id", "created_at", "session_started_at",
              "session_version",
              sqlite_where=text("comment IS NOT NULL AND comment != ''"),
              postgresql_where=text("comment IS NOT NULL AND comment != ''")),
    )

    end_step: Mapped[str] = mapped_column(String(64))
    reaction: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)


class Handoff(_OnePerRevision, Base):
    """A request for a human, with a snapshot of the transcript (a list of dicts) at that time.

    ``reason`` is ``unresolved_end``, ``negative_feedback``, ``customer_request`` or ``agent``
    (a staff member handed it on). ``status`` is ``open``, ``taken`` (by ``taken_by``) or
    ``closed``; ``created_by`` is the staff member who made an ``agent`` handoff.
    """

    __tablename__ = "handoffs"
    __table_args__ = (
        UniqueConstraint("session_id", "revision"),  # one per revision, as the mixin's
        # Analytics: the sessions of a flow with a handoff (counted in index order), by start.
        Index("ix_handoffs_flow_session", "flow_id", "session_id", "session_started_at",
              "session_version"),
    )

    step: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))
    contact: Mapped[str | None] = mapped_column(String(254))
    message: Mapped[str | None] = mapped_column(Text)
    transcript: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", name="fk_handoffs_created_by_staff"))
    taken_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", name="fk_handoffs_taken_by_staff"))
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FlowVersion(Base):
    """One version of a flow file the server has served: its text, by content hash, so that a
    session keeps walking the version it started on after the file changes.

    ``version`` is the first 12 hex digits of the SHA-256 of ``content`` (as
    :attr:`~assistant.flow.model.Flow.version` and ``FlowSession.flow_version``); ``sha256``
    the whole digest. ``first_served_at`` is when a server first loaded it.
    """

    __tablename__ = "flow_versions"

    flow_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(12), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    file: Mapped[str] = mapped_column(String(1000))
    first_served_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
